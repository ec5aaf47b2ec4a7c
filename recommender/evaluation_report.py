"""The measurements behind ``docs/evaluation.md``: both protocols, every metric, with timings.

Same splits and definitions as :mod:`recommender.evaluation` (which it reuses), plus what the
report adds:

**Rating prediction** (per seed, a random 90/10 split of the ratings): RMSE, MAE, MSE (stars²)
and **half-star accuracy** — the share of test ratings whose prediction, rounded to the nearest
half star, equals the true rating (reference E's "accuracy").

**New users** (per seed, 20% of the users held out; their first ``n`` ratings in time order are
the profile): NDCG@k, Recall@k, match ECE (as in :mod:`recommender.evaluation`), and over the
lists of all held-out users: **catalogue coverage** (distinct movies recommended / catalogue
size), **personalisation** (1 − mean overlap |A ∩ B| / k over every pair of people's top k) and
**popular share** (share of list slots taken by the 100 movies most rated in training).

**Time**: fit seconds per model and seed; scoring milliseconds per user (rating protocol: one
``predict`` call per test user; new users: one ``recommend`` per profile).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from recommender.base import LIKED_RATING, Recommender
from recommender.calibration import expected_calibration_error
from recommender.evaluation import (
    Result,
    first_ratings,
    mae,
    new_user_split,
    ranking_metrics,
    rating_split,
    rmse,
)
from recommender.models import make_model
from recommender.vocabulary import lookup

POPULAR_TOP = 100
"""The "most-rated movies" whose share of list slots is reported."""

Progress = Callable[[str], None]


def half_star_accuracy(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Share (0–1) of predictions that, rounded to the nearest half star, equal the truth."""
    rounded = np.round(np.asarray(predicted, dtype=np.float64) * 2.0) / 2.0
    return float(np.mean(rounded == np.asarray(truth, dtype=np.float64)))


def personalisation(lists: Sequence[Sequence[int]], k: int) -> float:
    """1 − mean overlap (|A ∩ B| / k) over every pair of the ``lists`` (each ≤ k movies).

    1: nobody shares a movie; 0: everybody gets the same list. ``nan`` for fewer than 2 lists.
    """
    if len(lists) < 2:
        return math.nan
    ids = np.unique(np.concatenate([np.asarray(x, dtype=np.int64) for x in lists]))
    matrix = np.zeros((len(lists), len(ids)), dtype=np.float64)
    for row, movies in enumerate(lists):
        matrix[row, lookup(ids, np.asarray(movies, dtype=np.int64))[0]] = 1.0
    shared = matrix @ matrix.T
    n = len(lists)
    pairs_overlap = (shared.sum() - np.trace(shared)) / (n * (n - 1))
    return float(1.0 - pairs_overlap / k)


def _profile(rows: pd.DataFrame) -> dict[int, float]:
    return dict(zip(rows["movieId"].astype(int), rows["rating"].astype(float), strict=True))


Fit = Callable[[str, pd.DataFrame, "pd.DataFrame | None"], Recommender]
"""``fit(name, train, movies)``: model ``name`` fitted on ``train`` (the protocols' hook for
models that share work, e.g. the blend reusing the split's fitted SBERT model)."""


def registry_fit(params: Mapping[str, Mapping[str, Any]]) -> Fit:
    """The default :data:`Fit`: ``make_model(name, **params[name]).fit(train, movies)``."""

    def fit(name: str, train: pd.DataFrame, movies) -> Recommender:
        return make_model(name, **dict(params.get(name, {}))).fit(train, movies)

    return fit


def _timed_fit(fit: Fit, name: str, train: pd.DataFrame, movies) -> tuple[Recommender, float]:
    started = time.perf_counter()
    model = fit(name, train, movies)
    return model, time.perf_counter() - started


def rating_protocol(
    model_names: Sequence[str],
    ratings: pd.DataFrame,
    movies: pd.DataFrame | None,
    *,
    seeds: Sequence[int],
    params: Mapping[str, Mapping[str, Any]],
    progress: Progress = lambda _: None,
    keep: Callable[[str, int, Recommender], None] = lambda *_: None,
    fit: Fit | None = None,
) -> list[Result]:
    """RMSE, MAE, MSE, half-star accuracy, fit seconds and scoring ms per user, per seed.

    ``keep(name, seed, model)`` is called with every fitted model (e.g. to plot its curves);
    ``fit`` fits a model (default :func:`registry_fit` of ``params``).
    """
    fit = fit or registry_fit(params)
    results = {name: Result("rating", name) for name in model_names}
    for seed in seeds:
        train, test = rating_split(ratings, 0.1, seed)
        own = {int(u): _profile(g) for u, g in train.groupby("userId")}
        wanted = [(int(u), g) for u, g in test.groupby("userId")]
        for name in model_names:
            progress(f"rating seed {seed}: fitting {name}")
            model, fit_seconds = _timed_fit(fit, name, train, movies)
            keep(name, seed, model)
            predicted, truth = [], []
            started = time.perf_counter()
            for user, rows in wanted:
                predicted.append(model.predict(own.get(user, {}), rows["movieId"], user=user))
                truth.append(rows["rating"].to_numpy(np.float64))
            score_ms = 1000.0 * (time.perf_counter() - started) / max(len(wanted), 1)
            p, t = np.concatenate(predicted), np.concatenate(truth)
            metrics = {
                "rmse": rmse(p, t),
                "mae": mae(p, t),
                "mse": float(np.mean((p - t) ** 2)),
                "accuracy": half_star_accuracy(p, t),
                "fit_s": fit_seconds,
                "score_ms": score_ms,
            }
            results[name].add(metrics, {"test_ratings": len(t)})
            progress(
                f"rating seed {seed}: {name} RMSE {metrics['rmse']:.4f} fit {fit_seconds:.0f}s"
            )
    return list(results.values())


def new_user_protocol(
    model_names: Sequence[str],
    ratings: pd.DataFrame,
    movies: pd.DataFrame | None,
    *,
    seeds: Sequence[int],
    given: Sequence[int] = (5, 20),
    k: int = 24,
    params: Mapping[str, Mapping[str, Any]],
    progress: Progress = lambda _: None,
    fit: Fit | None = None,
) -> list[Result]:
    """NDCG/Recall@k, match ECE, coverage, personalisation, popular share and timings for
    people the models never saw; one :class:`Result` per (model, ``given``); ``fit`` as in
    :func:`rating_protocol`."""
    fit = fit or registry_fit(params)
    results = {(name, n): Result("newuser", name, n) for name in model_names for n in given}
    for seed in seeds:
        train, held_out = new_user_split(ratings, 0.2, seed)
        most_rated = train["movieId"].value_counts().index[:POPULAR_TOP].to_numpy(np.int64)
        people = [g for _, g in held_out.groupby("userId")]
        for name in model_names:
            progress(f"newuser seed {seed}: fitting {name}")
            model, fit_seconds = _timed_fit(fit, name, train, movies)
            for n in given:
                per_user, lists, probs, outcomes = [], [], [], []
                seconds = 0.0
                for user_ratings in people:
                    profile, hidden = first_ratings(user_ratings, n)
                    probs.append(model.predict_match(profile, hidden["movieId"]) / 100.0)
                    outcomes.append(hidden["rating"].to_numpy() >= LIKED_RATING)
                    started = time.perf_counter()
                    recs = model.recommend(profile, k).movie_ids.tolist()
                    seconds += time.perf_counter() - started
                    lists.append(recs)
                    relevant = hidden.loc[hidden["rating"] >= LIKED_RATING, "movieId"]
                    if len(relevant):
                        per_user.append(ranking_metrics(recs, relevant.astype(int).tolist(), k))
                slots = np.concatenate([np.asarray(x, dtype=np.int64) for x in lists])
                metrics = {
                    "ndcg": float(np.mean([u["ndcg"] for u in per_user])),
                    "recall": float(np.mean([u["recall"] for u in per_user])),
                    "ece": expected_calibration_error(
                        np.concatenate(probs), np.concatenate(outcomes)
                    ),
                    "coverage": len(np.unique(slots)) / len(model.movie_ids),
                    "personalisation": personalisation(lists, k),
                    "popular_share": float(np.isin(slots, most_rated).mean()),
                    "fit_s": fit_seconds,
                    "score_ms": 1000.0 * seconds / max(len(people), 1),
                }
                results[(name, n)].add(metrics, {"users": len(per_user)})
                progress(f"newuser seed {seed}: {name} given {n} NDCG@{k} {metrics['ndcg']:.4f}")
    return list(results.values())
