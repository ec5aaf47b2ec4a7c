"""Surprise's SVD and NMF as :class:`Recommender` models — the rating-prediction baselines.

They answer for **training users only** (``score(profile, user=userId)``): Surprise has no
fold-in, so anyone else (including an app user) gets every movie's mean training rating — the
same fallback Surprise itself uses when it cannot predict. Predictions are vectorised from the
fitted factors (``mu + b_u + b_i + q_i·p_u`` for SVD, ``q_i·p_u`` for unbiased NMF) rather than
one ``algo.predict`` call per movie, and clipped to 0.5–5 like Surprise does.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from recommender.base import MAX_RATING, MIN_RATING, Profile, Recommender, Scores, UserKey


class SurpriseRecommender(Recommender):
    """Shared wrapper; subclasses name the Surprise algorithm. ``params`` go to its constructor
    (defaults are Surprise's own, plus ``random_state=0`` for repeatable runs)."""

    name: ClassVar[str] = "surprise"
    algorithm: ClassVar[str] = ""

    def __init__(self, **params: Any):
        self.params = {"random_state": 0, **params}

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> SurpriseRecommender:
        """Fit the Surprise algorithm on all of ``ratings`` (0.5–5 stars)."""
        import surprise

        data = surprise.Dataset.load_from_df(
            ratings[["userId", "movieId", "rating"]], surprise.Reader(rating_scale=(0.5, 5.0))
        )
        trainset = data.build_full_trainset()
        self.algo = getattr(surprise, self.algorithm)(**self.params)
        self.algo.fit(trainset)
        ids = np.unique(ratings["movieId"].to_numpy(np.int64))
        if movies is not None:
            ids = np.union1d(ids, movies["movieId"].to_numpy(np.int64))
        self.movie_ids = ids
        self.default_rating = float(trainset.global_mean)
        stars = ratings.groupby("movieId")["rating"].mean()
        self.movie_mean = stars.reindex(ids).fillna(self.default_rating).to_numpy(np.float64)
        inner = trainset._raw2inner_id_items
        self._inner_item = np.array([inner.get(m, -1) for m in ids.tolist()], dtype=np.int64)
        self._trainset = trainset
        return self

    def _known_user(self, user: UserKey | None) -> int | None:
        if not isinstance(user, (int, np.integer)):
            return None
        return self._trainset._raw2inner_id_users.get(int(user))

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Factor-model predictions for a training user, else the movies' mean ratings."""
        inner = self._known_user(user)
        predicted = self.movie_mean.copy()
        if inner is not None:
            predicted = self._predict_user(inner)
        predicted = np.clip(predicted, MIN_RATING, MAX_RATING)
        return Scores(
            movie_ids=self.movie_ids,
            predicted=predicted,
            rank=predicted,
            match=100.0 * (predicted - MIN_RATING) / (MAX_RATING - MIN_RATING),
            context={"model": self.name, "known_user": inner is not None},
        )

    def _predict_user(self, inner: int) -> np.ndarray:
        algo, known = self.algo, self._inner_item >= 0
        items = self._inner_item[known]
        biased = getattr(algo, "biased", True)
        base = self.default_rating + algo.bu[inner] if biased else 0.0
        out = np.full(len(self.movie_ids), base if biased else self.default_rating)
        values = algo.qi[items] @ algo.pu[inner]
        if biased:
            values = values + base + algo.bi[items]
        out[known] = values
        return out


class SurpriseSVDRecommender(SurpriseRecommender):
    """Surprise ``SVD`` (biased matrix factorisation, Funk style), default parameters."""

    name: ClassVar[str] = "surprise-svd"
    algorithm: ClassVar[str] = "SVD"


class SurpriseNMFRecommender(SurpriseRecommender):
    """Surprise ``NMF`` (non-negative matrix factorisation), default parameters."""

    name: ClassVar[str] = "surprise-nmf"
    algorithm: ClassVar[str] = "NMF"
