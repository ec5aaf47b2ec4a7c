"""Blend component ``coliked``: "people who liked Heat also liked this" (item co-ratings).

Features from :class:`recommender.coliked.CoLiked` for the profile: P(liked | liked) and
P(rated | rated) averaged over the profile's movies, the co-like cosine, the share of the
best co-liked movie, the lift of P(rated | rated) over the movie's base rate, and both
conditional shares relative to this profile's best movie (comparable across profile sizes).
Candidates: the top movies by P(rated | rated) and by co-like cosine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from recommender.base import UserKey
from recommender.blend.component import Catalogue, Component, Opinion, TrainingData
from recommender.coliked import CoLiked
from recommender.popularity import MovieStats
from recommender.reasons import known, stars

MIN_COLIKED_SHARE = 0.05
"""Share of co-likers below which "people who liked X rate it highly" is not claimed."""


def _relative(values: np.ndarray) -> np.ndarray:
    top = float(values.max(initial=0.0))
    return values / top if top > 0 else values


@dataclass
class CoLikedOpinion(Opinion):
    """Arrays ``(n,)`` over the catalogue (see :meth:`recommender.coliked.CoLiked.score`)."""

    liked_given_liked: np.ndarray
    rated_given_rated: np.ndarray
    liked_cosine: np.ndarray
    best_liked: np.ndarray
    best_liked_share: np.ndarray
    lift_log: np.ndarray
    profile: dict[int, float]
    catalogue: Catalogue

    def features(self, idx: np.ndarray) -> np.ndarray:
        return np.column_stack(
            [
                self.liked_given_liked[idx],
                self.rated_given_rated[idx],
                self.liked_cosine[idx],
                self.best_liked_share[idx],
                self.lift_log[idx],
                _relative(self.rated_given_rated)[idx],
                _relative(self.liked_given_liked)[idx],
            ]
        )

    def candidates(self) -> list[np.ndarray]:
        return [self.rated_given_rated, self.liked_cosine]

    def evidence(self, idx: np.ndarray) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for p in idx:
            movie = int(self.best_liked[p])
            if movie < 0:
                out.append({})
                continue
            out.append(
                {
                    "coliked_movie": movie,
                    "coliked_title": self.catalogue.titles.get(movie),
                    "coliked_your_rating": float(self.profile.get(movie, np.nan)),
                    "coliked_share": round(float(self.best_liked_share[p]), 3),
                }
            )
        return out


class CoLikedComponent(Component):
    name = "coliked"
    features = (
        "co_liked_given_liked",
        "co_rated_given_rated",
        "co_liked_cosine",
        "co_best_share",
        "co_rated_lift_log",
        "co_rated_relative",
        "co_liked_relative",
    )

    def fit(self, data: TrainingData) -> CoLikedComponent:
        fitted = self.clone()
        fitted.coliked = CoLiked(data.ratings, data.catalogue.movie_ids)
        fitted.catalogue = data.catalogue
        n_people = max(int(data.ratings["userId"].nunique()), 1)
        fitted.rated_share = MovieStats(data.ratings, data.catalogue.movie_ids).count / n_people
        return fitted

    def opinion(self, profile: dict[int, float], user: UserKey | None) -> CoLikedOpinion:
        co = self.coliked.score(profile)
        lift = np.log((co["rated_given_rated"] + 1e-4) / (self.rated_share + 1e-4))
        return CoLikedOpinion(**co, lift_log=lift, profile=profile, catalogue=self.catalogue)

    @staticmethod
    def sentence(evidence: Mapping[str, Any]) -> str | None:
        title, rating = evidence.get("coliked_title"), evidence.get("coliked_your_rating")
        share = evidence.get("coliked_share", 0.0) or 0.0
        if title and known(rating) and share >= MIN_COLIKED_SHARE:
            return (
                f"people who liked {title} (you: {stars(rating)}) rate it highly — "
                f"{round(100 * share)}% of them gave it 4★+"
            )
        return None
