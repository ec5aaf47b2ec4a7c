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

    newcomer = worker_login(client, "Newcomer_1")
    client.put(f"{API}/me/genres", json={"genres": CHOSEN}, headers=newcomer)
    page1 = client.get(f"{API}/movies", headers=newcomer)
    assert page1.status_code == 200 and page1.get_json()["order"] == "onboarding"
    assert _ids(page1) == [int(i) for i in expected.page(CHOSEN, 1, 24)[0]]
    assert _ids(page1) != today
    assert page1.get_json()["total"] == catalog.browse(CHOSEN, None, 1, 24)[1]
    page2 = client.get(f"{API}/movies?page=2&order=onboarding", headers=newcomer)
    assert _ids(page2) == [int(i) for i in expected.page(CHOSEN, 2, 24)[0]]
    assert not set(_ids(page1)) & set(_ids(page2))

    # four ratings: still a newcomer; the fifth makes the default today's order
    for movie_id in _ids(page1)[:4]:
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": 4.0}, headers=newcomer)
    assert client.get(f"{API}/movies", headers=newcomer).get_json()["order"] == "onboarding"
    client.put(f"{API}/me/ratings/{_ids(page1)[4]}", json={"rating": 2.5}, headers=newcomer)
    settled = client.get(f"{API}/movies", headers=newcomer)
    assert settled.get_json()["order"] == "popular" and _ids(settled) == today
    # a grid opened before the fifth rating keeps its order for "show more"
    kept = client.get(f"{API}/movies?page=2&order=onboarding", headers=newcomer)
    assert _ids(kept) == _ids(page2) and kept.get_json()["order"] == "onboarding"
    assert [m["my_rating"] for m in page1.get_json()["items"][:5]] == [None] * 5
    mine = client.get(f"{API}/movies?order=onboarding", headers=newcomer).get_json()["items"]
    assert [m["my_rating"] for m in mine[:5]] == [4.0, 4.0, 4.0, 4.0, 2.5]

    # an established user (five ratings of their own) sees today's grid, unchanged
    regular = worker_login(client, "Regular_1")
    client.put(f"{API}/me/genres", json={"genres": CHOSEN}, headers=regular)
    for movie_id in today[:5]:
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": 3.5}, headers=regular)
    grid = client.get(f"{API}/movies", headers=regular)
    assert grid.get_json()["order"] == "popular" and _ids(grid) == today
    more = client.get(f"{API}/movies?page=2", headers=regular)
    assert _ids(more) == [int(i) for i in catalog.browse(CHOSEN, None, 2, 24)[0]]


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
