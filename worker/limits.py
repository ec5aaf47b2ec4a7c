"""Counters that limit what one client can do per time window, reserved atomically in Redis.

Every limit is a Redis counter that expires at the end of its window. A request that is
limited **reserves** its slot first, one Lua script per counter that checks it and increments
it only if it is not full (giving back the counters already taken when a later one is full):
so however many requests arrive at once, no more than the limit get past the check (there is no
gap between "check" and "count" to race in).

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
from redis.cluster import RedisCluster

from worker.errors import ApiError
from worker.store.client import scripts_of


class Limits:
    """Reserve/release slots of window counters on one Redis client (one server or Cluster).

    Each counter is its own key (its own Cluster slot), so a reservation of several counters
    takes them one at a time (``lua/reserve_slot.lua``, atomic per counter) and gives back
    those already taken when one is full: nothing stays counted for a refused attempt, and no
    counter ever passes its limit."""

    def __init__(self, client: redis.Redis | RedisCluster) -> None:
        self._scripts = scripts_of(client)

    def reserve(self, limits: list[tuple[str, int]], window_seconds: int) -> int:
        """Take one slot of every ``(counter key, limit)``, all or none; returns 0 when taken,
        else the seconds to wait (nothing was counted)."""
        taken: list[str] = []
        for key, limit in limits:
            wait = int(self._scripts.reserve_slot(keys=[key], args=[int(window_seconds), limit]))
            if wait:
                self.release(taken)
                return wait
            taken.append(key)
        return 0

    def release(self, keys: list[str]) -> None:
        """Give back one slot of each counter (an attempt that turned out not to count)."""
        for key in keys:
            self._scripts.release_slot(keys=[key])


def too_many(code: str, what: str, wait: int) -> ApiError:
    """The 429 answer: ``code`` (e.g. ``too_many_attempts``), a sentence, ``Retry-After``."""
    return ApiError(
        429, code, f"{what} Try again in {wait} seconds.", headers={"Retry-After": str(wait)}
    )
