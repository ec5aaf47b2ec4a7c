"""Every app rating as a MovieLens-style table, for retraining (``scripts.export_ratings``), and
every watchlist and not-interested movie beside it."""

from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from worker.store import keys
from worker.store.client import Scripts
from worker.store.feedback import LISTS

EXPORT_USER_OFFSET = 1_000_000_000
"""App users appear in ratings exports as ``EXPORT_USER_OFFSET + n`` (n = 1, 2, ... stable per
user), far above every MovieLens userId (ml-32m stops near 201k)."""


class ExportArea:
    """Stable export numbers and the ratings export (mixed into the Store)."""

    r: redis.Redis | RedisCluster
    scripts: Scripts

    def export_numbers(self, user_ids: list[str]) -> dict[str, int]:
        """Each user's stable export number (1, 2, ...; handed out on first export)."""
        if not user_ids:
            return {}
        numbers = self.scripts.export_numbers(
            keys=[keys.EXPORT_IDS, keys.EXPORT_COUNTER], args=user_ids
        )
        return {u: int(n) for u, n in zip(user_ids, numbers, strict=True)}

    def export_ratings(self):
        """Every app rating: see :func:`worker.store.export_ratings`."""
        import pandas as pd

        users = sorted(self.r.smembers(keys.USERS))
        pipe = self.r.pipeline(transaction=False)
        for user_id in users:
            pipe.hgetall(keys.ratings(user_id))
            pipe.zrange(keys.rated(user_id), 0, -1, withscores=True)
        answers = pipe.execute() if users else []
        numbers = self.export_numbers(users)
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

    def export_movie_lists(self):
        """Every app user's watchlist and not-interested movies: a pandas DataFrame with columns
        ``userId`` (int64, the same ids as :meth:`export_ratings`), ``movieId`` (int64),
        ``list`` ("watchlist" or "not_interested") and ``timestamp`` (int64 Unix seconds it
        was added), sorted by user, list and time."""
        import pandas as pd

        users = sorted(self.r.smembers(keys.USERS))
        pipe = self.r.pipeline(transaction=False)
        for user_id in users:
            pipe.zrange(keys.watchlist(user_id), 0, -1, withscores=True)
            pipe.zrange(keys.not_interested(user_id), 0, -1, withscores=True)
        answers = pipe.execute() if users else []
        numbers = self.export_numbers(users)
        rows: list[tuple[int, int, str, int]] = []
        for i, user_id in enumerate(users):
            for which, found in zip(LISTS, answers[2 * i : 2 * i + 2], strict=True):
                for movie, added_ms in found:
                    user = EXPORT_USER_OFFSET + numbers[user_id]
                    rows.append((user, int(movie), which, int(added_ms // 1000)))
        table = pd.DataFrame(rows, columns=["userId", "movieId", "list", "timestamp"])
        table = table.astype({"userId": "int64", "movieId": "int64", "timestamp": "int64"})
        return table.sort_values(["userId", "list", "timestamp", "movieId"], ignore_index=True)
