"""Item-based KNN with adjusted cosine similarity (reference E), for any profile.

For a profile ``{movieId: stars}`` (a training user's or a stranger's):

1. **Similarity** of every catalogue movie ``m`` to each rated movie ``j`` — adjusted cosine:
   ratings are centred by each training user's mean, ``sim(m, j) = c_m · c_j / (‖c_m‖ ‖c_j‖)``
   over the centred columns, then shrunk by the number of people who rated both,
   ``· n / (n + shrinkage)`` (``shrinkage=0`` is the plain formula).
2. **Neighbours**: of the rated movies with a positive similarity, the ``k`` most similar.
3. **Predicted rating** = ``Σ sim(m, j)·r_j / Σ |sim(m, j)|`` over those neighbours, pulled
   towards a fallback by ``prior_weight`` pseudo-similarity:
   ``(Σ sim·r + w·fallback) / (Σ |sim| + w)``. The fallback — also the whole answer when no
   neighbour was rated — is the movie's damped mean rating plus the profile's offset from the
   damped means of its movies (see :mod:`recommender.popularity`).
4. **Rank** = predicted stars minus ``rank_support / sqrt(1 + ratings of the movie)``, so a
   movie two people loved does not top everybody's list (as in the neural models; 12 beat 1
   and 4 on NDCG@24 of the new-user protocol, seed 0, 60 users).
5. **Match** = calibrated P(rating ≥ 4) from the predicted stars
   (:mod:`recommender.profile_calibration`).

Evidence per movie: ``neighbours_rated`` (how many of the person's movies drove it) and
``because`` — "because you rated Heat 5★ and Ronin 4★": the two most similar neighbours the
person rated at or above their own mean (else the two most similar), built only when asked.

Nothing per pair of movies is stored: the similarities to a profile's ``p`` movies come from
two sparse-by-dense products (``n_movies × n_users`` by ``n_users × p``) per request, a few
milliseconds on ml-latest-small (``python -m scripts.bench_item_knn`` measures it).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.base import (
    MAX_RATING,
    MIN_RATING,
    Profile,
    Recommender,
    Scores,
    UserKey,
    validate_profile,
)
from recommender.calibration import StarsCalibrator
from recommender.popularity import DEFAULT_DAMPING, MovieStats, catalogue_ids
from recommender.profile_calibration import calibrate_on_profiles
from recommender.vocabulary import positions_in


class _Because:
    """Per-movie reason strings, worked out only for the movies that are shown.

    ``sim``: ``(n_movies, p)`` similarities to the profile's movies (0 = not a neighbour);
    ``names``/``stars``: the profile's titles and ratings. The reason names the two most
    similar neighbours rated at or above the profile's mean (else the two most similar).
    """

    def __init__(self, sim: np.ndarray, names: list[str], stars: np.ndarray):
        self.sim, self.names, self.stars = sim, names, stars
        self.liked = stars >= stars.mean() if len(stars) else stars.astype(bool)

    def __len__(self) -> int:
        return len(self.sim)

    def __getitem__(self, i: int) -> str:
        row = self.sim[i]
        drivers = [j for j in np.lexsort((-row, ~self.liked))[:2] if row[j] > 0]
        parts = [f"{self.names[j]} {float(self.stars[j]):g}★" for j in drivers]
        return "because you rated " + " and ".join(parts) if parts else ""


class ItemKNNRecommender(Recommender):
    """Item-based KNN, adjusted cosine (see module docstring).

    ``k``: neighbours per movie (the most similar rated movies); ``shrinkage``: co-rater
    shrinkage of the similarity (people); ``prior_weight``: pseudo-similarity of the fallback;
    ``rank_support``: stars taken off a movie with no ratings (÷ sqrt(1 + ratings));
    ``damping``: pseudo-ratings of the damped movie mean.
    """

    name = "item-knn"

    def __init__(
        self,
        k: int = 30,
        shrinkage: float = 10.0,
        prior_weight: float = 0.3,
        rank_support: float = 12.0,
        damping: float = DEFAULT_DAMPING,
        calibration_users: int = 150,
    ):
        if k < 1:
            raise ValueError("k must be at least 1")
        self.k, self.shrinkage, self.prior_weight = int(k), float(shrinkage), float(prior_weight)
        self.rank_support, self.damping = float(rank_support), float(damping)
        self.calibration_users = int(calibration_users)
        self.calibration = StarsCalibrator()

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> ItemKNNRecommender:
        """Centre ``ratings`` by user mean and keep the sparse matrices the similarities need."""
        self.movie_ids = catalogue_ids(ratings, movies)
        stats = MovieStats(ratings, self.movie_ids)
        self.default_rating = stats.global_mean
        self.movie_count = stats.count
        self.damped_mean = stats.damped_mean(self.damping)
        self._support = self.rank_support / np.sqrt(1.0 + self.movie_count)
        users, user_row = np.unique(ratings["userId"].to_numpy(), return_inverse=True)
        self._users = users
        cols = positions_in(self.movie_ids, ratings["movieId"].to_numpy())
        stars = ratings["rating"].to_numpy(np.float64)
        user_mean = np.bincount(user_row, stars) / np.bincount(user_row)
        centred = stars - user_mean[user_row]
        shape = (len(users), len(self.movie_ids))
        # movies x users, row-major: one product with a (users x p) block gives p columns of sims
        self._centred_t = sp.csr_matrix(
            (centred.astype(np.float32), (cols, user_row)), shape=shape[::-1]
        )
        self._rated_t = sp.csr_matrix(
            (np.ones(len(cols), np.float32), (cols, user_row)), shape=shape[::-1]
        )
        self._centred, self._rated = self._centred_t.T.tocsc(), self._rated_t.T.tocsc()
        norms = np.sqrt(np.bincount(cols, centred**2, minlength=shape[1]))
        self._inverse_norm = np.where(norms > 0, 1.0 / np.maximum(norms, 1e-12), 0.0).astype(
            np.float32
        )
        titles = movies.set_index("movieId")["title"] if movies is not None else pd.Series()
        self._title = titles.reindex(self.movie_ids).to_numpy(dtype=object)
        self._title = np.where(
            pd.isna(self._title), [f"movie {m}" for m in self.movie_ids], self._title
        )
        self.calibration = calibrate_on_profiles(
            self.predict, ratings, n_users=self.calibration_users
        )
        return self

    def similarities(self, rows: np.ndarray, of: np.ndarray | None = None) -> np.ndarray:
        """Shrunk adjusted cosine of catalogue movies ``of`` (default: all) to movies ``rows``,
        shape ``(len(of), p)``."""
        centred_t, rated_t = self._centred_t, self._rated_t
        inverse = self._inverse_norm
        if of is not None:
            centred_t, rated_t, inverse = centred_t[of], rated_t[of], inverse[of]
        sim = np.asarray(centred_t @ self._centred[:, rows].toarray())
        sim *= inverse[:, None]
        sim *= self._inverse_norm[rows][None, :]
        if self.shrinkage:
            both = np.asarray(rated_t @ self._rated[:, rows].toarray())
            both /= both + self.shrinkage
            sim *= both
        return sim

    def _neighbourhood(
        self, profile: Profile, of: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(predicted stars, neighbour similarities ``(len(of), p)``, profile rows, stars) of
        catalogue movies ``of`` (default: all) for ``profile``; see the module docstring."""
        ids = np.fromiter(profile.keys(), dtype=np.int64, count=len(profile))
        stars = np.fromiter(profile.values(), dtype=np.float64, count=len(profile))
        pos, known = self._positions(ids)
        rows, stars = pos[known], stars[known]
        offset = (stars - self.damped_mean[rows]).sum() / (len(rows) + 3.0)
        fallback = self.damped_mean if of is None else self.damped_mean[of]
        fallback = fallback + offset
        sim = np.zeros((len(fallback), 0), dtype=np.float32)
        predicted = fallback
        if len(rows):
            sim = self.similarities(rows, of)
            np.maximum(sim, 0.0, out=sim)
            if len(rows) > self.k:  # keep the k most similar rated movies per movie
                cut = np.partition(sim, len(rows) - self.k, axis=1)[:, [len(rows) - self.k]]
                sim[sim < cut] = 0.0
            weight = sim.sum(axis=1, dtype=np.float64)
            # a row-wise float64 sum, not a BLAS product: the same row gives the same bits whether
            # all movies or a few are asked for (predict() agrees with score())
            total = (sim * stars.astype(np.float32)).sum(axis=1, dtype=np.float64)
            predicted = (total + self.prior_weight * fallback) / (weight + self.prior_weight)
        return np.clip(predicted, MIN_RATING, MAX_RATING), sim, rows, stars

    def predict(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> np.ndarray:
        """As :meth:`Recommender.predict`, computing the similarities of ``movie_ids`` only
        (a person with 2,000 ratings asks for a 16 × 2,000 block, not 9,700 × 2,000)."""
        wanted = np.asarray(list(movie_ids), dtype=np.int64)
        predicted = np.full(len(wanted), self.default_rating, dtype=np.float64)
        pos, known = self._positions(wanted)
        if known.any():
            predicted[known] = self._neighbourhood(validate_profile(profile), pos[known])[0]
        return np.clip(predicted, MIN_RATING, MAX_RATING)

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Predicted stars, rank, match and the "because you rated" evidence for every movie.

        ``user`` is not needed: the profile holds everything item-KNN uses.
        """
        predicted, sim, rows, stars = self._neighbourhood(profile)
        names = [str(self._title[r]) for r in rows]
        return Scores(
            movie_ids=self.movie_ids,
            predicted=predicted,
            rank=predicted - self._support,
            match=self.calibration.match(predicted),
            evidence={
                "neighbours_rated": np.count_nonzero(sim, axis=1),
                "because": _Because(sim, names, stars),
            },
            context={"model": self.name, "k": self.k},
        )
