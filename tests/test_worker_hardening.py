"""Hardening of the worker against hostile input, checked in process (Flask test client, real
Redis): deep JSON, password pre-hash, login throttling under concurrency.

The same attacks against a real gunicorn worker (request framing, gunicorn's own errors, slow
clients) are in ``test_worker_hostile.py``.
"""

from __future__ import annotations

import pytest

from tests.test_worker_validation import snapshot

API = "/api/v1"
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
