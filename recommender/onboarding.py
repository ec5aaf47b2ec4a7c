"""The first rating grid a newcomer sees: movies whose ratings teach the models most, still
movies a person recognises.

A newcomer's first five ratings are all the models know about them. Today's grid shows the
most-rated movies first; nearly everybody likes those, so their stars say little about anyone's
taste. Rashid et al. (2002, "Getting to know you: learning new user preferences in recommender
systems") found that ordering by **log-popularity × rating entropy** learns a newcomer's taste
faster while keeping the movies familiar: entropy is high for movies people disagree about
(their ratings spread over the star scale), the logarithm keeps popularity from drowning it.

Order of the movies matching the chosen genres (:meth:`FirstGrid.order`):

1. **Recognisable** movies — at least ``recognisable_share`` (default 0.1) of the ratings of
   the catalogue's most-rated movie, so the rule scales from ml-latest-small (≥ 33 ratings) to
   ml-25m — by ``log(ratings) × entropy`` (or ``ratings × entropy`` with
   ``score="pop_entropy"``), best first, **taking turns across the chosen genres** (in
   alphabetical order: the best Comedy not yet placed, then the best Drama, …) so one genre
   does not fill the first page.
2. Then every other matching movie, most-rated first (today's order), so the grid still holds
   every movie of the genres and ``total`` does not change.

Entropy: Shannon entropy, in bits, of a movie's ratings over the ten half-star values 0.5–5
(0 = everyone gave the same stars; log2(10) ≈ 3.32 = spread evenly).

The order is computed once per genre set (cached), so a page costs a slice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd

from recommender.catalog import Catalog
from recommender.vocabulary import index_or_missing

RECOGNISABLE_SHARE = 0.1
"""A movie is recognisable with at least this share of the most-rated movie's rating count."""

Score = Literal["log_pop_entropy", "pop_entropy"]

_STAR_STEPS = 10
"""Half-star values 0.5, 1.0, … 5.0."""

_ORDER_CACHE_SIZE = 256


def rating_entropy(ratings: pd.DataFrame, movie_ids: np.ndarray) -> np.ndarray:
    """Entropy in bits (0–log2 10) of each movie's ratings over the half-star values.

    Inputs: ``ratings`` (MovieLens table: movieId, rating 0.5–5) and sorted ``movie_ids``
    (int64). Output: float64 array aligned with ``movie_ids``; 0 for movies without ratings.
    Ratings off the half-star grid are rounded to the nearest half star."""
    movie_ids = np.asarray(movie_ids, dtype=np.int64)
    rows = index_or_missing(movie_ids, ratings["movieId"].to_numpy(dtype=np.int64))
    steps = np.clip(np.rint(ratings["rating"].to_numpy(dtype=np.float64) * 2) - 1, 0, 9)
    known = rows >= 0
    cells = rows[known] * _STAR_STEPS + steps[known].astype(np.int64)
    counts = np.bincount(cells, minlength=len(movie_ids) * _STAR_STEPS).astype(np.float64)
    counts = counts.reshape(len(movie_ids), _STAR_STEPS)
    totals = counts.sum(axis=1, keepdims=True)
    share = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    logs = np.log2(share, out=np.zeros_like(share), where=share > 0)
    return -(share * logs).sum(axis=1) + 0.0


class FirstGrid:
    """The newcomer's grid order over a :class:`~recommender.catalog.Catalog`.

    Inputs: ``catalog`` (its ``rating_counts`` are the popularity), ``entropy`` (bits, aligned
    with ``catalog.ids``; see :func:`rating_entropy`), ``score`` (``"log_pop_entropy"``, the
    default, or ``"pop_entropy"``), ``recognisable_share`` (0–1) and ``spread`` (take turns
    across the chosen genres; ``False`` = one ranking for all)."""

    def __init__(
        self,
        catalog: Catalog,
        entropy: np.ndarray,
        *,
        score: Score = "log_pop_entropy",
        recognisable_share: float = RECOGNISABLE_SHARE,
        spread: bool = True,
    ) -> None:
        if not 0.0 <= recognisable_share <= 1.0:
            raise ValueError(f"recognisable_share must be in [0, 1], got {recognisable_share}")
        entropy = np.asarray(entropy, dtype=np.float64)
        if entropy.shape != catalog.ids.shape:
            raise ValueError(f"entropy has {entropy.shape}, the catalogue {catalog.ids.shape}")
        self.catalog = catalog
        self.spread = spread
        counts = catalog.rating_counts.astype(np.float64)
        top = float(counts.max(initial=0.0))
        self.min_ratings = max(1, math.ceil(recognisable_share * top))
        """Fewest ratings a movie needs to be ranked by what it teaches (part 1 above)."""
        popularity = np.log(np.maximum(counts, 1.0)) if score == "log_pop_entropy" else counts
        self.scores = popularity * entropy
        """Per movie (aligned with ``catalog.ids``): what a rating of it teaches, >= 0."""
        recognisable = counts >= self.min_ratings
        ids = catalog.ids
        ranked = np.lexsort((ids, -counts, -self.scores))
        self._ranked = ranked[recognisable[ranked]]
        popular = np.lexsort((ids, -counts))
        self._rest = popular[~recognisable[popular]]
        self._order = functools.lru_cache(_ORDER_CACHE_SIZE)(self._order_uncached)

    @classmethod
    def from_ratings(cls, catalog: Catalog, ratings: pd.DataFrame, **options) -> FirstGrid:
        """The grid of ``catalog`` with entropies from ``ratings`` (the same ratings the
        catalogue's counts come from); ``options`` as for the constructor."""
        return cls(catalog, rating_entropy(ratings, catalog.ids), **options)

    def order(self, genres: Sequence[str] | None = None) -> np.ndarray:
        """Catalogue rows (int64) of every movie having ANY of ``genres`` (all when empty), in
        the newcomer's order (see the module docstring). The array is shared: do not modify."""
        return self._order(tuple(sorted(set(genres or ()))))

    def page(
        self, genres: Sequence[str] | None = None, page: int = 1, page_size: int = 24
    ) -> tuple[np.ndarray, int]:
        """Like :meth:`Catalog.browse` without a title search: ``(ids, total)`` of page
        ``page`` (1-based) of ``page_size`` movies in the newcomer's order."""
        if page < 1 or page_size < 1:
            raise ValueError(f"page and page_size must be >= 1, got {page}, {page_size}")
        order = self.order(genres)
        start = (page - 1) * page_size
        return self.catalog.ids[order[start : start + page_size]], len(order)

    def _order_uncached(self, genres: tuple[str, ...]) -> np.ndarray:
        mask = self.catalog.genre_mask(genres)
        ranked = self._ranked[mask[self._ranked]]
        rest = self._rest[mask[self._rest]]
        known = [g for g in genres if g in self.catalog.genres]
        if self.spread and len(known) > 1:
            ranked = self._take_turns(ranked, known)
        order = np.concatenate([ranked, rest]).astype(np.int64)
        order.flags.writeable = False
        return order

    def _take_turns(self, ranked: np.ndarray, genres: list[str]) -> np.ndarray:
        """``ranked`` rows re-ordered so the chosen genres take turns, each giving its best
        movie not yet placed (a genre with none left drops out)."""
        queues = [ranked[self.catalog.genre_mask([g])[ranked]].tolist() for g in genres]
        heads = [0] * len(queues)
        placed: set[int] = set()
        out: list[int] = []
        while len(out) < len(ranked):
            for i, queue in enumerate(queues):
                while heads[i] < len(queue) and queue[heads[i]] in placed:
                    heads[i] += 1
                if heads[i] < len(queue):
                    row = queue[heads[i]]
                    placed.add(row)
                    out.append(row)
        return np.asarray(out, dtype=np.int64)
