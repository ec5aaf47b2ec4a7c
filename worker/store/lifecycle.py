"""Account life cycle: guests, turning a guest into an account, merging a guest into an account
at log-in, password change, removal of a user, expiry of unused guests.

Each step that changes a user is one Lua script on that user's slot, so it commits completely
or not at all, and two tabs doing the same thing at once are serialised by Redis. What touches
global keys (``users``, ``guests``, ``username:<name>``, ``rating_changes``, the export numbers)
or another user's keys runs as separate single-slot commands *after* the user's script, in an
order where every intermediate state is safe (Redis Cluster allows no transaction across
slots):

- **Removal** (deletion, a merged guest, an expired guest): ``remove_user.lua`` checks the
  condition and deletes every key of the user (its sessions and query lists passed in ``KEYS``,
  read from their indexes just before; the script asks for a re-read when they changed) and
  returns the username and the users whose cached lists leaned on this one
  (``neighbour_of:{<id>}``). Then the username entry is released (only if it still points at
  the user), the user leaves ``users``, ``guests`` and the export numbers, a ``rating_changes``
  entry tells every process to drop the user from its neighbour pool, and the leaning lists
  are invalidated. A removal stopped half-way leaves only entries that readers already treat as
  gone (a name pointing at a missing user is free; ids in ``users`` without keys are skipped;
  the guest sweep finishes a guest).
- **Merging a guest at log-in**: ``take_guest.lua`` marks the guest "merging" (a second tab
  gets -1) and reads its ratings; ``merge_into.lua`` applies them to the account (newer rating
  wins); the guest's watchlist and not-interested movies are added to the account's; then the
  guest is removed.
- **Converting a guest**: ``convert_guest.lua`` gives the user hash its name, then the name is
  claimed as at sign-up; when another user got the name first, ``unconvert_guest.lua`` puts
  the guest back as it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster

from worker.store import keys
from worker.store.client import Scripts
from worker.store.feedback import LISTS, list_key
from worker.store.users import new_token, new_user_id, now_ms

RETRIES = 5
"""Re-reads of a user's session index when sessions come and go during a removal."""


@dataclass
class Guest:
    """A new guest: its user id and session token."""

    user_id: str
    token: str


class LifecycleArea:
    """The account life-cycle operations (mixed into the Store; see the module docstring)."""

    r: redis.Redis | RedisCluster
    scripts: Scripts

    # --- guests ----------------------------------------------------------------------------

    def create_guest(self, created_at: str, ttl_seconds: int) -> Guest:
        """A new guest user and its session (valid ``ttl_seconds``, renewed on use)."""
        while True:
            user_id = new_user_id()
            token, now = new_token(user_id), now_ms()
            self.r.zadd(keys.GUESTS, {user_id: now})  # first: the sweep finds a half-made guest
            self.r.sadd(keys.USERS, user_id)
            session_keys = [
                keys.user(user_id),
                keys.session(user_id, token),
                keys.sessions(user_id),
            ]
            if self.scripts.create_guest(
                keys=session_keys, args=[user_id, created_at, now, ttl_seconds]
            ):
                return Guest(user_id, token)

    def touch_guest(self, user_id: str, token: str, ttl_seconds: int) -> None:
        """Mark the guest used now and renew its session for ``ttl_seconds``."""
        found = self.session_key_of(token)
        if found is None:
            return
        now = now_ms()
        session_keys = [keys.user(user_id), found[1], keys.sessions(user_id)]
        if self.scripts.touch_guest(keys=session_keys, args=[now, ttl_seconds]):
            self.r.zadd(keys.GUESTS, {user_id: now})

    def convert_guest(
        self, user_id: str, token: str, username: str, password_hash: str, at: str, ttl: int
    ) -> int:
        """Give a guest a username and password (same id, data and session, whose remaining
        life is capped at ``ttl``, an account session's).

        1 done, 0 username taken, -1 the user is no longer a guest."""
        if self.username_owner(username) is not None:
            return 0
        found = self.session_key_of(token)
        session = found[1] if found else keys.session(user_id, token)
        now = now_ms()
        done = int(
            self.scripts.convert_guest(
                keys=[keys.user(user_id), session, keys.sessions(user_id)],
                args=[username, password_hash, at, ttl, now],
            )
        )
        if done < 0:
            return -1
        if not self.claim_username(username, user_id):
            self.scripts.unconvert_guest(keys=[keys.user(user_id)], args=[username, at, now])
            return 0
        self.r.zrem(keys.GUESTS, user_id)
        return 1

    def merge_guest(self, guest_id: str, account_id: str) -> int:
        """Move a guest's ratings into an account (newer rating of a movie wins; the account
        keeps its genres unless it has none) and remove the guest.

        Returns how many ratings the account took from the guest; -1 when the guest was
        already gone (or taken by another tab), -2 when the account is."""
        if not self.r.exists(keys.user(account_id)):
            return -2
        guest = [keys.user(guest_id), keys.ratings(guest_id), keys.rated(guest_id)]
        taken_over = self.scripts.take_guest(keys=guest)
        if taken_over is None:
            return -1
        ratings, rated, genres = taken_over
        times = dict(zip(rated[::2], rated[1::2], strict=True))
        args: list = [genres]
        for movie, stars in zip(ratings[::2], ratings[1::2], strict=True):
            args += [movie, stars, times.get(movie, "0")]
        account = [
            keys.user(account_id),
            keys.ratings(account_id),
            keys.rated(account_id),
            keys.version(account_id),
            keys.recs(account_id),
        ]
        taken, version = (int(x) for x in self.scripts.merge_into(keys=account, args=args))
        if taken == -2:
            self.scripts.release_guest(keys=[keys.user(guest_id)])
            return -2
        if taken > 0:
            self.note_change(account_id, version)
        self._merge_movie_lists(guest_id, account_id)
        self.remove_user(guest_id, "merged")
        return taken

    def _merge_movie_lists(self, guest_id: str, account_id: str) -> None:
        """Add the guest's watchlist and not-interested movies to the account's (each with the
        time the guest added it; a movie already there keeps its own; a full list takes no
        more)."""
        for which in LISTS:
            found = self.r.zrange(list_key(guest_id, which), 0, -1, withscores=True)
            for movie, added_ms in found:
                self.mark_movie(account_id, which, int(movie), int(added_ms))

    def expire_guests(self, unused_seconds: int, batch: int = 100, batches: int = 10) -> int:
        """Remove guests unused for ``unused_seconds``, ``batch`` ids per read, at most
        ``batches`` reads per call; returns how many were removed."""
        cutoff = now_ms() - unused_seconds * 1000
        removed = 0
        for _ in range(batches):
            ids = self.r.zrangebyscore(keys.GUESTS, "-inf", f"({cutoff}", start=0, num=batch)
            if not ids:
                break
            for user_id in ids:
                if self.remove_user(user_id, "unused_guest", cutoff) == 1:
                    removed += 1
                else:  # used since, or no longer a guest: correct its place in the index
                    kind, seen = self.r.hmget(keys.user(user_id), ["guest", "last_seen"])
                    if kind in ("1", "merging") and seen:
                        self.r.zadd(keys.GUESTS, {user_id: int(seen)})
                    else:
                        self.r.zrem(keys.GUESTS, user_id)
        return removed

    # --- accounts --------------------------------------------------------------------------

    def change_password(self, user_id: str, old_hash: str, new_hash: str, keep_token: str) -> int:
        """Set a new password hash and revoke every session but ``keep_token``'s.

        Returns sessions revoked, -1 when the password changed meanwhile (nothing done)."""
        found = self.session_key_of(keep_token)
        keep = found[1] if found else ""
        for _ in range(RETRIES):
            sessions = self.r.zrange(keys.sessions(user_id), 0, -1)
            revoked = int(
                self.scripts.change_password(
                    keys=[keys.user(user_id), keys.sessions(user_id), *sessions],
                    args=[old_hash, new_hash, keep, now_ms()],
                )
            )
            if revoked != -9:
                return revoked
        raise RuntimeError(f"sessions of {user_id} kept changing during a password change")

    def delete_user(self, user_id: str, password_hash: str) -> int:
        """Remove every key of the user if its password hash is still ``password_hash``.

        1 removed, 0 no such user, -1 the password changed meanwhile."""
        return self.remove_user(user_id, "password", password_hash)

    def remove_user(self, user_id: str, check: str, expected: str | int = "") -> int:
        """Remove a user if ``check`` passes (see ``lua/remove_user.lua``), then its traces in
        global keys and in other users' caches. 1 removed, 0 no such user, -1 check failed."""
        for _ in range(RETRIES):
            sessions = self.r.zrange(keys.sessions(user_id), 0, -1)
            queries = sorted(self.r.smembers(keys.query_recs_index(user_id)))
            out = self.scripts.remove_user(
                keys=[*keys.user_keys(user_id), *sessions, *queries],
                args=[check, expected, len(sessions), len(queries)],
            )
            if int(out[0]) != -9:
                break
        else:
            raise RuntimeError(f"sessions of {user_id} kept changing during its removal")
        if int(out[0]) != 1:
            return int(out[0])
        username, leaning = out[1], [u for u in out[2:] if u != user_id]
        if username:
            self.release_username(username, user_id)
            self.r.delete(keys.login_failures("user", username.lower()))
        self.r.srem(keys.USERS, user_id)
        self.r.zrem(keys.GUESTS, user_id)
        self.r.hdel(keys.EXPORT_IDS, user_id)
        self.note_change(user_id, 0)  # every process drops the user from its neighbour pool
        self.invalidate_recs(leaning)
        return 1
