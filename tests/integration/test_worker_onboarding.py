"""The newcomer's grid through the worker API: ``GET /api/v1/movies`` shows a person with fewer
than five ratings the onboarding order (recommender/onboarding.py), everybody else today's
most-rated first, and keeps an order the client names while it pages."""

from __future__ import annotations

import pytest

from recommender.movielens import load_movielens
from recommender.onboarding import FirstGrid

API = "/api/v1"
CHOSEN = ["Horror", "Comedy", "Drama"]


@pytest.fixture(scope="module")
def ratings(data_dir):
    return load_movielens(data_dir / "ml-latest-small").ratings


def _ids(answer) -> list[int]:
    return [m["id"] for m in answer.get_json()["items"]]


def test_newcomer_gets_the_onboarding_order_and_an_established_user_today_s(
    worker_app, worker_login, ratings
):
    client = worker_app.test_client()
    catalog = worker_app.extensions["models"].catalog
    expected = FirstGrid.from_ratings(catalog, ratings)  # built here, from the same inputs
    today = [int(i) for i in catalog.browse(CHOSEN, None, 1, 24)[0]]

    def grid(rated: list[int], page: int = 1, shown: int = 24) -> list[int]:
        ids = expected.page(CHOSEN, page, 24, rated=rated, shown=shown)[0]
        return [int(i) for i in ids]

    newcomer = worker_login(client, "Newcomer_1")
    client.put(f"{API}/me/genres", json={"genres": CHOSEN}, headers=newcomer)
    page1 = client.get(f"{API}/movies", headers=newcomer)
    assert page1.status_code == 200 and page1.get_json()["order"] == "onboarding"
    assert _ids(page1) == [int(i) for i in expected.page(CHOSEN, 1, 24)[0]] == grid([])
    assert _ids(page1) != today
    assert page1.get_json()["total"] == catalog.browse(CHOSEN, None, 1, 24)[1]
    page2 = client.get(f"{API}/movies?page=2&order=onboarding", headers=newcomer)
    assert _ids(page2) == [int(i) for i in expected.page(CHOSEN, 2, 24)[0]]
    assert not set(_ids(page1)) & set(_ids(page2))

    # the grid adapts: after a rating of the third movie, the first three stay and the rest
    # of the page is chosen from it (what the app asks after each rating: shown=24)
    rated = [_ids(page1)[2]]
    client.put(f"{API}/me/ratings/{rated[0]}", json={"rating": 4.0}, headers=newcomer)
    adapted = client.get(f"{API}/movies?shown=24", headers=newcomer)
    assert adapted.get_json()["order"] == "onboarding"
    assert _ids(adapted) == grid(rated)
    assert _ids(adapted)[:3] == _ids(page1)[:3] and _ids(adapted)[3:] != _ids(page1)[3:]
    # three more, each the next movie after the last one rated, as a person reads the grid
    for _ in range(3):
        current = _ids(client.get(f"{API}/movies?shown=24", headers=newcomer))
        movie_id = current[current.index(rated[-1]) + 1]
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": 3.5}, headers=newcomer)
        rated.append(movie_id)
    four = client.get(f"{API}/movies?shown=24", headers=newcomer)
    assert four.get_json()["order"] == "onboarding" and _ids(four) == grid(rated)
    assert _ids(four)[:6] == current[:6]  # every place up to the last rating stayed
    assert [m["my_rating"] for m in four.get_json()["items"][2:6]] == [4.0, 3.5, 3.5, 3.5]
    # "show more" (page 2, shown=24) continues the same grid
    more = client.get(f"{API}/movies?page=2&order=onboarding&shown=24", headers=newcomer)
    assert _ids(more) == grid(rated, page=2)
    assert not set(_ids(four)) & set(_ids(more))

    # the fifth rating makes the default today's order; a grid opened before it keeps its
    client.put(f"{API}/me/ratings/{_ids(four)[6]}", json={"rating": 2.5}, headers=newcomer)
    rated.append(_ids(four)[6])
    settled = client.get(f"{API}/movies", headers=newcomer)
    assert settled.get_json()["order"] == "popular" and _ids(settled) == today
    kept = client.get(f"{API}/movies?page=2&order=onboarding&shown=48", headers=newcomer)
    assert kept.get_json()["order"] == "onboarding"
    assert _ids(kept) == grid(rated, page=2, shown=48)

    # an established user (five ratings of their own) sees today's grid, unchanged
    regular = worker_login(client, "Regular_1")
    client.put(f"{API}/me/genres", json={"genres": CHOSEN}, headers=regular)
    for movie_id in today[:5]:
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": 3.5}, headers=regular)
    grid_ = client.get(f"{API}/movies", headers=regular)
    assert grid_.get_json()["order"] == "popular" and _ids(grid_) == today
    more = client.get(f"{API}/movies?page=2", headers=regular)
    assert _ids(more) == [int(i) for i in catalog.browse(CHOSEN, None, 2, 24)[0]]


def test_the_grid_follows_the_order_of_the_ratings_and_each_person_s_own(
    worker_app, worker_login, ratings
):
    """Two people rate the same two movies in opposite orders: each grid replays its own
    ratings, oldest first; a third person's grid is untouched."""
    client = worker_app.test_client()
    catalog = worker_app.extensions["models"].catalog
    expected = FirstGrid.from_ratings(catalog, ratings)
    first = [int(i) for i in expected.page(CHOSEN, 1, 24)[0]]
    pair = [first[1], first[20]]
    grids = []
    for name, movies in (("Order_1", pair), ("Order_2", pair[::-1])):
        headers = worker_login(client, name)
        client.put(f"{API}/me/genres", json={"genres": CHOSEN}, headers=headers)
        for movie_id in movies:
            client.put(f"{API}/me/ratings/{movie_id}", json={"rating": 4.5}, headers=headers)
        answer = client.get(f"{API}/movies?shown=24", headers=headers)
        got = _ids(answer)
        assert got == [int(i) for i in expected.page(CHOSEN, 1, 24, rated=movies)[0]]
        grids.append(got)
    assert grids[1][:21] == first[:21]  # rated at place 21 first: every place before it kept
    assert grids[0][:2] == first[:2] and grids[0][2:21] != first[2:21]  # kept up to place 2
    assert grids[0] != grids[1]
    other = worker_login(client, "Order_3")
    client.put(f"{API}/me/genres", json={"genres": CHOSEN}, headers=other)
    assert _ids(client.get(f"{API}/movies", headers=other)) == first


def test_anonymous_browsing_and_title_search_stay_most_rated_first(worker_client, worker_login):
    catalog = worker_client.application.extensions["models"].catalog
    anonymous = worker_client.get(f"{API}/movies")
    assert anonymous.get_json()["order"] == "popular"
    assert _ids(anonymous) == [int(i) for i in catalog.browse([], None, 1, 24)[0]]
    newcomer = worker_login(worker_client, "Newcomer_2")
    found = worker_client.get(f"{API}/movies?q=star&order=onboarding", headers=newcomer)
    assert found.get_json()["order"] == "popular"
    assert _ids(found) == [int(i) for i in catalog.browse([], "star", 1, 24)[0]]
    # without chosen genres a newcomer's grid ranks every movie
    everything = worker_client.get(f"{API}/movies", headers=newcomer).get_json()
    assert everything["order"] == "onboarding" and everything["total"] == len(catalog)


def test_an_unknown_order_is_a_clear_422_and_changes_nothing(worker_client, worker_login):
    headers = worker_login(worker_client, "Newcomer_3")
    answer = worker_client.get(f"{API}/movies?order=newest", headers=headers)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["fields"]["order"] == "must be 'popular' or 'onboarding'"
    blank = worker_client.get(f"{API}/movies?order=", headers=headers)  # blank: the default
    assert blank.status_code == 200 and blank.get_json()["order"] == "onboarding"
    for bad in ("-1", "2.5", "x", str(10**9)):
        answer = worker_client.get(f"{API}/movies?shown={bad}", headers=headers)
        assert answer.status_code == 422, bad
        assert "shown" in answer.get_json()["error"]["fields"]
