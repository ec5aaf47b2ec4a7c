"""Recommendations within a subset (genres, title search, years) and feedback beyond stars
(not interested, watchlist), through the worker's HTTP API on a real Redis server.

The in-process worker serves Pearson fitted on ml-latest-small; the lists are the worker's
real lists (no mocks). Cluster-safety: tests/integration/test_worker_cluster.py runs the
life-cycle tests here against a three-master Redis Cluster.
"""

from __future__ import annotations

import csv
import io
import time

import pytest

from api import rules
from tests.helpers import PASSWORD
from worker.store import keys

API = "/api/v1"
PROFILE = {1: 5.0, 260: 5.0, 2571: 4.5, 296: 4.0, 356: 4.0}
"""Toy Story, Star Wars, The Matrix, Pulp Fiction, Forrest Gump."""
SHREK, UP = 4306, 68954


@pytest.fixture()
def rated(worker_client, worker_login):
    """Auth headers of a user who rated :data:`PROFILE`."""
    headers = worker_login(worker_client, "steering")
    _rate(worker_client, headers, PROFILE)
    return headers


def _rate(client, headers, ratings: dict[int, float]) -> None:
    for movie_id, stars in ratings.items():
        answer = client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
        assert answer.status_code == 200, answer.get_json()


def _recs(client, headers, **query) -> dict:
    answer = client.get(
        f"{API}/me/recommendations", query_string={"page_size": 100, **query}, headers=headers
    )
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def _ids(page: dict) -> list[int]:
    return [item["movie"]["id"] for item in page["items"]]


def _all_ids(client, headers, **query) -> list[int]:
    """Every movie of the list, page by page."""
    ids, page = [], 1
    while page is not None:
        body = _recs(client, headers, page=page, **query)
        ids += _ids(body)
        page = body["next_page"]
    return ids


# --- recommendations within a subset ----------------------------------------------------------


def test_genre_filter_ranks_only_matching_movies_for_me_and_pages_stay_apart(worker_client, rated):
    everything = _recs(worker_client, rated)
    animation = _recs(worker_client, rated, genres="Animation", page_size=24)
    assert animation["total"] > 24 and animation["next_page"] == 2
    first = animation["items"]
    assert all("Animation" in item["movie"]["genres"] for item in first)
    assert not set(_ids(animation)) & set(PROFILE)
    # ranked for me: the same movies carry the same match as in my unfiltered list, best first
    overall = {item["movie"]["id"]: item["match"] for item in everything["items"]}
    assert [i["match"] for i in first] == sorted((i["match"] for i in first), reverse=True)
    assert all(
        overall[i["movie"]["id"]] == i["match"] for i in first if i["movie"]["id"] in overall
    )
    # the filter reaches past the unfiltered top 240: movies my full list never shows
    assert len(_all_ids(worker_client, rated, genres="Animation")) == animation["total"]
    second = _recs(worker_client, rated, genres="Animation", page_size=24, page=2)
    assert not set(_ids(second)) & set(_ids(animation))
    assert all("Animation" in item["movie"]["genres"] for item in second["items"])
    # each filter has its own cached list; asking again is served from it
    again = _recs(worker_client, rated, genres="Animation", page_size=24)
    assert again["cached"] is True and _ids(again) == _ids(animation)
    # the unfiltered list is untouched (in the model's own order, discover=0, pages of any
    # size are slices of one list)
    plain = _recs(worker_client, rated, page_size=24, discover=0)
    assert _ids(plain) == _ids(_recs(worker_client, rated, discover=0))[:24]


def test_title_and_year_filters_combine_with_genres(worker_client, rated):
    star = _recs(worker_client, rated, q="  STAR ")
    assert star["total"] >= 5
    assert all("star" in item["movie"]["title"].lower() for item in star["items"])
    nineties = _recs(worker_client, rated, year_from=1990, year_to=1995)
    assert nineties["items"] and all(1990 <= i["movie"]["year"] <= 1995 for i in nineties["items"])
    old_docs = _recs(worker_client, rated, genres="Documentary,Western", year_to=1960)
    for item in old_docs["items"]:
        assert {"Documentary", "Western"} & set(item["movie"]["genres"])
        assert item["movie"]["year"] <= 1960
    one_year = _recs(worker_client, rated, year_from=1994, year_to=1994)
    assert one_year["items"] and {i["movie"]["year"] for i in one_year["items"]} == {1994}
    nothing = _recs(worker_client, rated, q="zzzz no such title")
    assert nothing["items"] == [] and nothing["total"] == 0 and nothing["next_page"] is None


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"year_from": 2000, "year_to": 1990}, "year_to"),
        ({"year_from": "abc"}, "year_from"),
        ({"year_to": "1999.5"}, "year_to"),
        ({"year_from": 1700}, "year_from"),
        ({"year_to": 3000}, "year_to"),
        ({"genres": "Nope"}, "genres"),
        ({"genres": "Drama,Drama"}, "genres"),
        ({"q": "a" * (rules.QUERY_MAX + 1)}, "q"),
        ({"q": "tab\there"}, "q"),
    ],
)
def test_bad_filters_are_422_naming_the_field(worker_client, rated, query, field):
    answer = worker_client.get(f"{API}/me/recommendations", query_string=query, headers=rated)
    assert answer.status_code == 422
    error = answer.get_json()["error"]
    assert error["code"] == "validation_error" and list(error["fields"]) == [field]


def test_filters_need_five_ratings_like_the_list(worker_client, worker_login):
    headers = worker_login(worker_client, "fresh")
    _rate(worker_client, headers, {1: 5.0})
    answer = worker_client.get(f"{API}/me/recommendations?genres=Comedy", headers=headers)
    assert answer.status_code == 422
    assert answer.get_json()["error"]["code"] == "not_enough_ratings"


# --- not interested ---------------------------------------------------------------------------


def test_not_interested_leaves_every_list_at_once_and_undo_restores_it(worker_client, rated):
    before = _recs(worker_client, rated)
    top = _ids(before)[0]
    animated = _recs(worker_client, rated, genres="Animation")
    shrek_rank = _ids(animated).index(SHREK)
    answer = worker_client.put(f"{API}/me/not-interested/{top}", headers=rated)
    assert answer.status_code == 200
    assert answer.get_json() == {"movie_id": top, "listed": True, "changed": True, "count": 1}
    again = worker_client.put(f"{API}/me/not-interested/{top}", headers=rated)
    assert again.get_json() == {"movie_id": top, "listed": True, "changed": False, "count": 1}
    assert worker_client.put(f"{API}/me/not-interested/{SHREK}", headers=rated).status_code == 200

    after = _recs(worker_client, rated)
    assert after["ratings_version"] > before["ratings_version"]
    assert top not in _all_ids(worker_client, rated)
    assert SHREK not in _all_ids(worker_client, rated, genres="Animation")
    listed = worker_client.get(f"{API}/me/not-interested", headers=rated).get_json()
    assert [item["movie"]["id"] for item in listed["items"]] == [SHREK, top]

    undo = worker_client.delete(f"{API}/me/not-interested/{SHREK}", headers=rated)
    assert undo.get_json() == {"movie_id": SHREK, "listed": False, "changed": True, "count": 1}
    repeat = worker_client.delete(f"{API}/me/not-interested/{SHREK}", headers=rated)
    assert repeat.status_code == 200 and repeat.get_json()["changed"] is False
    assert _ids(_recs(worker_client, rated, genres="Animation")).index(SHREK) == shrek_rank
    worker_client.delete(f"{API}/me/not-interested/{top}", headers=rated)
    assert _ids(_recs(worker_client, rated)) == _ids(before)


@pytest.mark.parametrize("model", ["pearson", "item-knn"])
def test_not_interested_is_a_negative_signal_that_pushes_down_its_genre_neighbours(
    make_worker_app, worker_login, model
):
    """Not interested counts as a 1-star rating in the profile the models score from
    (worker.store.feedback.NOT_INTERESTED_STARS): after marking Shrek and Up, fewer animated
    movies make my list, and those that stay rank lower in it (user-based Pearson and
    item-based KNN alike)."""
    worker_client = make_worker_app(RECOMMENDER_MODEL=model).test_client()
    rated = worker_login(worker_client, "negative")
    _rate(worker_client, rated, PROFILE)

    def animated(ranked: list[int], catalog: dict[int, list[str]]) -> list[int]:
        return [rank for rank, m in enumerate(ranked) if "Animation" in catalog[m]]

    def ranked() -> tuple[list[int], dict[int, list[str]]]:
        ids, genres, page = [], {}, 1
        while page is not None:
            body = _recs(worker_client, rated, page=page, discover=0)
            assert body["model"] == model
            ids += _ids(body)
            genres |= {i["movie"]["id"]: i["movie"]["genres"] for i in body["items"]}
            page = body["next_page"]
        return ids, genres

    before, genres_before = ranked()
    for movie_id in (SHREK, UP):
        answer = worker_client.put(f"{API}/me/not-interested/{movie_id}", headers=rated)
        assert answer.status_code == 200
    after, genres_after = ranked()
    # the model's top 240, plus its ranking of each main genre's best-known movies
    # (recommender.rerank.widened)
    assert len(before) >= 240 and len(after) >= 240
    assert len(animated(after, genres_after)) < len(animated(before, genres_before)) - 2
    stayed = [m for m in before if m in set(after) and "Animation" in genres_before[m]]
    assert len(stayed) >= 5
    mean_before = sum(before.index(m) for m in stayed) / len(stayed)
    mean_after = sum(after.index(m) for m in stayed) / len(stayed)
    assert mean_after > mean_before + 10, (mean_before, mean_after)
    # the person's real ratings stay what they were: not interested is not a rating
    mine = worker_client.get(f"{API}/me/ratings", headers=rated).get_json()
    assert {item["movie"]["id"] for item in mine["items"]} == set(PROFILE)


def test_similar_movies_and_described_lists_leave_out_not_interested(
    make_worker_app, content_artifacts, worker_login
):
    client = make_worker_app(ARTIFACTS_DIR=str(content_artifacts)).test_client()
    headers = worker_login(client, "similar_ni")
    # three ratings and two not-interested movies are not five ratings: ranked by description
    _rate(client, headers, dict(list(PROFILE.items())[:3]))
    for movie_id in (SHREK, UP):
        client.put(f"{API}/me/not-interested/{movie_id}", headers=headers)
    early = _recs(client, headers, query="toys that come alive")
    assert early["ranked_by"] == "description" and SHREK not in _ids(early)
    assert "Rate 2 more movies" in " ".join(early["items"][0]["reasons"])
    for movie_id in (SHREK, UP):
        client.delete(f"{API}/me/not-interested/{movie_id}", headers=headers)
    _rate(client, headers, PROFILE)
    similar = client.get(f"{API}/movies/1/similar?k=10", headers=headers).get_json()
    before = [i["movie"]["id"] for i in similar["items"]]
    first = before[0]
    described = _recs(client, headers, query="toys that come alive")
    assert described["items"]
    hidden = described["items"][0]["movie"]["id"]
    for movie_id in {first, hidden}:
        assert client.put(f"{API}/me/not-interested/{movie_id}", headers=headers).status_code == 200
    now = client.get(f"{API}/movies/1/similar?k=5", headers=headers).get_json()
    assert [i["movie"]["id"] for i in now["items"]] == [
        m for m in before if m not in {first, hidden}
    ][:5]
    anonymous = client.get(f"{API}/movies/1/similar?k=5").get_json()
    assert first == anonymous["items"][0]["movie"]["id"]  # only the person's own lists change
    narrowed = _recs(client, headers, query="toys that come alive", genres="Animation")
    assert hidden not in _ids(narrowed) and first not in _ids(narrowed)
    assert all("Animation" in i["movie"]["genres"] for i in narrowed["items"])
    assert hidden not in _ids(_recs(client, headers, query="toys that come alive"))


# --- watchlist --------------------------------------------------------------------------------


def test_watchlist_is_paged_newest_first_and_put_delete_are_idempotent(worker_client, rated):
    for movie_id in (1, 2, 3):
        answer = worker_client.put(f"{API}/me/watchlist/{movie_id}", headers=rated)
        assert answer.status_code == 200 and answer.get_json()["changed"] is True
        time.sleep(0.002)
    repeat = worker_client.put(f"{API}/me/watchlist/1", headers=rated)
    assert repeat.get_json() == {"movie_id": 1, "listed": True, "changed": False, "count": 3}
    first = worker_client.get(f"{API}/me/watchlist?page_size=2", headers=rated).get_json()
    assert [i["movie"]["id"] for i in first["items"]] == [3, 2]  # a repeated PUT keeps its place
    assert (first["total"], first["next_page"]) == (3, 2)
    assert first["items"][0]["movie"]["my_rating"] is None
    assert first["items"][0]["added_at"].endswith("+00:00")
    second = worker_client.get(f"{API}/me/watchlist?page=2&page_size=2", headers=rated)
    assert [i["movie"]["id"] for i in second.get_json()["items"]] == [1]
    assert second.get_json()["next_page"] is None
    gone = worker_client.delete(f"{API}/me/watchlist/2", headers=rated)
    assert gone.get_json() == {"movie_id": 2, "listed": False, "changed": True, "count": 2}
    assert (
        worker_client.delete(f"{API}/me/watchlist/2", headers=rated).get_json()["changed"] is False
    )
    left = worker_client.get(f"{API}/me/watchlist", headers=rated).get_json()
    assert [i["movie"]["id"] for i in left["items"]] == [3, 1]
    # wanting to watch is not a rating and does not change the list
    assert _recs(worker_client, rated)["ratings_version"] == len(PROFILE)


def test_want_to_watch_and_not_interested_exclude_each_other(worker_client, rated):
    """Marking a movie on one list takes it off the other, in one step: not interested in a
    movie on the watchlist leaves the watchlist; wanting to watch a not-interested movie brings
    it back into the lists (its implicit low rating is gone)."""
    top = _ids(_recs(worker_client, rated))[0]

    def listed(which: str) -> list[int]:
        page = worker_client.get(f"{API}/me/{which}", headers=rated).get_json()
        return [item["movie"]["id"] for item in page["items"]]

    assert worker_client.put(f"{API}/me/watchlist/{top}", headers=rated).status_code == 200
    assert worker_client.put(f"{API}/me/not-interested/{top}", headers=rated).status_code == 200
    assert (listed("watchlist"), listed("not-interested")) == ([], [top])
    assert top not in _all_ids(worker_client, rated)
    version = _recs(worker_client, rated)["ratings_version"]

    back = worker_client.put(f"{API}/me/watchlist/{top}", headers=rated)
    assert back.get_json() == {"movie_id": top, "listed": True, "changed": True, "count": 1}
    assert (listed("watchlist"), listed("not-interested")) == ([top], [])
    after = _recs(worker_client, rated)
    assert after["ratings_version"] == version + 1  # the scoring profile lost the movie
    assert top in _all_ids(worker_client, rated)


@pytest.mark.parametrize("which", ["watchlist", "not-interested"])
def test_bad_requests_are_refused_and_change_nothing(worker_app, worker_client, rated, which):
    db = worker_app.extensions["store"].r
    before = sorted(db.keys("*"))
    for bad in ("999999999", "0", str(2**31)):
        for method in (worker_client.put, worker_client.delete):
            answer = method(f"{API}/me/{which}/{bad}", headers=rated)
            assert answer.status_code == 404
            assert answer.get_json()["error"]["code"] == "movie_not_found"
    for bad in ("abc", "-1", "1.5"):
        assert worker_client.put(f"{API}/me/{which}/{bad}", headers=rated).status_code == 404
    assert worker_client.put(f"{API}/me/{which}/1").status_code == 401
    assert worker_client.delete(f"{API}/me/{which}/1").status_code == 401
    assert worker_client.get(f"{API}/me/{which}").status_code == 401
    bad_page = worker_client.get(f"{API}/me/{which}?page=0", headers=rated)
    assert bad_page.status_code == 422 and "page" in bad_page.get_json()["error"]["fields"]
    assert sorted(db.keys("*")) == before


@pytest.mark.parametrize("which", ["watchlist", "not-interested"])
def test_a_full_list_refuses_one_more_with_409(worker_app, worker_client, rated, which):
    store = worker_app.extensions["store"]
    user_id = store.user_id_for("steering")
    key = keys.watchlist(user_id) if which == "watchlist" else keys.not_interested(user_id)
    catalog = worker_app.extensions["models"].catalog
    fill = [int(m) for m in catalog.ids if int(m) not in PROFILE][: rules.MOVIE_LIST_MAX - 1]
    store.r.zadd(key, {str(m): i for i, m in enumerate(fill)})
    last = [int(m) for m in catalog.ids if int(m) not in set(fill) | set(PROFILE)][:2]
    assert worker_client.put(f"{API}/me/{which}/{last[0]}", headers=rated).status_code == 200
    full = worker_client.put(f"{API}/me/{which}/{last[1]}", headers=rated)
    assert full.status_code == 409
    error = full.get_json()["error"]
    assert error["code"] == "list_full" and error["fields"] == {"limit": rules.MOVIE_LIST_MAX}
    assert store.r.zcard(key) == rules.MOVIE_LIST_MAX and store.r.zscore(key, last[1]) is None
    # a movie already there is still fine, and removing makes room
    assert worker_client.put(f"{API}/me/{which}/{last[0]}", headers=rated).status_code == 200
    assert worker_client.delete(f"{API}/me/{which}/{last[0]}", headers=rated).status_code == 200
    assert worker_client.put(f"{API}/me/{which}/{last[1]}", headers=rated).status_code == 200


# --- export and account deletion --------------------------------------------------------------


def test_export_holds_ratings_watchlist_and_not_interested(worker_client, rated):
    worker_client.put(f"{API}/me/watchlist/3", headers=rated)
    worker_client.put(f"{API}/me/not-interested/2", headers=rated)
    text = worker_client.get(f"{API}/me/ratings/export", headers=rated).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["movieId"], r["rating"], r["list"]) for r in rows[-2:]] == [
        ("3", "", "watchlist"),
        ("2", "", "not_interested"),
    ]
    assert rows[-2]["title"] == "Grumpier Old Men (1995)" and int(rows[-1]["timestamp"]) > 0
    assert [r["list"] for r in rows[:-2]] == ["rating"] * len(PROFILE)


def test_store_export_of_movie_lists_uses_the_ratings_user_ids(worker_app, worker_client, rated):
    from worker.store import export_movie_lists, export_ratings

    worker_client.put(f"{API}/me/watchlist/3", headers=rated)
    worker_client.put(f"{API}/me/not-interested/2", headers=rated)
    client = worker_app.extensions["store"].r
    lists = export_movie_lists(client)
    assert list(lists.columns) == ["userId", "movieId", "list", "timestamp"]
    assert sorted(zip(lists["movieId"], lists["list"], strict=True)) == [
        (2, "not_interested"),
        (3, "watchlist"),
    ]
    assert set(lists["userId"]) == set(export_ratings(client)["userId"])


def test_deleting_the_account_removes_its_watchlist_and_not_interested(
    worker_app, worker_client, rated
):
    store = worker_app.extensions["store"]
    user_id = store.user_id_for("steering")
    worker_client.put(f"{API}/me/watchlist/3", headers=rated)
    worker_client.put(f"{API}/me/not-interested/2", headers=rated)
    assert store.r.exists(keys.watchlist(user_id), keys.not_interested(user_id)) == 2
    answer = worker_client.delete(f"{API}/me", json={"password": PASSWORD}, headers=rated)
    assert answer.status_code == 204
    assert store.r.exists(keys.watchlist(user_id), keys.not_interested(user_id)) == 0
    left = [k for k in store.r.scan_iter("*") if user_id in k]
    assert left == []


def test_lists_are_per_user(worker_client, rated, worker_login):
    other = worker_login(worker_client, "someone_else")
    worker_client.put(f"{API}/me/watchlist/3", headers=rated)
    worker_client.put(f"{API}/me/not-interested/2", headers=rated)
    for which in ("watchlist", "not-interested"):
        theirs = worker_client.get(f"{API}/me/{which}", headers=other).get_json()
        assert theirs["items"] == [] and theirs["total"] == 0


def test_logging_in_from_a_guest_brings_its_lists_along(worker_client, rated):
    guest_token = worker_client.post(f"{API}/auth/guest").get_json()["token"]
    guest = {"Authorization": f"Bearer {guest_token}"}
    worker_client.put(f"{API}/me/watchlist/3", headers=rated)  # the account's own, kept
    worker_client.put(f"{API}/me/watchlist/5", headers=guest)
    worker_client.put(f"{API}/me/not-interested/2", headers=guest)
    login = {"username": "steering", "password": PASSWORD}
    answer = worker_client.post(f"{API}/auth/login", json=login, headers=guest)
    assert answer.status_code == 200
    merged = {"Authorization": f"Bearer {answer.get_json()['token']}"}
    watch = worker_client.get(f"{API}/me/watchlist", headers=merged).get_json()
    assert sorted(i["movie"]["id"] for i in watch["items"]) == [3, 5]
    hidden = worker_client.get(f"{API}/me/not-interested", headers=merged).get_json()
    assert [i["movie"]["id"] for i in hidden["items"]] == [2]
    assert 2 not in _all_ids(worker_client, merged)
    assert worker_client.get(f"{API}/me", headers=guest).status_code == 401


def test_discover_never_proposes_a_not_interested_movie(
    make_worker_app, content_artifacts, worker_login
):
    client = make_worker_app(ARTIFACTS_DIR=str(content_artifacts)).test_client()
    headers = worker_login(client, "discover_ni")
    first = client.get(f"{API}/me/discover", headers=headers).get_json()
    shown = [item["movie"]["id"] for item in first["items"]]
    client.delete(f"{API}/me/discover", headers=headers)
    for movie_id in shown:
        assert client.put(f"{API}/me/not-interested/{movie_id}", headers=headers).status_code == 200
    again = client.get(f"{API}/me/discover", headers=headers).get_json()
    assert again["items"] and not {i["movie"]["id"] for i in again["items"]} & set(shown)
