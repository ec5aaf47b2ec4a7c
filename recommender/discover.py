"""The discover loop (reference system B): tick the movies you like, get the next five.

The app shows 5 movies with their overviews; the person ticks the ones they like; their
content vector (the mean of the SBERT vectors of everything ticked so far — reference system
B's running average) moves, and the next 5 are its nearest unseen neighbours. The page also
shows the person's top 5 genres so far (counted over the ticked movies).

Ticks are *not* ratings: they enter the profile the other models see only if the person
chooses to rate those movies (:func:`ticks_as_profile` builds that profile on request).

Everything here is a pure function of ``(liked ids, shown ids)`` plus the fitted movie vectors
and catalogue facts, so the worker can keep the two id lists in a session and call
:func:`next_movies` on every ``POST /api/v1/me/discover``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from recommender.base import LIKED_RATING
from recommender.content import MovieVectors

BATCH = 5
"""Movies shown per round."""

TOP_GENRES = 5
"""Genres listed on the page."""


@dataclass
class DiscoverPage:
    """One round of the loop.

    ``movie_ids``: the next movies to show (up to :data:`BATCH`, best first); ``similarity``:
    their cosine (-1..1) to the person's content vector (NaN in the first round, when nothing is
    ticked yet); ``top_genres``: ``[(genre, ticked movies with it), ...]`` most first (at most
    :data:`TOP_GENRES`); ``from_taste``: ``True`` when the movies come from the ticked movies'
    neighbours, ``False`` when they are a popular, genre-varied starting set.
    """

    movie_ids: list[int]
    similarity: list[float]
    top_genres: list[tuple[str, int]] = field(default_factory=list)
    from_taste: bool = False


def taste_vector(vectors: MovieVectors, liked: Iterable[int]) -> np.ndarray | None:
    """Unit mean vector of the ticked movies (``None`` when none is known)."""
    rows = vectors.rows(liked)
    if not len(rows):
        return None
    mean = vectors.matrix[rows].mean(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else None


def top_genres(
    liked: Iterable[int], genres_of: Mapping[int, Sequence[str]], n: int = TOP_GENRES
) -> list[tuple[str, int]]:
    """The ``n`` genres most frequent among the ticked movies: ``[(genre, count), ...]``.

    Ties are broken alphabetically, so the page is stable.
    """
    counts = Counter(g for movie in set(liked) for g in genres_of.get(int(movie), ()))
    return sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:n]


def starting_movies(
    popular: Sequence[int],
    genres_of: Mapping[int, Sequence[str]],
    *,
    shown: Iterable[int] = (),
    preferred_genres: Sequence[str] = (),
    k: int = BATCH,
) -> list[int]:
    """``k`` well-known movies to start from, each adding a genre not yet covered if possible.

    ``popular``: movie ids, most popular first; ``preferred_genres``: the person's chosen
    genres (movies with one of them come first); ``shown`` are skipped.
    """
    seen = {int(m) for m in shown}
    wanted = set(preferred_genres)
    candidates = [int(m) for m in popular if int(m) not in seen]
    if wanted:
        candidates = [m for m in candidates if wanted & set(genres_of.get(m, ()))] + [
            m for m in candidates if not wanted & set(genres_of.get(m, ()))
        ]
    chosen: list[int] = []
    covered: set[str] = set()
    for movie in candidates[: 50 * k]:
        genres = set(genres_of.get(movie, ()))
        if not genres - covered and len(chosen) < k and len(candidates) > k:
            continue
        chosen.append(movie)
        covered |= genres
        if len(chosen) == k:
            return chosen
    for movie in candidates:  # not enough variety: fill by popularity
        if len(chosen) == k:
            break
        if movie not in chosen:
            chosen.append(movie)
    return chosen


def next_movies(
    vectors: MovieVectors,
    liked: Iterable[int],
    shown: Iterable[int],
    *,
    popular: Sequence[int],
    genres_of: Mapping[int, Sequence[str]],
    preferred_genres: Sequence[str] = (),
    allowed: Iterable[int] | None = None,
    exclude: Iterable[int] = (),
    k: int = BATCH,
) -> DiscoverPage:
    """The next page of the discover loop.

    Inputs: ``liked`` — every movie ticked so far; ``shown`` — every movie shown so far (ticked
    or not; never shown again); ``popular`` — movie ids most popular first (for the first round
    and to fill up); ``genres_of`` — ``{movieId: [genre, ...]}``; ``allowed`` — restrict the
    neighbours to these movies (e.g. those with enough ratings, so the loop does not surface
    obscure films); ``exclude`` — e.g. movies the person already rated.

    Output: a :class:`DiscoverPage`. With nothing ticked yet, popular genre-varied movies;
    otherwise the ``k`` nearest unseen movies to the mean vector of the ticked ones.
    """
    liked = [int(m) for m in liked]
    banned = {int(m) for m in shown} | {int(m) for m in exclude} | set(liked)
    genres_page = top_genres(liked, genres_of)
    vector = taste_vector(vectors, liked)
    if vector is None:
        ids = starting_movies(
            popular, genres_of, shown=banned, preferred_genres=preferred_genres, k=k
        )
        return DiscoverPage(ids, [float("nan")] * len(ids), genres_page, from_taste=False)
    sims = vectors.cosine(vector).astype(np.float64)
    keep = np.ones(len(sims), dtype=bool)
    if allowed is not None:
        keep[:] = False
        keep[vectors.rows(allowed)] = True
    keep[vectors.rows(banned)] = False
    sims = np.where(keep, sims, -np.inf)
    n = min(k, int(keep.sum()))
    if n <= 0:
        return DiscoverPage([], [], genres_page, from_taste=True)
    top = np.argpartition(-sims, n - 1)[:n]
    top = top[np.lexsort((vectors.movie_ids[top], -sims[top]))]
    return DiscoverPage(
        [int(m) for m in vectors.movie_ids[top]],
        [round(float(s), 4) for s in sims[top]],
        genres_page,
        from_taste=True,
    )


def ticks_as_profile(liked: Iterable[int], rating: float = LIKED_RATING) -> dict[int, float]:
    """The ticked movies as ratings (default 4★), for when the person chooses to rate them."""
    return {int(m): float(rating) for m in liked}
