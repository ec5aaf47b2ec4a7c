"""Counters that limit what one client can do per time window, reserved atomically in Redis.

Every limit is a Redis counter that expires at the end of its window. A request that is
limited **reserves** its slot first, in one Lua script that checks every counter it is under
and increments them all only if none is full: so however many requests arrive at once, no more
than the limit get past the check (there is no gap between "check" and "count" to race in).

- Login (see :mod:`worker.auth`): each attempt reserves one slot in the per-username and the
  per-address failure counters *before* bcrypt runs. A wrong password keeps its slots (they
  are the failure count); a right one clears the username's counter and gives the address
  slot back.
- Sign-up: each sign-up reserves one slot of the per-address counter
  (``SIGNUP_MAX_PER_ADDRESS`` per ``SIGNUP_WINDOW_SECONDS``); a sign-up that fails (taken
  username) gives it back.

Over a limit the answer is 429 with ``Retry-After`` (seconds until the fullest window ends).
"""

from __future__ import annotations

import redis

from worker.errors import ApiError

# KEYS: counters. ARGV: window seconds, then one limit per key. Returns 0 when every counter
# was incremented, else the seconds until the first full counter expires (nothing changed).
_RESERVE = """
for i, key in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', key) or '0')
  if n >= tonumber(ARGV[i + 1]) then
    local ttl = redis.call('TTL', key)
    if ttl < 1 then ttl = 1 end
    return ttl
  end
end
for _, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 or redis.call('TTL', key) < 0 then redis.call('EXPIRE', key, ARGV[1]) end
end
return 0
"""

# KEYS: counters. Takes one back from each (never below zero).
_RELEASE = """
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 1
"""


class Limits:
    """Reserve/release slots of window counters on one Redis client."""

    def __init__(self, client: redis.Redis) -> None:
        self._reserve = client.register_script(_RESERVE)
        self._release = client.register_script(_RELEASE)

    def reserve(self, limits: list[tuple[str, int]], window_seconds: int) -> int:
        """Take one slot of every ``(counter key, limit)``, all or none; returns 0 when taken,
        else the seconds to wait (nothing was counted)."""
        keys = [key for key, _ in limits]
        args = [int(window_seconds), *(int(limit) for _, limit in limits)]
        return int(self._reserve(keys=keys, args=args))

    def release(self, keys: list[str]) -> None:
        """Give back one slot of each counter (an attempt that turned out not to count)."""
        if keys:
            self._release(keys=keys)


def too_many(code: str, what: str, wait: int) -> ApiError:
    """The 429 answer: ``code`` (e.g. ``too_many_attempts``), a sentence, ``Retry-After``."""
    return ApiError(
        429, code, f"{what} Try again in {wait} seconds.", headers={"Retry-After": str(wait)}
    )
