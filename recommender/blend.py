"""Recommender ``blend``: one ranked list from Pearson CF, co-liked movies, SBERT content, the
neural model (when available) and a popularity prior, with weights learned on held-out users.

**Components** (each fitted on the training ratings; any of them may be missing):

- ``popularity``: share of people who rated / liked (4★+) the movie, damped mean rating;
- ``coliked``: item-to-item co-rating (:mod:`recommender.coliked`) — "people who liked Heat
  also liked this", strong for a newcomer with 5 ratings;
- ``pearson``: user-based Pearson CF (:mod:`recommender.pearson`) — predicted rating, share of
  the 50 taste neighbours who rated / liked the movie;
- ``content``: SBERT cosine to the profile's content vector and to the nearest liked movie
  (:mod:`recommender.content`), plus genre overlap with the liked movies;
- ``neural``: the neural model's predicted rating and rank score (fold-in of the profile).

**Features** per (profile, movie): the components' outputs above plus the profile's size,
mean rating and share of 4★+. A component that cannot score (absent, failed to load, or no
opinion about one movie — e.g. no neighbour rated it) contributes its *neutral* value (the
training mean of that feature) and a 1 in its ``<component>_missing`` indicator, in the spirit
of LensKit's ``FallbackScorer``. During training whole components are randomly blanked this way
(``dropout``), so the learned model knows what to do when one is gone.

**Learning** (inside :meth:`BlendRecommender.fit`, on training users only): a share
(``blend_users``) of the training users is set aside; the components are fitted on the other
users; each set-aside user gives profiles of several sizes (``sizes``: their first n ratings in
time order) and the rest of their ratings are hidden. Three gradient-boosted tree models
(scikit-learn ``HistGradientBoostingClassifier``/``Regressor``; the profile size is a feature,
so they learn different mixes for a 5-rating and a 200-rating person) are fitted:

- **rank model**: over the candidate pool (the union of each component's top ``pool`` movies,
  with sampled negatives), label "the person rated it 4★+ among their hidden ratings". The
  list is ordered by this probability: *watches it and likes it*.
- **match model**: over the hidden *rated* movies, label "rated 4★+"; its output is calibrated
  (:mod:`recommender.calibration`, isotonic on out-of-fold predictions grouped by user). The
  **match percentage** is ``100 × P(rating >= 4 | the person rates this movie)`` — see
  :mod:`recommender.calibration` for the definition the README quotes.
- **rating model**: regression of the hidden rating (0.5–5 stars) → ``predicted``.

Then every component is refitted on all training ratings. At scoring time only the candidate
pool (or the requested movies / ``candidates``) goes through the tree models, so a request
costs the components' own scoring plus a few milliseconds.

Evidence per recommendation: each component's contribution (drop in the rank probability when
that component is blanked, in percentage points), the raw evidence (neighbours, co-liked movie,
nearest liked movie by story) and reason strings (:mod:`recommender.reasons`).
"""

from __future__ import annotations

import json
import logging
import pickle
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from threadpoolctl import ThreadpoolController

from recommender.base import (
    LIKED_RATING,
    MAX_RATING,
    MIN_RATING,
    Profile,
    Recommendations,
    Recommender,
    Scores,
    UserKey,
    validate_profile,
)
from recommender.calibration import make_calibrator
from recommender.coliked import CoLiked
from recommender.popularity import DEFAULT_DAMPING, MovieStats, catalogue_ids

log = logging.getLogger(__name__)

COMPONENTS: tuple[str, ...] = ("coliked", "pearson", "content", "neural")
"""Components that may be missing (popularity is always there: it only needs the ratings)."""

NEURAL_PREFERENCE: tuple[str, ...] = ("embed-implicit", "embed", "neumf", "nncf")
"""Registry names tried, in order, when ``neural="auto"`` (best new-user NDCG@24 first, from
``artifacts/eval/neural_newuser.md``)."""

FEATURES: dict[str, tuple[str, ...]] = {
    "profile": ("profile_size_log", "profile_mean", "profile_liked_share"),
    "popularity": ("pop_rated_log", "pop_liked_log", "pop_damped_mean", "pop_liked_share", "year"),
    "coliked": (
        "co_liked_given_liked",
        "co_rated_given_rated",
        "co_liked_cosine",
        "co_best_share",
        "co_rated_lift_log",
        "co_rated_relative",
        "co_liked_relative",
        "coliked_missing",
    ),
    "pearson": (
        "pearson_predicted",
        "pearson_rated_share",
        "pearson_liked_share",
        "pearson_has_prediction",
        "pearson_missing",
    ),
    "content": (
        "content_cosine",
        "content_nearest_liked",
        "content_genre_overlap",
        "content_missing",
    ),
    "neural": ("neural_predicted", "neural_rank_pct", "neural_missing"),
}
FEATURE_NAMES: tuple[str, ...] = tuple(f for group in FEATURES.values() for f in group)
_COL = {name: i for i, name in enumerate(FEATURE_NAMES)}


_THREADS: ThreadpoolController | None = None


def _one_thread():
    """Context manager limiting OpenMP/BLAS to one thread (the controller is built once)."""
    global _THREADS
    if _THREADS is None:
        _THREADS = ThreadpoolController()
    return _THREADS.limit(limits=1)


def _missing_col(component: str) -> int:
    return _COL[f"{component}_missing"]


@dataclass
class _Fitted:
    """The components fitted on one ratings table, aligned with the blend's ``movie_ids``."""

    stats: MovieStats
    n_people: int
    coliked: CoLiked | None
    pearson: Any | None
    pearson_pos: np.ndarray | None
    neural: Any | None
    neural_pos: np.ndarray | None


def _positions(all_ids: np.ndarray, component_ids: np.ndarray) -> np.ndarray:
    """For each of ``all_ids``, its index in ``component_ids`` or -1."""
    pos = np.minimum(np.searchsorted(component_ids, all_ids), max(len(component_ids) - 1, 0))
    ok = component_ids[pos] == all_ids if len(component_ids) else np.zeros(len(all_ids), bool)
    return np.where(ok, pos, -1)


def _take(values: np.ndarray, pos: np.ndarray, fill: float = np.nan) -> np.ndarray:
    out = np.full(len(pos), fill, dtype=np.float64)
    ok = pos >= 0
    out[ok] = values[pos[ok]]
    return out


class BlendRecommender(Recommender):
    """The blended recommender (see the module docstring for what it does and why).

    Parameters: ``neural`` — registry name of the neural component, ``"auto"`` (first of
    :data:`NEURAL_PREFERENCE` in the registry) or ``None``; ``use_pearson``/``use_content`` —
    switch those components off; ``blend_users`` — share of training users whose later
    ratings teach the weights; ``folds`` — cross-fitting folds over those users; ``sizes`` —
    profile sizes those users give; ``pool`` — top movies taken from each component as
    candidates; ``negatives`` — sampled non-relevant candidates per profile; ``rated_share`` —
    share of hidden rated movies sampled (uniformly over pairs) for the match and rating
    models; ``dropout`` — chance a training profile has one component blanked;
    ``calibration`` — ``"isotonic"`` or ``"platt"``; ``content_model`` — an already fitted
    :class:`~recommender.content.ContentRecommender` to reuse; ``seed``; ``progress``.
    """

    name = "blend"

    def __init__(
        self,
        *,
        neural: str | None = None,
        use_pearson: bool = True,
        use_content: bool = True,
        blend_users: float = 1.0,
        folds: int = 3,
        sizes: Sequence[int] = (3, 5, 10, 20, 40),
        pool: int = 100,
        negatives: int = 150,
        rated_share: float = 0.35,
        dropout: float = 0.15,
        calibration: str = "isotonic",
        content_model: Any | None = None,
        seed: int = 0,
        progress: bool = False,
    ):
        self.neural_name = neural
        self.use_pearson = use_pearson
        self.use_content = use_content
        self.blend_users = blend_users
        self.folds = int(folds)
        self.sizes = tuple(int(s) for s in sizes)
        self.pool = int(pool)
        self.negatives = int(negatives)
        self.rated_share = float(rated_share)
        self.dropout = float(dropout)
        self.calibration = calibration
        self.content_model = content_model
        self.seed = seed
        self.progress = progress
        self.metrics: dict[str, Any] = {}

    # ------------------------------------------------------------------ component fitting

    def _resolve_neural(self) -> str | None:
        if self.neural_name is None:
            return None
        from recommender.models import MODEL_NAMES

        if self.neural_name != "auto":
            return self.neural_name
        return next((n for n in NEURAL_PREFERENCE if n in MODEL_NAMES), None)

    def _fit_components(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> _Fitted:
        stats = MovieStats(ratings, self.movie_ids)
        n_people = int(ratings["userId"].nunique())
        coliked = CoLiked(ratings, self.movie_ids)
        pearson = pearson_pos = None
        if self.use_pearson:
            try:
                from recommender.models import make_model

                pearson = make_model("pearson").fit(ratings, movies)
                pearson_pos = _positions(self.movie_ids, pearson.movie_ids)
            except Exception:  # a component that cannot be built is left out, loudly
                log.exception("blend: pearson component unavailable")
                pearson = None
        neural = neural_pos = None
        name = self._resolve_neural()
        if name is not None:
            try:
                from recommender.models import make_model

                neural = make_model(name).fit(ratings, movies)
                neural_pos = _positions(self.movie_ids, neural.movie_ids)
            except Exception:
                log.exception("blend: neural component %s unavailable", name)
                neural = None
        return _Fitted(stats, n_people, coliked, pearson, pearson_pos, neural, neural_pos)

    def _fit_content(self, ratings: pd.DataFrame, movies: pd.DataFrame | None) -> None:
        self._vectors = None
        self._content_pos = None
        if not self.use_content:
            return
        try:
            from recommender.content import ContentRecommender

            content = self.content_model or ContentRecommender(progress=self.progress)
            if (
                content.vectors is None
                or not np.isin(self.movie_ids, content.vectors.movie_ids).all()
            ):
                content.fit(ratings, movies)
            self._vectors = content.vectors
            self._content_pos = _positions(self.movie_ids, content.vectors.movie_ids)
        except Exception:
            log.exception("blend: content component unavailable")
            self._vectors = None

    # ------------------------------------------------------------------ fitting

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> BlendRecommender:
        """Learn the blend from ``ratings`` (userId, movieId, rating 0.5–5, timestamp).

        Takes ``blend_users`` of the users and splits them into ``folds``; for each fold the
        components are fitted on everybody else and score the fold's profiles (cross-fitting,
        so every training row comes from a person the components never saw). The rank / match /
        rating models are learned from those rows, then the components are refitted on all of
        ``ratings``. Figures of the learning step are in ``metrics``.
        """
        started = time.perf_counter()
        rng = np.random.default_rng(self.seed)
        self.movie_ids = catalogue_ids(ratings, movies)
        self.default_rating = float(ratings["rating"].mean())
        self._movie_meta(movies)
        self._fit_content(ratings, movies)

        counts = ratings.groupby("userId").size()
        eligible = counts.index[counts >= min(self.sizes) + 3].to_numpy()
        n_blend = max(self.folds, round(len(eligible) * self.blend_users))
        blend_users = rng.choice(eligible, size=min(n_blend, len(eligible)), replace=False)
        # Cross-fitting: each fold's users are strangers to the components that score them.
        step = time.perf_counter()
        rank_rows: dict[str, list] = {"X": [], "y": [], "group": []}
        match_rows: dict[str, list] = {"X": [], "y": [], "rating": [], "group": []}
        for fold in np.array_split(blend_users, self.folds):
            in_fold = ratings["userId"].isin(fold).to_numpy()
            self._parts = self._fit_components(ratings[~in_fold], movies)
            rank_part, match_part = self._training_rows(ratings[in_fold], rng)
            for rows, part in ((rank_rows, rank_part), (match_rows, match_part)):
                for key in rows:
                    rows[key] += part[key]
        self.metrics["features_seconds"] = round(time.perf_counter() - step, 1)
        step = time.perf_counter()
        with _one_thread():  # tree fitting: OpenMP threads only fight on a busy machine
            self._fit_models(rank_rows, match_rows, rng)
        self.metrics["learn_seconds"] = round(time.perf_counter() - step, 1)

        self._parts = self._fit_components(ratings, movies)
        self.components = self._available()
        self.metrics.update(
            fit_seconds=round(time.perf_counter() - started, 1),
            blend_users=int(len(blend_users)),
            components=list(self.components),
        )
        return self

    def _movie_meta(self, movies: pd.DataFrame | None) -> None:
        n = len(self.movie_ids)
        self.titles: dict[int, str] = {}
        self._year = np.full(n, np.nan)
        genres_of: list[list[str]] = [[] for _ in range(n)]
        if movies is not None:
            pos = np.searchsorted(self.movie_ids, movies["movieId"].to_numpy(dtype=np.int64))
            from recommender.catalog import natural_title

            titles = [natural_title(str(t)) for t in movies["title"]]
            self.titles = dict(zip(movies["movieId"].astype(int), titles, strict=True))
            if "year" in movies.columns:
                years = pd.to_numeric(movies["year"], errors="coerce").astype("float64")
                self._year[pos] = years.to_numpy(dtype=np.float64, na_value=np.nan)
            if "genres" in movies.columns:
                for p, genres in zip(pos, movies["genres"], strict=True):
                    genres_of[p] = list(genres) if isinstance(genres, list | tuple) else []
        names = sorted({g for gs in genres_of for g in gs})
        index = {g: i for i, g in enumerate(names)}
        self._genre_names = names
        self._genres = np.zeros((n, max(len(names), 1)), dtype=np.float32)
        for p, gs in enumerate(genres_of):
            for g in gs:
                self._genres[p, index[g]] = 1.0

    def _available(self) -> tuple[str, ...]:
        parts = self._parts
        have = {
            "coliked": parts.coliked is not None,
            "pearson": parts.pearson is not None,
            "content": getattr(self, "_vectors", None) is not None,
            "neural": parts.neural is not None,
        }
        return ("popularity",) + tuple(c for c in COMPONENTS if have[c])

    def _training_rows(
        self, ratings: pd.DataFrame, rng: np.random.Generator
    ) -> tuple[dict[str, list], dict[str, list]]:
        """Feature rows of the set-aside users' profiles (rank pool rows and rated rows)."""
        from tqdm import tqdm

        rank: dict[str, list] = {"X": [], "y": [], "group": []}
        match: dict[str, list] = {"X": [], "y": [], "rating": [], "group": []}
        groups = list(ratings.groupby("userId"))
        for user, rows in tqdm(groups, desc="blend: training profiles", disable=not self.progress):
            ordered = rows.sort_values(["timestamp", "movieId"], kind="stable")
            ids = ordered["movieId"].to_numpy(dtype=np.int64)
            stars = ordered["rating"].to_numpy(dtype=np.float64)
            for size in self.sizes:
                if len(ids) < size + 3:
                    continue
                profile = dict(zip(ids[:size].tolist(), stars[:size].tolist(), strict=True))
                hidden_pos = np.searchsorted(self.movie_ids, ids[size:])
                hidden_liked = hidden_pos[stars[size:] >= LIKED_RATING]
                outputs = self._outputs(profile, None)
                drop = None
                if rng.random() < self.dropout:
                    drop = str(rng.choice(COMPONENTS))
                pool = self._pool(outputs, profile)
                labels = np.isin(pool, hidden_liked)
                neg = np.flatnonzero(~labels)
                if len(neg) > self.negatives:
                    neg = rng.choice(neg, self.negatives, replace=False)
                keep = np.concatenate([np.flatnonzero(labels), neg])
                X = self._features(outputs, pool[keep], drop=drop)
                rank["X"].append(X)
                rank["y"].append(labels[keep])
                rank["group"].append(np.full(len(keep), int(user)))
                # Uniform over (person, movie) pairs, as the calibration error is measured.
                rated = np.flatnonzero(rng.random(len(hidden_pos)) < self.rated_share)
                X = self._features(outputs, hidden_pos[rated], drop=drop)
                match["X"].append(X)
                match["y"].append(stars[size:][rated] >= LIKED_RATING)
                match["rating"].append(stars[size:][rated])
                match["group"].append(np.full(len(rated), int(user)))
        return rank, match

    def _fit_models(self, rank: dict[str, list], match: dict[str, list], rng) -> None:
        from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
        from sklearn.metrics import roc_auc_score
        from sklearn.model_selection import GroupKFold

        Xr, yr = np.vstack(rank["X"]), np.concatenate(rank["y"])
        Xm, ym = np.vstack(match["X"]), np.concatenate(match["y"])
        rating, gm = np.concatenate(match["rating"]), np.concatenate(match["group"])
        # Neutral value of each feature = its training mean where the component was present.
        neutral = np.zeros(len(FEATURE_NAMES))
        for group, names in FEATURES.items():
            present = np.ones(len(Xr), bool)
            if f"{group}_missing" in _COL:
                present = Xr[:, _missing_col(group)] == 0
            for name in names:
                if not name.endswith("_missing") and present.any():
                    col = Xr[present, _COL[name]]
                    neutral[_COL[name]] = float(np.nanmean(col)) if np.isfinite(col).any() else 0.0
        self._neutral = neutral
        Xr, Xm = self._fill(Xr), self._fill(Xm)

        leaf = int(np.clip(len(yr) // 100, 5, 40))  # small synthetic sets still fit
        params = dict(
            max_iter=150,
            learning_rate=0.1,
            max_leaf_nodes=31,
            min_samples_leaf=leaf,
            l2_regularization=1.0,
            random_state=self.seed,
        )
        self._rank_model = HistGradientBoostingClassifier(**params).fit(Xr, yr)
        self._rating_model = HistGradientBoostingRegressor(**params).fit(Xm, rating)

        # Match: out-of-fold scores (folds by person) calibrate the final model's output.
        folds = GroupKFold(n_splits=3)
        oof = np.zeros(len(ym))
        for train_idx, test_idx in folds.split(Xm, ym, gm):
            model = HistGradientBoostingClassifier(**params).fit(Xm[train_idx], ym[train_idx])
            oof[test_idx] = model.predict_proba(Xm[test_idx])[:, 1]
        self._match_model = HistGradientBoostingClassifier(**params).fit(Xm, ym)
        self._calibrator = make_calibrator(self.calibration).fit(oof, ym)

        from recommender.calibration import expected_calibration_error

        calibrated_oof = self._calibrator(oof)
        self.metrics.update(
            rank_rows=int(len(yr)),
            rank_positive_share=round(float(yr.mean()), 4),
            match_rows=int(len(ym)),
            match_positive_share=round(float(ym.mean()), 4),
            match_auc_oof=round(float(roc_auc_score(ym, oof)), 4),
            match_ece_oof_raw=round(expected_calibration_error(oof, ym), 4),
            match_ece_oof_calibrated_in_sample=round(
                expected_calibration_error(calibrated_oof, ym), 4
            ),
            calibration=self.calibration,
        )

    # ------------------------------------------------------------------ scoring

    def _outputs(self, profile: dict[int, float], user: UserKey | None) -> dict[str, Any]:
        """Every available component's opinion of every movie, aligned with ``movie_ids``."""
        parts = self._parts
        n_people = max(parts.n_people, 1)
        out: dict[str, Any] = {"profile": profile}
        stars = np.array(list(profile.values()), dtype=np.float64)
        out["profile_stats"] = (
            np.log1p(len(profile)),
            float(stars.mean()) if len(stars) else self.default_rating,
            float((stars >= LIKED_RATING).mean()) if len(stars) else 0.0,
        )
        stats = parts.stats
        rated_share = stats.count / n_people
        out["pop"] = {
            "rated_log": np.log((stats.count + 1.0) / n_people),
            "liked_log": np.log((stats.liked + 1.0) / n_people),
            "damped_mean": stats.damped_mean(DEFAULT_DAMPING),
            "liked_share": stats.damped_liked_share(DEFAULT_DAMPING),
            "rank": stats.liked + stats.damped_mean(DEFAULT_DAMPING) / 10.0,
        }
        if parts.coliked is not None:
            co = parts.coliked.score(profile)
            co["lift_log"] = np.log((co["rated_given_rated"] + 1e-4) / (rated_share + 1e-4))
            # relative to this profile's best movie: comparable across profile sizes
            for key, name in (
                ("rated_given_rated", "rated_rel"),
                ("liked_given_liked", "liked_rel"),
            ):
                top = float(co[key].max(initial=0.0))
                co[name] = co[key] / top if top > 0 else co[key]
            out["coliked"] = co
        if parts.pearson is not None:
            try:
                s = parts.pearson.score(profile, user=user)
                pos = parts.pearson_pos
                count = max(int(s.context.get("neighbour_count", 0)), 1)
                out["pearson"] = {
                    "predicted": _take(s.predicted, pos),
                    "rated": _take(s.evidence["neighbours_rated"].astype(np.float64), pos, 0.0),
                    "liked": _take(s.evidence["neighbours_liked"].astype(np.float64), pos, 0.0),
                    "count": count,
                    "rank": _take(s.rank, pos, -np.inf),
                    "context": s.context,
                }
            except Exception:
                log.exception("blend: pearson failed for one profile; falling back")
        vectors = getattr(self, "_vectors", None)
        if vectors is not None:
            vector = vectors.profile_vector(profile)
            if vector is not None:
                cos = _take(vectors.cosine(vector), self._content_pos)
                out["content"] = {"cosine": cos, "vector": vector}
        liked = [m for m, r in profile.items() if r >= LIKED_RATING] or [
            m for m, r in profile.items() if r == max(profile.values(), default=0)
        ]
        lpos, known = self._positions(np.array(liked, dtype=np.int64))
        lpos = lpos[known]
        taste = self._genres[lpos].sum(axis=0) if len(lpos) else np.zeros(self._genres.shape[1])
        norm = np.linalg.norm(taste)
        out["genre_taste"] = taste / norm if norm > 0 else taste
        if parts.neural is not None:
            try:
                s = parts.neural.score(profile, user=user)
                predicted = _take(s.predicted, parts.neural_pos)
                rank = _take(s.rank, parts.neural_pos)
                finite = np.isfinite(rank)
                pct = np.full(len(rank), np.nan)
                if finite.any():
                    order = np.argsort(np.argsort(rank[finite]))
                    pct[finite] = order / max(finite.sum() - 1, 1)
                out["neural"] = {"predicted": predicted, "rank_pct": pct, "rank": rank}
            except Exception:
                log.exception("blend: neural failed for one profile; falling back")
        return out

    def _pool(self, outputs: dict[str, Any], profile: Mapping[int, float]) -> np.ndarray:
        """Candidate positions: the union of every component's top ``pool`` movies."""
        keys: list[np.ndarray] = [outputs["pop"]["rank"]]
        if "coliked" in outputs:
            co = outputs["coliked"]
            keys += [co["rated_given_rated"], co["liked_cosine"]]
        if "pearson" in outputs:
            keys.append(outputs["pearson"]["rank"])
        if "content" in outputs:
            keys.append(outputs["content"]["cosine"])
        if "neural" in outputs:
            keys.append(outputs["neural"]["rank"])
        banned, known = self._positions(np.array(list(profile), dtype=np.int64))
        banned = banned[known]  # unknown movies in the profile exclude nothing
        chosen = []
        n = self.pool + len(banned)
        for key in keys:
            key = np.nan_to_num(np.asarray(key, dtype=np.float64), nan=-np.inf, neginf=-1e300)
            top = np.argpartition(-key, min(n, len(key) - 1))[:n]
            chosen.append(top)
        pool = np.unique(np.concatenate(chosen))
        return pool[~np.isin(pool, banned)]

    def _features(
        self, outputs: dict[str, Any], idx: np.ndarray, *, drop: str | None = None
    ) -> np.ndarray:
        """Feature matrix ``(len(idx), n_features)`` with NaN where a component has no value."""
        X = np.full((len(idx), len(FEATURE_NAMES)), np.nan)
        size_log, mean, liked_share = outputs["profile_stats"]
        X[:, _COL["profile_size_log"]] = size_log
        X[:, _COL["profile_mean"]] = mean
        X[:, _COL["profile_liked_share"]] = liked_share
        pop = outputs["pop"]
        X[:, _COL["pop_rated_log"]] = pop["rated_log"][idx]
        X[:, _COL["pop_liked_log"]] = pop["liked_log"][idx]
        X[:, _COL["pop_damped_mean"]] = pop["damped_mean"][idx]
        X[:, _COL["pop_liked_share"]] = pop["liked_share"][idx]
        X[:, _COL["year"]] = self._year[idx]
        for component in COMPONENTS:
            X[:, _missing_col(component)] = 1.0
        co = outputs.get("coliked")
        if co is not None and drop != "coliked":
            X[:, _COL["co_liked_given_liked"]] = co["liked_given_liked"][idx]
            X[:, _COL["co_rated_given_rated"]] = co["rated_given_rated"][idx]
            X[:, _COL["co_liked_cosine"]] = co["liked_cosine"][idx]
            X[:, _COL["co_best_share"]] = co["best_liked_share"][idx]
            X[:, _COL["co_rated_lift_log"]] = co["lift_log"][idx]
            X[:, _COL["co_rated_relative"]] = co["rated_rel"][idx]
            X[:, _COL["co_liked_relative"]] = co["liked_rel"][idx]
            X[:, _missing_col("coliked")] = 0.0
        pe = outputs.get("pearson")
        if pe is not None and drop != "pearson":
            predicted = pe["predicted"][idx]
            X[:, _COL["pearson_predicted"]] = predicted
            X[:, _COL["pearson_rated_share"]] = pe["rated"][idx] / pe["count"]
            X[:, _COL["pearson_liked_share"]] = pe["liked"][idx] / pe["count"]
            X[:, _COL["pearson_has_prediction"]] = (pe["rated"][idx] > 0).astype(float)
            X[:, _missing_col("pearson")] = 0.0
        ct = outputs.get("content")
        if ct is not None and drop != "content":
            X[:, _COL["content_cosine"]] = ct["cosine"][idx]
            X[:, _COL["content_nearest_liked"]] = self._nearest_liked(outputs, idx)[1]
            X[:, _COL["content_genre_overlap"]] = self._genre_overlap(outputs, idx)
            X[:, _missing_col("content")] = 0.0
        ne = outputs.get("neural")
        if ne is not None and drop != "neural":
            X[:, _COL["neural_predicted"]] = ne["predicted"][idx]
            X[:, _COL["neural_rank_pct"]] = ne["rank_pct"][idx]
            X[:, _missing_col("neural")] = 0.0
        return X

    def _genre_overlap(self, outputs: dict[str, Any], idx: np.ndarray) -> np.ndarray:
        genres = self._genres[idx]
        norms = np.linalg.norm(genres, axis=1)
        return (genres @ outputs["genre_taste"]) / np.where(norms > 0, norms, 1.0)

    def _nearest_liked(
        self, outputs: dict[str, Any], idx: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """(movie id of the liked movie closest in story, its cosine) for each of ``idx``."""
        vectors = self._vectors
        profile = outputs["profile"]
        liked = [m for m, r in profile.items() if r >= LIKED_RATING]
        rows = vectors.rows(liked) if liked else np.zeros(0, np.int64)
        nearest = np.full(len(idx), -1, dtype=np.int64)
        sims = np.zeros(len(idx))
        vpos = self._content_pos[idx]
        ok = vpos >= 0
        if not len(rows) or not ok.any():
            return nearest, sims
        pair = vectors.matrix[vpos[ok]] @ vectors.matrix[rows].T
        best = np.argmax(pair, axis=1)
        nearest[ok] = vectors.movie_ids[rows][best]
        sims[ok] = pair[np.arange(len(best)), best]
        return nearest, sims

    def _fill(self, X: np.ndarray) -> np.ndarray:
        """Replace NaN (no opinion) by the feature's neutral value."""
        bad = np.isnan(X)
        if bad.any():
            X = X.copy()
            X[bad] = np.take(self._neutral, np.nonzero(bad)[1])
        return X

    def _predict(
        self, outputs: dict[str, Any], idx: np.ndarray, *, rank_only: bool = False
    ) -> dict[str, np.ndarray]:
        """Rank probability, calibrated match probability and rating for movies ``idx``.

        With ``rank_only``, ``match`` and ``predicted`` are left out (see :meth:`_complete`).
        """
        if not len(idx):
            empty = np.zeros(0)
            X = np.zeros((0, len(FEATURE_NAMES)))
            return {"rank": empty, "match": empty, "predicted": empty, "X": X}
        X = self._fill(self._features(outputs, idx))
        with _one_thread():  # a few hundred rows: threads cost more than they save
            result = {"rank": self._rank_model.predict_proba(X)[:, 1], "X": X}
        return result if rank_only else self._complete(result)

    def _complete(self, result: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Add ``match`` (calibrated, 0–1) and ``predicted`` (stars) for the rows of ``X``."""
        X = result["X"]
        if not len(X):
            result["match"], result["predicted"] = np.zeros(0), np.zeros(0)
            return result
        with _one_thread():
            result["match"] = self._calibrator(self._match_model.predict_proba(X)[:, 1])
            result["predicted"] = np.clip(self._rating_model.predict(X), MIN_RATING, MAX_RATING)
        return result

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Blend scores: the candidate pool gets the rank probability (0–1), the rest rank below.

        ``predicted`` (stars) and ``match`` (0–100) are filled for the pool and NaN elsewhere;
        use :meth:`predict` / :meth:`predict_match` for any chosen movies.
        """
        profile = validate_profile(profile)
        outputs = self._outputs(profile, user)
        return self._scores(outputs, self._pool(outputs, profile))

    def _scores(self, outputs: dict[str, Any], idx: np.ndarray) -> Scores:
        n = len(self.movie_ids)
        result = self._predict(outputs, idx)
        pop = outputs["pop"]["rank"]
        rank = -1.0 + pop / (pop.max() + 1.0) - 1.0  # below every pool movie, by popularity
        rank[idx] = result["rank"]
        predicted = np.full(n, np.nan)
        predicted[idx] = result["predicted"]
        match = np.full(n, np.nan)
        match[idx] = 100.0 * result["match"]
        context: dict[str, Any] = {"components": list(self._available_in(outputs))}
        if "pearson" in outputs:
            context.update(outputs["pearson"]["context"])
        return Scores(self.movie_ids, predicted, rank, match, evidence={}, context=context)

    def _available_in(self, outputs: dict[str, Any]) -> tuple[str, ...]:
        return ("popularity",) + tuple(c for c in COMPONENTS if c in outputs)

    def predict(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> np.ndarray:
        """Predicted ratings (0.5–5) for ``movie_ids``; unknown movies get ``default_rating``."""
        return self._predict_for(profile, movie_ids, user, "predicted", self.default_rating, 1.0)

    def predict_match(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> np.ndarray:
        """Match percentages (0–100) for ``movie_ids`` (see :mod:`recommender.calibration`)."""
        return self._predict_for(profile, movie_ids, user, "match", 0.0, 100.0)

    def _predict_for(self, profile, movie_ids, user, key: str, default: float, scale: float):
        profile = validate_profile(profile)
        wanted = np.asarray(list(movie_ids), dtype=np.int64)
        out = np.full(len(wanted), default, dtype=np.float64)
        if not len(wanted):
            return out
        pos, known = self._positions(wanted)
        outputs = self._outputs(profile, user)
        result = self._predict(outputs, pos[known])
        out[known] = scale * result[key]
        return out

    def recommend(
        self,
        profile: Profile,
        k: int = 24,
        *,
        candidates: Iterable[int] | None = None,
        exclude: Iterable[int] = (),
        user: UserKey | None = None,
        explain_first: int | None = None,
    ) -> Recommendations:
        """The ``k`` best movies for ``profile``, with evidence and reasons.

        ``candidates`` (e.g. the ids from :func:`recommender.content.describe`) restricts the
        ranking to those movies — all of them are scored, not only the pool. Each evidence dict
        holds ``components`` (contribution of each component in percentage points of the rank
        probability), the raw evidence, ``reasons`` (strongest first) and ``reason``.
        Explaining costs about as much as ranking (the rank model again, on a copy of each row
        with each component blanked), so
        ``explain_first`` limits it to the first n movies (``None``: all); the others get
        ``None`` and :meth:`explain` gives theirs when they are shown.
        """
        profile = validate_profile(profile)
        outputs = self._outputs(profile, user)
        banned = set(profile) | {int(m) for m in exclude}
        if candidates is not None:
            cand = np.array([int(m) for m in candidates if int(m) not in banned], dtype=np.int64)
            pos, known = self._positions(cand)
            idx = np.unique(pos[known])
        else:
            idx = self._pool(outputs, profile)
            idx = idx[~np.isin(self.movie_ids[idx], np.array(list(banned), dtype=np.int64))]
        result = self._predict(outputs, idx, rank_only=True)
        if candidates is None and len(idx) < k:  # tiny catalogue: pad by popularity
            rest = np.setdiff1d(np.arange(len(self.movie_ids)), idx)
            rest = rest[~np.isin(self.movie_ids[rest], np.array(list(banned), dtype=np.int64))]
            rest = rest[np.argsort(-outputs["pop"]["rank"][rest], kind="stable")][: k - len(idx)]
            extra = self._predict(outputs, rest, rank_only=True)
            idx = np.concatenate([idx, rest])
            result["rank"] = np.concatenate([result["rank"], extra["rank"] - 2.0])
            result["X"] = np.vstack([result["X"], extra["X"]])
        k = min(k, len(idx))
        order = np.lexsort((self.movie_ids[idx], -result["rank"]))[:k]
        top = idx[order]
        result = self._complete({"rank": result["rank"][order], "X": result["X"][order]})
        n_explained = k if explain_first is None else min(max(explain_first, 0), k)
        evidence: list[dict[str, Any] | None] = [None] * k
        if n_explained:
            evidence[:n_explained] = self._evidence(
                outputs, top[:n_explained], result["X"][:n_explained], result["rank"][:n_explained]
            )
        context = {"components": list(self._available_in(outputs))}
        if "pearson" in outputs:
            context.update(outputs["pearson"]["context"])
        return Recommendations(
            movie_ids=self.movie_ids[top].astype(np.int64),
            scores=result["rank"].astype(np.float64),
            predicted=result["predicted"].astype(np.float64),
            match=np.clip(100.0 * result["match"], 0.0, 100.0),
            evidence=evidence,
            context=context,
        )

    # ------------------------------------------------------------------ evidence

    def contributions(self, X: np.ndarray, rank: np.ndarray) -> dict[str, np.ndarray]:
        """Drop in rank probability (percentage points) when each component is blanked.

        ``X``: filled feature rows, ``rank``: their rank probabilities. Popularity is scored
        as the probability that remains with every other component blanked.
        """
        out: dict[str, np.ndarray] = {}
        blanked = []
        for component in COMPONENTS:
            Xc = X.copy()
            for name in FEATURES[component]:
                Xc[:, _COL[name]] = self._neutral[_COL[name]]
            Xc[:, _missing_col(component)] = 1.0
            blanked.append(Xc)
        everything = X.copy()
        for component in COMPONENTS:
            for name in FEATURES[component]:
                everything[:, _COL[name]] = self._neutral[_COL[name]]
            everything[:, _missing_col(component)] = 1.0
        with _one_thread():
            probs = self._rank_model.predict_proba(np.vstack([*blanked, everything]))[:, 1]
        n = len(X)
        for i, component in enumerate(COMPONENTS):
            present = X[:, _missing_col(component)] == 0
            out[component] = np.where(present, 100.0 * (rank - probs[i * n : (i + 1) * n]), 0.0)
        out["popularity"] = 100.0 * probs[len(COMPONENTS) * n :]
        return out

    def _evidence(
        self, outputs: dict[str, Any], top: np.ndarray, X: np.ndarray, rank: np.ndarray
    ) -> list[dict[str, Any]]:
        from recommender.reasons import reasons_for

        contrib = self.contributions(X, rank)
        profile = outputs["profile"]
        stats = self._parts.stats
        nearest = None
        if "content" in outputs:
            nearest = self._nearest_liked(outputs, top)
        items = []
        for j, p in enumerate(top):
            ev: dict[str, Any] = {
                "components": {c: round(float(v[j]), 2) for c, v in contrib.items()},
                "ratings": int(stats.count[p]),
                "liked": int(stats.liked[p]),
            }
            pe = outputs.get("pearson")
            if pe is not None:
                ev["neighbours_rated"] = int(pe["rated"][p])
                ev["neighbours_liked"] = int(pe["liked"][p])
                ev["neighbour_count"] = int(pe["count"])
            co = outputs.get("coliked")
            if co is not None and co["best_liked"][p] >= 0:
                movie = int(co["best_liked"][p])
                ev["coliked_movie"] = movie
                ev["coliked_title"] = self.titles.get(movie)
                ev["coliked_your_rating"] = float(profile.get(movie, np.nan))
                ev["coliked_share"] = round(float(co["best_liked_share"][p]), 3)
            if nearest is not None and nearest[0][j] >= 0:
                movie = int(nearest[0][j])
                ev["content_similarity"] = round(float(outputs["content"]["cosine"][p]), 3)
                ev["nearest_liked"] = movie
                ev["nearest_liked_title"] = self.titles.get(movie)
                ev["nearest_liked_your_rating"] = float(profile.get(movie, np.nan))
                ev["nearest_liked_similarity"] = round(float(nearest[1][j]), 3)
            ne = outputs.get("neural")
            if ne is not None and np.isfinite(ne["predicted"][p]):
                ev["neural_predicted"] = round(float(ne["predicted"][p]), 2)
            ev["reasons"] = reasons_for(ev)
            ev["reason"] = ev["reasons"][0] if ev["reasons"] else ""
            items.append(ev)
        return items

    def explain(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> list[dict[str, Any]]:
        """Evidence dicts (with ``reasons`` and ``reason``) for chosen movies, on demand, in the
        order given (``{}`` for a movie the blend does not know)."""
        profile = validate_profile(profile)
        pos, known = self._positions(np.asarray(list(movie_ids), dtype=np.int64))
        idx = pos[known]
        out: list[dict[str, Any]] = [{} for _ in range(len(pos))]
        if len(idx):
            outputs = self._outputs(profile, user)
            result = self._predict(outputs, idx, rank_only=True)
            explained = iter(self._evidence(outputs, idx, result["X"], result["rank"]))
            out = [next(explained) if ok else {} for ok in known]
        return out

    def upsert_user(self, user: str, profile: Profile | None) -> None:
        """Keep an app user as a neighbour of the Pearson component (``None`` removes them).

        See :meth:`recommender.pearson.PearsonRecommender.upsert_user`; without a Pearson
        component this does nothing.
        """
        if self._parts.pearson is not None:
            self._parts.pearson.upsert_user(user, profile)

    # ------------------------------------------------------------------ describe / similar

    @property
    def vectors(self):
        """The SBERT :class:`~recommender.content.MovieVectors` (``None`` without content); the
        discover loop (:func:`recommender.discover.next_movies`) runs on them."""
        return getattr(self, "_vectors", None)

    def similar(self, movie_id: int, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` movies whose story is closest to ``movie_id``: ``(ids, cosines -1..1)``."""
        if self.vectors is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self.vectors.similar(movie_id, k)

    def describe(self, query: str, k: int = 200) -> tuple[np.ndarray, np.ndarray]:
        """Movies matching a free-text description (see :func:`recommender.content.describe`)."""
        from recommender.content import describe

        if self._vectors is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return describe(query, self._vectors, k)

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path) -> Path:
        """Write ``blend.pkl`` and ``manifest.json`` (metrics, components, features)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        with open(directory / "blend.pkl", "wb") as fh:
            pickle.dump(self, fh, protocol=pickle.HIGHEST_PROTOCOL)
        manifest = {
            "model": self.name,
            "components": list(getattr(self, "components", ())),
            "features": list(FEATURE_NAMES),
            "neutral_values": dict(zip(FEATURE_NAMES, map(float, self._neutral), strict=True)),
            "calibrator": self._calibrator.to_dict(),
            "metrics": self.metrics,
            "params": {
                "neural": self.neural_name,
                "blend_users": self.blend_users,
                "folds": self.folds,
                "rated_share": self.rated_share,
                "sizes": list(self.sizes),
                "pool": self.pool,
                "negatives": self.negatives,
                "dropout": self.dropout,
                "calibration": self.calibration,
                "seed": self.seed,
            },
        }
        (directory / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
        return directory

    @classmethod
    def load(cls, directory: Path) -> BlendRecommender:
        """Read a blend written by :meth:`save`."""
        with open(Path(directory) / "blend.pkl", "rb") as fh:
            model = pickle.load(fh)
        if not isinstance(model, cls):
            raise TypeError(f"{directory} does not hold a blend model")
        return model

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["content_model"] = None  # vectors are kept; the encoder is not pickled
        return state

    def without(self, *components: str) -> BlendRecommender:
        """A shallow copy with ``components`` removed (to show and test the fallback)."""
        import copy

        clone = copy.copy(self)
        parts = copy.copy(self._parts)
        for component in components:
            if component == "content":
                clone._vectors = None
            elif component in ("coliked", "pearson", "neural"):
                setattr(parts, component, None)
            else:
                raise ValueError(f"cannot remove component {component!r}")
        clone._parts = parts
        clone.components = clone._available()
        return clone


def blend_dir(version: str | None = None) -> Path:
    """Folder of a saved blend: ``ARTIFACTS_DIR/blend/<version>``; the version named in
    ``ARTIFACTS_DIR/blend/LATEST`` when ``version`` is ``None``."""
    from recommender import settings

    root = settings.artifacts_dir() / "blend"
    if version is None:
        latest = root / "LATEST"
        if not latest.exists():
            raise FileNotFoundError(f"no blend saved under {root}; run python -m scripts.fit_blend")
        version = latest.read_text().strip()
    return root / version


def load_blend(version: str | None = None) -> BlendRecommender:
    """The saved blend (latest by default), ready to score; see ``scripts/fit_blend.py``."""
    return BlendRecommender.load(blend_dir(version))
