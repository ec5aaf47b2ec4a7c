"""The per-address login limit reads ``X-Forwarded-For`` only when ``TRUSTED_PROXIES`` >= 1.

The Streamlit app forwards the visitor's address chain in ``X-Forwarded-For``; with
``TRUSTED_PROXIES`` = 1 the worker counts failures per visitor, with 0 (the default) it
ignores the header, so a client talking to the worker directly cannot pick its own address.
"""

from __future__ import annotations

from tests.helpers import PASSWORD
from tests.helpers import log_in as _login

LIMIT = 3


def _fail_from(client, address: str, name: str) -> int:
    body = {"username": name, "password": "wrong password"}
    answer = client.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-For": address})
    return answer.status_code


def test_without_trusted_proxies_the_forwarded_address_is_ignored(make_worker_app, worker_login):
    client = make_worker_app(LOGIN_MAX_FAILURES_PER_ADDRESS=LIMIT).test_client()
    worker_login(client, "proxy_victim")
    for i in range(LIMIT):  # "different" visitors, but the header is not trusted
        assert _fail_from(client, f"203.0.113.{i + 1}", f"nobody_{i}") == 401
    assert _login(client, "proxy_victim", PASSWORD).status_code == 429


def test_with_one_trusted_proxy_each_visitor_has_their_own_counter(make_worker_app, worker_login):
    client = make_worker_app(LOGIN_MAX_FAILURES_PER_ADDRESS=LIMIT, TRUSTED_PROXIES=1).test_client()
    worker_login(client, "proxy_user")
    for i in range(LIMIT):
        assert _fail_from(client, "203.0.113.7", f"guess_{i}") == 401
    # that visitor is now throttled ...
    assert _fail_from(client, "203.0.113.7", "guess_more") == 429
    # ... but another visitor behind the same app is not
    ok = client.post(
        "/api/v1/auth/login",
        json={"username": "proxy_user", "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.4"},
    )
    assert ok.status_code == 200
    # with a chain "spoofed, real" only the entry the trusted proxy appended counts
    assert _fail_from(client, "198.51.100.99, 203.0.113.7", "guess_chain") == 429
