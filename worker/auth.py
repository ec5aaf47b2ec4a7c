"""Passwords, session tokens and login throttling.

- Passwords are hashed with bcrypt (cost ``BCRYPT_ROUNDS``, >= 12 in production). bcrypt only
  reads the first 72 bytes of its input, so every password is first pre-hashed with a
  domain-separated ``base64(HMAC-SHA256(key=PREHASH_KEY, password))`` (44 bytes): two long
  passwords that share their first 72 bytes stay different passwords, nothing is truncated,
  and no other string (such as a leaked unsalted SHA-256 of the password: "hash shucking")
  reaches the same bcrypt input. Such hashes are stored as ``v2$`` + the bcrypt string.
  Hashes made before (plain ``$2b$``: raw UTF-8, or ``base64(sha256)`` over 72 bytes) still
  verify and are replaced by a ``v2$`` hash on the next successful login; against them, a
  password that has the exact shape of such a pre-hash (43 base64 characters and ``=``) is
  refused, so a shucked hash cannot log in nor become the new password.
- A login returns ``secrets.token_urlsafe(32)`` (256 random bits). Redis stores only the
  token's SHA-256 (``session:{hash}``) with an expiry; logout deletes it. Looking a token up by
  its hash means no byte-by-byte comparison of secrets happens in Python.
- Failed logins are counted per lowercase username and per client address, in Redis counters
  that expire at the end of the window (defaults: 5 per username and 20 per address per
  15 minutes). Every attempt *reserves* its slot in both counters atomically before bcrypt
  runs (:mod:`worker.limits`), so a burst of simultaneous attempts cannot get more password
  checks than the limit. Past the limit, login answers 429 with ``Retry-After`` until the
  window ends, even for the right password. A successful login clears the username's counter
  and gives its address slot back.
- Unknown usernames and wrong passwords get the same 401 answer, and an unknown username still
  costs one bcrypt check against a dummy hash, so response times do not reveal which it was.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
from collections.abc import Callable

import bcrypt
from flask import current_app, g, request

from api import rules
from worker.errors import ApiError
from worker.limits import Limits, too_many
from worker.store import Store, User, failures_key, signups_key

BCRYPT_MAX_BYTES = 72
PREHASH_KEY = b"movie-recommender/password-prehash/v2"
"""HMAC key of the pre-hash: a fixed domain separator (not a secret pepper)."""
HASH_V2 = "v2$"
_SHUCKED_SHAPE = re.compile(r"[A-Za-z0-9+/]{43}=")


def bcrypt_input(password: str) -> bytes:
    """The bytes given to bcrypt: ``base64(HMAC-SHA256(PREHASH_KEY, UTF-8 password))``."""
    digest = hmac.new(PREHASH_KEY, password.encode("utf-8"), hashlib.sha256).digest()
    return base64.b64encode(digest)


def legacy_bcrypt_input(password: str) -> bytes:
    """What hashes without ``v2$`` were made from: the UTF-8 password, or its base64 SHA-256
    if over 72 bytes."""
    raw = password.encode("utf-8")
    if len(raw) > BCRYPT_MAX_BYTES:
        return base64.b64encode(hashlib.sha256(raw).digest())
    return raw


def hash_password(password: str, rounds: int) -> str:
    """A ``v2$`` hash of ``password`` at bcrypt cost ``rounds``."""
    return HASH_V2 + bcrypt.hashpw(bcrypt_input(password), bcrypt.gensalt(rounds)).decode("ascii")


def needs_rehash(password_hash: str) -> bool:
    """True for a hash of the old scheme (replaced on the next successful login)."""
    return not password_hash.startswith(HASH_V2)


def check_password(password: str, password_hash: str) -> bool:
    """bcrypt's own check (constant time in the hash comparison), for either scheme."""
    if password_hash.startswith(HASH_V2):
        stored = password_hash[len(HASH_V2) :].encode("ascii")
        return bcrypt.checkpw(bcrypt_input(password), stored)
    ok = bcrypt.checkpw(legacy_bcrypt_input(password), password_hash.encode("ascii"))
    return ok and not _SHUCKED_SHAPE.fullmatch(password)


@functools.lru_cache(maxsize=8)
def dummy_hash(rounds: int) -> str:
    """A hash of a random password, checked against when the username is unknown."""
    return hash_password(
        base64.b64encode(hashlib.sha256(b"no such user").digest()).decode(), rounds
    )


def store() -> Store:
    return current_app.extensions["store"]


def limits() -> Limits:
    """The app's :class:`~worker.limits.Limits` (made on first use, on the store's client)."""
    if "limits" not in current_app.extensions:
        current_app.extensions["limits"] = Limits(store().r)
    return current_app.extensions["limits"]


def client_address() -> str:
    return request.remote_addr or "unknown"


def _throttle_keys(username: str) -> list[tuple[str, int]]:
    cfg = current_app.config
    return [
        (failures_key("user", username.lower()), cfg["LOGIN_MAX_FAILURES_PER_USER"]),
        (failures_key("addr", client_address()), cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"]),
    ]


def authenticate(username: str, password: str) -> User:
    """The user with that username and password, or 401 ``invalid_credentials``; 429
    ``too_many_attempts`` (with Retry-After) past either log-in limit, before bcrypt runs."""
    st = store()
    rounds = current_app.config["BCRYPT_ROUNDS"]
    window = current_app.config["LOGIN_WINDOW_SECONDS"]
    keys = _throttle_keys(username)
    wait = limits().reserve(keys, window)  # counted as a failure until the password is right
    if wait:
        raise too_many("too_many_attempts", "Too many failed logins.", wait)
    user_id = st.user_id_for(username)
    user = st.get_user(user_id) if user_id else None
    if user is None:
        check_password(password, dummy_hash(rounds))  # same time as a real check
        ok = False
    else:
        ok = check_password(password, user.password_hash)
    if not ok:
        raise ApiError(401, "invalid_credentials", "Wrong username or password.")
    st.clear_failures(keys[0][0])
    limits().release([keys[1][0]])
    if needs_rehash(user.password_hash):
        st.replace_password_hash(user.id, user.password_hash, hash_password(password, rounds))
    return user


def reserve_signup() -> str:
    """Count a sign-up from the client's address (429 ``too_many_signups`` with Retry-After
    past ``SIGNUP_MAX_PER_ADDRESS`` per ``SIGNUP_WINDOW_SECONDS``); returns the counter key,
    for :func:`release_signup` when the sign-up does not happen."""
    cfg = current_app.config
    key = signups_key(client_address())
    wait = limits().reserve([(key, cfg["SIGNUP_MAX_PER_ADDRESS"])], cfg["SIGNUP_WINDOW_SECONDS"])
    if wait:
        raise too_many("too_many_signups", "Too many sign-ups from your address.", wait)
    return key


def release_signup(key: str) -> None:
    limits().release([key])


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not hmac.compare_digest(scheme.lower().encode(), b"bearer") or not token.strip():
        return None
    token = token.strip()
    if len(token) > rules.TOKEN_MAX or not token.isascii():
        return None
    return token


def current_user(required: bool = True) -> User | None:
    """The user of the request's bearer token (401 when required and missing or invalid)."""
    if "user" in g:
        return g.user
    token = bearer_token()
    user = None
    if token is not None:
        user = store().session_user(token)
        if user is None:
            raise ApiError(401, "invalid_token", "Your session has expired. Log in again.")
        if user.guest:
            from worker.routes.account import note_guest_use

            note_guest_use(user, token)
    if user is None and required:
        raise ApiError(401, "unauthorized", "Log in first: send 'Authorization: Bearer <token>'.")
    g.user, g.token = user, token
    return user


def login_required(view: Callable) -> Callable:
    """Decorator: the view runs only with a valid token; the user is ``g.user``."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        current_user(required=True)
        return view(*args, **kwargs)

    return wrapped
