"""The content recommender ``sbert``: movies whose story is closest to the person's taste.

Movie texts come from :mod:`recommender.movie_text`, their SBERT vectors from
:mod:`recommender.embeddings` (cached on disk), and the vectors with their exact cosine search
from :class:`recommender.movie_vectors.MovieVectors`.

A person's **content vector** is the rating-weighted mean of the vectors of the movies they
liked (rated 4★+), normalised to unit length (reference system B's running average). When the
profile likes nothing, the person's best-rated movies stand in. Candidates are the movies
nearest to that vector by cosine, by exact search: one matrix-vector product over 9,742 × 384
float32 plus a partial sort. Measured by ``python -m scripts.embed --bench`` (profile vector +
top 24, 1000 queries, one thread, on a shared 2-core machine with load average 8): CPU time
p50 1.9 ms, p99 3.2 ms; wall time p50 2.1 ms, p99 17 ms. No approximate index is needed at this
size.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from recommender.base import (
    LIKED_RATING,
    MAX_RATING,
    MIN_RATING,
    Profile,
    Recommender,
    Scores,
    UserKey,
)
from recommender.embeddings import (
    EMBEDDING_DIM,
    MODEL_NAME,
    EmbeddingCache,
    Encoder,
    SentenceEncoder,
    default_encoder,
    model_path,
    text_key,
    unit_rows,
)
from recommender.movie_text import load_catalogue_texts, movie_text, movie_texts, with_overviews
from recommender.movie_vectors import MovieVectors

__all__ = [  # the texts, encoder and vectors are used through this module too
    "EMBEDDING_DIM",
    "MODEL_NAME",
    "ContentRecommender",
    "EmbeddingCache",
    "Encoder",
    "MovieVectors",
    "SentenceEncoder",
    "default_encoder",
    "describe",
    "load_catalogue_texts",
    "model_path",
    "movie_text",
    "movie_texts",
    "text_key",
    "with_overviews",
]


def describe(
    query: str,
    vectors: MovieVectors,
    k: int = 200,
    *,
    encoder: Encoder | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Movies matching a free-text description: ``(movie ids, cosines)``, best first.

    ``query`` (e.g. ``"a slow-burn space mystery"``) is encoded with the same SBERT model as
    the movies and the ``k`` nearest movies by cosine (-1..1) are returned. Rank that subset
    for a person with ``blend.recommend(profile, candidates=ids)``.
    """
    query = " ".join(str(query).split())
    if not query:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    encoder = encoder or default_encoder()
    vector = unit_rows(np.asarray(encoder([query]), dtype=np.float32))[0]
    return vectors.nearest(vector, k)


class ContentRecommender(Recommender):
    """Recommender ``sbert``: movies whose text is closest to the person's content vector.

    - ``rank``: cosine (-1..1) between the movie's vector and the profile's content vector
      (see :meth:`MovieVectors.profile_vector`).
    - ``predicted``: the profile's mean rating shifted by ``slope × (cosine − mean cosine)``,
      clipped to 0.5–5 (a rough rating; the blend learns how much content is worth).
    - ``match``: ``100 × max(cosine, 0)`` (a similarity, *not* a probability; the blend's
      match is the calibrated one).
    - evidence: ``content_similarity`` (the cosine), ``nearest_liked`` (id of the liked movie
      whose text is closest, or -1) and ``nearest_liked_similarity``.

    ``texts`` overrides the movie texts (``{movieId: text}``); otherwise they are built from
    ``movies`` plus configured overviews and tags. ``encoder``/``cache`` default to the shared
    SBERT encoder and ``ARTIFACTS_DIR/embeddings``.
    """

    name = "sbert"

    def __init__(
        self,
        *,
        texts: Mapping[int, str] | None = None,
        vectors: MovieVectors | None = None,
        encoder: Encoder | None = None,
        cache: EmbeddingCache | None = None,
        slope: float = 4.0,
        progress: bool = False,
    ):
        self.texts = texts
        self.vectors = vectors
        self.encoder = encoder
        self.cache = cache
        self.slope = slope
        self.progress = progress

    def fit(self, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> ContentRecommender:
        """Encode the catalogue (movies in ``movies`` plus any rated movie) through the cache."""
        ids = set(ratings["movieId"].astype(int))
        if movies is not None:
            ids |= set(movies["movieId"].astype(int))
        self.default_rating = float(ratings["rating"].mean()) if len(ratings) else 3.5
        if self.vectors is None or not set(self.vectors.movie_ids.tolist()) >= ids:
            texts = dict(self.texts) if self.texts is not None else {}
            if movies is not None and self.texts is None:
                texts = load_catalogue_texts(movies)
            for movie_id in ids - texts.keys():
                texts[movie_id] = f"Movie {movie_id}."
            texts = {m: t for m, t in texts.items() if m in ids}
            self.vectors = MovieVectors.build(
                texts, encoder=self.encoder, cache=self.cache, progress=self.progress
            )
        self.movie_ids = self.vectors.movie_ids
        return self

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Cosine of every movie to the profile's content vector (see class docstring)."""
        vectors = self.vectors
        n = len(vectors)
        vector = vectors.profile_vector(profile)
        nearest = np.full(n, -1, dtype=np.int64)
        nearest_sim = np.zeros(n, dtype=np.float32)
        if vector is None:
            sims = np.zeros(n, dtype=np.float32)
            predicted = np.full(n, np.nan)
        else:
            sims = vectors.cosine(vector)
            mean = float(np.mean(list(profile.values())))
            predicted = np.clip(
                mean + self.slope * (sims - float(sims.mean())), MIN_RATING, MAX_RATING
            )
            liked = [m for m, r in profile.items() if r >= LIKED_RATING]
            rows = vectors.rows(liked)
            if len(rows):
                pair = vectors.matrix @ vectors.matrix[rows].T  # (n, n_liked)
                pair[rows, np.arange(len(rows))] = -np.inf  # a movie is not its own reason
                best = np.argmax(pair, axis=1)
                nearest = vectors.movie_ids[rows][best]
                nearest_sim = pair[np.arange(n), best].astype(np.float32)
                nearest_sim[~np.isfinite(nearest_sim)] = 0.0
        return Scores(
            movie_ids=self.movie_ids,
            predicted=np.asarray(predicted, dtype=np.float64),
            rank=sims.astype(np.float64),
            match=100.0 * np.clip(sims, 0.0, 1.0),
            evidence={
                "content_similarity": sims.astype(np.float64),
                "nearest_liked": nearest,
                "nearest_liked_similarity": nearest_sim.astype(np.float64),
            },
            context={"content_profile_size": int(vector is not None)},
        )

    def similar(self, movie_id: int, k: int = 12) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` movies whose text is closest to ``movie_id``: ``(ids, cosines)``."""
        return self.vectors.similar(movie_id, k)

    def describe(self, query: str, k: int = 200) -> tuple[np.ndarray, np.ndarray]:
        """See :func:`describe`."""
        return describe(query, self.vectors, k, encoder=self.encoder)
