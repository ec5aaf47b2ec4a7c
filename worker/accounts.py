"""Account life cycle for the routes: settings and the :class:`Accounts` facade.

The operations themselves (guests, turning a guest into an account, merging a guest into an
account at log-in, password change, deletion and the expiry of unused guests) live in
:mod:`worker.store.lifecycle`, where their Lua scripts and the order of their steps on Redis
(Cluster-safe) are documented. Removing a user (deletion, a merged guest, an expired guest)
deletes every key of the user, adds a ``rating_changes`` entry for them (so every worker
process drops them from its neighbour pool at its next sync, which runs before any scoring)
and invalidates the cached lists of the users whose lists named them as a neighbour (so no
list built with the removed user is served again).

Settings (Flask config, defaults below): ``GUEST_TTL_SECONDS`` (30 days: a guest unused that
long is removed; also the lifetime of a guest's session, renewed on use),
``GUEST_TOUCH_SECONDS`` (1 hour: how stale "last used" may get before a request renews it),
``GUEST_MAX_PER_ADDRESS`` / ``GUEST_WINDOW_SECONDS`` (20 guests per client address per hour),
``GUEST_SWEEP_SECONDS`` (10 minutes: how often each process removes expired guests).
"""

from __future__ import annotations

from worker.store import Guest, Store, keys, now_ms

DEFAULTS = {
    "GUEST_TTL_SECONDS": 30 * 86400,
    "GUEST_TOUCH_SECONDS": 3600,
    "GUEST_MAX_PER_ADDRESS": 20,
    "GUEST_WINDOW_SECONDS": 3600,
    "GUEST_SWEEP_SECONDS": 600,
}

__all__ = ["DEFAULTS", "Accounts", "Guest", "guest_creations_key", "now_ms"]


def guest_creations_key(address: str) -> str:
    return keys.guest_creations(address)


class Accounts:
    """The account life-cycle operations of a :class:`~worker.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def create_guest(self, created_at: str, ttl_seconds: int) -> Guest:
        """A new guest user and its session (valid ``ttl_seconds``, renewed on use)."""
        return self.store.create_guest(created_at, ttl_seconds)

    def touch_guest(self, user_id: str, token: str, ttl_seconds: int) -> None:
        """Mark the guest used now and renew its session for ``ttl_seconds``."""
        self.store.touch_guest(user_id, token, ttl_seconds)

    def convert_guest(
        self, user_id: str, token: str, username: str, password_hash: str, at: str, ttl: int
    ) -> int:
        """1 converted, 0 username taken, -1 the user is no longer a guest."""
        return self.store.convert_guest(user_id, token, username, password_hash, at, ttl)

    def merge_guest(self, guest_id: str, account_id: str) -> int:
        """Ratings the account took from the guest; -1 guest already gone, -2 account gone."""
        return self.store.merge_guest(guest_id, account_id)

    def delete_user(self, user_id: str, password_hash: str) -> int:
        """1 removed, 0 no such user, -1 the password changed meanwhile."""
        return self.store.delete_user(user_id, password_hash)

    def expire_guests(self, unused_seconds: int, batch: int = 100, batches: int = 10) -> int:
        """Remove guests unused for ``unused_seconds``; returns how many."""
        return self.store.expire_guests(unused_seconds, batch, batches)

    def change_password(self, user_id: str, old_hash: str, new_hash: str, keep_token: str) -> int:
        """Sessions revoked, -1 when the password changed meanwhile (nothing done)."""
        return self.store.change_password(user_id, old_hash, new_hash, keep_token)

    def session_ttl(self, token: str) -> int:
        """Seconds the session still lives (0 when gone)."""
        return self.store.session_ttl(token)
