"""The app's users as taste neighbours: keeping a model's neighbour pool in step with Redis.

A neighbourhood model (Pearson, or the blend's Pearson component) also uses the app's users as
neighbours, through ``upsert_user(key, profile)``. Each process first loads every app user
(:meth:`NeighbourPool.resync`, at start and for each newly loaded model), then, before each
fresh scoring, reads the Redis change stream from where it stopped and re-reads only the users
whose ratings changed (:meth:`NeighbourPool.sync`). Only accounts old enough and with enough
ratings join, and at most a few per list (:mod:`worker.trust`, against shilling).
"""

from __future__ import annotations

import time
from typing import Any

from worker import trust
from worker.services.loader import Loaded
from worker.store import Store


def user_model_key(user_id: str) -> str:
    """The key an app user has in a model's neighbour pool (never a MovieLens userId)."""
    return f"app:{user_id}"


def neighbour_pool(model: Any) -> Any | None:
    """The object whose ``upsert_user`` keeps app users as neighbours: the model itself
    (Pearson, or the blend, which passes it to its Pearson component), or ``None`` when the
    model has no such pool."""
    return model if callable(getattr(model, "upsert_user", None)) else None


def stream_id_after(a: str, b: str) -> bool:
    """Whether stream id ``a`` is later than stream id ``b`` (ids are 'ms-seq')."""
    a_ms, a_seq = (int(x) for x in a.split("-"))
    b_ms, b_seq = (int(x) for x in b.split("-"))
    return (a_ms, a_seq) > (b_ms, b_seq)


class NeighbourPool:
    """Keeps the app users in the neighbour pool of a :class:`Loaded` model current."""

    def __init__(self, store: Store, policy: trust.NeighbourPolicy) -> None:
        self.store = store
        self.policy = policy

    def _upsert(self, loaded: Loaded, user_id: str, profile: dict[int, float] | None) -> None:
        pool = neighbour_pool(loaded.model)
        if pool is None:
            return
        key = user_model_key(user_id)
        pool.upsert_user(key, profile or None)
        if profile:
            loaded.pool.add(key)
        else:
            loaded.pool.discard(key)

    def resync(self, loaded: Loaded) -> None:
        """Rebuild the pool from Redis: every user's ratings, dropping users Redis lacks."""
        pool = neighbour_pool(loaded.model)
        if pool is None:
            return
        with loaded.lock:
            loaded.last_change = self.store.last_change_id()
            wanted = {user_model_key(u): u for u in self.store.all_user_ids()}
            for key in list(loaded.pool - set(wanted)):
                pool.upsert_user(key, None)
                loaded.pool.discard(key)
            trust.apply_cap(loaded.model, self.policy)
            self._admit(loaded, self.store.profiles(list(wanted.values())))

    def _admit(self, loaded: Loaded, profiles: dict[str, dict[int, float]]) -> None:
        """Put each user in the pool with their profile if the neighbour policy lets them in
        now (:mod:`worker.trust`); otherwise out of it, and remembered in ``waiting`` until the
        time they may join."""
        created = self.store.created_at_of(list(profiles))
        now = time.time()
        for user_id, profile in profiles.items():
            due = self.policy.eligible_at(created.get(user_id), len(profile))
            admitted = bool(profile) and due is not None and due <= now
            if profile and due is not None and due > now:
                loaded.waiting[user_id] = due
            else:
                loaded.waiting.pop(user_id, None)
            self._upsert(loaded, user_id, profile if admitted else None)

    def sync(self, loaded: Loaded) -> int:
        """Apply rating changes made by any process since the last sync; returns users updated."""
        if neighbour_pool(loaded.model) is None:
            return 0
        with loaded.lock:
            now = time.time()
            due = sorted(u for u, when in loaded.waiting.items() if when <= now)
            if due:  # accounts old enough now to count as neighbours
                self._admit(loaded, self.store.profiles(due))
            changes = self.store.changes_since(loaded.last_change)
            if not changes:
                return len(due)
            oldest = self.store.oldest_change_id()
            trimmed = oldest and stream_id_after(oldest, loaded.last_change)
            if loaded.last_change != "0-0" and trimmed:
                self.resync(loaded)  # the stream was trimmed past us: reload everyone
                return len(loaded.pool)
            users = {user for _, user in changes}
            self._admit(loaded, self.store.profiles(sorted(users)))
            loaded.last_change = changes[-1][0]
            return len(users)
