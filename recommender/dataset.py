"""The one in-memory form every MovieLens release (and the Netflix Prize layout) is read into.

Loaders live in :mod:`recommender.movielens`; models only ever see these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

RATING_COLUMNS = ["userId", "movieId", "rating", "timestamp"]
MOVIE_COLUMNS = ["movieId", "title", "year", "genres"]
LINK_COLUMNS = ["movieId", "imdbId", "tmdbId"]
TAG_COLUMNS = ["userId", "movieId", "tag", "timestamp"]


@dataclass
class MovieLens:
    """One dataset release, normalised.

    - ``ratings``: userId ``int32``, movieId ``int32``, rating ``float32`` (0.5–5 stars; the
      Netflix Prize's 1–5 integers as they are), timestamp ``int64`` (Unix seconds).
    - ``movies``: movieId ``int32``, title ``str`` (without the trailing "(year)"), year
      ``Int16`` (nullable), genres ``list[str]`` (empty list for "(no genres listed)").
    - ``links``: movieId ``int32``, imdbId ``Int64``, tmdbId ``Int64`` (nullable), or ``None``.
    - ``tags``: userId, movieId, tag ``str``, timestamp ``int64``, or ``None``.
    """

    name: str
    ratings: pd.DataFrame
    movies: pd.DataFrame
    links: pd.DataFrame | None = None
    tags: pd.DataFrame | None = None

    @property
    def genres(self) -> list[str]:
        """Every genre that appears in ``movies``, sorted."""
        return sorted({g for genres in self.movies["genres"] for g in genres})


def sample_people(
    ratings: pd.DataFrame,
    *,
    max_people: int | None = None,
    max_ratings: int | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """The ratings of a random sample of the people in ``ratings`` (whole profiles).

    All of ``ratings`` when there are at most ``max_people`` people and ``max_ratings``
    ratings (``None``: no limit); otherwise people are taken in a random order (``seed``)
    for as long as both limits hold. Bounds what a model learns from, so its cost stops
    growing with the data."""
    too_many_people = max_people is not None and ratings["userId"].nunique() > max_people
    too_many_ratings = max_ratings is not None and len(ratings) > max_ratings
    if not (too_many_people or too_many_ratings):
        return ratings
    counts = ratings.groupby("userId").size()
    order = np.random.default_rng(seed).permutation(len(counts))
    keep = np.ones(len(order), dtype=bool)
    if max_people is not None:
        keep &= np.arange(len(order)) < max_people
    if max_ratings is not None:
        keep &= np.cumsum(counts.to_numpy()[order]) <= max_ratings
    return ratings[ratings["userId"].isin(counts.index[order[keep]])]
