"""The home view's rows, ``GET /api/v1/me/rows``: real redis-server, Pearson fitted on
ml-latest-small, real SBERT content vectors of the most-rated movies (``content_artifacts``)."""

from __future__ import annotations

import pytest

from recommender.catalog import natural_title

API = "/api/v1"
TOY_STORY, LION_KING, ALADDIN, MATRIX, FARGO, HEAT = 1, 364, 588, 2571, 608, 6
CHOSEN = ["Animation", "Children", "Comedy", "Adventure", "Fantasy"]
RATINGS = {TOY_STORY: 5.0, LION_KING: 5.0, ALADDIN: 4.5, MATRIX: 4.0, FARGO: 2.0, HEAT: 1.5}


@pytest.fixture()
def app(make_worker_app, content_artifacts):
    return make_worker_app(ARTIFACTS_DIR=str(content_artifacts))


@pytest.fixture()
def client(app):
    return app.test_client()


def rate(client, headers, ratings):
    for movie_id, stars in ratings.items():
        answer = client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
        assert answer.status_code == 200, answer.get_json()


def choose_genres(client, headers):
    answer = client.put(f"{API}/me/genres", json={"genres": CHOSEN}, headers=headers)
    assert answer.status_code == 200


def ids_of(row):
    return [item["movie"]["id"] for item in row["items"]]


def test_rows_each_say_why_and_never_repeat_a_movie_or_show_a_rated_one(client, worker_login):
    headers = worker_login(client, "row_watcher")
    choose_genres(client, headers)
    rate(client, headers, RATINGS)
    answer = client.get(f"{API}/me/rows", headers=headers)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    rows = body["rows"]
    kinds = [row["kind"] for row in rows]
    assert kinds[0] == "top_picks" and kinds[-1] == "something_different", kinds
    assert kinds.count("because_you_liked") >= 2 and kinds.count("genre") >= 1, kinds
    for row in rows:
        assert 4 <= len(row["items"]) <= 12 and row["reason"], row["title"]
        for item in row["items"]:
            assert 0 <= item["match"] <= 100 and item["reason"] and item["reasons"]
    shown = [movie for row in rows for movie in ids_of(row)]
    assert len(shown) == len(set(shown)), "a movie in two rows"
    assert not set(shown) & set(RATINGS), "a rated movie shown"

    # Top picks: the person's list, best first (the list the recommendations page shows).
    recs = client.get(f"{API}/me/recommendations?page_size=12", headers=headers).get_json()
    assert ids_of(rows[0]) == [item["movie"]["id"] for item in recs["items"]]
    assert rows[0]["title"] == "Top picks for you"

    # "Because you liked": seeded from the highest-rated movies, each movie's title in its
    # row's title, the movies like it, ranked for the person (best match first).
    liked = [row for row in rows if row["kind"] == "because_you_liked"]
    titles = {
        movie_id: client.get(f"{API}/movies/{movie_id}").get_json()["title"] for movie_id in RATINGS
    }
    assert [row["movie_id"] for row in liked] == [TOY_STORY, LION_KING, ALADDIN][: len(liked)]
    for row in liked:
        assert row["title"] == f"Because you liked {natural_title(titles[row['movie_id']])}"
        close = client.get(f"{API}/movies/{row['movie_id']}/similar?k=50").get_json()["items"]
        close_ids = {item["movie"]["id"] for item in close}
        assert sum(m in close_ids for m in ids_of(row)) >= len(row["items"]) * 3 // 4, row
        matches = [item["match"] for item in row["items"]]
        assert matches == sorted(matches, reverse=True)
    toy_row = ids_of(liked[0])
    assert 3114 in toy_row or 3114 in shown  # Toy Story 2, on this screen

    # "<Genre> for you": one of the person's genres, every movie of it.
    for row in (row for row in rows if row["kind"] == "genre"):
        assert row["genre"] in CHOSEN and row["title"] == f"{row['genre']} for you"
        assert all(row["genre"] in item["movie"]["genres"] for item in row["items"])

    # "Something different": none of the usual genres.
    different = rows[-1]
    assert different["title"] == "Something different"
    for item in different["items"]:
        assert not set(item["movie"]["genres"]) & set(CHOSEN), item["movie"]
    assert body["cached"] is False


def test_rows_are_cached_until_the_ratings_change(client, worker_login):
    headers = worker_login(client, "row_cache")
    choose_genres(client, headers)
    rate(client, headers, RATINGS)
    first = client.get(f"{API}/me/rows", headers=headers).get_json()
    again = client.get(f"{API}/me/rows", headers=headers).get_json()
    assert again["cached"] is True and again["rows"] == first["rows"]
    assert again["computed_at"] == first["computed_at"]

    picked = first["rows"][0]["items"][0]["movie"]["id"]
    rate(client, headers, {picked: 4.5})
    fresh = client.get(f"{API}/me/rows", headers=headers).get_json()
    assert fresh["cached"] is False and fresh["ratings_version"] > first["ratings_version"]
    assert picked not in {m for row in fresh["rows"] for m in ids_of(row)}


def test_rows_need_five_ratings_and_a_token(client, worker_login):
    assert client.get(f"{API}/me/rows").status_code == 401
    headers = worker_login(client, "row_newcomer")
    rate(client, headers, {TOY_STORY: 5.0, LION_KING: 4.0})
    answer = client.get(f"{API}/me/rows", headers=headers)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "not_enough_ratings" and error["fields"] == {"ratings_needed": 3}


def test_rows_without_movie_vectors_use_genres_for_similar_movies(make_worker_app, worker_login):
    client = make_worker_app().test_client()  # empty ARTIFACTS_DIR: no content vectors
    headers = worker_login(client, "row_plain")
    rate(client, headers, RATINGS)
    rows = client.get(f"{API}/me/rows", headers=headers).get_json()["rows"]
    liked = [row for row in rows if row["kind"] == "because_you_liked"]
    assert liked and liked[0]["movie_id"] == TOY_STORY
    toy_genres = {"Adventure", "Animation", "Children", "Comedy", "Fantasy"}
    for item in liked[0]["items"]:
        assert set(item["movie"]["genres"]) & toy_genres


def test_a_movie_marked_not_interested_leaves_every_row_and_undo_brings_it_back(
    client, worker_login
):
    """Not interested (issue 17 point 3) reaches the home view at once, cache or not."""
    headers = worker_login(client, "row_refuser")
    choose_genres(client, headers)
    rate(client, headers, RATINGS)
    rows = client.get(f"{API}/me/rows", headers=headers).get_json()["rows"]
    refused = {row["kind"]: ids_of(row)[0] for row in rows}
    for movie_id in set(refused.values()):
        answer = client.put(f"{API}/me/not-interested/{movie_id}", headers=headers)
        assert answer.status_code == 200, answer.get_json()
    after = client.get(f"{API}/me/rows", headers=headers).get_json()
    assert not after["cached"]
    shown = {movie for row in after["rows"] for movie in ids_of(row)}
    assert not shown & set(refused.values()), "a not-interested movie still shown"
    for movie_id in set(refused.values()):
        client.delete(f"{API}/me/not-interested/{movie_id}", headers=headers)
    restored = client.get(f"{API}/me/rows", headers=headers).get_json()["rows"]
    assert ids_of(restored[0])[0] == refused["top_picks"]
