"""Blend components from models of the registry: ``item_knn``, ``mf_sgd``, ``autorec``, ``ease``.

Each wraps one registry model (``item-knn``, ``mf-sgd``, ``autorec``) exactly as the
:mod:`~recommender.blend.components.neural` component wraps the neural model: features are its
predicted stars and the movie's rank percentile in its ordering (0–1); candidates are its own
ranking; a new person is served by the model's own fold-in. They are *candidates*: the served
blend (:data:`~recommender.blend.components.COMPONENTS`) holds only those that raised NDCG@24
on the new-user protocol by more than one standard deviation (README, "Stronger together" and
"What people rated next, and when": EASE, together with ``following`` and ``era``);
``python -m scripts.evaluate_blend --models blend+embed-implicit blend+embed-implicit+item-knn``
tries one (:data:`TRIAL_COMPONENTS` maps the registry name to its component).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from recommender.base import UserKey
from recommender.blend.component import Component, TrainingData
from recommender.blend.components.neural import NeuralOpinion, rank_percentile
from recommender.vocabulary import take

if TYPE_CHECKING:
    from recommender.blend.model import BlendRecommender


class ModelOpinion(NeuralOpinion):
    """A registry model's :class:`NeuralOpinion`, its evidence under ``<component>_predicted``."""

    def __init__(self, key: str, predicted, rank, rank_pct):
        super().__init__(predicted=predicted, rank=rank, rank_pct=rank_pct)
        self.key = key

    def evidence(self, idx: np.ndarray) -> list[dict[str, Any]]:
        return [
            {self.key: round(float(self.predicted[p]), 2)} if np.isfinite(self.predicted[p]) else {}
            for p in idx
        ]


class ModelComponent(Component):
    """A registry model (``model_name``) as a blend component (see the module docstring)."""

    model_name: ClassVar[str]

    @classmethod
    def configure(cls, blend: BlendRecommender) -> ModelComponent:
        return cls()

    def fit(self, data: TrainingData) -> ModelComponent:
        from recommender.models import make_model

        fitted = self.clone()
        fitted.model = make_model(self.model_name).fit(data.ratings, data.movies)
        fitted.index = data.catalogue.align(fitted.model.movie_ids)
        return fitted

    def opinion(self, profile: dict[int, float], user: UserKey | None) -> ModelOpinion:
        s = self.model.score(profile, user=user)
        rank = take(s.rank, self.index)
        return ModelOpinion(
            self.features[0], take(s.predicted, self.index), rank, rank_percentile(rank)
        )

    @staticmethod
    def sentence(evidence: Mapping[str, Any]) -> str | None:
        return None  # the blend's stars and the other components' reasons say it already


class ItemKNNComponent(ModelComponent):
    name = "item_knn"
    model_name = "item-knn"
    features = ("item_knn_predicted", "item_knn_rank_pct")


class MFSGDComponent(ModelComponent):
    name = "mf_sgd"
    model_name = "mf-sgd"
    features = ("mf_sgd_predicted", "mf_sgd_rank_pct")


class AutoRecComponent(ModelComponent):
    name = "autorec"
    model_name = "autorec"
    features = ("autorec_predicted", "autorec_rank_pct")


class EASEComponent(ModelComponent):
    """EASE (:mod:`recommender.ease`): features are its score (about 0–1, NaN for a movie
    outside ``B``) and rank percentile, not stars — its stars are the score plus a fallback the
    other components already give; candidates are its ranking. Fitted without the star slope
    and match calibration, which the blend does not use."""

    name = "ease"
    model_name = "ease"
    features = ("ease_score", "ease_rank_pct")

    def fit(self, data: TrainingData) -> EASEComponent:
        from recommender.models import make_model

        fitted = self.clone()
        fitted.model = make_model(self.model_name, calibration_users=0).fit(
            data.ratings, data.movies
        )
        fitted.index = data.catalogue.align(fitted.model.movie_ids)
        return fitted

    def opinion(self, profile: dict[int, float], user: UserKey | None) -> ModelOpinion:
        s = self.model.score(profile, user=user)
        rank = take(s.rank, self.index)
        inside = take((self.model.column >= 0).astype(np.float64), self.index, fill=0.0) > 0
        score = np.where(inside, rank, np.nan)
        return ModelOpinion(self.features[0], score, rank, rank_percentile(rank))


def _trial_components() -> dict[str, type[Component]]:
    from recommender.blend.components.era import EraComponent
    from recommender.blend.components.following import FollowingComponent

    models = (ItemKNNComponent, MFSGDComponent, AutoRecComponent, EASEComponent)
    return {
        **{c.model_name: c for c in models},
        FollowingComponent.name: FollowingComponent,
        EraComponent.name: EraComponent,
    }


TRIAL_COMPONENTS: dict[str, type[Component]] = _trial_components()
"""Registry model name (or component name: ``following``, ``era``) → its blend component, for
trying it inside the blend."""
