"""EASE — embarrassingly shallow autoencoder (Steck 2019), for any profile without a refit.

An item-to-item linear model learned in closed form. ``X`` is the people × movies matrix of
*interactions*: 1 where a person rated the movie at least ``liked`` stars (4★ by default, the
usual top-N protocol on MovieLens; ``liked=0.5`` counts every rating), else 0. With
``G = XᵀX + λI`` and ``P = G⁻¹``, the weights are ``B = I − P / diag(P)`` (column-wise), i.e.
``B_ij = −P_ij / P_jj`` off the diagonal and ``B_jj = 0``: each movie's column is the ridge
regression of that movie's interactions on every other movie's, with the constraint that a
movie may not predict itself. A person — a training user or somebody who signed up later —
is served by ``scores = x_u B`` (the sum of the rows of ``B`` of the movies they liked): no
fold-in, no refit.

Cost: ``B`` is dense, so it is restricted to the ``max_movies`` movies with the most
interactions (the 3,000 most-liked of ml-latest-small hold 92% of its 4★+ ratings; ``B`` is
then 36 MB as float32); the rest of the catalogue ranks below them by popularity. Fitting is
one ``max_movies²`` inversion (seconds), scoring one profile a sum of a few rows of ``B``.

Outputs (see :class:`recommender.base.Scores`):

- **rank** = the EASE score (an estimate of the 0/1 "will like it" entry, about 0–1), plus a
  popularity tie-break a millionth of a point wide (a profile without a liked movie gets the
  most-liked movies);
- **predicted** stars = the movie's damped mean plus the profile's offset from the damped
  means of its movies (the fallback of :mod:`recommender.item_knn`) plus ``star_slope`` ×
  score, the slope a least-squares fit on simulated strangers' hidden ratings
  (:func:`recommender.profile_calibration.strangers`);
- **match** = calibrated P(rating ≥ 4) from the predicted stars
  (:mod:`recommender.profile_calibration`);
- evidence ``because``: "because you liked Heat" — the profile movie whose row of ``B``
  contributes most to the movie's score (worked out only for the movies shown).
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recommender.base import (
    LIKED_RATING,
    MAX_RATING,
    MIN_RATING,
    Profile,
    Recommender,
    Scores,
    UserKey,
)
from recommender.calibration import StarsCalibrator
from recommender.popularity import DEFAULT_DAMPING, MovieStats, catalogue_ids
from recommender.profile_calibration import calibrate_on_profiles, strangers
from recommender.vocabulary import positions_in

OUTSIDE_RANK = -1_000.0
"""Rank of a movie outside ``B`` (plus its popularity, 0–1): below every EASE score."""


class _Because:
    """Per-movie reason strings for the movies that are shown: the liked profile movie whose
    row of ``B`` adds most to the movie's score (``contrib`` is ``(p, n)``, ``names`` the
    profile movies' titles; ``column[i]`` the movie's column in ``B`` or -1)."""

    def __init__(self, contrib: np.ndarray, names: list[str], column: np.ndarray):
        self.contrib, self.names, self.column = contrib, names, column

    def __len__(self) -> int:
        return len(self.column)

    def __getitem__(self, i: int) -> str:
        c = self.column[i]
        if c < 0 or not len(self.names):
            return ""
        best = int(np.argmax(self.contrib[:, c]))
        return f"because you liked {self.names[best]}" if self.contrib[best, c] > 0 else ""


class EASERecommender(Recommender):
    """EASE (see module docstring).

    ``l2``: the ridge penalty λ (in interactions; larger = smoother); ``max_movies``: movies
    in ``B`` (the most-interacted); ``liked``: the stars from which a rating is an interaction
    (0.5: every rating); ``damping``: pseudo-ratings of the damped movie mean;
    ``calibration_users``: simulated strangers for the star slope and the match calibration.
    """

    name = "ease"

    def __init__(
        self,
        l2: float = 1_000.0,
        max_movies: int = 3_000,
        liked: float = LIKED_RATING,
        damping: float = DEFAULT_DAMPING,
        calibration_users: int = 150,
    ):
        if l2 <= 0:
            raise ValueError("l2 must be positive")
        if max_movies < 1:
            raise ValueError("max_movies must be at least 1")
        self.l2, self.max_movies, self.liked = float(l2), int(max_movies), float(liked)
        self.damping, self.calibration_users = float(damping), int(calibration_users)
        self.star_slope = 0.0
        self.calibration = StarsCalibrator()
        self.fit_seconds = 0.0

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> EASERecommender:
        """Learn ``B`` from ``ratings`` (userId, movieId, rating 0.5–5, timestamp), then the
        star slope and the match calibration."""
        started = time.perf_counter()
        self.movie_ids = catalogue_ids(ratings, movies)
        stats = MovieStats(ratings, self.movie_ids)
        self.default_rating = stats.global_mean
        self.damped_mean = stats.damped_mean(self.damping)
        wanted = ratings[ratings["rating"] >= self.liked]
        pos = positions_in(self.movie_ids, wanted["movieId"].to_numpy())
        count = np.bincount(pos, minlength=len(self.movie_ids)).astype(np.float64)
        self._tiebreak = 1e-6 * count / (count.max(initial=0.0) + 1.0)
        ranked = np.lexsort((np.arange(len(count)), -count))  # most interactions first
        kept = np.sort(ranked[: min(self.max_movies, int((count > 0).sum()))])
        self.kept = kept  # catalogue positions of B's movies
        self.column = np.full(len(self.movie_ids), -1, dtype=np.int64)
        self.column[kept] = np.arange(len(kept))
        self.B = self._weights(wanted["userId"].to_numpy(), self.column[pos])
        titles = movies.set_index("movieId")["title"] if movies is not None else pd.Series()
        names = titles.reindex(self.movie_ids).to_numpy(dtype=object)
        self._title = np.where(pd.isna(names), [f"movie {m}" for m in self.movie_ids], names)
        self.star_slope = self._fit_star_slope(ratings)
        self.calibration = calibrate_on_profiles(
            self.predict, ratings, n_users=self.calibration_users
        )
        self.fit_seconds = time.perf_counter() - started
        return self

    def _weights(self, users: np.ndarray, columns: np.ndarray) -> np.ndarray:
        """``B`` ``(m, m)`` float32 from the interactions ``(user id, column in B or -1)``."""
        m = len(self.kept)
        if m == 0:
            return np.zeros((0, 0), dtype=np.float32)
        inside = columns >= 0
        _, row = np.unique(users[inside], return_inverse=True)
        X = sp.csr_matrix(
            (np.ones(int(inside.sum())), (row, columns[inside])),
            shape=(int(row.max(initial=-1)) + 1, m),
        )
        X.sum_duplicates()
        X.data[:] = 1.0
        G = (X.T @ X).toarray()
        G[np.diag_indices(m)] += self.l2
        P = np.linalg.inv(G)
        B = P / (-np.diag(P))[None, :]
        B[np.diag_indices(m)] = 0.0
        return B.astype(np.float32)

    def _parts(self, profile: Profile) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(EASE score (m,), fallback stars (n,), liked profile rows of B, their contributions
        (p, m))`` for ``profile``."""
        ids = np.fromiter(profile.keys(), dtype=np.int64, count=len(profile))
        stars = np.fromiter(profile.values(), dtype=np.float64, count=len(profile))
        pos, known = self._positions(ids)
        pos, stars = pos[known], stars[known]
        offset = (stars - self.damped_mean[pos]).sum() / (len(pos) + 3.0)
        fallback = self.damped_mean + offset
        inputs = pos[(stars >= self.liked) & (self.column[pos] >= 0)]
        contrib = self.B[self.column[inputs]]
        score = contrib.sum(axis=0, dtype=np.float64)
        return score, fallback, inputs, contrib

    def _stars(self, score: np.ndarray, fallback: np.ndarray) -> np.ndarray:
        """Predicted stars ``(n,)`` of the whole catalogue from the EASE score and fallback."""
        predicted = fallback.copy()
        predicted[self.kept] += self.star_slope * score
        return np.clip(predicted, MIN_RATING, MAX_RATING)

    def _fit_star_slope(self, ratings: pd.DataFrame) -> float:
        """Least-squares slope (stars per unit of score, ≥ 0) of simulated strangers' hidden
        ratings minus the fallback against the EASE score of those movies."""
        xs, ys = [], []
        for profile, hidden, stars in strangers(ratings, n_users=self.calibration_users):
            score, fallback, _, _ = self._parts(profile)
            pos = positions_in(self.movie_ids, hidden)
            inside = self.column[pos] >= 0
            xs.append(score[self.column[pos[inside]]])
            ys.append(stars[inside] - fallback[pos[inside]])
        if not xs:
            return 0.0
        x, y = np.concatenate(xs), np.concatenate(ys)
        denominator = float(x @ x)
        return max(float(x @ y) / denominator, 0.0) if denominator > 0 else 0.0

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """EASE scores of every movie for ``profile`` (see module docstring). ``user`` is not
        needed: the profile holds everything EASE uses."""
        score, fallback, inputs, contrib = self._parts(profile)
        rank = OUTSIDE_RANK + 1e6 * self._tiebreak
        rank[self.kept] = score + self._tiebreak[self.kept]
        predicted = self._stars(score, fallback)
        names = [str(self._title[p]) for p in inputs]
        return Scores(
            movie_ids=self.movie_ids,
            predicted=predicted,
            rank=rank,
            match=self.calibration.match(predicted),
            evidence={"because": _Because(contrib, names, self.column)},
            context={"model": self.name, "movies_in_B": int(len(self.kept))},
        )
