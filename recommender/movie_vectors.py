"""Movie vectors: one unit-length vector per movie, aligned with sorted movie ids, with exact
cosine search.

The one class for every kind of movie vector: SBERT story vectors
(:meth:`MovieVectors.build`, :mod:`recommender.content`), a neural model's learned movie
embeddings (:meth:`MovieVectors.from_model`, :mod:`recommender.similar`), or any matrix
(:meth:`MovieVectors.from_matrix`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from recommender.base import LIKED_RATING, Profile
from recommender.embeddings import unit_rows

if TYPE_CHECKING:
    from recommender.embeddings import EmbeddingCache, Encoder


class MovieVectors:
    """Unit-length vectors of a catalogue (zero rows stay zero), with exact cosine search.

    ``movie_ids``: sorted int64 ``(n,)``; ``matrix`` (also ``unit``): float32 ``(n, dim)``, row
    ``i`` belongs to ``movie_ids[i]``; ``eligible``: bool ``(n,)``, the movies that may be
    *returned* by :func:`recommender.similar.similar_movies` (never a zero vector; e.g. only
    movies rated a few times in training, whose learned embedding is not noise); ``texts``:
    the text each vector was encoded from (SBERT vectors only).
    """

    def __init__(
        self,
        movie_ids: np.ndarray,
        matrix: np.ndarray,
        eligible: np.ndarray | None = None,
        texts: Sequence[str] = (),
    ):
        order = np.argsort(movie_ids, kind="stable")
        self.movie_ids = np.asarray(movie_ids, dtype=np.int64)[order]
        self.matrix = np.ascontiguousarray(unit_rows(np.asarray(matrix, dtype=np.float32)[order]))
        ok = np.ones(len(order), bool) if eligible is None else np.asarray(eligible, bool)[order]
        self.eligible = ok & (np.linalg.norm(self.matrix, axis=1) > 0)
        self.texts = [texts[i] for i in order] if len(texts) else []
        self._row = {int(m): i for i, m in enumerate(self.movie_ids)}

    @property
    def unit(self) -> np.ndarray:
        """The unit vectors ``(n, dim)`` (the same array as ``matrix``)."""
        return self.matrix

    @classmethod
    def from_matrix(
        cls, movie_ids: np.ndarray, vectors: np.ndarray, eligible: np.ndarray | None = None
    ) -> MovieVectors:
        """Any ``(n, d)`` matrix, normalised row-wise."""
        return cls(movie_ids, vectors, eligible)

    @classmethod
    def from_model(cls, model, min_ratings: int = 1) -> MovieVectors:
        """A fitted neural model's movie embeddings; movies with fewer than ``min_ratings``
        training ratings are never returned (they can still be asked about)."""
        eligible = model.features.movie_count >= min_ratings
        return cls(model.movie_ids, model.movie_vectors(), eligible)

    @classmethod
    def build(
        cls,
        texts: Mapping[int, str],
        *,
        encoder: Encoder | None = None,
        cache: EmbeddingCache | None = None,
        progress: bool = False,
    ) -> MovieVectors:
        """Encode ``{movieId: text}`` with SBERT through ``cache`` (default:
        ``ARTIFACTS_DIR/embeddings``)."""
        from recommender.embeddings import EmbeddingCache, default_encoder

        encoder = encoder or default_encoder()
        cache = cache if cache is not None else EmbeddingCache()
        ids = np.fromiter(texts.keys(), dtype=np.int64, count=len(texts))
        values = list(texts.values())
        return cls(ids, cache.embed(values, encoder, progress=progress), texts=values)

    def __len__(self) -> int:
        return len(self.movie_ids)

    def rows(self, movie_ids: Iterable[int]) -> np.ndarray:
        """Row index of each known movie id (unknown ids are skipped)."""
        return np.array([self._row[int(m)] for m in movie_ids if int(m) in self._row], np.int64)

    def vector(self, movie_id: int) -> np.ndarray | None:
        """The unit vector of ``movie_id``, or ``None`` if it is not in the catalogue."""
        row = self._row.get(int(movie_id))
        return None if row is None else self.matrix[row]

    def profile_vector(self, profile: Profile) -> np.ndarray | None:
        """The person's content vector (unit ``(dim,)``), or ``None`` for an empty profile.

        Rating-weighted mean of the vectors of the liked movies (rating >= 4); if none is
        liked, of the best-rated movies in the profile.
        """
        known = {m: r for m, r in profile.items() if int(m) in self._row}
        if not known:
            return None
        liked = {m: r for m, r in known.items() if r >= LIKED_RATING}
        if not liked:
            best = max(known.values())
            liked = {m: r for m, r in known.items() if r == best}
        rows = self.rows(liked)
        weights = np.array([liked[m] for m in liked], dtype=np.float32)
        vector = weights @ self.matrix[rows]
        norm = float(np.linalg.norm(vector))
        return vector / norm if norm > 0 else None

    def cosine(self, vector: np.ndarray) -> np.ndarray:
        """Cosine of every movie to a unit ``vector`` (``(n,)``, -1..1)."""
        return self.matrix @ np.asarray(vector, dtype=np.float32)

    def nearest(
        self, vector: np.ndarray, k: int = 10, *, exclude: Iterable[int] = ()
    ) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` movies nearest ``vector`` by cosine: ``(movie ids, cosines)``, best first."""
        sims = self.cosine(vector)
        banned = self.rows(exclude)
        if len(banned):
            sims = sims.copy()
            sims[banned] = -np.inf
        k = min(k, int(np.isfinite(sims).sum()))
        if k <= 0:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        top = np.argpartition(-sims, k - 1)[:k]
        top = top[np.lexsort((self.movie_ids[top], -sims[top]))]
        return self.movie_ids[top], sims[top]

    def similar(self, movie_id: int, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` movies whose vector is closest to ``movie_id``'s (itself excluded)."""
        vector = self.vector(movie_id)
        if vector is None:
            return np.zeros(0, np.int64), np.zeros(0, np.float32)
        return self.nearest(vector, k, exclude=[movie_id])

    def save(self, directory: Path) -> None:
        """Write ``movie_ids.npy``, ``vectors.npy`` and ``texts.json`` to ``directory``.

        Each file is written under a temporary name and renamed into place, ``vectors.npy``
        last, so a worker reading the folder while a build rewrites it never gets half a file
        (the worker notices new vectors by ``vectors.npy``'s modification time)."""
        directory.mkdir(parents=True, exist_ok=True)
        parts = [
            ("texts.json", lambda f: f.write(json.dumps(self.texts).encode())),
            ("movie_ids.npy", lambda f: np.save(f, self.movie_ids)),
            ("vectors.npy", lambda f: np.save(f, self.matrix)),
        ]
        for name, write in parts:
            temporary = directory / f".{name}.{os.getpid()}"
            with open(temporary, "wb") as file:
                write(file)
            os.replace(temporary, directory / name)

    @classmethod
    def load(cls, directory: Path) -> MovieVectors:
        """Read what :meth:`save` wrote."""
        texts_path = directory / "texts.json"
        texts = json.loads(texts_path.read_text()) if texts_path.exists() else []
        return cls(
            np.load(directory / "movie_ids.npy"), np.load(directory / "vectors.npy"), texts=texts
        )
