"""How the blend learns its weights: cross-fitted training rows, gradient-boosted trees,
calibration of the match percentage.

**Cross-fitting** (:func:`cross_fit`): the set-aside training users are split into folds; for
each fold the components are fitted on everybody else, and each of the fold's users gives
profiles of several sizes (their first n ratings in time order) whose other ratings are
hidden. So every training row comes from a person the components never saw.

**Trees** (:func:`learn`; scikit-learn ``HistGradientBoostingClassifier``/``Regressor``; the
profile size is a feature, so they learn different mixes for a 5-rating and a 200-rating
person):

- **rank model**: over the candidate pool (with sampled negatives), label "rated it 4★+ among
  the hidden ratings" — *watches it and likes it*; the list is ordered by it;
- **match model**: over the hidden *rated* movies, label "rated 4★+", calibrated on
  out-of-fold predictions grouped by user (:mod:`recommender.calibration`);
- **rating model**: regression of the hidden rating (0.5–5 stars).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from recommender.base import LIKED_RATING, MAX_RATING, MIN_RATING
from recommender.blend.component import Component, TrainingData
from recommender.blend.ensemble import Ensemble
from recommender.blend.features import (
    FeatureLayout,
    feature_matrix,
    fill,
    neutral_values,
    within_profile,
)
from recommender.calibration import Calibrator, expected_calibration_error, make_calibrator
from recommender.vocabulary import lookup

_THREADS: ThreadpoolController | None = None

RANKERS: tuple[str, ...] = (
    "pointwise",
    "profile-weighted",
    "relative",
    "lambdarank",
    "relative-lambdarank",
    "xendcg",
    "pointwise-large",
    "pointwise-small",
)
"""How the rank model learns (:attr:`LearningSettings.ranker`): ``pointwise`` — a classifier
of "liked" over every profile's rows mixed together (the served blend); ``profile-weighted``
— the same with each profile's rows weighing as much as any other profile's;
``relative`` — the classifier with within-profile features added (:func:`within_profile`
of every component column); ``lambdarank`` — LightGBM's LambdaRank, which learns the order
within each profile's candidates (pairs of one profile only), its score mapped to 0–1 by a
logistic fit; ``relative-lambdarank`` — both; ``xendcg`` — LightGBM's listwise
cross-entropy ranking objective (``rank_xendcg``) in place of LambdaRank;
``pointwise-large`` — the classifier with more capacity (400 trees of 63 leaves, half the
learning rate); ``pointwise-small`` — with less (trees of 15 leaves of at least twice as many
rows, stronger L2, half the learning rate, 300 trees)."""


def one_thread():
    """Context manager limiting OpenMP/BLAS to one thread (the controller is built once): a
    few hundred rows, or a busy machine, make threads cost more than they save."""
    global _THREADS
    if _THREADS is None:
        _THREADS = ThreadpoolController()
    return _THREADS.limit(limits=1)


@dataclass(frozen=True)
class LearningSettings:
    """``sizes``: profile sizes each set-aside user gives; ``pool``: top movies taken from each
    component's ordering; ``negatives``: sampled non-relevant candidates per profile;
    ``rated_share``: share of hidden rated movies sampled for the match and rating models;
    ``dropout``: chance a training profile has one optional component blanked;
    ``calibration``: ``"isotonic"`` or ``"platt"``; ``seed`` of the trees; ``ranker``: how the
    rank model learns (:data:`RANKERS`)."""

    sizes: tuple[int, ...]
    pool: int
    negatives: int
    rated_share: float
    dropout: float
    calibration: str
    seed: int
    ranker: str = "pointwise"


@dataclass
class Rows:
    """Feature rows with their labels, collected per profile and stacked at the end."""

    X: list[np.ndarray] = field(default_factory=list)
    liked: list[np.ndarray] = field(default_factory=list)
    rating: list[np.ndarray] = field(default_factory=list)
    group: list[np.ndarray] = field(default_factory=list)

    def add(self, X: np.ndarray, liked: np.ndarray, rating: np.ndarray, user: int) -> None:
        self.X.append(X)
        self.liked.append(liked)
        self.rating.append(rating)
        self.group.append(np.full(len(liked), user))

    def extend(self, other: Rows) -> None:
        for mine, theirs in zip(
            (self.X, self.liked, self.rating, self.group),
            (other.X, other.liked, other.rating, other.group),
            strict=True,
        ):
            mine.extend(theirs)


@dataclass
class TrainingRows:
    """``rank``: candidate-pool rows (rating NaN); ``match``: hidden rated movies' rows."""

    rank: Rows = field(default_factory=Rows)
    match: Rows = field(default_factory=Rows)

    def extend(self, other: TrainingRows) -> None:
        self.rank.extend(other.rank)
        self.match.extend(other.match)


def profile_rows(
    ensemble: Ensemble,
    layout: FeatureLayout,
    ratings: pd.DataFrame,
    settings: LearningSettings,
    optional: tuple[str, ...],
    default_rating: float,
    rng: np.random.Generator,
    progress: bool = False,
) -> TrainingRows:
    """Rows of the profiles of the people in ``ratings`` (strangers to ``ensemble``)."""
    from tqdm import tqdm

    out = TrainingRows()
    movie_ids = ensemble.catalogue.movie_ids
    groups = list(ratings.groupby("userId"))
    for user, rows in tqdm(groups, desc="blend: training profiles", disable=not progress):
        ordered = rows.sort_values(["timestamp", "movieId"], kind="stable")
        ids = ordered["movieId"].to_numpy(dtype=np.int64)
        stars = ordered["rating"].to_numpy(dtype=np.float64)
        for size in settings.sizes:
            if len(ids) < size + 3:
                continue
            profile = dict(zip(ids[:size].tolist(), stars[:size].tolist(), strict=True))
            hidden_pos = lookup(movie_ids, ids[size:])[0]  # every rated movie is in the catalogue
            hidden_liked = hidden_pos[stars[size:] >= LIKED_RATING]
            opinions = ensemble.opinions(profile, None)
            drop = None
            if rng.random() < settings.dropout:
                drop = str(rng.choice(optional))
            pool = ensemble.pool(opinions, settings.pool)
            labels = np.isin(pool, hidden_liked)
            neg = np.flatnonzero(~labels)
            if len(neg) > settings.negatives:
                neg = rng.choice(neg, settings.negatives, replace=False)
            keep = np.concatenate([np.flatnonzero(labels), neg])
            X = feature_matrix(layout, opinions, pool[keep], default_rating, drop=drop)
            out.rank.add(X, labels[keep], np.full(len(keep), np.nan), int(user))
            # Uniform over (person, movie) pairs, as the calibration error is measured.
            rated = np.flatnonzero(rng.random(len(hidden_pos)) < settings.rated_share)
            X = feature_matrix(layout, opinions, hidden_pos[rated], default_rating, drop=drop)
            hidden = stars[size:][rated]
            out.match.add(X, hidden >= LIKED_RATING, hidden, int(user))
    return out


def cross_fit(
    prototypes: list[Component],
    data: TrainingData,
    blend_users: np.ndarray,
    folds: int,
    layout: FeatureLayout,
    settings: LearningSettings,
    optional: tuple[str, ...],
    default_rating: float,
    rng: np.random.Generator,
    progress: bool = False,
    *,
    reuse: bool = True,
    timings: dict[str, Any] | None = None,
    fitted: list[Ensemble] | None = None,
) -> tuple[TrainingRows, list[Component]]:
    """Training rows of ``blend_users``, each fold scored by components fitted without it.

    With ``reuse`` the first round's fits tell the later rounds what need not be searched
    again (:meth:`Component.reuse`: the neural model trains for the first round's best epoch
    count instead of searching with early stopping); the returned prototypes carry that to
    the final fit. ``timings`` (if given) gets ``fold_fit_seconds`` (component fitting per
    round) and ``fold_rows_seconds`` (profiles' opinions per round), in seconds; ``fitted`` (if
    given) gets each round's fitted :class:`Ensemble`.
    """
    import time

    rows = TrainingRows()
    ratings = data.ratings
    fit_seconds, rows_seconds = [], []
    for round_number, fold in enumerate(np.array_split(blend_users, folds)):
        in_fold = ratings["userId"].isin(fold).to_numpy()
        others = TrainingData(ratings[~in_fold], data.movies, data.catalogue)
        started = time.perf_counter()
        ensemble = Ensemble.fit(prototypes, others)
        fit_seconds.append(round(time.perf_counter() - started, 1))
        if fitted is not None:
            fitted.append(ensemble)
        if reuse and round_number == 0:
            prototypes = [
                p.reuse(ensemble.components[p.name]) if p.name in ensemble.components else p
                for p in prototypes
            ]
        started = time.perf_counter()
        rows.extend(
            profile_rows(
                ensemble,
                layout,
                ratings[in_fold],
                settings,
                optional,
                default_rating,
                rng,
                progress,
            )
        )
        rows_seconds.append(round(time.perf_counter() - started, 1))
    if timings is not None:
        timings.update(fold_fit_seconds=fit_seconds, fold_rows_seconds=rows_seconds)
    return rows, prototypes


@dataclass
class Learned:
    """The fitted tree models; every method takes *filled* rows ``(m, n_features)``."""

    neutral: np.ndarray
    rank_model: Any
    match_model: Any
    rating_model: Any
    calibrator: Calibrator
    rank_calibrator: Calibrator | None = None
    relative: np.ndarray | None = None

    def rank(self, X: np.ndarray) -> np.ndarray:
        """Probability (0–1) that the person rates the movie 4★+ at all. With a ``relative``
        rank model, ``X`` must be one profile's candidates (features relative to them)."""
        if not len(X):
            return np.zeros(0)
        if self.relative is not None:
            X = within_profile(X, self.relative)
        with one_thread():
            if self.rank_calibrator is not None:  # a ranker: its score mapped to 0–1
                return self.rank_calibrator(self.rank_model.predict(X))
            return self.rank_model.predict_proba(X)[:, 1]

    def match(self, X: np.ndarray) -> np.ndarray:
        """Calibrated P(rating >= 4 | the person rates it), 0–1."""
        if not len(X):
            return np.zeros(0)
        with one_thread():
            return self.calibrator(self.match_model.predict_proba(X)[:, 1])

    def rating(self, X: np.ndarray) -> np.ndarray:
        """Predicted stars, 0.5–5."""
        if not len(X):
            return np.zeros(0)
        with one_thread():
            return np.clip(self.rating_model.predict(X), MIN_RATING, MAX_RATING)


def learn(
    rows: TrainingRows, layout: FeatureLayout, settings: LearningSettings
) -> tuple[Learned, dict[str, Any]]:
    """Fit the rank, match and rating models and the match calibrator on ``rows``; returns
    them and the learning figures (row counts, out-of-fold AUC and ECE)."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import GroupKFold

    Xr, yr = np.vstack(rows.rank.X), np.concatenate(rows.rank.liked)
    Xm, ym = np.vstack(rows.match.X), np.concatenate(rows.match.liked)
    rating, gm = np.concatenate(rows.match.rating), np.concatenate(rows.match.group)
    neutral = neutral_values(layout, Xr)
    Xr, Xm = fill(Xr, neutral), fill(Xm, neutral)

    params = tree_params(len(yr), settings.seed)
    with one_thread():  # tree fitting: OpenMP threads only fight on a busy machine
        rank_model, rank_calibrator, relative = fit_ranker(
            Xr, yr, profile_sizes(rows.rank), layout, settings, params
        )
        rating_model = HistGradientBoostingRegressor(**params).fit(Xm, rating)
        # Match: out-of-fold scores (folds by person) calibrate the final model's output.
        oof = np.zeros(len(ym))
        for train_idx, test_idx in GroupKFold(n_splits=3).split(Xm, ym, gm):
            model = HistGradientBoostingClassifier(**params).fit(Xm[train_idx], ym[train_idx])
            oof[test_idx] = model.predict_proba(Xm[test_idx])[:, 1]
        match_model = HistGradientBoostingClassifier(**params).fit(Xm, ym)
    calibrator = make_calibrator(settings.calibration).fit(oof, ym)
    metrics = dict(
        rank_rows=int(len(yr)),
        rank_positive_share=round(float(yr.mean()), 4),
        match_rows=int(len(ym)),
        match_positive_share=round(float(ym.mean()), 4),
        match_auc_oof=round(float(roc_auc_score(ym, oof)), 4),
        match_ece_oof_raw=round(expected_calibration_error(oof, ym), 4),
        match_ece_oof_calibrated_in_sample=round(
            expected_calibration_error(calibrator(oof), ym), 4
        ),
        calibration=settings.calibration,
    )
    metrics["ranker"] = settings.ranker
    learned = Learned(
        neutral, rank_model, match_model, rating_model, calibrator, rank_calibrator, relative
    )
    return learned, metrics


def tree_params(n_rows: int, seed: int) -> dict[str, Any]:
    """Settings of the gradient-boosted trees (scikit-learn names) for ``n_rows`` rank rows."""
    return dict(
        max_iter=150,
        learning_rate=0.1,
        max_leaf_nodes=31,
        min_samples_leaf=int(np.clip(n_rows // 100, 5, 40)),  # small synthetic sets still fit
        l2_regularization=1.0,
        random_state=seed,
    )


def profile_sizes(rows: Rows) -> list[int]:
    """How many consecutive rows each profile gave (one :meth:`Rows.add` per profile)."""
    return [len(y) for y in rows.liked]


def relearn_rank(
    learned: Learned, rows: TrainingRows, layout: FeatureLayout, settings: LearningSettings
) -> Learned:
    """``learned`` with only its rank model learned again, by ``settings.ranker``, on the
    ``rows`` it was learned from (its match, rating and calibration models are kept: they do
    not depend on the ranker)."""
    import dataclasses

    X, liked = fill(np.vstack(rows.rank.X), learned.neutral), np.concatenate(rows.rank.liked)
    params = tree_params(len(liked), settings.seed)
    with one_thread():
        model, to_probability, relative = fit_ranker(
            X, liked, profile_sizes(rows.rank), layout, settings, params
        )
    return dataclasses.replace(
        learned, rank_model=model, rank_calibrator=to_probability, relative=relative
    )


def fit_ranker(
    X: np.ndarray,
    liked: np.ndarray,
    sizes: list[int],
    layout: FeatureLayout,
    settings: LearningSettings,
    params: dict[str, Any],
) -> tuple[Any, Calibrator | None, np.ndarray | None]:
    """The rank model of ``settings.ranker`` (:data:`RANKERS`) fitted on filled rows ``X`` with
    labels ``liked``, the rows in consecutive blocks of ``sizes`` (one per profile); returns it,
    the logistic map of a ranker's score to 0–1 (``None`` for a classifier) and the columns
    made relative (``None`` when none are)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    ranker = settings.ranker
    if ranker not in RANKERS:
        raise ValueError(f"unknown ranker {ranker!r}; choose from {RANKERS}")
    relative = None
    if ranker.startswith("relative"):
        relative = np.concatenate(list(layout.columns.values()))
        X = within_profile(X, relative, sizes)
    if ranker.endswith(("lambdarank", "xendcg")):
        try:
            from lightgbm import LGBMRanker
        except ImportError as error:  # the worker image leaves it out (the `local` extra)
            message = f"ranker {ranker!r} needs lightgbm (`pip install lightgbm`)"
            raise ImportError(message) from error

        model = LGBMRanker(
            objective="rank_xendcg" if ranker == "xendcg" else "lambdarank",
            n_estimators=params["max_iter"],
            learning_rate=params["learning_rate"],
            num_leaves=params["max_leaf_nodes"],
            min_child_samples=params["min_samples_leaf"],
            reg_lambda=params["l2_regularization"],
            random_state=params["random_state"],
            n_jobs=1,
            verbose=-1,
        ).fit(X, liked.astype(int), group=sizes)
        booster = model.booster_  # predicts from plain arrays, without sklearn's name checks
        to_probability = make_calibrator("platt").fit(booster.predict(X), liked)
        return booster, to_probability, relative
    weight = None
    if ranker == "pointwise-large":
        params = {**params, "max_iter": 400, "max_leaf_nodes": 63, "learning_rate": 0.05}
    if ranker == "pointwise-small":
        params = {
            **params,
            "max_iter": 300,
            "max_leaf_nodes": 15,
            "learning_rate": 0.05,
            "min_samples_leaf": 2 * params["min_samples_leaf"],
            "l2_regularization": 5.0,
        }
    if ranker == "profile-weighted":
        weight = np.repeat([len(liked) / (len(sizes) * max(s, 1)) for s in sizes], sizes)
    model = HistGradientBoostingClassifier(**params).fit(X, liked, sample_weight=weight)
    return model, None, relative
