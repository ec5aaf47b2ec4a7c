"""The blend as a recommender: orchestrates the components, the feature matrix, the learned
models and the explanation (see :mod:`recommender.blend` for what it does and why)."""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender.base import (
    Profile,
    Recommendations,
    Recommender,
    Scores,
    UserKey,
    top_k,
    validate_profile,
)
from recommender.blend.component import Catalogue, Component, Opinions, TrainingData
from recommender.blend.components import COMPONENTS
from recommender.blend.ensemble import Ensemble
from recommender.blend.explanation import explain
from recommender.blend.features import FeatureLayout, feature_matrix, fill
from recommender.blend.learning import LearningSettings, cross_fit, learn
from recommender.popularity import catalogue_ids

log = logging.getLogger(__name__)

MAX_BLEND_USERS = 2_000
"""Most people whose profiles teach the blend its weights (see :class:`BlendRecommender`)."""

MAX_ROUND_SHARE = 0.05
"""Largest share of the ratings one cross-fitting round should leave out. The blend's people
are cut into as few rounds as keep each round under it (at most ``folds``: on ml-latest-small
every person teaches the blend, so 3 rounds, as before). When a single round is enough (at
ml-25m size the 2,000 people hold ~1% of the ratings), its components, fitted on everyone
else's ratings, are served as they are instead of being fitted again on all of them."""


def cross_fitting_rounds(held_out_share: float, folds: int) -> int:
    """Rounds for blend people holding ``held_out_share`` (0–1) of the ratings: as few as keep
    each round's share within :data:`MAX_ROUND_SHARE`, between 1 and ``folds``."""
    return int(min(folds, max(1, np.ceil(held_out_share / MAX_ROUND_SHARE - 1e-9))))


class BlendRecommender(Recommender):
    """The blended recommender.

    Parameters: ``neural`` — registry name of the neural component, ``"auto"`` (first of
    :data:`~recommender.blend.components.neural.NEURAL_PREFERENCE` in the registry) or
    ``None``; ``neural_params`` — parameters of that model (registry defaults otherwise);
    ``use_pearson``/``use_content`` — switch those components off; ``blend_users`` —
    share of training users whose later ratings teach the weights, at most
    ``max_blend_users`` of them (a per-person loop scores every movie for each of their
    profiles, so without a cap the fit grows with people x movies: ~2,000 people give a few
    million training rows, plenty for the trees); ``folds`` — most cross-fitting rounds over
    those users (fewer when they hold few ratings: :data:`MAX_ROUND_SHARE`); ``sizes``,
    ``pool``, ``negatives``, ``rated_share``, ``dropout``, ``calibration``, ``seed`` — see
    :class:`~recommender.blend.learning.LearningSettings`;
    ``content_model`` — an already fitted :class:`~recommender.content.ContentRecommender` to
    reuse; ``progress``; ``component_types`` — the components to blend (default: the registry,
    :data:`~recommender.blend.components.COMPONENTS`); ``reuse`` — later cross-fitting
    rounds and the final fit reuse what the first round learned (see
    :func:`~recommender.blend.learning.cross_fit`); ``keep_rows`` — keep the cross-fitted
    training rows as ``training_rows`` after ``fit`` (not pickled), to try learners on them.
    """

    name = "blend"

    def __init__(
        self,
        *,
        neural: str | None = None,
        neural_params: dict[str, Any] | None = None,
        use_pearson: bool = True,
        use_content: bool = True,
        blend_users: float = 1.0,
        max_blend_users: int = MAX_BLEND_USERS,
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
        component_types: Sequence[type[Component]] = COMPONENTS,
        reuse: bool = True,
        keep_rows: bool = False,
    ):
        self.neural_name = neural
        self.neural_params = dict(neural_params or {})
        self.reuse = reuse
        self._keep_rows = keep_rows  # private: not a setting of the model (evaluation keys)
        self.use_pearson = use_pearson
        self.use_content = use_content
        self.blend_users = blend_users
        self.max_blend_users = int(max_blend_users)
        self.folds = int(folds)
        self.content_model = content_model
        self.progress = progress
        self.settings = LearningSettings(
            sizes=tuple(int(s) for s in sizes),
            pool=int(pool),
            negatives=int(negatives),
            rated_share=float(rated_share),
            dropout=float(dropout),
            calibration=calibration,
            seed=seed,
        )
        self.component_types = tuple(component_types)
        self.layout = FeatureLayout.of(self.component_types)
        self.metrics: dict[str, Any] = {}
        self.components: tuple[str, ...] = ()

    # ------------------------------------------------------------------ fitting

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> BlendRecommender:
        """Learn the blend from ``ratings`` (userId, movieId, rating 0.5–5, timestamp).

        Takes ``blend_users`` of the users, cross-fits the components over at most ``folds``
        rounds of them (:func:`cross_fitting_rounds`) and learns the rank / match / rating
        models from their profiles (:mod:`recommender.blend.learning`), then refits the
        components on all of ``ratings`` (after a single round: serves that round's). Figures
        of the learning step are in ``metrics``.
        """
        started = time.perf_counter()
        rng = np.random.default_rng(self.settings.seed)
        self.movie_ids = catalogue_ids(ratings, movies)
        self.default_rating = float(ratings["rating"].mean())
        catalogue = Catalogue.build(self.movie_ids, movies)
        data = TrainingData(ratings, movies, catalogue)
        prototypes = self._prototypes(data)

        counts = ratings.groupby("userId").size()
        eligible = counts.index[counts >= min(self.settings.sizes) + 3].to_numpy()
        n_blend = round(len(eligible) * self.blend_users)
        n_blend = max(self.folds, min(n_blend, self.max_blend_users))
        blend_users = rng.choice(eligible, size=min(n_blend, len(eligible)), replace=False)
        held_out_share = float(ratings["userId"].isin(blend_users).mean())
        rounds = cross_fitting_rounds(held_out_share, self.folds)
        fitted: list[Ensemble] = []
        step = time.perf_counter()
        rows, prototypes = cross_fit(
            prototypes,
            data,
            blend_users,
            rounds,
            self.layout,
            self.settings,
            tuple(self.layout.missing),
            self.default_rating,
            rng,
            self.progress,
            reuse=self.reuse,
            timings=self.metrics,
            fitted=fitted,
        )
        self.metrics["features_seconds"] = round(time.perf_counter() - step, 1)
        if self._keep_rows:  # for scripts.evaluate_blend --rows-cache (never saved)
            self.training_rows = rows
        step = time.perf_counter()
        self.learned, figures = learn(rows, self.layout, self.settings)
        self.metrics.update(figures)
        self.metrics["learn_seconds"] = round(time.perf_counter() - step, 1)

        step = time.perf_counter()
        # One round: its components saw all but the blend people's few ratings; serve them.
        self.ensemble = fitted[0] if rounds == 1 else Ensemble.fit(prototypes, data)
        self.metrics["final_fit_seconds"] = round(time.perf_counter() - step, 1)
        self.components = self.ensemble.names()
        self.metrics.update(
            fit_seconds=round(time.perf_counter() - started, 1),
            blend_users=int(len(blend_users)),
            held_out_share=round(held_out_share, 4),
            rounds=rounds,
            components=list(self.components),
        )
        return self

    def _prototypes(self, data: TrainingData) -> list[Component]:
        """The configured components, each prepared once on all of ``data``; an optional one
        whose preparation fails is left out (logged)."""
        prototypes = []
        for component_type in self.component_types:
            component = component_type.configure(self)
            if component is None:
                continue
            try:
                component.prepare(data)
            except Exception:
                if not component.optional:
                    raise
                log.exception("blend: %s component unavailable", component.name)
                continue
            prototypes.append(component)
        return prototypes

    # ------------------------------------------------------------------ scoring

    def _opinions(self, profile: Profile, user: UserKey | None) -> Opinions:
        return self.ensemble.opinions(dict(profile), user, threads=True)

    def _rows(self, opinions: Opinions, idx: np.ndarray) -> np.ndarray:
        """Filled feature rows of catalogue positions ``idx``."""
        X = feature_matrix(self.layout, opinions, idx, self.default_rating)
        return fill(X, self.learned.neutral)

    def _context(self, opinions: Opinions) -> dict[str, Any]:
        context: dict[str, Any] = {"components": list(opinions.names())}
        for opinion in opinions.by_component.values():
            context.update(opinion.context())
        return context

    def _popularity_order(self, opinions: Opinions) -> np.ndarray:
        """Popularity's ordering ``(n,)``: the fallback below the candidate pool."""
        return opinions.by_component["popularity"].candidates()[0]

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Blend scores: the candidate pool gets the rank probability (0–1), the rest rank below
        it by popularity. ``predicted`` (stars) and ``match`` (0–100) are filled for the pool
        and NaN elsewhere; use :meth:`predict` / :meth:`predict_match` for chosen movies."""
        opinions = self._opinions(validate_profile(profile), user)
        idx = self.ensemble.pool(opinions, self.settings.pool)
        X = self._rows(opinions, idx)
        n = len(self.movie_ids)
        pop = self._popularity_order(opinions)
        rank = -1.0 + pop / (pop.max() + 1.0) - 1.0  # below every pool movie, by popularity
        rank[idx] = self.learned.rank(X)
        predicted, match = np.full(n, np.nan), np.full(n, np.nan)
        predicted[idx] = self.learned.rating(X)
        match[idx] = 100.0 * self.learned.match(X)
        return Scores(self.movie_ids, predicted, rank, match, context=self._context(opinions))

    def predict(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> np.ndarray:
        """Predicted ratings (0.5–5) for ``movie_ids``; unknown movies get ``default_rating``."""
        return self._for_movies(profile, movie_ids, user, "rating", self.default_rating, 1.0)

    def predict_match(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> np.ndarray:
        """Match percentages (0–100) for ``movie_ids`` (see :mod:`recommender.calibration`)."""
        return self._for_movies(profile, movie_ids, user, "match", 0.0, 100.0)

    def _for_movies(self, profile, movie_ids, user, what: str, default: float, scale: float):
        profile = validate_profile(profile)
        pos, known = self._positions(np.asarray(list(movie_ids), dtype=np.int64))
        out = np.full(len(pos), default, dtype=np.float64)
        if len(pos):
            X = self._rows(self._opinions(profile, user), pos[known])
            out[known] = scale * getattr(self.learned, what)(X)
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
        also: Iterable[int] = (),
    ) -> Recommendations:
        """The ``k`` best movies for ``profile``, with evidence and reasons.

        ``candidates`` (e.g. the ids from :func:`recommender.content.describe`) restricts the
        ranking to those movies — all of them are scored, not only the pool. Evidence: see
        :mod:`recommender.blend.explanation`; explaining costs about as much as ranking, so
        ``explain_first`` limits it to the first n movies (``None``: all) and :meth:`explain`
        gives the others' when they are shown. ``also``: as :meth:`Recommender.recommend`
        (ranked after the top ``k`` from the same opinions, pool or not).
        """
        profile = validate_profile(profile)
        opinions = self._opinions(profile, user)
        banned = np.array(sorted(set(profile) | {int(m) for m in exclude}), dtype=np.int64)
        if candidates is not None:
            wanted = np.array([int(m) for m in candidates], dtype=np.int64)
            pos, known = self._positions(wanted[~np.isin(wanted, banned)])
            idx = np.unique(pos[known])
        else:
            idx = self.ensemble.pool(opinions, self.settings.pool)
            idx = idx[~np.isin(self.movie_ids[idx], banned)]
        also_pos, known = self._positions(np.fromiter(also, dtype=np.int64))
        also_pos = np.unique(also_pos[known])
        also_pos = also_pos[~np.isin(self.movie_ids[also_pos], banned)]
        # A pointwise rank model scores each row on its own: the ``also`` movies outside the
        # pool are ranked in the same pass (a relative one ranks each group of rows apart).
        pointwise = self.learned.relative is None
        outside = np.setdiff1d(also_pos, idx) if pointwise else also_pos[:0]
        ranked = np.concatenate([idx, outside])
        X_ranked = self._rows(opinions, ranked)
        rank_ranked = self.learned.rank(X_ranked)
        X, rank = X_ranked[: len(idx)], rank_ranked[: len(idx)]
        if candidates is None and len(idx) < k:  # tiny catalogue: pad by popularity
            rest = np.setdiff1d(np.arange(len(self.movie_ids)), idx)
            rest = rest[~np.isin(self.movie_ids[rest], banned)]
            pop = self._popularity_order(opinions)
            rest = rest[np.argsort(-pop[rest], kind="stable")][: k - len(idx)]
            extra = self._rows(opinions, rest)
            idx = np.concatenate([idx, rest])
            rank = np.concatenate([rank, self.learned.rank(extra) - 2.0])
            X = np.vstack([X, extra])
        order = top_k(self.movie_ids[idx], rank, k)
        top, X, rank = idx[order], X[order], rank[order]
        more = np.setdiff1d(also_pos, top)
        if len(more):
            if pointwise:  # ranked above already
                at = _index_of(ranked, more)
                more_X, more_rank = X_ranked[at], rank_ranked[at]
            else:
                more_X = self._rows(opinions, more)
                more_rank = self.learned.rank(more_X)
            order = top_k(self.movie_ids[more], more_rank, len(more))
            top = np.concatenate([top, more[order]])
            X = np.vstack([X, more_X[order]])
            rank = np.concatenate([rank, more_rank[order]])
        n_explained = len(top) if explain_first is None else min(max(explain_first, 0), len(top))
        evidence: list[dict[str, Any] | None] = [None] * len(top)
        if n_explained:
            evidence[:n_explained] = explain(
                opinions,
                self.learned,
                self.layout,
                top[:n_explained],
                X[:n_explained],
                rank[:n_explained],
            )
        listed = (top, X, rank) if pointwise else None
        return Recommendations(
            movie_ids=self.movie_ids[top].astype(np.int64),
            scores=rank.astype(np.float64),
            predicted=self.learned.rating(X).astype(np.float64),
            match=np.clip(100.0 * self.learned.match(X), 0.0, 100.0),
            evidence=evidence,
            context=self._context(opinions),
            explainer=lambda movie_ids: self._explain_from(opinions, movie_ids, listed),
        )

    def explain(
        self, profile: Profile, movie_ids: Iterable[int], *, user: UserKey | None = None
    ) -> list[dict[str, Any]]:
        """Evidence dicts (with ``reasons`` and ``reason``) for chosen movies, on demand, in the
        order given (``{}`` for a movie the blend does not know)."""
        profile = validate_profile(profile)
        movie_ids = list(movie_ids)
        if not self._positions(np.asarray(movie_ids, dtype=np.int64))[1].any():
            return [{} for _ in movie_ids]
        return self._explain_from(self._opinions(profile, user), movie_ids)

    def _explain_from(
        self,
        opinions: Opinions,
        movie_ids: Iterable[int],
        listed: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
    ) -> list[dict[str, Any]]:
        """:meth:`explain` from the profile's ``opinions`` (a :meth:`recommend` call's own).
        ``listed``: ``(positions, filled rows, rank)`` already computed from them by a pointwise
        rank model (the same values :meth:`explain` would compute); used where they cover the
        movies asked about."""
        pos, known = self._positions(np.asarray(list(movie_ids), dtype=np.int64))
        idx = pos[known]
        if not len(idx):
            return [{} for _ in range(len(pos))]
        if listed is not None and np.isin(idx, listed[0]).all():
            at = _index_of(listed[0], idx)
            X, rank = listed[1][at], listed[2][at]
        else:
            X = self._rows(opinions, idx)
            rank = self.learned.rank(X)
        explained = iter(explain(opinions, self.learned, self.layout, idx, X, rank))
        return [next(explained) if ok else {} for ok in known]

    # ------------------------------------------------------------------ components

    def component(self, name: str) -> Component | None:
        """The fitted component ``name`` (e.g. ``"pearson"``), ``None`` when it is absent."""
        return self.ensemble.components.get(name)

    def upsert_user(self, user: str, profile: Profile | None) -> None:
        """Keep an app user as a neighbour of the neighbourhood components (``None`` removes
        them); see :meth:`recommender.pearson.PearsonRecommender.upsert_user`."""
        for component in self.ensemble.components.values():
            component.upsert_user(user, profile)

    def without(self, *components: str) -> BlendRecommender:
        """A shallow copy with ``components`` removed (to show and test the fallback)."""
        unknown = set(components) - set(self.layout.missing)
        if unknown:
            raise ValueError(f"cannot remove component(s) {sorted(unknown)}")
        clone = copy.copy(self)
        clone.ensemble = self.ensemble.without(components)
        clone.components = clone.ensemble.names()
        return clone

    @property
    def vectors(self):
        """The SBERT :class:`~recommender.movie_vectors.MovieVectors` (``None`` without the
        content component); the discover loop (:func:`recommender.discover.next_movies`) runs
        on them."""
        content = self.component("content")
        return None if content is None else content.vectors

    # ------------------------------------------------------------------ persistence

    def save(self, directory: Path, extra: dict[str, Any] | None = None) -> Path:
        """Write the blend as a version folder (see :func:`recommender.blend.storage.save`)."""
        from recommender.blend import storage

        return storage.save(self, directory, extra)

    @classmethod
    def load(cls, directory: Path) -> BlendRecommender:
        """Read a blend written by :meth:`save` (see :func:`recommender.blend.storage.load`)."""
        from recommender.blend import storage

        return storage.load(directory)

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["content_model"] = None  # vectors are kept (in the content component)
        state.pop("training_rows", None)
        return state


def _index_of(positions: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """Where each of ``wanted`` is in ``positions`` (distinct values; every one is there)."""
    order = np.argsort(positions, kind="stable")
    return order[np.searchsorted(positions, wanted, sorter=order)]
