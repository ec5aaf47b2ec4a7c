"""Feedback beyond stars: the movies a user marked "not interested" and their watchlist.

Both are sorted sets of movie ids scored by when they were added (Unix ms), one per user
(``not_interested:{<id>}``, ``watchlist:{<id>}``), capped at :data:`api.rules.MOVIE_LIST_MAX`
movies each. Adding a movie already there and removing one that is not there change nothing.

**Not interested is part of the scoring profile**: :meth:`RatingsArea.profile_and_version`
returns the ratings plus every not-interested movie the user has not rated at
:data:`NOT_INTERESTED_STARS` (an implicit 1-star rating), so every model ranks the movie's
neighbours (same genres, story, audience) lower, and since a profile's movies are never
recommended, the movie leaves every list. A change therefore bumps ``ratings_version`` and drops
the cached lists, exactly like a rating (one script). The taste-neighbour pool of other users
(:mod:`worker.services.pool`) sees real stars only: one person's "not this" is not a rating
another person's list should lean on.

The watchlist does not change what the models score: a movie on it stays in the lists (the app
marks it "on your watchlist"). The two lists exclude each other: adding a movie to one takes it
off the other in the same script (wanting to watch a movie ends "not interested" in it, and the
other way round).
"""

from __future__ import annotations

from dataclasses import dataclass

import redis
from redis.cluster import RedisCluster

from api import rules
from worker.store import keys
from worker.store.client import Scripts

NOT_INTERESTED_STARS = 1.0
"""The implicit rating a "not interested" movie has in the profile the models score from."""

NOT_INTERESTED = "not_interested"
WATCHLIST = "watchlist"
LISTS = (WATCHLIST, NOT_INTERESTED)
"""The movie lists a user keeps, by their name in the API and the export."""


@dataclass
class ListChange:
    """Result of adding or removing a movie: ``changed`` (False: it was already so, or the list
    is full when ``full``), the list's size and, for not-interested, the new ratings version."""

    changed: bool
    count: int
    version: int
    full: bool = False


def scoring_profile(ratings: dict[int, float], not_interested: list[int]) -> dict[int, float]:
    """The profile the models score from: ``ratings`` plus each not-interested movie without a
    rating at :data:`NOT_INTERESTED_STARS` (a rating wins)."""
    profile = {m: NOT_INTERESTED_STARS for m in not_interested}
    profile.update(ratings)
    return profile


def list_key(user_id: str, which: str) -> str:
    """The key of the user's list ``which`` (``"watchlist"`` or ``"not_interested"``)."""
    if which == NOT_INTERESTED:
        return keys.not_interested(user_id)
    if which == WATCHLIST:
        return keys.watchlist(user_id)
    raise ValueError(f"no movie list {which!r}")


class FeedbackArea:
    """Not-interested movies and the watchlist (mixed into the Store)."""

    r: redis.Redis | RedisCluster
    scripts: Scripts

    def _list_keys(self, user_id: str, which: str) -> list[str]:
        """The list's key, and for not-interested (part of the scoring profile) the ratings
        version and the cached lists, which a change bumps and drops."""
        if which == NOT_INTERESTED:
            return [list_key(user_id, which), keys.version(user_id), keys.recs(user_id)]
        return [list_key(user_id, which)]

    def mark_movie(self, user_id: str, which: str, movie_id: int, at_ms: int) -> ListChange:
        """Add ``movie_id`` to the user's list ``which`` (``"watchlist"``/``"not_interested"``)
        and take it off the other list; refused (``full``) when the list holds
        :data:`api.rules.MOVIE_LIST_MAX` movies."""
        other = NOT_INTERESTED if which == WATCHLIST else WATCHLIST
        done, count, version = self.scripts.mark_movie(
            keys=[
                list_key(user_id, which),
                list_key(user_id, other),
                keys.version(user_id),
                keys.recs(user_id),
            ],
            args=[movie_id, at_ms, rules.MOVIE_LIST_MAX, int(which == NOT_INTERESTED)],
        )
        return ListChange(int(done) == 1, int(count), int(version), full=int(done) < 0)

    def unmark_movie(self, user_id: str, which: str, movie_id: int) -> ListChange:
        """Remove ``movie_id`` from the user's list ``which``."""
        done, count, version = self.scripts.unmark_movie(
            keys=self._list_keys(user_id, which), args=[movie_id]
        )
        return ListChange(int(done) == 1, int(count), int(version))

    def movie_list_page(
        self, user_id: str, which: str, offset: int, limit: int
    ) -> tuple[list[tuple[int, int]], int]:
        """Newest-first ``(movieId, added_ms)`` rows of list ``which`` and its size."""
        total, flat = self.scripts.movie_list_page(
            keys=self._list_keys(user_id, which)[:1], args=[offset, offset + limit - 1]
        )
        rows = [(int(flat[i]), int(float(flat[i + 1]))) for i in range(0, len(flat), 2)]
        return rows, int(total)

    def movie_list(self, user_id: str, which: str) -> list[int]:
        """Every movie id of list ``which`` (oldest first)."""
        return [int(m) for m in self.r.zrange(self._list_keys(user_id, which)[0], 0, -1)]

    def on_list(self, user_id: str, which: str, movie_ids: list[int]) -> set[int]:
        """Those of ``movie_ids`` that are on the user's list ``which``."""
        if not movie_ids:
            return set()
        found = self.r.zmscore(self._list_keys(user_id, which)[0], [str(m) for m in movie_ids])
        return {m for m, score in zip(movie_ids, found, strict=True) if score is not None}
