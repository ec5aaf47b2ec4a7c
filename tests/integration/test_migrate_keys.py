"""A database written with key layout 1 (before hash tags) keeps working after
``python -m scripts.migrate_keys``: accounts, passwords, old tokens, guests, ratings, discover
state, export numbers; and the worker refuses to start on it before the migration."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from conftest import WORKER_TEST_CONFIG

from worker.auth import hash_password
from worker.store import EXPORT_USER_OFFSET, LayoutError, export_ratings, keys

API = "/api/v1"
ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
ALICE, GUEST = "a11ce0000000000a", "9e5700000000000b"
ALICE_RATINGS = {1: 5.0, 2: 4.0, 3: 1.0, 5: 2.0, 6: 5.0, 7: 1.0}


def write_layout_1(db: redis.Redis) -> dict[str, str]:
    """What the worker before layout 2 wrote (worker/store.py and worker/accounts.py of that
    time): an account with a session, ratings, a cached list and discover state; a guest with
    its session and ratings; export numbers; counters; change-stream entries. Returns the two
    old-style tokens (``secrets.token_urlsafe(32)``, no user id inside)."""
    import hashlib

    def session(token: str, user_id: str, ttl: int) -> None:
        key = "session:" + hashlib.sha256(token.encode()).hexdigest()
        db.set(key, user_id, ex=ttl)
        db.sadd(f"sessions:{user_id}", key)
        db.expire(f"sessions:{user_id}", ttl)

    tokens = {"alice": secrets.token_urlsafe(32), "guest": secrets.token_urlsafe(32)}
    db.hset(
        f"user:{ALICE}",
        mapping={
            "username": "Alice",
            "password_hash": hash_password(PASSWORD, 4),
            "created_at": "2026-01-01T00:00:00+00:00",
            "genres": json.dumps(["Comedy", "Drama"]),
        },
    )
    db.set("username:alice", ALICE)
    db.hset(
        f"user:{GUEST}",
        mapping={
            "username": "",
            "password_hash": "",
            "created_at": "2026-01-02T00:00:00+00:00",
            "genres": "[]",
            "guest": "1",
            "last_seen": 1_800_000_000_000,
        },
    )
    db.sadd("users", ALICE, GUEST)
    db.zadd("guests", {GUEST: 1_800_000_000_000})
    session(tokens["alice"], ALICE, 3600)
    session(tokens["guest"], GUEST, 30 * 86400)
    for i, (movie, stars) in enumerate(ALICE_RATINGS.items()):
        db.hset(f"ratings:{ALICE}", movie, f"{stars:g}")
        db.zadd(f"rated:{ALICE}", {movie: 1_790_000_000_000 + i * 1000})
        db.xadd("rating_changes", {"user": ALICE, "version": i + 1})
    db.set(f"ratings_version:{ALICE}", len(ALICE_RATINGS))
    db.hset(f"recs:{ALICE}:6", "pearson@old", json.dumps({"items": []}))
    db.hset(f"neighbours:{ALICE}:6", "pearson@old", "[]")
    db.hset(f"discover:{ALICE}", mapping={"round": 2, "started_at": "2026-01-03T00:00:00"})
    db.zadd(f"discover_shown:{ALICE}", {"10": 100, "11": 200})
    db.zadd(f"discover_liked:{ALICE}", {"10": 100})
    db.hset(f"ratings:{GUEST}", "2", "3.5")
    db.zadd(f"rated:{GUEST}", {"2": 1_795_000_000_000})
    db.set(f"ratings_version:{GUEST}", 1)
    db.hset("export_user_ids", mapping={ALICE: 1, GUEST: 2})
    db.set("export_user_counter", 2)
    db.set("login_failures:user:alice", 2, ex=900)
    db.set("sessions_indexed", 1)
    return tokens


def migrate(url: str) -> str:
    """Run ``python -m scripts.migrate_keys`` in place on ``url``; returns what it printed."""
    return migrate_to(url, None)


def migrate_to(url: str, target: str | None) -> str:
    """Run the migration from ``url`` into ``target`` (``None``: in place)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    to = ["--to", target] if target else []
    done = subprocess.run(
        [sys.executable, "-m", "scripts.migrate_keys", "--redis-url", url, *to],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


@pytest.fixture()
def db(redis_server):
    """The session's Redis, emptied before and after (layout-1 data must not outlive it)."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    yield client
    client.flushdb()


def test_a_layout_1_database_works_after_the_migration(db, redis_server, empty_artifacts):
    from worker.app import create_app

    tokens = write_layout_1(db)
    config = {
        **WORKER_TEST_CONFIG,
        "REDIS_URL": redis_server.url,
        "ARTIFACTS_DIR": str(empty_artifacts),
    }
    with pytest.raises(LayoutError, match="migrate_keys"):
        create_app(config)  # the worker refuses old data rather than misreading it

    report = migrate(redis_server.url)
    assert "migrated to key layout 2" in report and "2 session" in report
    assert "already key layout 2" in migrate(redis_server.url)  # a second run does nothing
    old = [k for k in db.scan_iter("*") if "{" not in k and not k.startswith(_GLOBAL)]
    assert old == []  # every per-user key moved, caches dropped

    app = create_app(config)
    client = app.test_client()
    assert app.extensions["store"].discover_state(ALICE)[:3] == (2, [10], [10, 11])
    alice = {"Authorization": f"Bearer {tokens['alice']}"}
    me = client.get(f"{API}/me", headers=alice).get_json()  # a token issued before
    assert me["user"] == {"id": ALICE, "username": "Alice", "guest": False}
    assert me["rating_count"] == 6 and me["genres"] == ["Comedy", "Drama"]
    mine = client.get(f"{API}/me/ratings", headers=alice).get_json()
    assert [i["movie"]["id"] for i in mine["items"]] == list(reversed(ALICE_RATINGS))
    recs = client.get(f"{API}/me/recommendations", headers=alice).get_json()
    assert recs["cached"] is False and recs["ratings_version"] == 6 and len(recs["items"]) == 24

    login = {"username": "alice", "password": PASSWORD}
    fresh = client.post(f"{API}/auth/login", json=login)  # password and username index moved
    assert fresh.status_code == 200
    new_token = fresh.get_json()["token"]
    assert new_token.startswith(f"{ALICE}.")
    # the migrated session is in the new per-user index: a password change revokes it
    change = {"old_password": PASSWORD, "new_password": "another good password"}
    headers = {"Authorization": f"Bearer {new_token}"}
    assert client.put(f"{API}/me/password", json=change, headers=headers).status_code == 204
    assert client.get(f"{API}/me", headers=alice).status_code == 401

    guest = {"Authorization": f"Bearer {tokens['guest']}"}
    body = client.get(f"{API}/me", headers=guest).get_json()
    assert body["user"]["guest"] is True and body["rating_count"] == 1
    merged = client.post(
        f"{API}/auth/login",
        json={"username": "alice", "password": "another good password"},
        headers=guest,
    )
    assert merged.status_code == 200  # the guest's rating of movie 2 is newer: it wins
    assert client.get(f"{API}/me", headers=guest).status_code == 401

    table = export_ratings(redis.Redis.from_url(redis_server.url))
    assert set(table["userId"]) == {EXPORT_USER_OFFSET + 1}  # Alice keeps her number
    assert dict(zip(table["movieId"], table["rating"], strict=True))[2] == 3.5
    assert db.get(keys.EXPORT_COUNTER) == "2"


_GLOBAL = (
    "username:",
    "users",
    "guests",
    "rating_changes",
    "login_failures:",
    "legacy_session:",
    keys.LAYOUT,
)
