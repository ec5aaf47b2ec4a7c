"""Accounts and sessions: user hashes, the username index, session tokens.

Sign-up touches two slots (the user's keys and the global ``username:<name>``), so it is not
one script but three steps whose every intermediate state is safe:

1. ``create_user.lua`` writes the user hash (with its username) *pending*: it expires in
   ``PENDING_SECONDS`` unless step 3 happens.
2. The username is claimed with ``SET NX``. A name is taken only while the user it points to
   holds that very username (:meth:`UsersArea.username_owner`); a name pointing at a user that
   is gone (a crashed sign-up, a removal that stopped half-way) is free and is taken over with
   a compare-and-set, so two sign-ups racing for it cannot both win.
3. The user joins ``users`` and its hash is made permanent. Until then the account cannot be
   found by anyone but its creator; a crash leaves at most an id in ``users`` whose hash
   expired, which every reader of ``users`` skips.

Tokens are ``<user id>.<43 random URL-safe chars>`` (256 random bits), so the session key can
carry the user's hash tag; tokens issued before layout 2 carry no id and are found through
``legacy_session:<sha256>`` (written by the migration).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis
from redis.cluster import RedisCluster

from worker.store import keys
from worker.store.client import Scripts

PENDING_SECONDS = 60
"""How long a new account's user hash waits for its username claim before it expires."""
_USER_ID = re.compile(r"[0-9a-f]{16}")


@dataclass
class User:
    """A stored user (``password_hash`` never leaves the worker)."""

    id: str
    username: str | None  # None for a guest
    password_hash: str
    created_at: str
    genres: list[str]
    guest: bool = False
    last_seen_ms: int = 0  # guests only: last use

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "guest": self.guest}


def new_user_id() -> str:
    return secrets.token_hex(8)


def new_token(user_id: str) -> str:
    """A session token of ``user_id``: its id, a dot, 256 random bits (URL-safe base64)."""
    return f"{user_id}.{secrets.token_urlsafe(32)}"


def token_user_id(token: str) -> str | None:
    """The user id a (layout-2) token names, or ``None`` (a legacy token or garbage)."""
    user_id, dot, _ = token.partition(".")
    return user_id if dot and _USER_ID.fullmatch(user_id) else None


class UsersArea:
    """Users, usernames and sessions (mixed into :class:`worker.store.Store`)."""

    r: redis.Redis | RedisCluster
    scripts: Scripts

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())  # on a cluster: every master
        except (redis.RedisError, redis.exceptions.RedisClusterException):
            return False

    # --- users -----------------------------------------------------------------------------

    def create_user(self, username: str, password_hash: str, created_at: str) -> User | None:
        """Create an account; ``None`` when the username is taken (case-insensitively)."""
        user_id = new_user_id()
        args = [username, password_hash, created_at, PENDING_SECONDS]
        if not self.scripts.create_user(keys=[keys.user(user_id)], args=args):
            return self.create_user(username, password_hash, created_at)  # id collision
        if not self.claim_username(username, user_id):
            self.r.delete(keys.user(user_id))
            return None
        self.r.sadd(keys.USERS, user_id)
        self.r.persist(keys.user(user_id))
        return User(user_id, username, password_hash, created_at, [])

    def username_owner(self, username: str) -> str | None:
        """The id of the user holding ``username`` now, or ``None`` when the name is free (no
        entry, or an entry whose user no longer holds that name)."""
        owner = self.r.get(keys.username(username))
        if owner is None:
            return None
        held = self.r.hget(keys.user(owner), "username")
        return owner if held and held.lower() == username.lower() else None

    def claim_username(self, username: str, user_id: str) -> bool:
        """Point ``username`` at ``user_id``, whose hash already holds that username; False
        when another user holds it."""
        key = keys.username(username)
        for _ in range(3):
            if self.r.set(key, user_id, nx=True):
                return True
            owner = self.r.get(key)
            if owner == user_id:
                return True
            if owner is None:
                continue  # released meanwhile: try again
            if self.username_owner(username) is not None:
                return False  # held by another user
            if self.scripts.compare_and_set(keys=[key], args=[owner, user_id]):
                return True  # took over a stale entry
        return self.r.get(key) == user_id

    def release_username(self, username: str, user_id: str) -> None:
        """Remove the username entry if it still points at ``user_id``."""
        self.scripts.compare_and_set(keys=[keys.username(username)], args=[user_id, ""])

    def user_id_for(self, username: str) -> str | None:
        return self.username_owner(username)

    def get_user(self, user_id: str) -> User | None:
        data = self.r.hgetall(keys.user(user_id))
        return user_from_hash(user_id, data) if data else None

    def created_at_of(self, user_ids: list[str]) -> dict[str, str]:
        """``{user id: created_at (ISO)}`` of those users that exist, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hget(keys.user(user_id), "created_at")
        values = pipe.execute() if user_ids else []
        return {u: v for u, v in zip(user_ids, values, strict=True) if v}

    def all_user_ids(self) -> list[str]:
        """Every user id in ``users`` (a few may belong to users being created or removed:
        their keys are empty or missing)."""
        return sorted(self.r.smembers(keys.USERS))

    def replace_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> bool:
        """Set a new password hash only while the stored one is still ``old_hash`` (so a
        concurrent password change is never undone); True when replaced."""
        found = self.scripts.replace_password_hash(
            keys=[keys.user(user_id)], args=[old_hash, new_hash]
        )
        return bool(found)

    def set_genres(self, user_id: str, genres: list[str]) -> None:
        self.r.hset(keys.user(user_id), "genres", json.dumps(genres))

    # --- sessions --------------------------------------------------------------------------

    def create_session(self, user_id: str, ttl_seconds: int) -> str:
        """A new token (see the module docstring) for ``user_id``, valid ``ttl_seconds``."""
        token = new_token(user_id)
        session_keys = [keys.session(user_id, token), keys.sessions(user_id)]
        self.scripts.create_session(keys=session_keys, args=[user_id, ttl_seconds, now_ms()])
        return token

    def session_key_of(self, token: str) -> tuple[str, str] | None:
        """``(user id, session key)`` of a token, or ``None`` for a token naming nobody."""
        user_id = token_user_id(token)
        if user_id is None:
            user_id = self.r.get(keys.legacy_session(token))  # issued before layout 2
            if user_id is None:
                return None
        return user_id, keys.session(user_id, token)

    def session_user(self, token: str) -> User | None:
        """The user a token belongs to (``None`` if unknown, expired or revoked)."""
        found = self.session_key_of(token)
        if found is None:
            return None
        user_id, session = found
        flat = self.scripts.session_user(keys=[session, keys.user(user_id)], args=[user_id])
        if not flat:
            return None
        return user_from_hash(user_id, dict(zip(flat[::2], flat[1::2], strict=True)))

    def revoke_session(self, token: str) -> None:
        found = self.session_key_of(token)
        if found is not None:
            user_id, session = found
            self.r.delete(session)
            self.r.zrem(keys.sessions(user_id), session)
            self.r.delete(keys.legacy_session(token))

    def session_ttl(self, token: str) -> int:
        """Seconds the session still lives (0 when gone)."""
        found = self.session_key_of(token)
        return max(0, int(self.r.ttl(found[1]))) if found else 0

    # --- counters --------------------------------------------------------------------------

    def clear_failures(self, key: str) -> None:
        self.r.delete(key)


def user_from_hash(user_id: str, data: dict[str, str]) -> User:
    return User(
        user_id,
        data.get("username") or None,
        data.get("password_hash", ""),
        data["created_at"],
        json.loads(data.get("genres") or "[]"),
        guest=data.get("guest") in ("1", "merging"),
        last_seen_ms=int(data.get("last_seen") or 0),
    )


def now_ms() -> int:
    return int(time.time() * 1000)
