"""The discover loop's state: the round, the movies shown and the movies ticked per user."""

from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from worker.store import keys
from worker.store.client import Scripts


class DiscoverArea:
    """Discover rounds (mixed into the Store)."""

    r: redis.Redis | RedisCluster
    scripts: Scripts

    def _discover_keys(self, user_id: str) -> list[str]:
        return [keys.discover(user_id), keys.discover_shown(user_id), keys.discover_liked(user_id)]

    def discover_state(self, user_id: str) -> tuple[int, list[int], list[int], list[int]]:
        """``(round, liked ids, shown ids, ids shown in the current round)``; round 0 = none.

        Liked and shown are oldest first (by round, then id)."""
        round_, liked, shown = self.scripts.discover_state(keys=self._discover_keys(user_id))
        round_ = int(round_ or 0)
        liked_ids = [int(m) for m in liked[::2]]
        shown_rows = list(zip(shown[::2], shown[1::2], strict=True))
        current = [int(m) for m, r in shown_rows if int(float(r)) // 100 == round_]
        return round_, liked_ids, [int(m) for m, _ in shown_rows], current

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
        args = [expected_round, ttl, max_shown, max_liked, len(liked), *liked, *batch]
        new = int(self.scripts.discover_advance(keys=self._discover_keys(user_id), args=args))
        return None if new < 0 else new

    def discover_reset(self, user_id: str) -> None:
        self.r.delete(*self._discover_keys(user_id))
