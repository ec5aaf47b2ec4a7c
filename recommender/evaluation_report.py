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

**Saved results**: with a :class:`~recommender.evaluation_results.SavedResults`, each (seed,
model) result is saved as soon as it is measured and reused by a later run when its data and
settings are the same (the rule: :mod:`recommender.evaluation_results`).
"""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from functools import partial
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
from recommender.evaluation_results import SavedResults
from recommender.models import make_model
from recommender.vocabulary import lookup

POPULAR_TOP = 100
"""The "most-rated movies" whose share of list slots is reported."""

TEST_FRACTION = 0.1
"""Rating protocol: share of the ratings held out as test ratings per seed."""

HELD_OUT_FRACTION = 0.2
"""New-user protocol: share of the people held out as new users per seed."""

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


Fit = Callable[[str, pd.DataFrame, "pd.DataFrame | None"], tuple[Recommender, float]]
"""``fit(name, train, movies)``: model ``name`` fitted on ``train``, and its fit seconds (the
protocols' hook for models that share work, e.g. the blend reusing the split's fitted SBERT
model, whose fit it then leaves out of its time)."""

Keep = Callable[[str, int, Mapping[str, Any], bool], None]
"""``keep(name, seed, record, reused)``: called with every result record (see
:func:`rating_protocol`); ``reused``: it was read from the results folder, not measured now."""


def registry_fit(params: Mapping[str, Mapping[str, Any]]) -> Fit:
    """The default :data:`Fit`: ``make_model(name, **params[name]).fit(train, movies)``."""

    def fit(name: str, train: pd.DataFrame, movies) -> tuple[Recommender, float]:
        started = time.perf_counter()
        model = make_model(name, **dict(params.get(name, {}))).fit(train, movies)
        return model, time.perf_counter() - started

    return fit


def _measured(
    saved: SavedResults | None,
    key: dict | None,
    measure: Callable[[], dict],
    keep: Keep,
    name: str,
    seed: int,
) -> dict | None:
    """The record of ``key``: reused from ``saved`` when the reuse rule allows, else measured
    (with the load average before and after) and saved; ``None`` when it is missing and
    ``saved`` measures nothing."""
    record = saved.get(key) if saved is not None else None
    reused = record is not None
    if record is None and saved is not None and not saved.measure:
        return None
    if record is None:
        load_before = os.getloadavg()[0]
        record = measure()
        record["load"] = [load_before, os.getloadavg()[0]]
        record["measured"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        if saved is not None:
            saved.put(key, record)
    keep(name, seed, record, reused)
    return record


def _history(model: Recommender) -> dict[str, list[float]]:
    history = getattr(model, "history", None) or {}
    return {k: [float(x) for x in v] for k, v in history.items()}


def _rating_record(
    name: str, seed: int, fit: Fit, train, own: dict, wanted: list, movies, progress: Progress
) -> dict:
    """Fit ``name`` on ``train`` and predict every test rating of ``wanted`` (user, rows)."""
    progress(f"rating seed {seed}: fitting {name}")
    model, fit_seconds = fit(name, train, movies)
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
    progress(f"rating seed {seed}: {name} RMSE {metrics['rmse']:.4f} fit {fit_seconds:.0f}s")
    entry = {"given": None, "metrics": metrics, "counts": {"test_ratings": len(t)}}
    return {"results": [entry], "history": _history(model)}


def rating_protocol(
    model_names: Sequence[str],
    ratings: pd.DataFrame,
    movies: pd.DataFrame | None,
    *,
    seeds: Sequence[int],
    params: Mapping[str, Mapping[str, Any]],
    progress: Progress = lambda _: None,
    keep: Keep = lambda *_: None,
    fit: Fit | None = None,
    saved: SavedResults | None = None,
) -> list[Result]:
    """RMSE, MAE, MSE, half-star accuracy, fit seconds and scoring ms per user, per seed.

    Each (seed, model) result is a *record* ``{"results": [{"given": None, "metrics": {...},
    "counts": {...}}], "history": {...}, "load": [before, after], "measured": date}``
    (``history``: the model's training curves, if any); with ``saved`` it is reused from or
    saved to the results folder (:class:`~recommender.evaluation_results.SavedResults`).
    ``keep`` sees every record; ``fit`` fits a model (default :func:`registry_fit` of
    ``params``).
    """
    fit = fit or registry_fit(params)
    results = {name: Result("rating", name) for name in model_names}
    for seed in seeds:
        train, test = rating_split(ratings, TEST_FRACTION, seed)
        own = {int(u): _profile(g) for u, g in train.groupby("userId")}
        wanted = [(int(u), g) for u, g in test.groupby("userId")]
        for name in model_names:
            key = None
            if saved is not None:
                key = saved.key("rating", seed, name, test_fraction=TEST_FRACTION)
            measure = partial(_rating_record, name, seed, fit, train, own, wanted, movies, progress)
            record = _measured(saved, key, measure, keep, name, seed)
            for entry in record["results"] if record else ():
                results[name].add(entry["metrics"], {**entry["counts"], "seed": seed})
    return list(results.values())


def _new_user_record(
    name: str,
    seed: int,
    fit: Fit,
    train,
    people: list,
    most_rated: np.ndarray,
    movies,
    given: Sequence[int],
    k: int,
    progress: Progress,
) -> dict:
    """Fit ``name`` on ``train``; rank top-``k`` lists for each held-out person of ``people``
    (their ratings) from their first ``n`` ratings, for each ``n`` of ``given``."""
    progress(f"newuser seed {seed}: fitting {name}")
    model, fit_seconds = fit(name, train, movies)
    entries = []
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
            "ece": expected_calibration_error(np.concatenate(probs), np.concatenate(outcomes)),
            "coverage": len(np.unique(slots)) / len(model.movie_ids),
            "personalisation": personalisation(lists, k),
            "popular_share": float(np.isin(slots, most_rated).mean()),
            "fit_s": fit_seconds,
            "score_ms": 1000.0 * seconds / max(len(people), 1),
        }
        entries.append({"given": n, "metrics": metrics, "counts": {"users": len(per_user)}})
        progress(f"newuser seed {seed}: {name} given {n} NDCG@{k} {metrics['ndcg']:.4f}")
    return {"results": entries}


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
    keep: Keep = lambda *_: None,
    fit: Fit | None = None,
    saved: SavedResults | None = None,
) -> list[Result]:
    """NDCG/Recall@k, match ECE, coverage, personalisation, popular share and timings for
    people the models never saw; one :class:`Result` per (model, ``given``); one record per
    (seed, model) with an entry per profile size; ``keep``, ``fit`` and ``saved`` as in
    :func:`rating_protocol`."""
    fit = fit or registry_fit(params)
    results = {(name, n): Result("newuser", name, n) for name in model_names for n in given}
    for seed in seeds:
        train, held_out = new_user_split(ratings, HELD_OUT_FRACTION, seed)
        most_rated = train["movieId"].value_counts().index[:POPULAR_TOP].to_numpy(np.int64)
        people = [g for _, g in held_out.groupby("userId")]
        for name in model_names:
            key = None
            if saved is not None:
                key = saved.key(
                    "newuser", seed, name, held_out=HELD_OUT_FRACTION, given=list(given), k=k
                )
            measure = partial(
                _new_user_record, name, seed, fit, train, people, most_rated, movies, given, k,
                progress,
            )  # fmt: skip
            record = _measured(saved, key, measure, keep, name, seed)
            for entry in record["results"] if record else ():
                results[(name, entry["given"])].add(
                    entry["metrics"], {**entry["counts"], "seed": seed}
                )
    return list(results.values())
