"""Blend component ``content``: SBERT story vectors (:mod:`recommender.content`) and genres.

Features: cosine between the movie's vector and the profile's content vector, cosine to the
nearest liked movie by story, and the overlap of its genres with the liked movies' genres.
Candidates: the movies closest to the content vector. The vectors do not depend on who is held
out, so they are built once (:meth:`ContentComponent.prepare`) and shared by every fold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from recommender.base import LIKED_RATING, UserKey
from recommender.blend.component import Catalogue, Component, Opinion, TrainingData
from recommender.movie_vectors import MovieVectors
from recommender.reasons import known, stars
from recommender.vocabulary import take

if TYPE_CHECKING:
    from recommender.blend.model import BlendRecommender

MIN_STORY_SIMILARITY = 0.35
"""Cosine (0–1) below which "its story is close to ..." is not claimed."""


@dataclass
class ContentOpinion(Opinion):
    """``cosine`` ``(n,)`` of every catalogue movie to the profile's content vector (NaN: no
    vector), and the profile's normalised genre ``taste`` ``(n_genres,)``."""

    cosine: np.ndarray
    taste: np.ndarray
    profile: dict[int, float]
    vectors: MovieVectors
    index: np.ndarray
    catalogue: Catalogue

    def nearest_liked(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(movie id of the liked movie closest in story, or -1; its cosine) for each of
        ``idx``."""
        vectors = self.vectors
        liked = [m for m, r in self.profile.items() if r >= LIKED_RATING]
        rows = vectors.rows(liked) if liked else np.zeros(0, np.int64)
        nearest = np.full(len(idx), -1, dtype=np.int64)
        sims = np.zeros(len(idx))
        vpos = self.index[idx]
        ok = vpos >= 0
        if not len(rows) or not ok.any():
            return nearest, sims
        pair = vectors.matrix[vpos[ok]] @ vectors.matrix[rows].T
        best = np.argmax(pair, axis=1)
        nearest[ok] = vectors.movie_ids[rows][best]
        sims[ok] = pair[np.arange(len(best)), best]
        return nearest, sims

    def features(self, idx: np.ndarray) -> np.ndarray:
        genres = self.catalogue.genres[idx]
        norms = np.linalg.norm(genres, axis=1)
        overlap = (genres @ self.taste) / np.where(norms > 0, norms, 1.0)
        return np.column_stack([self.cosine[idx], self.nearest_liked(idx)[1], overlap])

    def candidates(self) -> list[np.ndarray]:
        return [self.cosine]

    def evidence(self, idx: np.ndarray) -> list[dict[str, Any]]:
        nearest, sims = self.nearest_liked(idx)
        out: list[dict[str, Any]] = []
        for j, p in enumerate(idx):
            movie = int(nearest[j])
            if movie < 0:
                out.append({})
                continue
            out.append(
                {
                    "content_similarity": round(float(self.cosine[p]), 3),
                    "nearest_liked": movie,
                    "nearest_liked_title": self.catalogue.titles.get(movie),
                    "nearest_liked_your_rating": float(self.profile.get(movie, np.nan)),
                    "nearest_liked_similarity": round(float(sims[j]), 3),
                }
            )
        return out


class ContentComponent(Component):
    """``content_model``: a :class:`~recommender.content.ContentRecommender` to reuse (its
    vectors are kept when they cover the catalogue)."""

    name = "content"
    features = ("content_cosine", "content_nearest_liked", "content_genre_overlap")

    def __init__(self, content_model: Any | None = None, progress: bool = False):
        self.content_model = content_model
        self.progress = progress
        self.vectors: MovieVectors | None = None

    @classmethod
    def configure(cls, blend: BlendRecommender) -> ContentComponent | None:
        return cls(blend.content_model, blend.progress) if blend.use_content else None

    def prepare(self, data: TrainingData) -> None:
        from recommender.content import ContentRecommender

        content = self.content_model or ContentRecommender(progress=self.progress)
        ids = data.catalogue.movie_ids
        if content.vectors is None or not np.isin(ids, content.vectors.movie_ids).all():
            content.fit(data.ratings, data.movies)
        self.vectors = content.vectors

    def fit(self, data: TrainingData) -> ContentComponent:
        if self.vectors is None:
            raise RuntimeError("content vectors were not built (prepare failed)")
        fitted = self.clone()
        fitted.content_model = None  # the encoder is not kept (nor pickled)
        fitted.catalogue = data.catalogue
        fitted.index = data.catalogue.align(self.vectors.movie_ids)
        return fitted

    def opinion(self, profile: dict[int, float], user: UserKey | None) -> ContentOpinion | None:
        vector = self.vectors.profile_vector(profile)
        if vector is None:
            return None
        liked = [m for m, r in profile.items() if r >= LIKED_RATING] or [
            m for m, r in profile.items() if r == max(profile.values(), default=0)
        ]
        pos, ok = self.catalogue.lookup(np.array(liked, dtype=np.int64))
        genres = self.catalogue.genres
        taste = genres[pos[ok]].sum(axis=0) if ok.any() else np.zeros(genres.shape[1])
        norm = np.linalg.norm(taste)
        return ContentOpinion(
            cosine=take(self.vectors.cosine(vector), self.index),
            taste=taste / norm if norm > 0 else taste,
            profile=profile,
            vectors=self.vectors,
            index=self.index,
            catalogue=self.catalogue,
        )

    @staticmethod
    def sentence(evidence: Mapping[str, Any]) -> str | None:
        title = evidence.get("nearest_liked_title")
        rating = evidence.get("nearest_liked_your_rating")
        similarity = evidence.get("nearest_liked_similarity", 0.0) or 0.0
        if title and known(rating) and similarity >= MIN_STORY_SIMILARITY:
            return f"its story is close to {title}, which you rated {stars(rating)}"
        return None
