"""The whole product journey through the worker's REST API, on a real Redis and real models."""

from __future__ import annotations

API = "/api/v1"


def test_journey_from_signup_to_recommendations_and_logout(worker_client, worker_login):
    client = worker_client
    headers = worker_login(client, "Journey_User")

    me = client.get(f"{API}/me", headers=headers).get_json()
    assert me["user"]["username"] == "Journey_User"
    assert (me["rating_count"], me["ratings_needed"], me["genres"]) == (0, 5, [])

    genres = client.get(f"{API}/genres").get_json()["genres"]
    assert {"Comedy", "Drama", "Action"} <= set(genres)
    chosen = ["Comedy", "Romance", "Animation", "Drama", "Action"]
    saved = client.put(f"{API}/me/genres", json={"genres": chosen}, headers=headers)
    assert saved.status_code == 200 and saved.get_json()["genres"] == chosen
    assert client.get(f"{API}/me/genres", headers=headers).get_json()["genres"] == chosen

    # the grid defaults to the chosen genres, 24 per page, in the newcomer's order
    page1 = client.get(f"{API}/movies", headers=headers).get_json()
    assert page1["order"] == "onboarding"
    assert page1["page"] == 1 and page1["page_size"] == 24 and page1["next_page"] == 2
    assert len(page1["items"]) == 24 and page1["total"] > 48
    assert all(set(m["genres"]) & set(chosen) for m in page1["items"])
    page2 = client.get(f"{API}/movies?page=2&order=onboarding", headers=headers).get_json()
    ids1 = [m["id"] for m in page1["items"]]
    assert len(page2["items"]) == 24 and not set(ids1) & {m["id"] for m in page2["items"]}
    first = page1["items"][0]
    assert set(first) >= {"id", "title", "year", "genres", "poster_url", "overview", "my_rating"}
    assert first["my_rating"] is None

    # four ratings are not enough; each rates the movie after the last one rated, in the grid
    # as it is then (the onboarding grid adapts after each rating, as the app shows it)
    stars = [5.0, 4.5, 4.0, 3.5, 2.0]
    rated_ids: list[int] = []

    def next_movie() -> int:
        grid = client.get(f"{API}/movies?order=onboarding&shown=24", headers=headers)
        ids = [m["id"] for m in grid.get_json()["items"]]
        return ids[ids.index(rated_ids[-1]) + 1] if rated_ids else ids[0]

    for rating in stars[:4]:
        rated_ids.append(next_movie())
        answer = client.put(
            f"{API}/me/ratings/{rated_ids[-1]}", json={"rating": rating}, headers=headers
        )
        assert answer.status_code == 200 and answer.get_json()["rating"] == rating
    refused = client.get(f"{API}/me/recommendations", headers=headers)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["code"] == "not_enough_ratings" and error["fields"]["ratings_needed"] == 1
    assert "1 more movie" in error["message"]

    rated_ids.append(next_movie())
    done = client.put(f"{API}/me/ratings/{rated_ids[4]}", json={"rating": 2.0}, headers=headers)
    assert done.get_json()["rating_count"] == 5
    grid = client.get(f"{API}/movies?order=onboarding", headers=headers).get_json()["items"]
    assert [m["my_rating"] for m in grid[:5]] == stars
    assert [m["id"] for m in grid[:5]] == rated_ids and rated_ids[0] == ids1[0]

    recs = client.get(f"{API}/me/recommendations", headers=headers).get_json()
    assert len(recs["items"]) == 24 and recs["next_page"] == 2 and recs["model"] == "pearson"
    rated = set(rated_ids)
    for item in recs["items"]:
        assert item["movie"]["id"] not in rated and item["movie"]["my_rating"] is None
        assert 0 <= item["match"] <= 100 and 0.5 <= item["predicted_rating"] <= 5
        assert "people with your taste rated it" in item["reason"]
        assert item["evidence"]["neighbours_rated"] >= item["evidence"]["neighbours_liked"]
    assert recs["cached"] is False

    more = client.get(f"{API}/me/recommendations?page=2", headers=headers).get_json()
    assert more["cached"] is True and more["computed_at"] == recs["computed_at"]
    assert len(more["items"]) == 24 and more["page"] == 2
    page1_ids = {i["movie"]["id"] for i in recs["items"]}
    assert not page1_ids & {i["movie"]["id"] for i in more["items"]}

    # changing a rating recomputes the list
    client.put(f"{API}/me/ratings/{rated_ids[4]}", json={"rating": 5.0}, headers=headers)
    fresh = client.get(f"{API}/me/recommendations", headers=headers).get_json()
    assert fresh["cached"] is False
    assert fresh["ratings_version"] == recs["ratings_version"] + 1
    assert fresh["computed_at"] != recs["computed_at"]

    mine = client.get(f"{API}/me/ratings", headers=headers).get_json()
    assert mine["total"] == 5 and mine["items"][0]["movie"]["id"] == rated_ids[4]  # newest first
    assert mine["items"][0]["rating"] == 5.0

    assert client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    after = client.get(f"{API}/me", headers=headers)
    assert after.status_code == 401 and after.get_json()["error"]["code"] == "invalid_token"


def test_title_search_ignores_case_and_accents(worker_client, worker_login):
    headers = worker_login(worker_client, "searcher")
    found = worker_client.get(f"{API}/movies?q=AMELIE", headers=headers).get_json()
    assert any("Amélie" in m["title"] for m in found["items"])
    one = worker_client.get(f"{API}/movies/1", headers=headers).get_json()
    assert one["title"].startswith("Toy Story") and one["year"] == 1995
    assert worker_client.get(f"{API}/movies/999999999").status_code == 404


def test_neighbour_pool_follows_other_users_ratings(worker_app, worker_login, list_neighbours):
    """An app user who rated exactly like me becomes my closest taste neighbour."""
    client = worker_app.test_client()
    me = worker_login(client, "me_user")
    twin = worker_login(client, "twin_user")
    movies = [1, 2, 3, 5, 6, 7, 10]
    for movie_id, stars in zip(movies, [5, 4, 1, 2, 5, 1, 4], strict=True):
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=me)
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=twin)
    # the twin also loves an obscure movie nobody in MovieLens would put first
    client.put(f"{API}/me/ratings/176101", json={"rating": 5}, headers=twin)
    assert client.get(f"{API}/me/recommendations", headers=me).status_code == 200
    store = worker_app.extensions["store"]
    user_id, twin_id = store.user_id_for("me_user"), store.user_id_for("twin_user")
    neighbours = list_neighbours(worker_app, "me_user")
    assert neighbours and neighbours[0]["user"] == f"app:{twin_id}"
    assert neighbours[0]["similarity"] > 0.99
    assert store.users_leaning_on(twin_id) == {user_id}  # recorded with the cached list


def test_probes_report_liveness_at_once_and_readiness_only_when_models_load(make_worker_app):
    ready = make_worker_app().test_client()
    assert ready.get("/healthz").get_json() == {"status": "ok"}
    body = ready.get("/readyz").get_json()
    assert body["status"] == "ready" and body["models"]["pearson"] == "loaded"

    broken = make_worker_app(RECOMMENDER_MODEL="no_such_model").test_client()
    assert broken.get("/healthz").status_code == 200
    answer = broken.get("/readyz")
    assert answer.status_code == 503 and answer.get_json()["status"] == "not ready"
    refused = broken.get(f"{API}/genres")
    assert refused.status_code == 503 and refused.get_json()["error"]["code"] == "not_ready"
    assert "Retry-After" in refused.headers
