"""Accounts, sessions and isolation between users, against a real Redis."""

from __future__ import annotations

import time

import pytest
import redis

from tests.helpers import API, PASSWORD
from tests.helpers import log_in as _login
from worker import config
from worker.store import keys


def test_one_user_never_reads_or_changes_another_users_data(worker_client, worker_login):
    alice = worker_login(worker_client, "alice")
    bob = worker_login(worker_client, "bob")
    worker_client.put(f"{API}/me/ratings/1", json={"rating": 5}, headers=alice)
    worker_client.put(f"{API}/me/genres", json={"genres": ["Horror"]}, headers=alice)

    assert worker_client.get(f"{API}/me/ratings", headers=bob).get_json()["total"] == 0
    assert worker_client.get(f"{API}/me/genres", headers=bob).get_json()["genres"] == []
    assert worker_client.get(f"{API}/movies/1", headers=bob).get_json()["my_rating"] is None
    assert worker_client.get(f"{API}/movies/1", headers=alice).get_json()["my_rating"] == 5
    # bob removing "his" rating of movie 1 must not touch alice's
    assert worker_client.delete(f"{API}/me/ratings/1", headers=bob).status_code == 404
    worker_client.put(f"{API}/me/ratings/1", json={"rating": 1}, headers=bob)
    assert worker_client.get(f"{API}/movies/1", headers=alice).get_json()["my_rating"] == 5
    # there is no route that takes a user id
    alice_id = worker_client.get(f"{API}/me", headers=alice).get_json()["user"]["id"]
    assert worker_client.get(f"{API}/users/{alice_id}/ratings", headers=bob).status_code == 404


def test_every_me_route_needs_a_valid_token(worker_client):
    routes = [
        ("get", f"{API}/me"),
        ("get", f"{API}/me/genres"),
        ("put", f"{API}/me/genres"),
        ("get", f"{API}/me/ratings"),
        ("put", f"{API}/me/ratings/1"),
        ("delete", f"{API}/me/ratings/1"),
        ("get", f"{API}/me/recommendations"),
        ("post", f"{API}/auth/logout"),
    ]
    for method, path in routes:
        for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Basic x"}):
            answer = getattr(worker_client, method)(path, headers=headers, json={"rating": 4})
            assert answer.status_code == 401, (method, path, headers)
            assert answer.get_json()["error"]["status"] == 401


def test_logout_revokes_the_token_and_tokens_are_stored_hashed(
    worker_client, worker_login, redis_server
):
    headers = worker_login(worker_client, "carol")
    token = headers["Authorization"].split()[1]
    assert len(token) >= 43  # 32 random bytes, URL-safe base64
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    everything = " ".join(db.keys("*")) + " ".join(str(db.get(k)) for k in db.keys("session:*"))
    assert token not in everything
    assert worker_client.post(f"{API}/auth/logout", headers=headers).status_code == 204
    assert worker_client.get(f"{API}/me", headers=headers).status_code == 401
    assert not db.keys("session:*")


def test_expired_tokens_are_refused(make_worker_app, worker_login):
    client = make_worker_app(SESSION_TTL_SECONDS=1).test_client()
    headers = worker_login(client, "shortlived")
    assert client.get(f"{API}/me", headers=headers).status_code == 200
    time.sleep(1.3)
    assert client.get(f"{API}/me", headers=headers).status_code == 401


def test_unknown_user_and_wrong_password_get_the_same_answer(worker_client, worker_login):
    worker_login(worker_client, "dave")
    wrong = _login(worker_client, "dave", "not the password")
    unknown = _login(worker_client, "nobody_here", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.get_json() == unknown.get_json()
    assert wrong.get_json()["error"]["code"] == "invalid_credentials"


def test_repeated_failures_for_one_username_are_throttled(worker_client, worker_login):
    worker_login(worker_client, "erin")
    for _ in range(5):
        assert _login(worker_client, "erin", "guess guess").status_code == 401
    blocked = _login(worker_client, "ERIN", PASSWORD)  # even the right password, any case
    assert blocked.status_code == 429
    assert blocked.get_json()["error"]["code"] == "too_many_attempts"
    assert 0 < int(blocked.headers["Retry-After"]) <= 900
    # another user from the same address is not blocked by erin's counter
    worker_login(worker_client, "frank")


def test_repeated_failures_from_one_address_are_throttled(make_worker_app, worker_login):
    client = make_worker_app(LOGIN_MAX_FAILURES_PER_ADDRESS=3).test_client()
    worker_login(client, "grace")
    for name in ("u_one", "u_two", "u_three"):
        assert _login(client, name, "whatever pw").status_code == 401
    assert _login(client, "grace", PASSWORD).status_code == 429


def test_successful_login_resets_the_username_counter(worker_client, worker_login):
    worker_login(worker_client, "heidi")
    for _ in range(4):
        _login(worker_client, "heidi", "wrong pw!")
    assert _login(worker_client, "heidi").status_code == 200
    for _ in range(4):
        assert _login(worker_client, "heidi", "wrong pw!").status_code == 401


def test_usernames_are_unique_ignoring_case(worker_client, worker_login):
    worker_login(worker_client, "Ivan")
    taken = worker_client.post(
        f"{API}/auth/signup", json={"username": "iVAN", "password": PASSWORD}
    )
    assert taken.status_code == 409 and taken.get_json()["error"]["code"] == "username_taken"
    assert _login(worker_client, "IVAN").status_code == 200


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("a" * 72 + "one", "a" * 72 + "two"),
        ("é" * 36 + "one", "é" * 36 + "two"),  # 72 bytes of two-byte characters
    ],
)
def test_long_passwords_are_not_truncated_at_72_bytes(worker_client, first, second):
    body = {"username": "judy", "password": first}
    assert worker_client.post(f"{API}/auth/signup", json=body).status_code == 201
    assert _login(worker_client, "judy", second).status_code == 401
    assert _login(worker_client, "judy", first).status_code == 200


def test_password_hashes_use_bcrypt_at_the_configured_cost(
    worker_client, worker_login, redis_server
):
    worker_login(worker_client, "karl")
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    user_id = db.get("username:karl")
    assert db.hget(keys.user(user_id), "password_hash").startswith("v2$$2b$04$")  # test config


def test_production_bcrypt_cost_is_at_least_12(monkeypatch):
    monkeypatch.delenv("BCRYPT_ROUNDS", raising=False)
    assert config.from_environment()["BCRYPT_ROUNDS"] == 12
    monkeypatch.setenv("BCRYPT_ROUNDS", "4")
    with pytest.raises(RuntimeError, match="BCRYPT_ROUNDS"):
        config.from_environment()
