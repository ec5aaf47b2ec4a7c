"""Splits, metrics and the two evaluation protocols, for any models of the registry.

**Rating prediction** (:func:`evaluate_rating_prediction`): a random 90/10 split of the ratings
per seed; every model is fitted on the 90% and predicts each test rating from the user's
training ratings as profile (``user=userId``, so Pearson never uses the user as their own
neighbour). RMSE and MAE in stars, mean and standard deviation over seeds.

**New users** (:func:`evaluate_new_users`): per seed, 20% of the users are held out entirely and
the models are fitted on the other 80%. Each held-out user gives their first ``n`` ratings in
time order (``n`` = 5 and 20) as a profile; the model ranks the whole catalogue (top 24, the
profile's movies excluded); the user's other ratings of 4+ stars are the relevant movies. Users
without any relevant held-out movie are skipped (and counted). Metrics at k:

- Recall@k = hits / n_relevant;
- Precision@k = hits / min(k, n_relevant) (recall-style, so a user with 3 relevant movies can
  still reach 1.0);
- NDCG@k with binary relevance, ideal DCG over min(k, n_relevant) hits;
- ECE of the match percentage: over every (held-out rated movie, user) pair — including the
  users skipped above — the predicted ``match / 100`` against "rated 4+" (see
  :func:`expected_calibration_error`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from recommender.base import LIKED_RATING, Recommender
from recommender.calibration import expected_calibration_error
from recommender.models import make_model

# ------------------------------------------------------------------------------------ splits


def rating_split(
    ratings: pd.DataFrame, test_fraction: float = 0.1, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random split of the rating rows into (train, test), ``test_fraction`` of rows in test."""
    rng = np.random.default_rng(seed)
    is_test = rng.random(len(ratings)) < test_fraction
    return ratings[~is_test], ratings[is_test]


def new_user_split(
    ratings: pd.DataFrame, user_fraction: float = 0.2, seed: int = 0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out ``user_fraction`` of the users entirely: (ratings of the others, theirs)."""
    rng = np.random.default_rng(seed)
    users = np.unique(ratings["userId"].to_numpy())
    held_out = rng.choice(users, size=round(len(users) * user_fraction), replace=False)
    is_held_out = ratings["userId"].isin(held_out).to_numpy()
    return ratings[~is_held_out], ratings[is_held_out]


def first_ratings(
    user_ratings: pd.DataFrame, n_given: int
) -> tuple[dict[int, float], pd.DataFrame]:
    """A user's first ``n_given`` ratings in time order as a profile, and the rest (hidden).

    Ties in ``timestamp`` are broken by ``movieId`` so the split is repeatable.
    """
    ordered = user_ratings.sort_values(["timestamp", "movieId"], kind="stable")
    given, hidden = ordered.iloc[:n_given], ordered.iloc[n_given:]
    profile = dict(zip(given["movieId"].astype(int), given["rating"].astype(float), strict=True))
    return profile, hidden


# ----------------------------------------------------------------------------------- metrics


def rmse(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Root mean squared error in stars."""
    return float(np.sqrt(np.mean((np.asarray(predicted) - np.asarray(truth)) ** 2)))


def mae(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Mean absolute error in stars."""
    return float(np.mean(np.abs(np.asarray(predicted) - np.asarray(truth))))


def ranking_metrics(
    recommended: Sequence[int], relevant: Iterable[int], k: int
) -> dict[str, float]:
    """Recall@k, Precision@k (hits / min(k, n_relevant)) and NDCG@k of one ranked list.

    ``recommended``: movie ids best first (only the first ``k`` count); ``relevant``: the movie
    ids that count as hits (must not be empty). Binary relevance; all values in [0, 1].
    """
    relevant = set(relevant)
    if not relevant:
        raise ValueError("ranking metrics need at least one relevant movie")
    hits = np.array([movie in relevant for movie in list(recommended)[:k]], dtype=bool)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    ideal = discounts[: min(k, len(relevant))].sum()
    return {
        "recall": hits.sum() / len(relevant),
        "precision": hits.sum() / min(k, len(relevant)),
        "ndcg": float((discounts[: len(hits)] * hits).sum() / ideal),
    }


# --------------------------------------------------------------------------------- protocols


@dataclass
class Result:
    """One model's figures for one protocol (and profile size): metric -> per-seed values."""

    protocol: str
    model: str
    given: int | None = None
    values: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, list[int]] = field(default_factory=dict)

    def add(self, metrics: Mapping[str, float], counts: Mapping[str, int] = ()) -> None:
        for name, value in metrics.items():
            self.values.setdefault(name, []).append(float(value))
        for name, value in dict(counts).items():
            self.counts.setdefault(name, []).append(int(value))

    def mean(self, metric: str) -> float:
        return float(np.mean(self.values[metric]))

    def std(self, metric: str) -> float:
        """Sample standard deviation over seeds (0 with one seed)."""
        values = self.values[metric]
        return float(np.std(values, ddof=1)) if len(values) > 1 else 0.0

    def summary(self) -> dict[str, Any]:
        """JSON-able: means, stds, per-seed values and counts."""
        out = asdict(self)
        out["mean"] = {m: self.mean(m) for m in self.values}
        out["std"] = {m: self.std(m) for m in self.values}
        return out


def _fit(name: str, params: Mapping[str, Mapping[str, Any]], train: pd.DataFrame, movies):
    return make_model(name, **dict(params.get(name, {}))).fit(train, movies)


def _sample_users(users: np.ndarray, max_users: int | None, seed: int) -> np.ndarray:
    if max_users is None or len(users) <= max_users:
        return users
    return np.sort(np.random.default_rng(seed).choice(users, size=max_users, replace=False))


def evaluate_rating_prediction(
    model_names: Sequence[str],
    ratings: pd.DataFrame,
    movies: pd.DataFrame | None = None,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    test_fraction: float = 0.1,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    max_users: int | None = None,
    progress: bool = True,
) -> list[Result]:
    """RMSE and MAE (stars) of every model on random 90/10 splits, one per seed.

    ``max_users`` limits the test ratings to that many (seeded) users, for quick runs.
    """
    params = params or {}
    results = {name: Result("rating", name) for name in model_names}
    for seed in seeds:
        train, test = rating_split(ratings, test_fraction, seed)
        users = _sample_users(np.unique(test["userId"].to_numpy()), max_users, seed)
        test = test[test["userId"].isin(users)]
        profiles = {int(u): g for u, g in train[train["userId"].isin(users)].groupby("userId")}
        for name in model_names:
            model = _fit(name, params, train, movies)
            predicted, truth = [], []
            groups = test.groupby("userId")
            for user, wanted in tqdm(
                groups, desc=f"rating {name} seed {seed}", disable=not progress
            ):
                own = profiles.get(int(user))
                profile = (
                    dict(zip(own["movieId"].astype(int), own["rating"].astype(float), strict=True))
                    if own is not None
                    else {}
                )
                predicted.append(model.predict(profile, wanted["movieId"], user=int(user)))
                truth.append(wanted["rating"].to_numpy(dtype=np.float64))
            p, t = np.concatenate(predicted), np.concatenate(truth)
            results[name].add({"rmse": rmse(p, t), "mae": mae(p, t)}, {"test_ratings": len(t)})
    return list(results.values())


def _new_user_metrics(
    model: Recommender, held_out: pd.DataFrame, n_given: int, k: int, progress: bool, desc: str
) -> tuple[dict[str, float], dict[str, int]]:
    """Mean ranking metrics and the ECE of one fitted model over held-out users' ratings."""
    per_user: list[dict[str, float]] = []
    probs, outcomes = [], []
    skipped = 0
    for _, user_ratings in tqdm(held_out.groupby("userId"), desc=desc, disable=not progress):
        profile, hidden = first_ratings(user_ratings, n_given)
        # calibration counts every held-out rating, also of users skipped below
        probs.append(model.predict_match(profile, hidden["movieId"]) / 100.0)
        outcomes.append(hidden["rating"].to_numpy() >= LIKED_RATING)
        relevant = hidden.loc[hidden["rating"] >= LIKED_RATING, "movieId"].astype(int)
        if relevant.empty:
            skipped += 1
            continue
        recs = model.recommend(profile, k)
        per_user.append(ranking_metrics(recs.movie_ids.tolist(), relevant.tolist(), k))
    metrics = {
        m: float(np.mean([u[m] for u in per_user])) if per_user else math.nan
        for m in ("recall", "precision", "ndcg")
    }
    metrics["ece"] = expected_calibration_error(
        np.concatenate([*probs, np.zeros(0)]), np.concatenate([*outcomes, np.zeros(0, bool)])
    )
    return metrics, {"users": len(per_user), "skipped_no_relevant": skipped}


def evaluate_new_users(
    model_names: Sequence[str],
    ratings: pd.DataFrame,
    movies: pd.DataFrame | None = None,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    given: Sequence[int] = (5, 20),
    k: int = 24,
    user_fraction: float = 0.2,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    max_users: int | None = None,
    progress: bool = True,
) -> list[Result]:
    """Recall@k, Precision@k, NDCG@k and match ECE for users the models never saw.

    One :class:`Result` per (model, profile size ``given``). ``max_users`` evaluates only that
    many of the held-out users (seeded sample) — the models are still fitted on all the others.
    """
    params = params or {}
    results = {(name, n): Result("newuser", name, n) for name in model_names for n in given}
    for seed in seeds:
        train, held_out = new_user_split(ratings, user_fraction, seed)
        users = _sample_users(np.unique(held_out["userId"].to_numpy()), max_users, seed)
        held_out = held_out[held_out["userId"].isin(users)]
        for name in model_names:
            model = _fit(name, params, train, movies)
            for n in given:
                desc = f"newuser {name} given {n} seed {seed}"
                metrics, counts = _new_user_metrics(model, held_out, n, k, progress, desc)
                results[(name, n)].add(metrics, counts)
    return list(results.values())


# ----------------------------------------------------------------------------------- reports

_COLUMNS = {
    "rating": ["rmse", "mae"],
    "newuser": ["recall", "precision", "ndcg", "ece"],
}


def format_markdown(results: Sequence[Result], k: int = 24) -> str:
    """Markdown tables (one per protocol): ``mean ± std`` over seeds for every metric."""
    lines: list[str] = []
    for protocol, metrics in _COLUMNS.items():
        rows = [r for r in results if r.protocol == protocol]
        if not rows:
            continue
        names = [f"{m}@{k}" if m in ("recall", "precision", "ndcg") else m.upper() for m in metrics]
        count_label = "users" if protocol == "newuser" else "test ratings"
        head = ["model"] + (["given"] if protocol == "newuser" else []) + names
        head += ["seeds", count_label]
        lines += [f"### {protocol}", "", "| " + " | ".join(head) + " |"]
        lines.append("|" + "---|" * len(head))
        for r in rows:
            cells = [r.model] + ([str(r.given)] if protocol == "newuser" else [])
            cells += [f"{r.mean(m):.4f} ± {r.std(m):.4f}" for m in metrics]
            count_key = "users" if protocol == "newuser" else "test_ratings"
            cells += [str(len(r.values[metrics[0]])), str(int(np.mean(r.counts[count_key])))]
            lines.append("| " + " | ".join(cells) + " |")
        if protocol == "newuser":
            skipped = {r.model: int(np.mean(r.counts["skipped_no_relevant"])) for r in rows}
            lines += ["", f"Users skipped (no held-out 4+ rating), mean per seed: {skipped}."]
        lines.append("")
    return "\n".join(lines)
