"""The one in-memory form every MovieLens release (and the Netflix Prize layout) is read into.

Loaders live in :mod:`recommender.movielens`; models only ever see these tables.
"""

from __future__ import annotations

from dataclasses import dataclass

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
