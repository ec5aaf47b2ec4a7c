"""Similar movies: cosine similarity of a model's movie embeddings.

``similar_movies(model, [movie_id], k)`` answers "more like this movie"; with several ids it
answers "more like this set" using the mean of their normalised vectors (the centroid). Works
with any fitted model exposing ``movie_ids`` (sorted ``(n,)``) and ``movie_vectors()``
(``(n, d)``) — the neural models, chiefly ``embed`` — or with a plain
:class:`MovieVectors` built from any matrix.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from recommender.movie_vectors import MovieVectors


def similar_movies(
    model, movie_ids: Iterable[int], k: int = 12, *, min_ratings: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` movies most similar to ``movie_ids``: ``(ids int64 (k,), cosine (k,))``.

    ``model`` is a fitted neural model or a :class:`MovieVectors` (pass one to avoid
    re-normalising on every call). Cosine is in [-1, 1], best first; ties broken by movie id.
    The query movies themselves are never returned; unknown ids are ignored, and if none is
    known the result is empty.
    """
    vectors = (
        model if isinstance(model, MovieVectors) else MovieVectors.from_model(model, min_ratings)
    )
    wanted = np.asarray(list(movie_ids), dtype=np.int64)
    pos = np.minimum(np.searchsorted(vectors.movie_ids, wanted), len(vectors.movie_ids) - 1)
    rows = pos[vectors.movie_ids[pos] == wanted] if len(wanted) else pos[:0]
    if len(rows) == 0 or k <= 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    centre = vectors.unit[rows].mean(axis=0)
    norm = np.linalg.norm(centre)
    if norm == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    cosine = vectors.unit @ (centre / norm)
    allowed = vectors.eligible.copy()
    allowed[rows] = False
    pool = np.flatnonzero(allowed)
    k = min(k, len(pool))
    top = pool[np.argpartition(-cosine[pool], k - 1)[:k]] if k else pool
    top = top[np.lexsort((vectors.movie_ids[top], -cosine[top]))]
    return vectors.movie_ids[top], cosine[top].astype(np.float64)


# --------------------------------------------------------------------------- more like this

SIMILAR_WEIGHTS: dict[str, float] = {
    "content": 0.5,
    "genres": 0.2,
    "embed": 0.2,
    "popularity": 0.3,
}
"""Weight of each part of "more like this" (applied to z-scores, see :class:`MoreLikeThis`):
what the movie is about (``content``: SBERT vectors of title, overview, tagline and tags), its
genres (``genres``), who liked it (``embed``: the embedding model's movie vectors) and how many
people rated it (``popularity``: log of the rating count — among equally close movies, the one
a person has heard of). Chosen on the fixed cases of
:data:`recommender.content_quality.SIMILAR_CASES` (``python -m scripts.content_quality``
prints the hit rate of each part alone and of this combination)."""

SIMILARITY_PARTS = ("content", "genres", "embed")
"""The parts that compare two movies (``popularity`` is a prior on the candidate alone)."""

PARTS = (*SIMILARITY_PARTS, "popularity")


def _aligned(ids: np.ndarray, source_ids: np.ndarray, unit: np.ndarray) -> np.ndarray:
    """Rows of ``unit`` (aligned with sorted ``source_ids``) re-ordered to ``ids``; movies
    missing from the source get a zero row."""
    out = np.zeros((len(ids), unit.shape[1]), dtype=np.float32)
    pos = np.minimum(np.searchsorted(source_ids, ids), max(len(source_ids) - 1, 0))
    found = source_ids[pos] == ids if len(source_ids) else np.zeros(len(ids), bool)
    out[found] = unit[pos[found]]
    return out


def _unit_rows(matrix: np.ndarray) -> np.ndarray:
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)


class MoreLikeThis:
    """ "More like this": movies close in story, genres and audience at once.

    Built over one catalogue (``movie_ids`` sorted int64 ``(n,)``) from up to three parts, each
    a matrix of unit row vectors aligned with ``movie_ids`` (a zero row = the part does not
    know that movie):

    - ``content``: SBERT content vectors (:class:`recommender.content.MovieVectors`);
    - ``genres``: the genre indicator rows (``Catalog.genre_matrix``), normalised, so their
      cosine is ``shared genres / sqrt(genres of a × genres of b)``;
    - ``embed``: the embedding model's movie vectors (:class:`MovieVectors`).

    For a query movie, each part known for it gives the cosine (-1..1) of every movie to it;
    each is turned into a z-score over the movies that part knows (so parts on different
    scales weigh what their weights say; a candidate a part does not know gets z = 0), and
    ``popularity`` adds the z-score of ``log(1 + rating count)``. The score is the weighted
    mean of those z-scores over the parts used (weights renormalised over them). Only movies
    with at least ``min_ratings`` ratings (``rating_counts``) are returned, never the query
    itself; a query no comparing part knows has no similar movies.
    """

    def __init__(
        self,
        movie_ids: np.ndarray,
        parts: dict[str, np.ndarray],
        rating_counts: np.ndarray,
        *,
        weights: dict[str, float] | None = None,
        min_ratings: int = 5,
    ):
        self.movie_ids = np.asarray(movie_ids, dtype=np.int64)
        self.parts = {name: _unit_rows(m) for name, m in parts.items() if m is not None}
        self.known = {name: np.linalg.norm(m, axis=1) > 0 for name, m in self.parts.items()}
        self.weights = dict(SIMILAR_WEIGHTS if weights is None else weights)
        counts = np.asarray(rating_counts, dtype=np.float64)
        self.eligible = counts >= min_ratings
        popular = np.log1p(counts)
        pool = popular[self.eligible] if self.eligible.any() else popular
        self.popularity = (popular - pool.mean()) / (float(pool.std()) or 1.0)

    @classmethod
    def build(
        cls,
        catalog,
        *,
        content=None,
        embed: MovieVectors | None = None,
        weights: dict[str, float] | None = None,
        min_ratings: int = 5,
    ) -> MoreLikeThis:
        """From a :class:`recommender.catalog.Catalog` (ids, genres, rating counts), SBERT
        ``content`` vectors and ``embed`` movie vectors (either may be ``None``)."""
        ids = catalog.ids
        parts: dict[str, np.ndarray] = {"genres": catalog.genre_matrix.astype(np.float32)}
        if content is not None:
            parts["content"] = _aligned(ids, content.movie_ids, content.matrix)
        if embed is not None:
            parts["embed"] = _aligned(ids, embed.movie_ids, embed.unit)
        return cls(ids, parts, catalog.rating_counts, weights=weights, min_ratings=min_ratings)

    def _row(self, movie_id: int) -> int | None:
        pos = int(np.searchsorted(self.movie_ids, movie_id))
        ok = pos < len(self.movie_ids) and self.movie_ids[pos] == movie_id
        return pos if ok else None

    def sources(self, movie_id: int, use: Iterable[str] = PARTS) -> list[str]:
        """The parts (of ``use``, with a positive weight) that score ``movie_id``'s
        neighbours: the comparing parts that know it, plus ``popularity`` if one does."""
        row = self._row(int(movie_id))
        if row is None:
            return []
        use = list(use)
        names = [
            name
            for name in use
            if name in self.parts and self.known[name][row] and self.weights.get(name, 0) > 0
        ]
        if names and "popularity" in use and self.weights.get("popularity", 0) > 0:
            names.append("popularity")
        return names

    def scores(self, movie_id: int, use: Iterable[str] = PARTS) -> np.ndarray | None:
        """Combined score of every catalogue movie for ``movie_id`` (z-score scale), or
        ``None`` when no part of ``use`` knows the movie."""
        row = self._row(int(movie_id))
        names = self.sources(movie_id, use)
        if row is None or not names:
            return None
        total = np.zeros(len(self.movie_ids), dtype=np.float64)
        weight_sum = sum(self.weights[name] for name in names)
        for name in names:
            if name == "popularity":
                total += self.weights[name] / weight_sum * self.popularity
                continue
            matrix, known = self.parts[name], self.known[name]
            cosine = matrix @ matrix[row]
            pool = cosine[known]
            spread = float(pool.std()) or 1.0
            z = np.where(known, (cosine - float(pool.mean())) / spread, 0.0)
            total += self.weights[name] / weight_sum * z
        return total

    @staticmethod
    def closeness(scores: np.ndarray) -> np.ndarray:
        """Scores (weighted z-scores) shown as a closeness in -1..1: ``tanh(score / 3)``, so
        0 is an average movie and the order is kept (a score of 3, three spreads above the
        average, shows as 0.76)."""
        return np.tanh(np.asarray(scores, dtype=np.float64) / 3.0)

    def similar(
        self, movie_id: int, k: int = 12, use: Iterable[str] = PARTS
    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """The ``k`` movies most like ``movie_id``: ``(ids int64, scores float64, parts used)``,
        best first (ties by id). Empty when no part knows the movie."""
        scores = self.scores(movie_id, use)
        if scores is None or k <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float64), []
        allowed = self.eligible.copy()
        allowed[self._row(int(movie_id))] = False
        pool = np.flatnonzero(allowed)
        k = min(k, len(pool))
        top = pool[np.argpartition(-scores[pool], k - 1)[:k]] if k else pool
        top = top[np.lexsort((self.movie_ids[top], -scores[top]))]
        return self.movie_ids[top], scores[top], self.sources(movie_id, use)
