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
