"""The popularity baseline: the same list for everybody, best-liked movies first.

For every movie of the catalogue, from the training ratings:

- ``rank`` = the number of 4+ star ratings it received (ties broken by the damped mean);
- ``predicted`` = the damped mean rating, ``(sum + d * global_mean) / (count + d)`` — a
  Bayesian shrinkage towards the global mean, so a movie rated 5 once is not "the best movie";
- ``match`` = the damped share of its ratings that are 4+, in percent (0–100), shrunk the same
  way towards the global share of 4+ ratings.

An optional genre restriction (``PopularityRecommender(genres=["Comedy"])``) keeps only movies
with at least one of those genres in every recommendation; ``recommend(candidates=...)`` does the
same for any set of movies.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from recommender.base import LIKED_RATING, Profile, Recommendations, Recommender, Scores, UserKey
from recommender.vocabulary import positions_in, unique_ids

DEFAULT_DAMPING = 10.0
"""Pseudo-ratings at the global mean added to every movie (the shrinkage strength)."""


def catalogue_ids(ratings: pd.DataFrame, movies: pd.DataFrame | None) -> np.ndarray:
    """Sorted unique ``int64`` movie ids of ``ratings`` plus those of ``movies`` (if given)."""
    ids = unique_ids(ratings["movieId"].to_numpy())
    if movies is not None:
        ids = np.union1d(ids, movies["movieId"].to_numpy(dtype=np.int64))
    return ids


class MovieStats:
    """Per-movie rating counts of a ratings table, aligned with a sorted ``movie_ids`` array.

    Attributes (shape ``(n_movies,)``): ``count`` (ratings), ``liked`` (4+ ratings), ``total``
    (sum of stars); scalars ``global_mean`` (stars) and ``global_liked_share`` (0–1).
    """

    def __init__(self, ratings: pd.DataFrame, movie_ids: np.ndarray) -> None:
        pos = positions_in(movie_ids, ratings["movieId"].to_numpy())
        stars = ratings["rating"].to_numpy(dtype=np.float64)
        n = len(movie_ids)
        self.count = np.bincount(pos, minlength=n).astype(np.float64)
        self.liked = np.bincount(pos, weights=stars >= LIKED_RATING, minlength=n)
        self.total = np.bincount(pos, weights=stars, minlength=n)
        self.global_mean = float(stars.mean()) if len(stars) else 3.5
        self.global_liked_share = float((stars >= LIKED_RATING).mean()) if len(stars) else 0.5

    def damped_mean(self, damping: float) -> np.ndarray:
        """Mean stars per movie shrunk towards the global mean (0.5–5 scale)."""
        return (self.total + damping * self.global_mean) / (self.count + damping)

    def damped_liked_share(self, damping: float) -> np.ndarray:
        """Share (0–1) of 4+ ratings per movie shrunk towards the global share."""
        return (self.liked + damping * self.global_liked_share) / (self.count + damping)


class PopularityRecommender(Recommender):
    """Recommends the movies most often rated 4+; ignores the profile except to skip its movies.

    ``genres``: optional genre names (a list, or one string separated by ``,`` or ``|``); only
    movies with one of them are recommended (needs
    ``movies`` with a ``genres`` list column at ``fit``). ``damping``: shrinkage strength in
    pseudo-ratings (see module docstring).
    """

    name = "popularity"

    def __init__(self, genres: Sequence[str] | None = None, damping: float = DEFAULT_DAMPING):
        if isinstance(genres, str):  # "Comedy|Drama" or "Comedy,Drama" from a command line
            genres = [g.strip() for g in genres.replace("|", ",").split(",") if g.strip()]
        self.genres = list(genres) if genres else None
        self.damping = float(damping)

    def fit(
        self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None
    ) -> PopularityRecommender:
        """Count ratings per movie. ``ratings``: userId, movieId, rating (0.5–5), timestamp."""
        self.movie_ids = catalogue_ids(ratings, movies)
        stats = MovieStats(ratings, self.movie_ids)
        self.default_rating = stats.global_mean
        predicted = stats.damped_mean(self.damping)
        # Ties in the 4+ count (many movies have 0 or 1) go to the better damped mean; the
        # mean is below 10, so /10 never outweighs one 4+ rating.
        self._scores = Scores(
            movie_ids=self.movie_ids,
            predicted=predicted,
            rank=stats.liked + predicted / 10.0,
            match=100.0 * stats.damped_liked_share(self.damping),
            evidence={
                "ratings": stats.count.astype(np.int64),
                "liked": stats.liked.astype(np.int64),
            },
        )
        for array in (self._scores.predicted, self._scores.rank, self._scores.match):
            array.flags.writeable = False
        self._genre_movies = self._movies_in_genres(movies) if self.genres else None
        return self

    def _movies_in_genres(self, movies: pd.DataFrame | None) -> np.ndarray:
        if movies is None or "genres" not in movies:
            raise ValueError("a genre restriction needs movies with a 'genres' column at fit")
        wanted = set(self.genres or ())
        keep = movies["genres"].map(lambda genres: bool(wanted.intersection(genres)))
        return movies.loc[keep.to_numpy(dtype=bool), "movieId"].to_numpy(dtype=np.int64)

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """The same scores for every profile (see module docstring)."""
        return self._scores

    def recommend(
        self,
        profile: Profile,
        k: int = 24,
        *,
        candidates: Iterable[int] | None = None,
        exclude: Iterable[int] = (),
        user: UserKey | None = None,
        explain_first: int | None = None,
        also: Iterable[int] = (),
    ) -> Recommendations:
        """As :meth:`Recommender.recommend`, within the genre restriction if one was given."""
        if self._genre_movies is not None:
            allowed = self._genre_movies
            if candidates is not None:
                allowed = np.intersect1d(allowed, np.fromiter(candidates, dtype=np.int64))
            candidates = allowed
            also = np.intersect1d(allowed, np.fromiter(also, dtype=np.int64))
        return super().recommend(
            profile,
            k,
            candidates=candidates,
            exclude=exclude,
            user=user,
            explain_first=explain_first,
            also=also,
        )
