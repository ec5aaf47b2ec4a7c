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

**The grid adapts** (:class:`GridWalk`, Rashid et al.'s personalised strategies; Elahi et
al. 2016, "A survey of active learning in collaborative filtering recommender systems"):
after each rating of a movie the person has seen in the grid, every place up to it stays, and
the recognisable movies after it are ranked again by

    score × familiarity ** FAMILIARITY × lift ** LIFT

where *familiarity* is how likely this person knows the movie (of the people who rated what
they rated, the share who also rated it: people who rated X also rated Y, so they scroll past
fewer unknown movies) and *lift* is familiarity ÷ the share of everybody who rated it (movies
known by people like this one, rather than by everybody, so the next ratings say more about
this person's taste). Only the recognisable movies are ranked again (the grid stays
familiar), the genres still take turns, and every movie of the genres still appears exactly
once; while nothing is rated the grid is the static order above.

A person's grid is a pure function of their genres, their first :data:`MAX_REPLAYED` rated
movies in the order they rated them and how many places they have seen (:meth:`FirstGrid.order`),
so the worker serves it without keeping any state, and the simulation
(``scripts/simulate_onboarding.py``) walks the very same code. Static orders are cached per
genre set, adapted ones per (genres, ratings, places seen); a page costs a slice.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
from scipy import sparse

from recommender.catalog import Catalog
from recommender.vocabulary import index_or_missing

RECOGNISABLE_SHARE = 0.1
"""A movie is recognisable with at least this share of the most-rated movie's rating count."""

Score = Literal["log_pop_entropy", "pop_entropy"]

_STAR_STEPS = 10
"""Half-star values 0.5, 1.0, … 5.0."""

FAMILIARITY = 1.0
"""Exponent of how likely the person knows a movie (:meth:`FirstGrid.familiarity`) in the
adaptive score; 0 = the static order."""

LIFT = 1.0
"""Exponent of the lift (familiarity ÷ the share of everybody who rated the movie) in the
adaptive score: favours movies known by people like this one over movies everybody knows."""

MAX_REPLAYED = 24
"""The grid adapts to a person's first this many ratings (in time order); later ones are
ignored (by then the person is no newcomer)."""

_ORDER_CACHE_SIZE = 256
_ADAPTED_CACHE_SIZE = 64
"""Adapted orders kept (one per genres, ratings and places seen; ml-25m: 0.5 MB each)."""


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


def raters_matrix(ratings: pd.DataFrame, movie_ids: np.ndarray) -> sparse.csr_matrix:
    """Who rated what: movies × people, 1.0 where the person rated the movie.

    Inputs: ``ratings`` (MovieLens table: userId, movieId) and sorted ``movie_ids`` (int64).
    Output: float32 CSR matrix, one row per movie of ``movie_ids`` (in that order), one column
    per distinct ``userId``; ratings of movies outside ``movie_ids`` are left out."""
    movie_ids = np.asarray(movie_ids, dtype=np.int64)
    rows = index_or_missing(movie_ids, ratings["movieId"].to_numpy(dtype=np.int64))
    people, _ = pd.factorize(ratings["userId"])
    known = rows >= 0
    matrix = sparse.csr_matrix(
        (np.ones(int(known.sum()), dtype=np.float32), (rows[known], people[known])),
        shape=(len(movie_ids), int(people.max(initial=-1)) + 1),
    )
    matrix.data[:] = 1.0  # a person who rated a movie twice still counts once
    return matrix


class FirstGrid:
    """The newcomer's grid order over a :class:`~recommender.catalog.Catalog`.

    Inputs: ``catalog`` (its ``rating_counts`` are the popularity), ``entropy`` (bits, aligned
    with ``catalog.ids``; see :func:`rating_entropy`), ``score`` (``"log_pop_entropy"``, the
    default, or ``"pop_entropy"``), ``recognisable_share`` (0–1), ``spread`` (take turns
    across the chosen genres; ``False`` = one ranking for all), ``raters`` (who rated what,
    :func:`raters_matrix` rows aligned with ``catalog.ids``; ``None`` = the grid never adapts)
    and ``familiarity`` (>= 0, the exponent of :meth:`familiarity` in the adaptive score)."""

    def __init__(
        self,
        catalog: Catalog,
        entropy: np.ndarray,
        *,
        score: Score = "log_pop_entropy",
        recognisable_share: float = RECOGNISABLE_SHARE,
        spread: bool = True,
        raters: sparse.csr_matrix | None = None,
        familiarity: float = FAMILIARITY,
        lift: float = LIFT,
    ) -> None:
        if not 0.0 <= recognisable_share <= 1.0:
            raise ValueError(f"recognisable_share must be in [0, 1], got {recognisable_share}")
        if familiarity < 0.0:
            raise ValueError(f"familiarity must be >= 0, got {familiarity}")
        entropy = np.asarray(entropy, dtype=np.float64)
        if entropy.shape != catalog.ids.shape:
            raise ValueError(f"entropy has {entropy.shape}, the catalogue {catalog.ids.shape}")
        if raters is not None and raters.shape[0] != len(catalog.ids):
            raise ValueError(f"raters has {raters.shape[0]} rows, the catalogue {len(catalog.ids)}")
        self.catalog = catalog
        self.spread = spread
        self.familiarity_power = familiarity
        self.lift_power = lift
        """Exponents of familiarity and lift in the adaptive score (module docstring)."""
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
        self._raters = None if raters is None else sparse.csr_matrix(raters, dtype=np.float32)
        self._recognisable = np.flatnonzero(recognisable)
        self._people_by_recognisable = (
            None if raters is None else self._raters[self._recognisable].T.tocsr()
        )
        self._order = functools.lru_cache(_ORDER_CACHE_SIZE)(self._order_uncached)
        self._adapted = functools.lru_cache(_ADAPTED_CACHE_SIZE)(self._adapted_uncached)

    @classmethod
    def from_ratings(cls, catalog: Catalog, ratings: pd.DataFrame, **options) -> FirstGrid:
        """The grid of ``catalog`` with entropies and raters from ``ratings`` (the same ratings
        the catalogue's counts come from); ``options`` as for the constructor."""
        return cls(
            catalog,
            rating_entropy(ratings, catalog.ids),
            raters=raters_matrix(ratings, catalog.ids),
            **options,
        )

    def order(
        self, genres: Sequence[str] | None = None, rated: Sequence[int] = (), shown: int = 0
    ) -> np.ndarray:
        """Catalogue rows (int64) of every movie having ANY of ``genres`` (all when empty), in
        the newcomer's order: the static order (module docstring) without ``rated``, else the
        adaptive grid after the person rated ``rated`` (movie ids, oldest first; the first
        :data:`MAX_REPLAYED` count) while seeing the first ``shown`` places (see
        :class:`GridWalk`). The array is shared: do not modify."""
        key = tuple(sorted(set(genres or ())))
        if not rated or self._raters is None:
            return self._order(key)
        first = tuple(dict.fromkeys(int(m) for m in rated))[:MAX_REPLAYED]
        return self._adapted(key, first, max(0, int(shown)))

    def page(
        self,
        genres: Sequence[str] | None = None,
        page: int = 1,
        page_size: int = 24,
        *,
        rated: Sequence[int] = (),
        shown: int | None = None,
    ) -> tuple[np.ndarray, int]:
        """Like :meth:`Catalog.browse` without a title search: ``(ids, total)`` of page
        ``page`` (1-based) of ``page_size`` movies in the newcomer's order (:meth:`order`;
        ``shown`` defaults to ``page * page_size``: everything up to this page was seen)."""
        if page < 1 or page_size < 1:
            raise ValueError(f"page and page_size must be >= 1, got {page}, {page_size}")
        seen = page * page_size if shown is None else shown
        order = self.order(genres, rated, seen)
        start = (page - 1) * page_size
        return self.catalog.ids[order[start : start + page_size]], len(order)

    def walk(self, genres: Sequence[str] | None = None) -> GridWalk:
        """A :class:`GridWalk` over the grid of ``genres``, before any rating."""
        return GridWalk(self, genres)

    def familiarity(self, rated_rows: Sequence[int]) -> np.ndarray:
        """How likely a person who rated the movies at ``rated_rows`` (catalogue rows) knows
        each recognisable movie: the mean, over the rated movies, of the share of their raters
        who also rated it (people who rated X also rated Y). Output: float64 in [0, 1] per
        catalogue row (0 for movies that are not recognisable or without ``raters``)."""
        out = np.zeros(len(self.catalog.ids), dtype=np.float64)
        rows = np.asarray(rated_rows, dtype=np.int64)
        if self._raters is None or not len(rows):
            return out
        raters = self._raters[rows]
        both = (raters @ self._people_by_recognisable).toarray()
        counts = np.maximum(np.asarray(raters.sum(axis=1), dtype=np.float64), 1.0)
        out[self._recognisable] = (both / counts).mean(axis=0)
        return out

    def plan(
        self, genres: Sequence[str] | None, kept: Sequence[int], rated: Sequence[int]
    ) -> np.ndarray:
        """The grid of ``genres`` (catalogue rows, int64) that keeps the rows ``kept`` in
        front and orders what follows from the rated rows ``rated``:

        1. ``kept`` as given (movies the person has already seen);
        2. the recognisable movies not kept nor rated, by
           ``scores × familiarity ** familiarity_power × lift ** lift_power`` (what a rating
           teaches × how likely this person knows the movie × how much likelier than
           everybody; the static order while nothing is rated), genres taking turns;
        3. the rest most-rated first, then rated movies not kept (already known: last).
        Every movie of ``genres`` appears once, so ``total`` is the static grid's."""
        key = tuple(sorted(set(genres or ())))
        mask = self.catalog.genre_mask(key)
        placed = np.zeros(len(mask), dtype=bool)
        kept = np.asarray(kept, dtype=np.int64)
        rated = np.asarray(rated, dtype=np.int64)
        placed[kept] = True
        placed[rated] = True
        ranked = self._ranked[mask[self._ranked] & ~placed[self._ranked]]
        if len(rated) and (self.familiarity_power or self.lift_power):
            know = self.familiarity(rated)[ranked]
            score = self.scores[ranked] * know**self.familiarity_power
            if self.lift_power:
                base = self.catalog.rating_counts[ranked] / self._raters.shape[1]
                score = score * (know / base) ** self.lift_power
            ranked = ranked[np.argsort(-score, kind="stable")]  # ties: the static order
        known = [g for g in key if g in self.catalog.genres]
        if self.spread and len(known) > 1:
            ranked = self._take_turns(ranked, known)
        rest = self._rest[mask[self._rest] & ~placed[self._rest]]
        static = self._order(key)
        late = static[np.isin(static, rated) & ~np.isin(static, kept)]
        return np.concatenate([kept, ranked, rest, late]).astype(np.int64)

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

    def _adapted_uncached(self, genres: tuple[str, ...], rated: tuple[int, ...], shown: int):
        walk = self.walk(genres)
        for movie_id in rated:
            walk.rate(movie_id, shown)
        order = walk.order
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


class GridWalk:
    """One person's grid while they rate: the adaptive grid, one rating at a time.

    A person reads the grid in order and rates the movies they know. After each rating the
    places they have already seen stay as they are, and everything after them is chosen again
    (:meth:`FirstGrid.plan`) from all they have rated so far. The simulation
    (``scripts/simulate_onboarding.py``) walks it as the person scrolls; the worker replays a
    person's ratings through it (:meth:`FirstGrid.order`), so both show the same grid.

    ``order``: the grid now (catalogue rows, int64); ``kept``: how many places are fixed."""

    def __init__(self, grid: FirstGrid, genres: Sequence[str] | None = None) -> None:
        self.grid = grid
        self.genres = tuple(sorted(set(genres or ())))
        self.order = np.array(grid.order(self.genres))
        self.kept = 0
        self.rated: list[int] = []

    def rate(self, movie_id: int, shown: int) -> None:
        """The person rated ``movie_id`` while seeing the grid's first ``shown`` places.

        If the movie is among those places, every place up to it is kept (they have seen
        them); a movie rated elsewhere (a title search) keeps nothing more. Either way the
        rest of the grid is planned again from all the ratings. Unknown movies are ignored."""
        row = int(self.grid.catalog.positions([movie_id])[0])
        if row < 0 or row in self.rated:
            return
        place = np.flatnonzero(self.order == row)
        if len(place) and place[0] < shown:
            self.kept = max(self.kept, int(place[0]) + 1)
        self.rated.append(row)
        self.order = self.grid.plan(self.genres, self.order[: self.kept], self.rated)
