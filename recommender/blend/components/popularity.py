"""Blend component ``popularity``: how many people rated and liked each movie (always there).

Features: log share of people who rated / liked (4★+) the movie, its damped mean rating and
damped liked share (:mod:`recommender.popularity`), and its release year. The opinion does not
depend on the profile, so it is computed once when fitting. Candidates: the most liked movies.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.base import UserKey
from recommender.blend.component import Component, Opinion, TrainingData
from recommender.popularity import DEFAULT_DAMPING, MovieStats


@dataclass
class PopularityOpinion(Opinion):
    """Arrays ``(n,)`` over the catalogue; ``rank`` orders by 4★+ count, then damped mean."""

    rated_log: np.ndarray
    liked_log: np.ndarray
    damped_mean: np.ndarray
    liked_share: np.ndarray
    year: np.ndarray
    rank: np.ndarray
    ratings: np.ndarray
    liked: np.ndarray

    def features(self, idx: np.ndarray) -> np.ndarray:
        return np.column_stack(
            [
                self.rated_log[idx],
                self.liked_log[idx],
                self.damped_mean[idx],
                self.liked_share[idx],
                self.year[idx],
            ]
        )

    def candidates(self) -> list[np.ndarray]:
        return [self.rank]

    def evidence(self, idx: np.ndarray) -> list[dict[str, Any]]:
        return [{"ratings": int(self.ratings[p]), "liked": int(self.liked[p])} for p in idx]


class Popularity(Component):
    name = "popularity"
    features = ("pop_rated_log", "pop_liked_log", "pop_damped_mean", "pop_liked_share", "year")
    optional = False

    def fit(self, data: TrainingData) -> Popularity:
        stats = MovieStats(data.ratings, data.catalogue.movie_ids)
        n_people = max(int(data.ratings["userId"].nunique()), 1)
        damped_mean = stats.damped_mean(DEFAULT_DAMPING)
        fitted = self.clone()
        fitted._opinion = PopularityOpinion(
            rated_log=np.log((stats.count + 1.0) / n_people),
            liked_log=np.log((stats.liked + 1.0) / n_people),
            damped_mean=damped_mean,
            liked_share=stats.damped_liked_share(DEFAULT_DAMPING),
            year=data.catalogue.year,
            rank=stats.liked + damped_mean / 10.0,
            ratings=stats.count,
            liked=stats.liked,
        )
        return fitted

    def opinion(self, profile: dict[int, float], user: UserKey | None) -> PopularityOpinion:
        return self._opinion

    @staticmethod
    def sentence(evidence: Mapping[str, Any]) -> str | None:
        liked = evidence.get("liked", 0)
        if liked:
            return f"popular: {liked} people gave it 4★+"
        return "a pick from the whole catalogue"
