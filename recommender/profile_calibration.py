"""Calibrate a model's match percentage on simulated new users, without a second fit.

The models ``item-knn``, ``mf-sgd`` and ``autorec`` show a match = calibrated P(rating ≥ 4)
from their predicted stars (:class:`recommender.calibration.StarsCalibrator`, a logistic fit). The
people the match matters for are strangers answered from a short profile, so the fit uses what
a stranger looks like: for ``n_users`` sampled training users, their first ``n`` ratings in time
order (``n`` drawn from 5–30) are the profile, answered the way a stranger is (no ``user=``),
and their other ratings are the outcomes. The sampled users are part of the training data, so
the predictions are slightly optimistic; the new-user protocol's ECE (``scripts.report``)
measures the result on people the model never saw.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd

from recommender.calibration import StarsCalibrator

PredictStranger = Callable[[dict[int, float], np.ndarray], np.ndarray]
"""``(profile, movie_ids) -> predicted stars`` for a person the model has not seen."""


def strangers(
    ratings: pd.DataFrame,
    *,
    n_users: int = 150,
    sizes: tuple[int, int] = (5, 30),
    seed: int = 0,
) -> Iterator[tuple[dict[int, float], np.ndarray, np.ndarray]]:
    """Simulated strangers from ``ratings`` (see module doc): for each of ``n_users`` sampled
    users with more than ``sizes[0]`` ratings, ``(profile, hidden movie ids, hidden stars)`` —
    their first ``n`` ratings in time order (``n`` drawn from ``sizes``) and the others."""
    if n_users <= 0:
        return
    rng = np.random.default_rng(seed)
    counts = ratings.groupby("userId").size()
    users = counts.index[counts > sizes[0]].to_numpy()
    if not len(users):
        return
    chosen = set(rng.choice(users, size=min(n_users, len(users)), replace=False).tolist())
    mine = ratings[ratings["userId"].isin(chosen)].sort_values(
        ["userId", "timestamp", "movieId"], kind="stable"
    )
    for _, rows in mine.groupby("userId", sort=True):
        n = int(rng.integers(sizes[0], sizes[1] + 1))
        n = min(n, len(rows) - 1)
        given, hidden = rows.iloc[:n], rows.iloc[n:]
        profile = dict(
            zip(given["movieId"].astype(int), given["rating"].astype(float), strict=True)
        )
        yield profile, hidden["movieId"].to_numpy(np.int64), hidden["rating"].to_numpy(np.float64)


def calibrate_on_profiles(
    predict: PredictStranger,
    ratings: pd.DataFrame,
    *,
    n_users: int = 150,
    sizes: tuple[int, int] = (5, 30),
    seed: int = 0,
) -> StarsCalibrator:
    """A :class:`~recommender.calibration.StarsCalibrator` fitted on simulated strangers'
    hidden ratings (see module doc and :func:`strangers`).

    ``ratings``: the training table (userId, movieId, rating, timestamp); users with fewer than
    ``sizes[0] + 1`` ratings are not sampled. Falls back to the default calibration when
    ``n_users`` is 0 or there are no such users.
    """
    predicted, actual = [], []
    for profile, hidden, stars in strangers(ratings, n_users=n_users, sizes=sizes, seed=seed):
        predicted.append(predict(profile, hidden))
        actual.append(stars)
    if not predicted:
        return StarsCalibrator()
    return StarsCalibrator.fitted(np.concatenate(predicted), np.concatenate(actual))
