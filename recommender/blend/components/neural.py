"""Blend component ``neural``: a neural model of the registry, folding the profile in.

Features: its predicted rating and the movie's rank percentile in its ordering (0–1).
Candidates: its own ranking. ``neural="auto"`` takes the first of :data:`NEURAL_PREFERENCE`
that is registered.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.base import UserKey
from recommender.blend.component import Component, Opinion, TrainingData
from recommender.dataset import sample_people
from recommender.reasons import known
from recommender.vocabulary import take

if TYPE_CHECKING:
    from recommender.blend.model import BlendRecommender

NEURAL_PREFERENCE: tuple[str, ...] = ("embed-implicit", "embed", "neumf", "nncf")
"""Registry names tried, in order, when ``neural="auto"`` (best new-user NDCG@24 first, from
``artifacts/eval/neural_newuser.md``)."""


@dataclass
class NeuralOpinion(Opinion):
    """Arrays ``(n,)`` over the catalogue: ``predicted`` stars, ``rank`` (the model's ordering
    key) and ``rank_pct`` (its percentile, 0–1); NaN for movies the model does not know."""

    predicted: np.ndarray
    rank: np.ndarray
    rank_pct: np.ndarray

    def features(self, idx: np.ndarray) -> np.ndarray:
        return np.column_stack([self.predicted[idx], self.rank_pct[idx]])

    def candidates(self) -> list[np.ndarray]:
        return [self.rank]

    def evidence(self, idx: np.ndarray) -> list[dict[str, Any]]:
        return [
            {"neural_predicted": round(float(self.predicted[p]), 2)}
            if np.isfinite(self.predicted[p])
            else {}
            for p in idx
        ]


def rank_percentile(rank: np.ndarray) -> np.ndarray:
    """Each movie's percentile (0 lowest – 1 highest) in the ordering ``rank`` ``(n,)``; NaN
    where ``rank`` is NaN."""
    finite = np.isfinite(rank)
    pct = np.full(len(rank), np.nan)
    n = int(finite.sum())
    if n:
        place = np.empty(n)
        place[np.argsort(rank[finite])] = np.arange(n)  # one sort: its inverse by scatter
        pct[finite] = place / max(n - 1, 1)
    return pct


def resolve(name: str | None) -> str | None:
    """The registry name ``name`` stands for (``"auto"``: see :data:`NEURAL_PREFERENCE`)."""
    if name is None or name != "auto":
        return name
    from recommender.models import MODEL_NAMES

    return next((n for n in NEURAL_PREFERENCE if n in MODEL_NAMES), None)


MAX_TRAINING_RATINGS = 5_000_000
"""Most ratings the blend's neural model trains on: beyond that, the whole profiles of a random
sample of people (:func:`recommender.dataset.sample_people`). The blend trains this model in
its cross-fitting rounds; bounded, its cost stops growing with the data (at ml-25m size: a
fifth of the ratings). New people are folded in from their profiles either way; the served
``embed`` model (similar movies, the map) still learns from every rating."""


class NeuralComponent(Component):
    """The neural model's predicted stars and rank percentile; ``params``: the model's
    parameters (registry defaults otherwise); ``max_ratings``: see
    :data:`MAX_TRAINING_RATINGS`."""

    name = "neural"
    features = ("neural_predicted", "neural_rank_pct")

    def __init__(
        self,
        model_name: str,
        params: Mapping[str, Any] | None = None,
        max_ratings: int = MAX_TRAINING_RATINGS,
    ):
        self.model_name = model_name
        self.params = dict(params or {})
        self.max_ratings = int(max_ratings)

    @classmethod
    def configure(cls, blend: BlendRecommender) -> NeuralComponent | None:
        name = resolve(blend.neural_name)
        return None if name is None else cls(name, blend.neural_params)

    def fit(self, data: TrainingData) -> NeuralComponent:
        from recommender.models import make_model

        fitted = self.clone()
        ratings = sample_people(data.ratings, max_ratings=self.max_ratings)
        fitted.model = make_model(self.model_name, **self.params).fit(ratings, data.movies)
        fitted.index = data.catalogue.align(fitted.model.movie_ids)
        return fitted

    def reuse(self, fitted: NeuralComponent) -> NeuralComponent:
        """Later rounds train for the first round's best epoch count, with no early-stopping
        search (no patience epochs past the best)."""
        best = fitted.model.validation.get("best_epoch")
        if not best:
            return self
        params = {**self.params, "epochs": int(best)}
        return NeuralComponent(self.model_name, params, self.max_ratings)

    def opinion(self, profile: dict[int, float], user: UserKey | None) -> NeuralOpinion:
        s = self.model.score(profile, user=user)
        rank = take(s.rank, self.index)
        return NeuralOpinion(
            predicted=take(s.predicted, self.index), rank=rank, rank_pct=rank_percentile(rank)
        )

    @staticmethod
    def sentence(evidence: Mapping[str, Any]) -> str | None:
        if known(evidence.get("neural_predicted")):
            # No number: the card's predicted stars are the blend's, and a second, different
            # figure would contradict them.
            return "it fits the pattern of your ratings"
        return None
