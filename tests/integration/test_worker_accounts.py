"""Guests, sign-up from a guest, log-in merging a guest, password change, ratings export and
account deletion — against a real Redis, with a second model service standing in for another
worker process where neighbour pools matter."""

from __future__ import annotations

import csv
import io
import threading
import time

import pytest

from tests.helpers import API, PASSWORD
from worker.services import ModelLoader, ModelService, user_model_key
from worker.store import keys
from worker.store.client import make_client

FIVE = [1, 2, 3, 5, 6]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _guest(client, address: str = "127.0.0.1") -> tuple[dict[str, str], str]:
    answer = client.post(f"{API}/auth/guest", environ_base={"REMOTE_ADDR": address})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    return _bearer(body["token"]), body["user"]["id"]


def _rate(client, headers, ratings: dict[int, float]) -> None:
    for movie_id, stars in ratings.items():
        answer = client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
        assert answer.status_code == 200, answer.get_json()


def _my_ratings(client, headers) -> dict[int, float]:
    body = client.get(f"{API}/me/ratings?page_size=100", headers=headers).get_json()
    return {item["movie"]["id"]: item["rating"] for item in body["items"]}


def _keys_of(app, user_id: str) -> list[str]:
    """Every Redis key naming the user, plus the sets / hashes that list them."""
    db = make_client(app.config["REDIS_URL"])
    found = [k for k in db.scan_iter(f"*{user_id}*")]
    if db.sismember("users", user_id):
        found.append("users")
    if db.zscore("guests", user_id) is not None:
        found.append("guests")
    if db.hexists(keys.EXPORT_IDS, user_id):
        found.append(keys.EXPORT_IDS)
    return found


@pytest.fixture()
def other_process(worker_app):
    """A second model service with its own fitted Pearson model and pool (another process)."""
    from recommender import settings
    from recommender.models import make_model
    from recommender.movielens import load_movielens

    store = worker_app.extensions["store"]
    catalog = worker_app.extensions["models"].catalog
    ml = load_movielens(settings.movielens_dir())
    model = make_model("pearson").fit(ml.ratings, ml.movies)
    other = ModelService(store, worker_app.config, ModelLoader.serving(catalog, model, "pearson"))
    other.start(background=False)
    return other


def _twins(client, worker_login, headers) -> dict[str, str]:
    """An account rating exactly like ``headers``'s user (so each is the other's neighbour);
    returns its headers. Both rate the same seven movies."""
    taste = {1: 5, 2: 4, 3: 1, 5: 2, 6: 5, 7: 1, 10: 4}
    twin = worker_login(client, "twin_user")
    _rate(client, headers, taste)
    _rate(client, twin, taste)
    return twin


def _leaning_on(app, user_id: str) -> set[str]:
    """Usernames whose cached list has ``user_id`` as a taste neighbour."""
    store = app.extensions["store"]
    return {store.get_user(u).username for u in store.users_leaning_on(user_id)}


# --- guests -----------------------------------------------------------------------------------


def test_a_guest_gets_a_token_and_uses_everything_an_account_can(
    make_worker_app, content_artifacts
):
    app = make_worker_app(ARTIFACTS_DIR=str(content_artifacts))
    client = app.test_client()
    answer = client.post(f"{API}/auth/guest")
    assert answer.status_code == 201
    body = answer.get_json()
    assert set(body) == {"token", "expires_in", "user"}
    assert body["user"] == {"id": body["user"]["id"], "username": None, "guest": True}
    assert body["expires_in"] == 30 * 86400 and len(body["token"]) >= 43
    headers = _bearer(body["token"])
    me = client.get(f"{API}/me", headers=headers).get_json()
    assert me["user"]["guest"] is True and me["ratings_needed"] == 5
    assert 0 < me["session_expires_in"] <= 30 * 86400
    assert (
        client.put(f"{API}/me/genres", json={"genres": ["Comedy"]}, headers=headers).status_code
        == 200
    )
    _rate(client, headers, dict.fromkeys(FIVE, 4.0))
    recs = client.get(f"{API}/me/recommendations", headers=headers)
    assert recs.status_code == 200 and len(recs.get_json()["items"]) == 24
    discover = client.get(f"{API}/me/discover", headers=headers)
    assert discover.status_code == 200 and discover.get_json()["items"]
    described = client.get(f"{API}/me/recommendations?query=space+adventure", headers=headers)
    assert described.status_code == 200 and described.get_json()["items"]
    assert client.get(f"{API}/me/ratings/export", headers=headers).status_code == 200


def test_guest_creation_is_limited_per_address(make_worker_app):
    app = make_worker_app(GUEST_MAX_PER_ADDRESS=3)
    client = app.test_client()
    for _ in range(3):
        _guest(client, "10.0.0.1")
    store = app.extensions["store"]
    users_before = store.all_user_ids()
    refused = client.post(f"{API}/auth/guest", environ_base={"REMOTE_ADDR": "10.0.0.1"})
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "too_many_guests"
    assert 0 < int(refused.headers["Retry-After"]) <= 3600
    assert store.all_user_ids() == users_before  # nothing created
    _guest(client, "10.0.0.2")  # another address is not affected


def test_unused_guests_are_removed_everywhere_and_used_ones_stay(
    make_worker_app, worker_login, other_process
):
    ttl = 6
    app = make_worker_app(GUEST_TTL_SECONDS=ttl, GUEST_SWEEP_SECONDS=0, GUEST_TOUCH_SECONDS=0)
    client = app.test_client()
    unused_since = time.monotonic()
    unused, unused_id = _guest(client)
    twin = _twins(client, worker_login, unused)
    client.get(f"{API}/me/recommendations", headers=twin)
    assert "twin_user" in _leaning_on(app, unused_id)
    other_process.sync()
    assert user_model_key(unused_id) in other_process.loaded.model.app_users

    # The clocks are relative to each guest's creation, so a slow set-up (a busy machine)
    # cannot let the used guest expire before it is renewed.
    used_since = time.monotonic()
    used, used_id = _guest(client)
    time.sleep(ttl / 3)
    assert client.get(f"{API}/me", headers=used).status_code == 200  # used: renewed
    # past both guests' first time-to-live: only the renewal keeps the used one
    time.sleep(max(unused_since, used_since) + ttl + 0.5 - time.monotonic())
    client.get("/healthz")  # any request lets the process remove unused guests

    assert _keys_of(app, unused_id) == []
    assert client.get(f"{API}/me", headers=unused).status_code == 401
    assert client.get(f"{API}/me", headers=used).status_code == 200
    assert _keys_of(app, used_id)
    assert user_model_key(unused_id) not in app.extensions["models"].loaded.model.app_users
    other_process.sync()
    assert user_model_key(unused_id) not in other_process.loaded.model.app_users
    assert client.get(f"{API}/me/recommendations", headers=twin).get_json()["cached"] is False
    assert _leaning_on(app, unused_id) == set()


# --- sign-up from a guest ---------------------------------------------------------------------


def test_signup_with_a_guest_token_keeps_everything(make_worker_app, content_artifacts):
    app = make_worker_app(ARTIFACTS_DIR=str(content_artifacts))
    client = app.test_client()
    guest, guest_id = _guest(client)
    client.put(f"{API}/me/genres", json={"genres": ["Drama", "Comedy"]}, headers=guest)
    _rate(client, guest, {1: 5.0, 2: 3.5, 3: 4.0, 5: 2.0, 6: 4.5})
    round_one = client.get(f"{API}/me/discover", headers=guest).get_json()
    recs = client.get(f"{API}/me/recommendations", headers=guest).get_json()

    body = {"username": "Kept_All", "password": PASSWORD}
    answer = client.post(f"{API}/auth/signup", json=body, headers=guest)
    assert answer.status_code == 201
    assert answer.get_json()["user"] == {"id": guest_id, "username": "Kept_All", "guest": False}

    me = client.get(f"{API}/me", headers=guest).get_json()  # the guest token keeps working
    assert me["user"] == {"id": guest_id, "username": "Kept_All", "guest": False}
    assert 0 < me["session_expires_in"] <= app.config["SESSION_TTL_SECONDS"]  # an account's
    assert me["genres"] == ["Drama", "Comedy"] and me["rating_count"] == 5
    again = client.get(f"{API}/me/recommendations", headers=guest).get_json()
    assert again["cached"] is True and again["items"] == recs["items"]
    assert client.get(f"{API}/me/discover", headers=guest).get_json() == round_one

    login = client.post(f"{API}/auth/login", json=body).get_json()
    account = _bearer(login["token"])
    assert login["user"]["id"] == guest_id
    assert _my_ratings(client, account) == {1: 5.0, 2: 3.5, 3: 4.0, 5: 2.0, 6: 4.5}
    db = make_client(app.config["REDIS_URL"])
    assert db.zscore("guests", guest_id) is None
    # the account is not a guest any more: a second sign-up with its token is refused
    second = client.post(
        f"{API}/auth/signup", json={"username": "another", "password": PASSWORD}, headers=guest
    )
    assert second.status_code == 409 and second.get_json()["error"]["code"] == "not_a_guest"
    assert (
        client.post(
            f"{API}/auth/login", json={"username": "another", "password": PASSWORD}
        ).status_code
        == 401
    )


def test_signup_from_a_guest_with_a_taken_name_or_bad_input_changes_nothing(
    worker_client, worker_login
):
    worker_login(worker_client, "taken_name")
    guest, guest_id = _guest(worker_client)
    _rate(worker_client, guest, {1: 4.0})
    taken = worker_client.post(
        f"{API}/auth/signup", json={"username": "TAKEN_name", "password": PASSWORD}, headers=guest
    )
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "username_taken"
    short = worker_client.post(
        f"{API}/auth/signup", json={"username": "fine_name", "password": "short"}, headers=guest
    )
    assert short.status_code == 422
    me = worker_client.get(f"{API}/me", headers=guest).get_json()
    assert me["user"] == {"id": guest_id, "username": None, "guest": True}
    bad_token = worker_client.post(
        f"{API}/auth/signup",
        json={"username": "fine_name", "password": PASSWORD},
        headers=_bearer("not-a-token"),
    )
    assert bad_token.status_code == 401
    assert worker_client.application.extensions["store"].user_id_for("fine_name") is None


def test_two_tabs_signing_up_one_guest_at_once_make_one_account(worker_app):
    client = worker_app.test_client()
    guest, guest_id = _guest(client)
    _rate(client, guest, {1: 4.0, 2: 5.0})
    barrier = threading.Barrier(2)
    answers: dict[str, int] = {}

    def tab(name: str) -> None:
        tab_client = worker_app.test_client()
        barrier.wait()
        body = {"username": name, "password": PASSWORD}
        answers[name] = tab_client.post(f"{API}/auth/signup", json=body, headers=guest).status_code

    threads = [threading.Thread(target=tab, args=(n,)) for n in ("tab_one", "tab_two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers.values()) == [201, 409]
    winner = next(name for name, status in answers.items() if status == 201)
    loser = next(name for name, status in answers.items() if status == 409)
    store = worker_app.extensions["store"]
    assert store.user_id_for(winner) == guest_id and store.user_id_for(loser) is None
    assert store.get_user(guest_id).username == winner
    assert _my_ratings(client, guest) == {1: 4.0, 2: 5.0}


# --- log-in from a guest session --------------------------------------------------------------


def test_login_from_a_guest_merges_ratings_newer_wins_and_removes_the_guest(
    worker_app, worker_login, other_process
):
    client = worker_app.test_client()
    account = worker_login(client, "merger")
    guest, guest_id = _guest(client)
    _rate(client, guest, {2: 5.0})  # older than the account's rating of movie 2
    time.sleep(0.01)
    _rate(client, account, {2: 1.0, 1: 2.0, 5: 3.0, 6: 3.0, 7: 3.0})
    time.sleep(0.01)
    _rate(client, guest, {1: 5.0, 3: 4.0})  # newer than the account's rating of movie 1
    client.get(f"{API}/me/recommendations", headers=account)
    other_process.sync()
    assert user_model_key(guest_id) in other_process.loaded.model.app_users

    body = {"username": "merger", "password": PASSWORD}
    answer = client.post(f"{API}/auth/login", json=body, headers=guest)
    assert answer.status_code == 200
    merged = _bearer(answer.get_json()["token"])
    assert _my_ratings(client, merged) == {1: 5.0, 2: 1.0, 3: 4.0, 5: 3.0, 6: 3.0, 7: 3.0}
    assert client.get(f"{API}/me/recommendations", headers=merged).get_json()["cached"] is False
    assert client.get(f"{API}/me", headers=guest).status_code == 401
    assert _keys_of(worker_app, guest_id) == []
    other_process.sync()
    assert user_model_key(guest_id) not in other_process.loaded.model.app_users


def test_a_failed_login_from_a_guest_merges_nothing(worker_client, worker_login):
    worker_login(worker_client, "careful")
    guest, _ = _guest(worker_client)
    _rate(worker_client, guest, {1: 4.0})
    wrong = {"username": "careful", "password": "not the password"}
    assert worker_client.post(f"{API}/auth/login", json=wrong, headers=guest).status_code == 401
    assert _my_ratings(worker_client, guest) == {1: 4.0}


def test_two_tabs_logging_in_from_one_guest_merge_it_once(worker_app, worker_login):
    client = worker_app.test_client()
    account = worker_login(client, "two_tabs")
    _rate(client, account, {1: 3.0})
    guest, guest_id = _guest(client)
    _rate(client, guest, {2: 4.0, 3: 5.0})
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def tab() -> None:
        tab_client = worker_app.test_client()
        barrier.wait()
        body = {"username": "two_tabs", "password": PASSWORD}
        answers.append(tab_client.post(f"{API}/auth/login", json=body, headers=guest).status_code)

    threads = [threading.Thread(target=tab) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200, 200]
    assert _my_ratings(client, account) == {1: 3.0, 2: 4.0, 3: 5.0}
    store = worker_app.extensions["store"]
    assert store.ratings_version(store.user_id_for("two_tabs")) == 2  # one rating + one merge
    assert _keys_of(worker_app, guest_id) == []


# --- password, export, deletion ---------------------------------------------------------------


def test_password_change_needs_the_old_one_and_revokes_other_sessions(worker_app, worker_login):
    client = worker_app.test_client()
    this_tab = worker_login(client, "changer")
    other_tab = _bearer(
        client.post(
            f"{API}/auth/login", json={"username": "changer", "password": PASSWORD}
        ).get_json()["token"]
    )
    url = f"{API}/me/password"
    wrong = client.put(
        url,
        json={"old_password": "wrong password", "new_password": "a new password"},
        headers=this_tab,
    )
    assert wrong.status_code == 403 and wrong.get_json()["error"]["code"] == "wrong_password"
    weak = client.put(
        url, json={"old_password": PASSWORD, "new_password": "short"}, headers=this_tab
    )
    assert weak.status_code == 422 and "new_password" in weak.get_json()["error"]["fields"]
    extra = client.put(url, json={"old_password": PASSWORD, "x": 1}, headers=this_tab)
    assert extra.status_code == 422
    assert client.get(f"{API}/me", headers=other_tab).status_code == 200  # nothing changed yet

    done = client.put(
        url, json={"old_password": PASSWORD, "new_password": "a new password"}, headers=this_tab
    )
    assert done.status_code == 204
    assert client.get(f"{API}/me", headers=this_tab).status_code == 200
    assert client.get(f"{API}/me", headers=other_tab).status_code == 401
    old = {"username": "changer", "password": PASSWORD}
    assert client.post(f"{API}/auth/login", json=old).status_code == 401
    new = {"username": "changer", "password": "a new password"}
    assert client.post(f"{API}/auth/login", json=new).status_code == 200

    guest, _ = _guest(client)
    refused = client.put(
        url, json={"old_password": "x", "new_password": "a new password"}, headers=guest
    )
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "guest_account"


def test_wrong_passwords_on_account_routes_are_throttled(make_worker_app, worker_login):
    app = make_worker_app(LOGIN_MAX_FAILURES_PER_USER=2)
    client = app.test_client()
    headers = worker_login(client, "guessed")
    body = {"old_password": "guess one", "new_password": "a new password"}
    assert [
        client.put(f"{API}/me/password", json=body, headers=headers).status_code for _ in range(3)
    ] == [403, 403, 429]
    blocked = client.delete(f"{API}/me", json={"password": PASSWORD}, headers=headers)
    assert blocked.status_code == 429 and "Retry-After" in blocked.headers
    assert client.get(f"{API}/me", headers=headers).status_code == 200


def test_a_burst_of_wrong_passwords_on_account_routes_gets_at_most_the_limit(
    make_worker_app, worker_login
):
    """12 simultaneous password changes with a wrong old password: only 5 (the limit) reach
    bcrypt (403), the rest are refused before it (429), and the password stays the same.
    bcrypt cost 10 makes each check ~50 ms, so a check-then-count would let more through."""
    app = make_worker_app(BCRYPT_ROUNDS=10)
    headers = worker_login(app.test_client(), "burst")
    barrier = threading.Barrier(12)
    codes: list[int] = [0] * 12

    def send(i: int) -> None:
        client = app.test_client()
        body = {"old_password": f"guess number {i}", "new_password": "a new password"}
        barrier.wait()
        codes[i] = client.put(f"{API}/me/password", json=body, headers=headers).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [403] * 5 + [429] * 7, codes
    login = {"username": "burst", "password": PASSWORD}
    assert app.test_client().post(f"{API}/auth/login", json=login).status_code == 200


def test_export_is_a_movielens_csv_of_my_ratings_only(worker_client, worker_login):
    me = worker_login(worker_client, "exporter")
    someone = worker_login(worker_client, "someone")
    _rate(worker_client, someone, {10: 1.0})
    before = int(time.time())
    _rate(worker_client, me, {1: 4.5, 2: 3.0})
    _rate(worker_client, me, {1: 5.0})
    answer = worker_client.get(f"{API}/me/ratings/export", headers=me)
    assert answer.status_code == 200
    assert answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    text = answer.get_data(as_text=True)
    assert text.splitlines()[0] == "movieId,title,rating,timestamp,list"
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [(r["movieId"], r["title"], r["rating"], r["list"]) for r in rows] == [
        ("2", "Jumanji (1995)", "3", "rating"),
        ("1", "Toy Story (1995)", "5", "rating"),
    ]
    assert all(before <= int(r["timestamp"]) <= time.time() + 1 for r in rows)
    assert worker_client.get(f"{API}/me/ratings/export").status_code == 401
    empty = worker_login(worker_client, "nothing_yet")
    assert worker_client.get(f"{API}/me/ratings/export", headers=empty).get_data(as_text=True) == (
        "movieId,title,rating,timestamp,list\n"
    )


def test_deleting_an_account_removes_every_key_and_every_neighbour_trace(
    worker_app, worker_login, other_process
):
    client = worker_app.test_client()
    doomed = worker_login(client, "Doomed_User")
    second_tab = _bearer(
        client.post(
            f"{API}/auth/login", json={"username": "Doomed_User", "password": PASSWORD}
        ).get_json()["token"]
    )
    store = worker_app.extensions["store"]
    doomed_id = store.user_id_for("doomed_user")
    twin = _twins(client, worker_login, doomed)
    client.put(f"{API}/me/genres", json={"genres": ["Drama"]}, headers=doomed)
    client.get(f"{API}/me/recommendations", headers=doomed)
    client.get(f"{API}/me/recommendations", headers=twin)
    assert "twin_user" in _leaning_on(worker_app, doomed_id)
    other_process.sync()
    assert user_model_key(doomed_id) in other_process.loaded.model.app_users

    url = f"{API}/me"
    wrong = client.delete(url, json={"password": "not my password"}, headers=doomed)
    assert wrong.status_code == 403
    missing = client.delete(url, json={}, headers=doomed)
    assert missing.status_code == 422 and "password" in missing.get_json()["error"]["fields"]
    not_json = client.delete(url, data="password", headers=doomed)
    assert not_json.status_code == 415
    assert client.get(url, headers=doomed).status_code == 200  # nothing changed

    assert client.delete(url, json={"password": PASSWORD}, headers=doomed).status_code == 204
    assert _keys_of(worker_app, doomed_id) == []
    assert client.get(url, headers=doomed).status_code == 401
    assert client.get(url, headers=second_tab).status_code == 401
    login = {"username": "Doomed_User", "password": PASSWORD}
    assert client.post(f"{API}/auth/login", json=login).status_code == 401
    # gone from this process's pool before the response, from the other's at its next sync
    assert user_model_key(doomed_id) not in worker_app.extensions["models"].loaded.model.app_users
    other_process.sync()
    assert user_model_key(doomed_id) not in other_process.loaded.model.app_users
    # and nobody's list still leans on them
    assert client.get(f"{API}/me/recommendations", headers=twin).get_json()["cached"] is False
    assert _leaning_on(worker_app, doomed_id) == set()
    # the name is free again
    signup = client.post(f"{API}/auth/signup", json=login)
    assert signup.status_code == 201 and signup.get_json()["user"]["id"] != doomed_id


def test_a_guest_deletes_itself_without_a_password(worker_client):
    guest, guest_id = _guest(worker_client)
    _rate(worker_client, guest, {1: 4.0})
    assert worker_client.delete(f"{API}/me", json={}, headers=guest).status_code == 204
    assert _keys_of(worker_client.application, guest_id) == []
