"""The session token rule shared by the worker and the app's cookie check (api/rules.py)."""

from __future__ import annotations

import secrets

from api import rules
from worker.store.users import new_token, new_user_id, token_user_id


def test_every_token_the_worker_issues_passes_the_apps_cookie_check():
    for _ in range(200):
        user_id = new_user_id()
        token = new_token(user_id)
        assert rules.token_shaped(token), token  # "<user id>.<43 characters>"
        assert token_user_id(token) == user_id
    assert rules.token_shaped(secrets.token_urlsafe(32))  # key layout 1's tokens still work


def test_what_cannot_be_a_token_is_not_sent():
    for bad in ("", "a b", "a;b", 'a"b', "tök", "x" * (rules.TOKEN_MAX + 1), "a\nb"):
        assert not rules.token_shaped(bad), bad
