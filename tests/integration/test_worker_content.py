"""Content features of the worker: similar movies, the discover loop, "describe what you want".

Real parts: the session's redis-server, the real SBERT model (all-MiniLM-L6-v2, offline) and
real content vectors of the 300 most-rated ml-latest-small movies plus movies 1-10 (the
``content_artifacts`` fixture encodes them once per session), Pearson fitted on ml-latest-small.
"""

from __future__ import annotations

import pytest
import redis

from tests.integration.test_worker_validation import snapshot
from worker.store import keys

API = "/api/v1"
TOY_STORY, JUMANJI = 1, 2


@pytest.fixture()
def app(make_worker_app, content_artifacts):
    return make_worker_app(ARTIFACTS_DIR=str(content_artifacts))


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture()
def db(redis_server):
    return redis.Redis.from_url(redis_server.url, decode_responses=True)


def rate(client, headers, ratings):
    for movie_id, stars in ratings:
        answer = client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
        assert answer.status_code == 200


# --------------------------------------------------------------------------- similar movies


def test_similar_movies_come_from_story_genres_and_audience_best_first(client):
    answer = client.get(f"{API}/movies/{TOY_STORY}/similar?k=5")
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["source"] == "sbert" and len(body["items"]) == 5
    ids = [item["movie"]["id"] for item in body["items"]]
    sims = [item["similarity"] for item in body["items"]]
    assert TOY_STORY not in ids and sims == sorted(sims, reverse=True)
    assert all(-1 <= s <= 1 for s in sims)
    titles = [item["movie"]["title"] for item in body["items"]]
    assert any("Toy Story" in t for t in titles), titles  # Toy Story 2 is its closest story
    assert body["items"][0]["movie"]["my_rating"] is None
    assert len(client.get(f"{API}/movies/{TOY_STORY}/similar").get_json()["items"]) == 12


@pytest.mark.parametrize("k", ["0", "51", "-1", "abc", "2.5"])
def test_similar_refuses_bad_k(client, k):
    answer = client.get(f"{API}/movies/{TOY_STORY}/similar?k={k}")
    assert answer.status_code == 422 and "k" in answer.get_json()["error"]["fields"]


def test_similar_for_unknown_movie_is_404_and_without_vectors_503(client, make_worker_app):
    answer = client.get(f"{API}/movies/99999999/similar")
    assert answer.status_code == 404 and answer.get_json()["error"]["code"] == "movie_not_found"
    bare = make_worker_app().test_client()  # empty ARTIFACTS_DIR: no vectors at all
    answer = bare.get(f"{API}/movies/{TOY_STORY}/similar")
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "not_ready"
    assert "Retry-After" in answer.headers


def test_similar_shows_my_rating_with_a_token(client, worker_login):
    headers = worker_login(client, "similar_rater")
    first = client.get(f"{API}/movies/{TOY_STORY}/similar?k=3").get_json()["items"][0]
    rate(client, headers, [(first["movie"]["id"], 4.5)])
    again = client.get(f"{API}/movies/{TOY_STORY}/similar?k=3", headers=headers).get_json()
    assert again["items"][0]["movie"]["my_rating"] == 4.5


# --------------------------------------------------------------------------- discover loop


def test_discover_round_trip_moves_towards_ticked_movies_and_never_touches_ratings(
    client, worker_login, db, app
):
    headers = worker_login(client, "discoverer")
    client.put(f"{API}/me/genres", json={"genres": ["Animation", "Children"]}, headers=headers)
    stream_before = db.xlen(keys.CHANGES)

    first = client.get(f"{API}/me/discover", headers=headers).get_json()
    assert first["round"] == 1 and first["liked"] == [] and first["top_genres"] == []
    assert len(first["items"]) == 5
    assert all(item["similarity"] is None for item in first["items"])
    first_genres = set(first["items"][0]["movie"]["genres"])
    assert {"Animation", "Children"} & first_genres  # chosen genres first
    again = client.get(f"{API}/me/discover", headers=headers).get_json()
    assert again == first  # GET does not advance the loop

    shown = [item["movie"]["id"] for item in first["items"]]
    liked = shown[:2]
    answer = client.post(
        f"{API}/me/discover", json={"liked": liked, "shown": shown}, headers=headers
    )
    assert answer.status_code == 200, answer.get_json()
    second = answer.get_json()
    assert second["round"] == 2 and second["liked"] == liked and len(second["items"]) == 5
    new_ids = [item["movie"]["id"] for item in second["items"]]
    assert not set(new_ids) & set(shown)
    sims = [item["similarity"] for item in second["items"]]
    assert all(isinstance(s, float) for s in sims) and sims == sorted(sims, reverse=True)
    catalog = app.extensions["models"].catalog
    counts: dict[str, int] = {}
    for movie_id in liked:
        for genre in catalog.movie(movie_id)["genres"]:
            counts[genre] = counts.get(genre, 0) + 1
    assert {g["genre"]: g["count"] for g in second["top_genres"]}.items() <= counts.items()
    assert second["top_genres"][0]["count"] == max(counts.values())

    # the next round is the nearest unseen movies to the mean vector of the ticked ones
    content = app.extensions["models"].content
    from recommender.discover import taste_vector

    taste = taste_vector(content.vectors, liked)
    others = [m for m in content.allowed if m not in shown and m not in new_ids]
    best_other = max(float(content.vectors.vector(m) @ taste) for m in others)
    assert min(sims) >= best_other - 1e-4
    assert min(sims) > 0.3  # and they are genuinely close (unit vectors, cosine)

    # ticks are not ratings
    me = client.get(f"{API}/me", headers=headers).get_json()
    assert me["rating_count"] == 0
    user_id = me["user"]["id"]
    assert db.get(keys.version(user_id)) is None
    assert db.xlen(keys.CHANGES) == stream_before
    assert db.ttl(keys.discover_liked(user_id)) > 29 * 86400

    assert client.delete(f"{API}/me/discover", headers=headers).status_code == 204
    restarted = client.get(f"{API}/me/discover", headers=headers).get_json()
    assert restarted["round"] == 1 and restarted["liked"] == []


def test_discover_never_proposes_rated_movies(client, worker_login):
    headers = worker_login(client, "discover_rater")
    first = client.get(f"{API}/me/discover", headers=headers).get_json()
    rated = first["items"][0]["movie"]["id"]
    rate(client, headers, [(rated, 5.0)])
    assert client.delete(f"{API}/me/discover", headers=headers).status_code == 204
    fresh = client.get(f"{API}/me/discover", headers=headers).get_json()
    assert rated not in [item["movie"]["id"] for item in fresh["items"]]


def test_discover_needs_a_token(client):
    assert client.get(f"{API}/me/discover").status_code == 401


@pytest.fixture()
def discovering(client, worker_login):
    """A user in round 2 of the loop: returns (headers, ids shown in round 2)."""
    headers = worker_login(client, "discover_validator")
    first = client.get(f"{API}/me/discover", headers=headers).get_json()
    shown = [item["movie"]["id"] for item in first["items"]]
    body = {"liked": shown[:1], "shown": shown}
    second = client.post(f"{API}/me/discover", json=body, headers=headers).get_json()
    return headers, [item["movie"]["id"] for item in second["items"]], shown


BAD_BODIES = {
    "liked not shown": lambda cur, old: {"liked": [old[0]], "shown": cur},
    "shown from an old round": lambda cur, old: {"liked": [], "shown": [old[1]]},
    "unknown movie": lambda cur, old: {"liked": [], "shown": [99999999]},
    "zero id": lambda cur, old: {"liked": [], "shown": [0]},
    "string ids": lambda cur, old: {"liked": [], "shown": [str(m) for m in cur]},
    "boolean id": lambda cur, old: {"liked": [], "shown": [True]},
    "float id": lambda cur, old: {"liked": [], "shown": [float(cur[0])]},
    "repeated": lambda cur, old: {"liked": [], "shown": [cur[0], cur[0]]},
    "too many": lambda cur, old: {"liked": [], "shown": cur + old[:1]},
    "empty shown": lambda cur, old: {"liked": [], "shown": []},
    "missing liked": lambda cur, old: {"shown": cur},
    "unknown field": lambda cur, old: {"liked": [], "shown": cur, "rating": 5},
    "not a list": lambda cur, old: {"liked": cur[0], "shown": cur},
}


@pytest.mark.parametrize("name", sorted(BAD_BODIES))
def test_bad_discover_posts_are_refused_and_change_nothing(name, discovering, client, db):
    headers, current, old = discovering
    before = snapshot(db)
    answer = client.post(f"{API}/me/discover", json=BAD_BODIES[name](current, old), headers=headers)
    assert answer.status_code == 422, (name, answer.get_json())
    assert answer.get_json()["error"]["fields"]
    assert snapshot(db) == before


def test_discover_post_before_any_round_is_refused(client, worker_login, db):
    headers = worker_login(client, "discover_early")
    before = snapshot(db)
    answer = client.post(f"{API}/me/discover", json={"liked": [], "shown": [1]}, headers=headers)
    assert answer.status_code == 422 and "GET" in answer.get_json()["error"]["fields"]["shown"]
    assert snapshot(db) == before


# --------------------------------------------------------------------------- describe what you want

DESCRIPTION = "toys that come to life when nobody is watching, animated"


def test_a_newcomer_gets_description_matches_ranked_by_similarity(client, worker_login):
    headers = worker_login(client, "query_newcomer")
    rate(client, headers, [(JUMANJI, 4.0)])
    plain = client.get(f"{API}/me/recommendations", headers=headers)
    assert plain.status_code == 422  # normal recommendations still need 5 ratings
    answer = client.get(f"{API}/me/recommendations", query_string={"query": DESCRIPTION},
                        headers=headers)  # fmt: skip
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["ranked_by"] == "description" and body["query"] == DESCRIPTION
    assert body["total"] > 24 and body["next_page"] == 2 and body["cached"] is False
    titles = [item["movie"]["title"] for item in body["items"][:3]]
    assert any(t.startswith("Toy Story") for t in titles), titles
    matches = [item["match"] for item in body["items"]]
    assert matches == sorted(matches, reverse=True)
    first = body["items"][0]
    # the card's reason is the sentence of its story that matches the description
    assert first["reason"] == first["reasons"][0] and first["reason"].startswith("Its story: “")
    story = first["reason"].removeprefix("Its story: “").removesuffix("”").rstrip("…")
    assert story and story in first["movie"]["overview"]
    assert first["evidence"]["story_match"] in first["movie"]["overview"]
    assert "Rate 4 more movies" in first["reasons"][1]
    assert JUMANJI not in [item["movie"]["id"] for item in body["items"]]


def test_query_with_enough_ratings_is_ranked_by_the_model_and_cached(client, worker_login):
    headers = worker_login(client, "query_rater")
    rate(client, headers, [(1, 4.0), (2, 3.5), (3, 5.0), (5, 2.0), (6, 4.5)])
    params = {"query": "  A heist crew plans   one last job  ", "page_size": 50}
    body = client.get(f"{API}/me/recommendations", query_string=params, headers=headers).get_json()
    assert body["ranked_by"] == "model" and body["query"] == "A heist crew plans one last job"
    assert body["model"] == "pearson" and body["cached"] is False
    ids = [item["movie"]["id"] for item in body["items"]]
    assert ids and not {1, 2, 3, 5, 6} & set(ids)
    for item in body["items"]:
        assert -1 <= item["evidence"]["query_similarity"] <= 1
        assert "neighbours_rated" in item["evidence"]  # Pearson's own evidence
        assert item["reason"] == item["reasons"][0] and item["reason"].startswith("Its story")
        assert "people with your taste" in item["reasons"][1]
    same = {**params, "query": "a heist crew plans one last job"}  # same query, normalised
    again = client.get(f"{API}/me/recommendations", query_string=same, headers=headers)
    assert again.get_json()["cached"] is True
    assert [i["movie"]["id"] for i in again.get_json()["items"]] == ids
    rate(client, headers, [(7, 3.0)])  # a new ratings version: computed afresh
    fresh = client.get(f"{API}/me/recommendations", query_string=same, headers=headers)
    assert fresh.get_json()["cached"] is False and fresh.get_json()["ratings_version"] == 6


@pytest.mark.parametrize("query", ["", "   ", "x" * 201, "bad\x01char"])
def test_bad_queries_are_refused(client, worker_login, query):
    headers = worker_login(client, "query_validator")
    answer = client.get(f"{API}/me/recommendations", query_string={"query": query},
                        headers=headers)  # fmt: skip
    assert answer.status_code == 422 and "query" in answer.get_json()["error"]["fields"]


def test_query_without_vectors_is_503(make_worker_app, worker_login):
    client = make_worker_app().test_client()
    headers = worker_login(client, "query_no_vectors")
    answer = client.get(f"{API}/me/recommendations?query=space", headers=headers)
    assert answer.status_code == 503 and answer.get_json()["error"]["code"] == "not_ready"


def test_readyz_reports_content_vectors(client):
    body = client.get("/readyz").get_json()
    assert body["models"]["content_vectors"] == "loaded"
    assert body["models"]["sbert_encoder"] == "loaded"
    assert body["models"]["embed"] == "missing"
    assert body["versions"]["content_vectors"].startswith("sbert@")
