"""Blend component ``pearson``: user-based Pearson CF (:mod:`recommender.pearson`).

Features: the predicted rating, the share of the profile's taste neighbours who rated / liked
(4★+) the movie, and whether any neighbour rated it. Candidates: Pearson's own ranking.
App users are kept as neighbours through :meth:`PearsonComponent.upsert_user`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.base import UserKey
from recommender.blend.component import Component, Opinion, TrainingData
from recommender.vocabulary import take

if TYPE_CHECKING:
    from recommender.blend.model import BlendRecommender


@dataclass
class PearsonOpinion(Opinion):
    """Arrays ``(n,)`` over the catalogue: ``predicted`` stars (NaN: no neighbour rated it),
    neighbours who ``rated`` / ``liked`` it, Pearson's ``rank``; ``count`` neighbours in all."""

    predicted: np.ndarray
    rated: np.ndarray
    liked: np.ndarray
    rank: np.ndarray
    count: int
    list_context: dict[str, Any]

    def features(self, idx: np.ndarray) -> np.ndarray:
        rated = self.rated[idx]
        return np.column_stack(
            [
                self.predicted[idx],
                rated / self.count,
                self.liked[idx] / self.count,
                (rated > 0).astype(float),
            ]
        )

    def candidates(self) -> list[np.ndarray]:
        return [self.rank]

    def evidence(self, idx: np.ndarray) -> list[dict[str, Any]]:
        return [
            {
                "neighbours_rated": int(self.rated[p]),
                "neighbours_liked": int(self.liked[p]),
                "neighbour_count": int(self.count),
            }
            for p in idx
        ]

    def context(self) -> dict[str, Any]:
        return self.list_context


class PearsonComponent(Component):
    name = "pearson"
    features = (
        "pearson_predicted",
        "pearson_rated_share",
        "pearson_liked_share",
        "pearson_has_prediction",
    )

    @classmethod
    def configure(cls, blend: BlendRecommender) -> PearsonComponent | None:
        return cls() if blend.use_pearson else None

    def fit(self, data: TrainingData) -> PearsonComponent:
        from recommender.models import make_model

        fitted = self.clone()
        fitted.model = make_model("pearson").fit(data.ratings, data.movies)
        fitted.index = data.catalogue.align(fitted.model.movie_ids)
        return fitted

    def opinion(self, profile: dict[int, float], user: UserKey | None) -> PearsonOpinion:
        s = self.model.score(profile, user=user)
        return PearsonOpinion(
            predicted=take(s.predicted, self.index),
            rated=take(s.evidence["neighbours_rated"].astype(np.float64), self.index, 0.0),
            liked=take(s.evidence["neighbours_liked"].astype(np.float64), self.index, 0.0),
            rank=take(s.rank, self.index, -np.inf),
            count=max(int(s.context.get("neighbour_count", 0)), 1),
            list_context=s.context,
        )

    @staticmethod
    def sentence(evidence: Mapping[str, Any]) -> str | None:
        liked, count = evidence.get("neighbours_liked", 0), evidence.get("neighbour_count", 0)
        if liked and count:
            return f"{liked} of {count} people with your taste gave it 4★+"
        return None

    def upsert_user(self, user: str, profile: Mapping[int, float] | None) -> None:
        self.model.upsert_user(user, profile)
