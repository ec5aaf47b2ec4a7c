"""Everything the worker keeps in Redis; the only module that knows a key name.

Key schema (one logical database; ``{id}`` is a user's id, 16 hex chars):

==============================  ==========  ==================================================
key                             type        content
==============================  ==========  ==================================================
``user:{id}``                   hash        username (as typed), password_hash (bcrypt),
                                            created_at (ISO), genres (JSON list of names);
                                            guests: username and password_hash "", guest
                                            "1", last_seen (Unix ms); a converted guest:
                                            guest "0", signed_up_at (ISO)
``username:{lowercase name}``   string      the user id (case-insensitive uniqueness)
``users``                       set         every user id (accounts and guests)
``guests``                      sorted set  guest user ids scored by last use (Unix ms)
``session:{sha256(token)}``     string      the user id; expires after SESSION_TTL_SECONDS
                                            (a guest's: GUEST_TTL_SECONDS, renewed on use).
                                            Only a hash of the token is stored.
``sessions:{id}``               set         the user's ``session:`` keys (to revoke them all)
``sessions_indexed``            string      set once older sessions were added to the index
``ratings:{id}``                hash        movieId -> stars ("4.5")
``rated:{id}``                  sorted set  movieId scored by rated_at (Unix ms): newest first
``ratings_version:{id}``        string      integer, +1 on every change of the user's ratings
``recs:{id}:{version}``         hash        model version -> JSON: recommendation list
                                            computed for that ratings version by that model
                                            version (top 240); expires after a day. A new
                                            model version never serves an old list.
``neighbours:{id}:{version}``   hash        model version -> JSON: taste neighbours behind it
``query_recs:{id}:{digest}``    string      JSON: a "describe what you want" list; digest =
                                            sha256(model version, ratings version, normalised
                                            query); expires after QUERY_CACHE_TTL_SECONDS
``query_recs_keys:{id}``        set         the user's ``query_recs:`` keys (for deletion)
``discover:{id}``               hash        round (int), started_at (ISO): the discover loop
``discover_shown:{id}``         sorted set  movieId scored 100 × round shown + position in
                                            that round (at most DISCOVER_MAX_SHOWN, oldest
                                            dropped)
``discover_liked:{id}``         sorted set  movieId scored 100 × round ticked + position (at
                                            most DISCOVER_MAX_LIKED). Ticks are not ratings.
                                            The three discover keys expire together after
                                            DISCOVER_TTL_SECONDS without use.
``export_user_ids``             hash        user id -> stable integer for ratings exports
``export_user_counter``         string      last integer handed out (see export_ratings)
``rating_changes``              stream      {user, version} per ratings change (capped ~100k):
                                            every worker process reads it before scoring to
                                            keep its neighbour pool of app users current
``login_failures:user:{name}``  string      failed logins for a lowercase username, expires
                                            at the end of the window
``login_failures:addr:{ip}``    string      failed logins from one client address
``signups:addr:{ip}``           string      sign-ups from one client address, expires at
                                            the end of SIGNUP_WINDOW_SECONDS
``password_failures:{id}``      string      wrong passwords sent to /me/password or DELETE /me
``guest_creations:addr:{ip}``   string      guests created from one client address (window)
==============================  ==========  ==================================================

Account life cycle (guests, converting a guest, merging a guest at log-in, password change,
deletion, guest expiry) is in :mod:`worker.accounts`, one Lua script per operation.

Atomicity: sign-up, every rating change (ratings hash, time-ordered index, version bump,
cache invalidation, change-stream entry) and cache writes are single Lua scripts, so they
commit together or not at all. Scripts build the ``recs:``/``neighbours:`` key names from the
user id, which is fine for a single Redis server (not Redis Cluster).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import redis

CHANGES_STREAM = "rating_changes"
CHANGES_MAXLEN = 100_000


def user_key(user_id: str) -> str:
    return f"user:{user_id}"


def username_key(username: str) -> str:
    return f"username:{username.lower()}"


def session_key(token: str) -> str:
    """Sessions are found by the SHA-256 of the token, so a leaked dump holds no tokens."""
    return "session:" + hashlib.sha256(token.encode()).hexdigest()


def sessions_key(user_id: str) -> str:
    """Set of the ``session:{hash}`` keys of one user (for revoking all of them)."""
    return f"sessions:{user_id}"


def ratings_key(user_id: str) -> str:
    return f"ratings:{user_id}"


def rated_key(user_id: str) -> str:
    return f"rated:{user_id}"


def version_key(user_id: str) -> str:
    return f"ratings_version:{user_id}"


def recs_key(user_id: str, version: int) -> str:
    return f"recs:{user_id}:{version}"


def neighbours_key(user_id: str, version: int) -> str:
    return f"neighbours:{user_id}:{version}"


def failures_key(kind: str, who: str) -> str:
    return f"login_failures:{kind}:{who}"


def signups_key(address: str) -> str:
    return f"signups:addr:{address}"


def query_recs_key(user_id: str, digest: str) -> str:
    return f"query_recs:{user_id}:{digest}"


def discover_key(user_id: str) -> str:
    return f"discover:{user_id}"


def discover_shown_key(user_id: str) -> str:
    return f"discover_shown:{user_id}"


def discover_liked_key(user_id: str) -> str:
    return f"discover_liked:{user_id}"


EXPORT_IDS = "export_user_ids"
EXPORT_COUNTER = "export_user_counter"
EXPORT_USER_OFFSET = 1_000_000_000
"""App users appear in ratings exports as ``EXPORT_USER_OFFSET + n`` (n = 1, 2, ... stable per
user), far above every MovieLens userId (ml-32m stops near 201k)."""


_SIGNUP = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], 'username', ARGV[2], 'password_hash', ARGV[3],
           'created_at', ARGV[4], 'genres', '[]')
redis.call('SADD', KEYS[3], ARGV[1])
return 1
"""

# KEYS: ratings, rated, version, stream. ARGV: movie, stars, rated_at_ms, user_id, maxlen
_SET_RATING = """
local old = redis.call('GET', KEYS[3]) or '0'
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local v = redis.call('INCR', KEYS[3])
redis.call('DEL', 'recs:' .. ARGV[4] .. ':' .. old, 'neighbours:' .. ARGV[4] .. ':' .. old)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[5], '*', 'user', ARGV[4], 'version', v)
return {redis.call('HLEN', KEYS[1]), v}
"""

# KEYS: ratings, rated, version, stream. ARGV: movie, user_id, maxlen
_DELETE_RATING = """
if redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return nil end
local old = redis.call('GET', KEYS[3]) or '0'
redis.call('ZREM', KEYS[2], ARGV[1])
local v = redis.call('INCR', KEYS[3])
redis.call('DEL', 'recs:' .. ARGV[2] .. ':' .. old, 'neighbours:' .. ARGV[2] .. ':' .. old)
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[3], '*', 'user', ARGV[2], 'version', v)
return {redis.call('HLEN', KEYS[1]), v}
"""

# KEYS: version, recs, neighbours. ARGV: expected version, recs json, neighbours json, ttl,
# model version
_SAVE_RECS = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
-- lists cached before model versions were part of the key were plain strings: replace them
for i = 2, 3 do
  if redis.call('TYPE', KEYS[i]).ok == 'string' then redis.call('DEL', KEYS[i]) end
end
redis.call('HSET', KEYS[2], ARGV[5], ARGV[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
redis.call('HSET', KEYS[3], ARGV[5], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""

# KEYS: version, recs. ARGV: version, recs json, model version. Replaces a cached list (e.g. with
# more of it explained) only while it is still cached for the same ratings version.
_UPDATE_RECS = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
if redis.call('TYPE', KEYS[2]).ok ~= 'hash' then return 0 end
if redis.call('HEXISTS', KEYS[2], ARGV[3]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[3], ARGV[2])
return 1
"""

# KEYS: session. Returns the user id and the user hash (flat), or nil: one round trip.
_SESSION_USER = """
local id = redis.call('GET', KEYS[1])
if not id then return nil end
return {id, redis.call('HGETALL', 'user:' .. id)}
"""

# ARGV: user id, version the caller already holds, model version. Returns rating count, ratings
# version and the list cached for both (false when missing or when the caller already holds
# that ratings version).
_RECS_STATE = """
local count = redis.call('HLEN', 'ratings:' .. ARGV[1])
local version = redis.call('GET', 'ratings_version:' .. ARGV[1]) or '0'
if version == ARGV[2] then return {count, version, false} end
local key = 'recs:' .. ARGV[1] .. ':' .. version
if redis.call('TYPE', key).ok ~= 'hash' then return {count, version, false} end
return {count, version, redis.call('HGET', key, ARGV[3])}
"""

# KEYS: discover, shown, liked. ARGV: expected round, ttl, max shown, max liked, n liked,
# liked ids..., new batch ids... Advances the round only if it is still the expected one.
_DISCOVER_ADVANCE = """
local round = tonumber(redis.call('HGET', KEYS[1], 'round') or '0')
if round ~= tonumber(ARGV[1]) then return -1 end
local n_liked = tonumber(ARGV[5])
for i = 6, 5 + n_liked do redis.call('ZADD', KEYS[3], round * 100 + i - 6, ARGV[i]) end
local new = round + 1
for i = 6 + n_liked, #ARGV do redis.call('ZADD', KEYS[2], new * 100 + i - 6 - n_liked, ARGV[i]) end
redis.call('HSET', KEYS[1], 'round', new)
local max_shown, max_liked = tonumber(ARGV[3]), tonumber(ARGV[4])
if redis.call('ZCARD', KEYS[2]) > max_shown then
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, redis.call('ZCARD', KEYS[2]) - max_shown - 1)
end
if redis.call('ZCARD', KEYS[3]) > max_liked then
  redis.call('ZREMRANGEBYRANK', KEYS[3], 0, redis.call('ZCARD', KEYS[3]) - max_liked - 1)
end
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[2]) end
return new
"""

# KEYS: export ids hash, counter. ARGV: user ids. Returns each user's stable number.
_EXPORT_IDS = """
local out = {}
for i, user in ipairs(ARGV) do
  local n = redis.call('HGET', KEYS[1], user)
  if not n then
    n = redis.call('INCR', KEYS[2])
    redis.call('HSET', KEYS[1], user, n)
  end
  out[i] = tonumber(n)
end
return out
"""

# KEYS: user. ARGV: expected hash, new hash
_REPLACE_HASH = """
if redis.call('HGET', KEYS[1], 'password_hash') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[2])
return 1
"""

# KEYS: session, the user's sessions index. ARGV: user id, ttl. Drops ended sessions from the
# index, which lives as long as the longest session in it.
_CREATE_SESSION = """
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
for _, s in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('EXISTS', s) == 0 then redis.call('SREM', KEYS[2], s) end
end
redis.call('SADD', KEYS[2], KEYS[1])
if redis.call('TTL', KEYS[2]) < tonumber(ARGV[2]) then redis.call('EXPIRE', KEYS[2], ARGV[2]) end
return 1
"""


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


@dataclass
class RatingChange:
    """Result of a rating change: the user's rating count and new ratings version."""

    rating_count: int
    version: int


class Store:
    """Typed access to the worker's Redis data (see the module docstring for the schema)."""

    def __init__(self, client: redis.Redis) -> None:
        self.r = client
        self._signup = client.register_script(_SIGNUP)
        self._set_rating = client.register_script(_SET_RATING)
        self._delete_rating = client.register_script(_DELETE_RATING)
        self._save_recs = client.register_script(_SAVE_RECS)
        self._update_recs = client.register_script(_UPDATE_RECS)
        self._session_user = client.register_script(_SESSION_USER)
        self._recs_state = client.register_script(_RECS_STATE)
        self._discover_advance = client.register_script(_DISCOVER_ADVANCE)
        self._export_ids = client.register_script(_EXPORT_IDS)
        self._create_session = client.register_script(_CREATE_SESSION)

    @classmethod
    def from_url(cls, url: str) -> Store:
        return cls(redis.Redis.from_url(url, decode_responses=True, health_check_interval=30))

    def ping(self) -> bool:
        try:
            return bool(self.r.ping())
        except redis.RedisError:
            return False

    # --- users -----------------------------------------------------------------------------

    def create_user(self, username: str, password_hash: str, created_at: str) -> User | None:
        """Create a user; ``None`` when the username is taken (case-insensitively)."""
        user_id = secrets.token_hex(8)
        keys = [username_key(username), user_key(user_id), "users"]
        if not self._signup(keys=keys, args=[user_id, username, password_hash, created_at]):
            return None
        return User(user_id, username, password_hash, created_at, [])

    def user_id_for(self, username: str) -> str | None:
        return self.r.get(username_key(username))

    def get_user(self, user_id: str) -> User | None:
        data = self.r.hgetall(user_key(user_id))
        return _user(user_id, data) if data else None

    def created_at_of(self, user_ids: list[str]) -> dict[str, str]:
        """``{user id: created_at (ISO)}`` of those users that exist, in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hget(user_key(user_id), "created_at")
        values = pipe.execute() if user_ids else []
        return {u: v for u, v in zip(user_ids, values, strict=True) if v}

    def all_user_ids(self) -> list[str]:
        return sorted(self.r.smembers("users"))

    def replace_password_hash(self, user_id: str, old_hash: str, new_hash: str) -> bool:
        """Set a new password hash only while the stored one is still ``old_hash`` (so a
        concurrent password change is never undone); True when replaced."""
        return bool(self.r.eval(_REPLACE_HASH, 1, user_key(user_id), old_hash, new_hash))

    def set_genres(self, user_id: str, genres: list[str]) -> None:
        self.r.hset(user_key(user_id), "genres", json.dumps(genres))

    # --- sessions --------------------------------------------------------------------------

    def create_session(self, user_id: str, ttl_seconds: int) -> str:
        """A new random token (256 bits, URL-safe) for ``user_id``, valid ``ttl_seconds``."""
        token = secrets.token_urlsafe(32)
        keys = [session_key(token), sessions_key(user_id)]
        self._create_session(keys=keys, args=[user_id, ttl_seconds])
        return token

    def session_user(self, token: str) -> User | None:
        """The user a token belongs to (``None`` if unknown, expired or revoked)."""
        found = self._session_user(keys=[session_key(token)])
        if not found or not found[1]:
            return None
        flat = found[1]
        return _user(found[0], dict(zip(flat[::2], flat[1::2], strict=True)))

    def revoke_session(self, token: str) -> None:
        self.r.delete(session_key(token))

    # --- login throttling ------------------------------------------------------------------

    def clear_failures(self, key: str) -> None:
        self.r.delete(key)

    # --- ratings ---------------------------------------------------------------------------

    def set_rating(
        self, user_id: str, movie_id: int, stars: float, rated_at_ms: int
    ) -> RatingChange:
        """Store one rating with all its bookkeeping in one atomic script."""
        count, version = self._set_rating(
            keys=self._rating_keys(user_id),
            args=[movie_id, _stars(stars), rated_at_ms, user_id, CHANGES_MAXLEN],
        )
        return RatingChange(int(count), int(version))

    def delete_rating(self, user_id: str, movie_id: int) -> RatingChange | None:
        """Remove one rating atomically; ``None`` when the movie was not rated."""
        result = self._delete_rating(
            keys=self._rating_keys(user_id), args=[movie_id, user_id, CHANGES_MAXLEN]
        )
        return None if result is None else RatingChange(int(result[0]), int(result[1]))

    def _rating_keys(self, user_id: str) -> list[str]:
        return [ratings_key(user_id), rated_key(user_id), version_key(user_id), CHANGES_STREAM]

    def profile(self, user_id: str) -> dict[int, float]:
        """The user's ratings ``{movieId: stars}``."""
        return {int(m): float(s) for m, s in self.r.hgetall(ratings_key(user_id)).items()}

    def profiles(self, user_ids: list[str]) -> dict[str, dict[int, float]]:
        """``{user id: profile}`` for many users in one round trip."""
        pipe = self.r.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hgetall(ratings_key(user_id))
        rows = pipe.execute() if user_ids else []
        return {
            user_id: {int(m): float(s) for m, s in row.items()}
            for user_id, row in zip(user_ids, rows, strict=True)
        }

    def profile_and_version(self, user_id: str) -> tuple[dict[int, float], int]:
        pipe = self.r.pipeline(transaction=True)
        pipe.hgetall(ratings_key(user_id))
        pipe.get(version_key(user_id))
        ratings, version = pipe.execute()
        return {int(m): float(s) for m, s in ratings.items()}, int(version or 0)

    def ratings_of(self, user_id: str, movie_ids: list[int]) -> dict[int, float]:
        """The user's stars for those movies that they rated."""
        if not movie_ids:
            return {}
        values = self.r.hmget(ratings_key(user_id), [str(m) for m in movie_ids])
        return {m: float(v) for m, v in zip(movie_ids, values, strict=True) if v is not None}

    def rating_count(self, user_id: str) -> int:
        return int(self.r.hlen(ratings_key(user_id)))

    def ratings_page(
        self, user_id: str, offset: int, limit: int
    ) -> tuple[list[tuple[int, float, int]], int]:
        """Newest-first ``(movieId, stars, rated_at_ms)`` rows and the total count."""
        pipe = self.r.pipeline(transaction=True)
        pipe.zrevrange(rated_key(user_id), offset, offset + limit - 1, withscores=True)
        pipe.zcard(rated_key(user_id))
        rows, total = pipe.execute()
        stars = self.ratings_of(user_id, [int(m) for m, _ in rows])
        page = [(int(m), stars[int(m)], int(ts)) for m, ts in rows if int(m) in stars]
        return page, int(total)

    # --- recommendation cache --------------------------------------------------------------

    def ratings_version(self, user_id: str) -> int:
        return int(self.r.get(version_key(user_id)) or 0)

    def recs_state(
        self, user_id: str, held_version: int = -1, model_version: str = ""
    ) -> tuple[int, int, dict[str, Any] | None]:
        """Rating count, ratings version and the list cached for that ratings version and
        ``model_version``, in one trip (the list is not sent when it is for ``held_version``,
        which the caller has)."""
        count, version, raw = self._recs_state(keys=[], args=[user_id, held_version, model_version])
        return int(count), int(version), json.loads(raw) if raw else None

    def cached_recs(
        self, user_id: str, version: int, model_version: str | None = None
    ) -> dict[str, Any] | None:
        """The cached list for a ratings version (of ``model_version``, or of any model)."""
        return self._cached(recs_key(user_id, version), model_version)

    def cached_neighbours(
        self, user_id: str, version: int, model_version: str | None = None
    ) -> list[dict[str, Any]] | None:
        """The neighbours behind a cached list (of ``model_version``, or of any model)."""
        return self._cached(neighbours_key(user_id, version), model_version)

    def _cached(self, key: str, model_version: str | None) -> Any:
        if self.r.type(key) != "hash":  # missing, or an old-style string entry
            return None
        if model_version is None:
            values = self.r.hvals(key)
            raw = values[0] if values else None
        else:
            raw = self.r.hget(key, model_version)
        return json.loads(raw) if raw else None

    def save_recs(
        self,
        user_id: str,
        version: int,
        recs: dict[str, Any],
        neighbours: list,
        ttl: int,
        model_version: str = "",
    ) -> bool:
        """Cache a computed list unless the ratings changed meanwhile (then nothing is written)."""
        keys = [version_key(user_id), recs_key(user_id, version), neighbours_key(user_id, version)]
        args = [str(version), json.dumps(recs), json.dumps(neighbours), ttl, model_version]
        return bool(self._save_recs(keys=keys, args=args))

    def update_recs(
        self, user_id: str, version: int, recs: dict[str, Any], model_version: str = ""
    ) -> bool:
        """Replace the cached list of ``(version, model_version)`` (its expiry unchanged);
        nothing is written when the ratings changed or that list is no longer cached."""
        keys = [version_key(user_id), recs_key(user_id, version)]
        return bool(
            self._update_recs(keys=keys, args=[str(version), json.dumps(recs), model_version])
        )

    def query_recs(self, user_id: str, digest: str) -> dict[str, Any] | None:
        raw = self.r.get(query_recs_key(user_id, digest))
        return json.loads(raw) if raw else None

    def save_query_recs(self, user_id: str, digest: str, doc: dict[str, Any], ttl: int) -> None:
        index = f"query_recs_keys:{user_id}"
        pipe = self.r.pipeline(transaction=True)
        pipe.set(query_recs_key(user_id, digest), json.dumps(doc), ex=ttl)
        pipe.sadd(index, query_recs_key(user_id, digest))
        pipe.expire(index, ttl)
        pipe.execute()

    # --- discover loop ---------------------------------------------------------------------

    def discover_state(self, user_id: str) -> tuple[int, list[int], list[int], list[int]]:
        """``(round, liked ids, shown ids, ids shown in the current round)``; round 0 = none.

        Liked and shown are oldest first (by round, then id)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.hget(discover_key(user_id), "round")
        pipe.zrange(discover_liked_key(user_id), 0, -1, withscores=True)
        pipe.zrange(discover_shown_key(user_id), 0, -1, withscores=True)
        round_, liked, shown = pipe.execute()
        round_ = int(round_ or 0)
        current = [int(m) for m, r in shown if int(r) // 100 == round_]  # in shown order
        return round_, [int(m) for m, _ in liked], [int(m) for m, _ in shown], current

    def discover_advance(
        self,
        user_id: str,
        expected_round: int,
        liked: list[int],
        batch: list[int],
        *,
        ttl: int,
        max_shown: int,
        max_liked: int,
    ) -> int | None:
        """Record the ticks of ``expected_round`` and ``batch`` as the next round's movies, in
        one script; ``None`` (nothing written) when the round moved on meanwhile."""
        keys = [discover_key(user_id), discover_shown_key(user_id), discover_liked_key(user_id)]
        args = [expected_round, ttl, max_shown, max_liked, len(liked), *liked, *batch]
        new = int(self._discover_advance(keys=keys, args=args))
        return None if new < 0 else new

    def discover_reset(self, user_id: str) -> None:
        self.r.delete(
            discover_key(user_id), discover_shown_key(user_id), discover_liked_key(user_id)
        )

    # --- export for retraining -------------------------------------------------------------

    def export_numbers(self, user_ids: list[str]) -> dict[str, int]:
        """Each user's stable export number (1, 2, ...; handed out on first export)."""
        if not user_ids:
            return {}
        numbers = self._export_ids(keys=[EXPORT_IDS, EXPORT_COUNTER], args=user_ids)
        return {u: int(n) for u, n in zip(user_ids, numbers, strict=True)}

    def export_ratings(self):
        """Every app rating as a MovieLens-style table: see :func:`export_ratings`."""
        import pandas as pd

        users = self.all_user_ids()
        numbers = self.export_numbers(users)
        pipe = self.r.pipeline(transaction=False)
        for user_id in users:
            pipe.hgetall(ratings_key(user_id))
            pipe.zrange(rated_key(user_id), 0, -1, withscores=True)
        answers = pipe.execute() if users else []
        rows: list[tuple[int, int, float, int]] = []
        for i, user_id in enumerate(users):
            stars, times = answers[2 * i], dict(answers[2 * i + 1])
            for movie, value in stars.items():
                rated_ms = times.get(movie)
                timestamp = int(rated_ms // 1000) if rated_ms is not None else 0
                rows.append(
                    (EXPORT_USER_OFFSET + numbers[user_id], int(movie), float(value), timestamp)
                )
        table = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
        table = table.astype(
            {"userId": "int64", "movieId": "int64", "rating": "float64", "timestamp": "int64"}
        )
        return table.sort_values(["userId", "timestamp", "movieId"], ignore_index=True)

    # --- change stream ---------------------------------------------------------------------

    def last_change_id(self) -> str:
        """Id of the newest entry of the change stream (``0-0`` when empty)."""
        newest = self.r.xrevrange(CHANGES_STREAM, count=1)
        return newest[0][0] if newest else "0-0"

    def oldest_change_id(self) -> str | None:
        oldest = self.r.xrange(CHANGES_STREAM, count=1)
        return oldest[0][0] if oldest else None

    def changes_since(self, last_id: str, count: int = 10_000) -> list[tuple[str, str]]:
        """``(entry id, user id)`` of rating changes after ``last_id``, oldest first."""
        answer = self.r.xread({CHANGES_STREAM: last_id}, count=count)
        if not answer:
            return []
        return [(entry_id, fields["user"]) for entry_id, fields in answer[0][1]]


def export_ratings(client: redis.Redis):
    """Every rating of every app user, for retraining: a pandas DataFrame with MovieLens
    columns ``userId`` (int64: ``EXPORT_USER_OFFSET`` + a stable per-user number kept in
    Redis, so a person keeps the same id across exports), ``movieId`` (int64), ``rating``
    (float64, 0.5–5) and ``timestamp`` (int64 Unix seconds of the rating), sorted by user and
    time. ``client`` is any ``redis.Redis`` (e.g. ``redis.Redis.from_url(REDIS_URL)``).
    Assigning new numbers is the only write."""
    kwargs = client.connection_pool.connection_kwargs
    if not kwargs.get("decode_responses"):
        client = redis.Redis(
            connection_pool=redis.ConnectionPool(
                connection_class=client.connection_pool.connection_class,
                **{**kwargs, "decode_responses": True},
            )
        )
    return Store(client).export_ratings()


def _user(user_id: str, data: dict[str, str]) -> User:
    return User(
        user_id,
        data.get("username") or None,
        data.get("password_hash", ""),
        data["created_at"],
        json.loads(data.get("genres") or "[]"),
        guest=data.get("guest") == "1",
        last_seen_ms=int(data.get("last_seen") or 0),
    )


def _stars(stars: float) -> str:
    return f"{stars:g}"


def now_ms() -> int:
    return int(time.time() * 1000)
