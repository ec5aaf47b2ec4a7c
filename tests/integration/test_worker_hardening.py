"""Hardening of the worker against hostile input, checked in process (Flask test client, real
Redis): deep JSON, password pre-hash, login throttling under concurrency.

The same attacks against a real gunicorn worker (request framing, gunicorn's own errors, slow
clients) are in ``test_worker_hostile.py``.
"""

from __future__ import annotations

import pytest

from tests.helpers import API, PASSWORD
from tests.helpers import log_in as _login
from tests.integration.test_worker_validation import snapshot
from worker.store import keys

DEEP = 3000


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _deep_object(field: str, levels: int) -> str:
    return '{"' + field + '": ' + _deep(levels) + "}"


BODY_ROUTES = [
    ("POST", f"{API}/auth/signup", "username"),
    ("POST", f"{API}/auth/login", "username"),
    ("PUT", f"{API}/me/genres", "genres"),
    ("PUT", f"{API}/me/ratings/1", "rating"),
    ("POST", f"{API}/me/discover", "liked"),
]


@pytest.mark.parametrize(("method", "path", "field"), BODY_ROUTES)
def test_deeply_nested_json_is_a_clear_400_and_changes_nothing(
    worker_client, worker_login, redis_server, method, path, field
):
    import redis

    headers = worker_login(worker_client, "deep-nester")
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    before = snapshot(db)
    for body in (_deep(DEEP), _deep_object(field, DEEP), "{" + '"a":{' * DEEP + "}" * DEEP):
        answer = worker_client.open(
            path, method=method, data=body, content_type="application/json", headers=headers
        )
        assert answer.status_code == 400, (path, answer.status_code, answer.get_data()[:200])
        error = answer.get_json()["error"]
        assert error["code"] == "json_too_deep"
        assert "nested" in error["message"]
    assert snapshot(db) == before


# --------------------------------------------------------------------------- password pre-hash

LONG_PASSWORD = "long and memorable passphrase " * 3  # 90 bytes: over bcrypt's 72


def test_the_sha256_of_a_long_password_is_not_a_second_password(worker_client):
    """Hash shucking: the old pre-hash base64(sha256(password)) logged in as the password."""
    import base64
    import hashlib

    body = {"username": "shucked", "password": LONG_PASSWORD}
    assert worker_client.post(f"{API}/auth/signup", json=body).status_code == 201
    shucked = base64.b64encode(hashlib.sha256(LONG_PASSWORD.encode()).digest()).decode()
    assert _login(worker_client, "shucked", shucked).status_code == 401
    assert _login(worker_client, "shucked", LONG_PASSWORD).status_code == 200


@pytest.mark.parametrize("password", ["short password", LONG_PASSWORD])
def test_old_hashes_still_log_in_and_are_migrated(worker_client, redis_server, password):
    """A hash made by the previous scheme (bcrypt of the raw password, or of base64(sha256)
    when over 72 bytes) logs in, and that login replaces it with a v2 hash."""
    import base64
    import hashlib

    import bcrypt
    import redis

    body = {"username": "oldtimer", "password": "placeholder pw"}
    assert worker_client.post(f"{API}/auth/signup", json=body).status_code == 201
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    key = keys.user(db.get("username:oldtimer"))
    raw = password.encode()
    old_input = base64.b64encode(hashlib.sha256(raw).digest()) if len(raw) > 72 else raw
    db.hset(key, "password_hash", bcrypt.hashpw(old_input, bcrypt.gensalt(4)).decode())
    if len(raw) > 72:  # the shucked form must not log in even against an old hash
        assert _login(worker_client, "oldtimer", old_input.decode()).status_code == 401
    assert _login(worker_client, "oldtimer", "wrong password").status_code == 401
    assert db.hget(key, "password_hash").startswith("$2b$")  # a failed login migrates nothing
    assert _login(worker_client, "oldtimer", password).status_code == 200
    migrated = db.hget(key, "password_hash")
    assert migrated.startswith("v2$$2b$04$")
    assert _login(worker_client, "oldtimer", password).status_code == 200
    assert db.hget(key, "password_hash") == migrated  # migrated once


# --------------------------------------------------------------------------- login throttling


def _burst(app, bodies: list[dict]) -> list[int]:
    """Send every login body at the same moment (one thread each); the status codes."""
    import threading

    barrier = threading.Barrier(len(bodies))
    codes: list[int] = [0] * len(bodies)

    def send(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        codes[i] = client.post(f"{API}/auth/login", json=bodies[i]).status_code

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def test_a_burst_of_wrong_logins_gets_at_most_the_limit_of_password_checks(make_worker_app):
    """16 simultaneous wrong logins for one username: only 5 (the limit) reach bcrypt (401),
    the rest are refused before it (429). bcrypt cost 10 makes each check ~50 ms, so the old
    check-then-count code let 8-10 through."""
    app = make_worker_app(BCRYPT_ROUNDS=10)
    body = {"username": "target", "password": "the right password"}
    assert app.test_client().post(f"{API}/auth/signup", json=body).status_code == 201
    codes = _burst(app, [{**body, "password": f"guess number {i}"} for i in range(16)])
    assert codes.count(401) == 5, codes
    assert codes.count(429) == 11, codes


def test_the_right_password_in_a_burst_does_not_get_past_the_limit(make_worker_app):
    """7 wrong and the right password at once: at most 5 checks run in all; the limit holds
    for the right password too (the 8th attempt is refused, whichever it is)."""
    app = make_worker_app(BCRYPT_ROUNDS=10)
    right = {"username": "target", "password": "the right password"}
    assert app.test_client().post(f"{API}/auth/signup", json=right).status_code == 201
    bodies = [{**right, "password": f"guess number {i}"} for i in range(7)] + [right] * 3
    codes = _burst(app, bodies)
    assert codes.count(401) + codes.count(200) <= 5, codes
    assert codes.count(429) >= 5, codes
    # the attempts in flight were reserved: afterwards the window is full either way
    if 200 not in codes:
        assert app.test_client().post(f"{API}/auth/login", json=right).status_code == 429


def test_a_successful_login_gives_its_reservation_back(make_worker_app):
    """Right-password logins do not use up the address allowance (20 per window)."""
    app = make_worker_app(LOGIN_MAX_FAILURES_PER_ADDRESS=3)
    client = app.test_client()
    body = {"username": "regular", "password": "the right password"}
    assert client.post(f"{API}/auth/signup", json=body).status_code == 201
    for _ in range(6):
        assert client.post(f"{API}/auth/login", json=body).status_code == 200


# --------------------------------------------------------------------------- response headers


def test_every_answer_says_nosniff_and_token_answers_are_not_stored(worker_client, worker_login):
    headers = worker_login(worker_client, "headers")
    body = {"username": "headers", "password": PASSWORD}
    login = worker_client.post(f"{API}/auth/login", json=body)
    assert login.status_code == 200 and "token" in login.get_json()
    assert login.headers["Cache-Control"] == "no-store"
    for answer in (
        login,
        worker_client.get(f"{API}/me", headers=headers),
        worker_client.get(f"{API}/no-such-route"),
        worker_client.get("/healthz"),
    ):
        assert answer.headers["X-Content-Type-Options"] == "nosniff"


def test_readyz_does_not_show_process_ids(worker_client):
    import os

    body = worker_client.get("/readyz").get_json()
    assert "process" not in body and str(os.getpid()) not in str(body)
    assert len(body["instance"]) == 8
