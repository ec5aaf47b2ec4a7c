"""Ratings and the change stream every worker process follows.

A rating change is one script on the user's slot (ratings hash, time index, version bump,
deletion of the cached lists), then an entry on the global ``rating_changes`` stream. The
stream is a notification ("re-read this user"), written after the change, so a process that
reads it always finds the change; the request is acknowledged only after both, and a request
that failed between them is repeated by the client (setting a rating is idempotent) and writes
the entry then.
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster

from worker.store import keys
from worker.store.client import Scripts
from worker.store.feedback import scoring_profile


@dataclass
class RatingChange:
    """Result of a rating change: the user's rating count and new ratings version."""

    rating_count: int
    version: int


def stars_text(stars: float) -> str:
    return f"{stars:g}"


def _profile(flat_or_dict) -> dict[int, float]:
    items = flat_or_dict.items() if isinstance(flat_or_dict, dict) else _pairs(flat_or_dict)
    return {int(m): float(s) for m, s in items}


def _pairs(flat: list) -> list[tuple]:
    return list(zip(flat[::2], flat[1::2], strict=True))


class RatingsArea:
    """A user's ratings and the ``rating_changes`` stream (mixed into the Store)."""

    r: redis.Redis | RedisCluster
    scripts: Scripts

    def _rating_keys(self, user_id: str) -> list[str]:
        return [
            keys.ratings(user_id),
            keys.rated(user_id),
            keys.version(user_id),
            keys.recs(user_id),
        ]

    def set_rating(
        self, user_id: str, movie_id: int, stars: float, rated_at_ms: int
    ) -> RatingChange:
        """Store one rating with its bookkeeping (one script), then announce the change."""
        count, version = self.scripts.set_rating(
            keys=self._rating_keys(user_id), args=[movie_id, stars_text(stars), rated_at_ms]
        )
        self.note_change(user_id, int(version))
        return RatingChange(int(count), int(version))

    def delete_rating(self, user_id: str, movie_id: int) -> RatingChange | None:
        """Remove one rating; ``None`` when the movie was not rated."""
        result = self.scripts.delete_rating(keys=self._rating_keys(user_id), args=[movie_id])
        if result is None:
            return None
        self.note_change(user_id, int(result[1]))
        return RatingChange(int(result[0]), int(result[1]))

    def profile(self, user_id: str) -> dict[int, float]:
        """The user's ratings ``{movieId: stars}``."""
        return _profile(self.r.hgetall(keys.ratings(user_id)))

    def profiles(self, user_ids: list[str]) -> dict[str, dict[int, float]]:
        """``{user id: profile}`` for many users in one round trip (per cluster node)."""
        pipe = self.r.pipeline(transaction=False)
        for user_id in user_ids:
            pipe.hgetall(keys.ratings(user_id))
        rows = pipe.execute() if user_ids else []
        return {u: _profile(row) for u, row in zip(user_ids, rows, strict=True)}

    def profile_and_version(self, user_id: str) -> tuple[dict[int, float], int]:
        """The profile the models score from and its version, read together (one consistent
        snapshot): the ratings plus the not-interested movies as implicit low ratings
        (:func:`worker.store.feedback.scoring_profile`)."""
        flat, version, not_interested = self.scripts.profile_and_version(
            keys=[keys.ratings(user_id), keys.version(user_id), keys.not_interested(user_id)]
        )
        return scoring_profile(_profile(flat), [int(m) for m in not_interested]), int(version)

    def ratings_of(self, user_id: str, movie_ids: list[int]) -> dict[int, float]:
        """The user's stars for those movies that they rated."""
        if not movie_ids:
            return {}
        values = self.r.hmget(keys.ratings(user_id), [str(m) for m in movie_ids])
        return {m: float(v) for m, v in zip(movie_ids, values, strict=True) if v is not None}

    def rating_count(self, user_id: str) -> int:
        return int(self.r.hlen(keys.ratings(user_id)))

    def ratings_version(self, user_id: str) -> int:
        return int(self.r.get(keys.version(user_id)) or 0)

    def ratings_page(
        self, user_id: str, offset: int, limit: int
    ) -> tuple[list[tuple[int, float, int]], int]:
        """Newest-first ``(movieId, stars, rated_at_ms)`` rows and the total count."""
        total, flat = self.scripts.ratings_page(
            keys=[keys.rated(user_id), keys.ratings(user_id)], args=[offset, offset + limit - 1]
        )
        rows = [
            (int(flat[i]), float(flat[i + 1]), int(float(flat[i + 2])))
            for i in range(0, len(flat), 3)
        ]
        return rows, int(total)

    # --- change stream ---------------------------------------------------------------------

    def note_change(self, user_id: str, version: int) -> None:
        """Announce that ``user_id``'s ratings changed (version 0: the user was removed)."""
        self.r.xadd(
            keys.CHANGES,
            {"user": user_id, "version": version},
            maxlen=keys.CHANGES_MAXLEN,
            approximate=True,
        )

    def last_change_id(self) -> str:
        """Id of the newest entry of the change stream (``0-0`` when empty)."""
        newest = self.r.xrevrange(keys.CHANGES, count=1)
        return newest[0][0] if newest else "0-0"

    def oldest_change_id(self) -> str | None:
        oldest = self.r.xrange(keys.CHANGES, count=1)
        return oldest[0][0] if oldest else None

    def changes_since(self, last_id: str, count: int = 10_000) -> list[tuple[str, str]]:
        """``(entry id, user id)`` of rating changes after ``last_id``, oldest first."""
        answer = self.r.xread({keys.CHANGES: last_id}, count=count)
        if not answer:
            return []
        return [(entry_id, fields["user"]) for entry_id, fields in answer[0][1]]
