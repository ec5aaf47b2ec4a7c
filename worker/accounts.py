"""Account life cycle in Redis: guests, turning a guest into an account, merging a guest into
an account at log-in, password change, deletion and the expiry of unused guests.

Every operation here is one Lua script, so it commits completely or not at all, and two tabs
doing the same thing at once are serialised by Redis. Keys are the ones documented in
:mod:`worker.store` (this module adds ``guests``, ``sessions:{id}``, ``query_recs_keys:{id}``
and ``guest_creations:addr:{ip}``, documented there too).

Removing a user (deletion, a merged guest, an expired guest) deletes every key of the user,
adds a ``rating_changes`` entry for them (so every worker process drops them from its
neighbour pool at its next sync, which runs before any scoring) and bumps the ratings version
of every user whose cached recommendations name them as a neighbour (so no list built with
the removed user is served again).

Settings (Flask config, defaults below): ``GUEST_TTL_SECONDS`` (30 days: a guest unused that
long is removed; also the lifetime of a guest's session, renewed on use),
``GUEST_TOUCH_SECONDS`` (1 hour: how stale "last used" may get before a request renews it),
``GUEST_MAX_PER_ADDRESS`` / ``GUEST_WINDOW_SECONDS`` (20 guests per client address per hour),
``GUEST_SWEEP_SECONDS`` (10 minutes: how often each process removes expired guests).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from worker.store import (
    CHANGES_MAXLEN,
    Store,
    session_key,
    sessions_key,
    user_key,
    username_key,
)

DEFAULTS = {
    "GUEST_TTL_SECONDS": 30 * 86400,
    "GUEST_TOUCH_SECONDS": 3600,
    "GUEST_MAX_PER_ADDRESS": 20,
    "GUEST_WINDOW_SECONDS": 3600,
    "GUEST_SWEEP_SECONDS": 600,
}

GUESTS = "guests"
SESSIONS_INDEXED = "sessions_indexed"


def guest_creations_key(address: str) -> str:
    return f"guest_creations:addr:{address}"


# Lua functions shared by the scripts that remove users. remove_user deletes every key of one
# user and records the change for every process's neighbour pool; forget_neighbours then
# invalidates other users' cached lists that used any removed user as a neighbour.
_REMOVE_USER = """
local function remove_user(id, maxlen)
  local user = 'user:' .. id
  local name = redis.call('HGET', user, 'username')
  if name and name ~= '' then
    local lower = string.lower(name)
    redis.call('DEL', 'username:' .. lower, 'login_failures:user:' .. lower)
  end
  for _, s in ipairs(redis.call('SMEMBERS', 'sessions:' .. id)) do redis.call('DEL', s) end
  for _, q in ipairs(redis.call('SMEMBERS', 'query_recs_keys:' .. id)) do
    redis.call('DEL', q)
  end
  local v = redis.call('GET', 'ratings_version:' .. id) or '0'
  redis.call('DEL', user, 'sessions:' .. id, 'query_recs_keys:' .. id,
             'ratings:' .. id, 'rated:' .. id, 'ratings_version:' .. id,
             'recs:' .. id .. ':' .. v, 'neighbours:' .. id .. ':' .. v,
             'discover:' .. id, 'discover_shown:' .. id, 'discover_liked:' .. id,
             'password_failures:' .. id)
  redis.call('SREM', 'users', id)
  redis.call('ZREM', 'guests', id)
  redis.call('HDEL', 'export_user_ids', id)
  redis.call('XADD', 'rating_changes', 'MAXLEN', '~', maxlen, '*', 'user', id, 'version', 0)
end

-- gone: list of user ids. One pass over every user's cached neighbours (each read once):
-- a plain substring search for one id, a scan of the document's app users for several.
local function forget_neighbours(gone)
  local set, needle = {}, nil
  for _, id in ipairs(gone) do set[id] = true end
  if #gone == 1 then needle = '"app:' .. gone[1] .. '"' end
  for _, other in ipairs(redis.call('SMEMBERS', 'users')) do
    local ov = redis.call('GET', 'ratings_version:' .. other) or '0'
    local nk = 'neighbours:' .. other .. ':' .. ov
    if redis.call('TYPE', nk).ok == 'hash' then
      local hit = false
      for _, doc in ipairs(redis.call('HVALS', nk)) do
        if needle then
          hit = string.find(doc, needle, 1, true) ~= nil
        else
          for id in string.gmatch(doc, '"app:(%x+)"') do
            if set[id] then hit = true break end
          end
        end
        if hit then break end
      end
      if hit then
        redis.call('INCR', 'ratings_version:' .. other)
        redis.call('DEL', nk, 'recs:' .. other .. ':' .. ov)
      end
    end
  end
end
"""

# KEYS: user, session, sessions index. ARGV: id, created_at, now_ms, ttl, guests zset
_CREATE_GUEST = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], 'username', '', 'password_hash', '', 'created_at', ARGV[2],
           'genres', '[]', 'guest', '1', 'last_seen', ARGV[3])
redis.call('SADD', 'users', ARGV[1])
redis.call('ZADD', ARGV[5], ARGV[3], ARGV[1])
redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[4])
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('EXPIRE', KEYS[3], ARGV[4])
return 1
"""

# KEYS: user, session, sessions index. ARGV: id, now_ms, ttl
_TOUCH_GUEST = """
if redis.call('HGET', KEYS[1], 'guest') ~= '1' then return 0 end
redis.call('HSET', KEYS[1], 'last_seen', ARGV[2])
redis.call('ZADD', 'guests', ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
redis.call('EXPIRE', KEYS[3], ARGV[3])
return 1
"""

# KEYS: user, username, session. ARGV: id, username, password hash, signed_up_at, account
# session ttl. 1 converted, 0 username taken, -1 no longer a guest (another tab converted it
# first). The session lives on, no longer than an account's session.
_CONVERT_GUEST = """
if redis.call('HGET', KEYS[1], 'guest') ~= '1' then return -1 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[1], 'username', ARGV[2], 'password_hash', ARGV[3], 'guest', '0',
           'signed_up_at', ARGV[4])
redis.call('HDEL', KEYS[1], 'last_seen')
redis.call('ZREM', 'guests', ARGV[1])
if redis.call('TTL', KEYS[3]) > tonumber(ARGV[5]) then redis.call('EXPIRE', KEYS[3], ARGV[5]) end
return 1
"""

# ARGV: guest id, account id, stream maxlen. Returns ratings taken from the guest, or -1 when
# the guest is gone (another tab merged it first) and -2 when the account is gone.
_MERGE_GUEST = (
    _REMOVE_USER
    + """
local g, a, maxlen = ARGV[1], ARGV[2], ARGV[3]
if redis.call('HGET', 'user:' .. g, 'guest') ~= '1' then return -1 end
if redis.call('EXISTS', 'user:' .. a) == 0 then return -2 end
local taken = 0
local theirs = redis.call('HGETALL', 'ratings:' .. g)
for i = 1, #theirs, 2 do
  local movie, stars = theirs[i], theirs[i + 1]
  local guest_at = tonumber(redis.call('ZSCORE', 'rated:' .. g, movie) or '0')
  local account_at = redis.call('ZSCORE', 'rated:' .. a, movie)
  if (not account_at) or guest_at > tonumber(account_at) then
    redis.call('HSET', 'ratings:' .. a, movie, stars)
    redis.call('ZADD', 'rated:' .. a, guest_at, movie)
    taken = taken + 1
  end
end
if taken > 0 then
  local old = redis.call('GET', 'ratings_version:' .. a) or '0'
  local v = redis.call('INCR', 'ratings_version:' .. a)
  redis.call('DEL', 'recs:' .. a .. ':' .. old, 'neighbours:' .. a .. ':' .. old)
  redis.call('XADD', 'rating_changes', 'MAXLEN', '~', maxlen, '*', 'user', a, 'version', v)
end
local mine = redis.call('HGET', 'user:' .. a, 'genres') or '[]'
local guest_genres = redis.call('HGET', 'user:' .. g, 'genres') or '[]'
if mine == '[]' and guest_genres ~= '[]' then
  redis.call('HSET', 'user:' .. a, 'genres', guest_genres)
end
remove_user(g, maxlen)
forget_neighbours({g})
return taken
"""
)

# ARGV: id, expected password hash (nil-safe: '' for guests), stream maxlen.
# 1 removed, 0 no such user, -1 the password changed meanwhile.
_DELETE_USER = (
    _REMOVE_USER
    + """
if redis.call('EXISTS', 'user:' .. ARGV[1]) == 0 then return 0 end
if (redis.call('HGET', 'user:' .. ARGV[1], 'password_hash') or '') ~= ARGV[2] then return -1 end
remove_user(ARGV[1], ARGV[3])
forget_neighbours({ARGV[1]})
return 1
"""
)

# ARGV: cutoff ms, stream maxlen, guest ids... Removes those still unused since before cutoff.
_EXPIRE_GUESTS = (
    _REMOVE_USER
    + """
local removed, gone = 0, {}
for i = 3, #ARGV do
  local id = ARGV[i]
  local seen = redis.call('ZSCORE', 'guests', id)
  if seen and tonumber(seen) < tonumber(ARGV[1]) then
    if redis.call('HGET', 'user:' .. id, 'guest') == '1' or
       redis.call('EXISTS', 'user:' .. id) == 0 then
      remove_user(id, ARGV[2])
      gone[#gone + 1] = id
      removed = removed + 1
    else
      redis.call('ZREM', 'guests', id)
    end
  end
end
if removed > 0 then forget_neighbours(gone) end
return removed
"""
)

# KEYS: user, sessions index. ARGV: expected hash, new hash, session key to keep.
# Returns sessions revoked, or -1 when the password changed meanwhile.
_CHANGE_PASSWORD = """
if redis.call('HGET', KEYS[1], 'password_hash') ~= ARGV[1] then return -1 end
redis.call('HSET', KEYS[1], 'password_hash', ARGV[2])
local revoked = 0
for _, s in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if s ~= ARGV[3] then
    revoked = revoked + redis.call('DEL', s)
    redis.call('SREM', KEYS[2], s)
  end
end
return revoked
"""


@dataclass
class Guest:
    """A new guest: its user id and session token."""

    user_id: str
    token: str


class Accounts:
    """The account life-cycle scripts on a :class:`~worker.store.Store`'s Redis client."""

    def __init__(self, store: Store) -> None:
        self.store = store
        r = store.r
        self.r = r
        self._create_guest = r.register_script(_CREATE_GUEST)
        self._touch_guest = r.register_script(_TOUCH_GUEST)
        self._convert = r.register_script(_CONVERT_GUEST)
        self._merge = r.register_script(_MERGE_GUEST)
        self._delete = r.register_script(_DELETE_USER)
        self._expire = r.register_script(_EXPIRE_GUESTS)
        self._change_password = r.register_script(_CHANGE_PASSWORD)

    def create_guest(self, created_at: str, ttl_seconds: int) -> Guest:
        """A new guest user and its session (valid ``ttl_seconds``, renewed on use)."""
        while True:
            user_id, token = secrets.token_hex(8), secrets.token_urlsafe(32)
            keys = [user_key(user_id), session_key(token), sessions_key(user_id)]
            args = [user_id, created_at, now_ms(), ttl_seconds, GUESTS]
            if self._create_guest(keys=keys, args=args):
                return Guest(user_id, token)

    def touch_guest(self, user_id: str, token: str, ttl_seconds: int) -> None:
        """Mark the guest used now and renew its session for ``ttl_seconds``."""
        keys = [user_key(user_id), session_key(token), sessions_key(user_id)]
        self._touch_guest(keys=keys, args=[user_id, now_ms(), ttl_seconds])

    def convert_guest(
        self, user_id: str, token: str, username: str, password_hash: str, at: str, ttl: int
    ) -> int:
        """Give a guest a username and password (same id, data and session, whose remaining
        life is capped at ``ttl``, an account session's).

        1 done, 0 username taken, -1 the user is no longer a guest."""
        keys = [user_key(user_id), username_key(username), session_key(token)]
        args = [user_id, username, password_hash, at, ttl]
        return int(self._convert(keys=keys, args=args))

    def merge_guest(self, guest_id: str, account_id: str) -> int:
        """Move a guest's ratings into an account (newer rating of a movie wins; the account
        keeps its genres unless it has none) and remove the guest, in one script.

        Returns how many ratings the account took from the guest; -1 when the guest was
        already gone, -2 when the account is."""
        return int(self._merge(keys=[], args=[guest_id, account_id, CHANGES_MAXLEN]))

    def delete_user(self, user_id: str, password_hash: str) -> int:
        """Remove every key of the user if its password hash is still ``password_hash``.

        1 removed, 0 no such user, -1 the password changed meanwhile."""
        return int(self._delete(keys=[], args=[user_id, password_hash, CHANGES_MAXLEN]))

    def expire_guests(self, unused_seconds: int, batch: int = 100, batches: int = 10) -> int:
        """Remove guests unused for ``unused_seconds``, ``batch`` per script (so Redis is
        never blocked long), at most ``batches`` scripts per call; returns how many."""
        cutoff = now_ms() - unused_seconds * 1000
        removed = 0
        for _ in range(batches):
            ids = self.r.zrangebyscore(GUESTS, "-inf", f"({cutoff}", start=0, num=batch)
            if not ids:
                break
            removed += int(self._expire(keys=[], args=[cutoff, CHANGES_MAXLEN, *ids]))
        return removed

    def change_password(self, user_id: str, old_hash: str, new_hash: str, keep_token: str) -> int:
        """Set a new password hash and revoke every session but ``keep_token``'s.

        Returns sessions revoked, -1 when the password changed meanwhile (nothing done)."""
        keys = [user_key(user_id), sessions_key(user_id)]
        args = [old_hash, new_hash, session_key(keep_token)]
        return int(self._change_password(keys=keys, args=args))

    def index_existing_sessions(self) -> int:
        """Once per database (marker ``sessions_indexed``): add sessions created before the
        ``sessions:{id}`` index existed to it, so password change and deletion revoke them
        too. Returns how many were indexed (0 when already done)."""
        if not self.r.set(SESSIONS_INDEXED, now_ms(), nx=True):
            return 0
        indexed = 0
        for key in self.r.scan_iter("session:*", count=1000):
            user_id, ttl = self.r.get(key), self.r.ttl(key)
            if not user_id or ttl <= 0:
                continue
            index = sessions_key(user_id)
            self.r.sadd(index, key)
            if self.r.ttl(index) < ttl:  # the index lives as long as its longest session
                self.r.expire(index, ttl)
            indexed += 1
        return indexed

    def session_ttl(self, token: str) -> int:
        """Seconds the session still lives (0 when gone)."""
        return max(0, int(self.r.ttl(session_key(token))))


def now_ms() -> int:
    return int(time.time() * 1000)
