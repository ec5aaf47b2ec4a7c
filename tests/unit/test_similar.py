"""Similar movies: cosine neighbours of movie vectors, on synthetic clusters with a known answer,
and on a small trained embedding model."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.similar import MovieVectors, similar_movies


@pytest.fixture()
def clusters(rng) -> MovieVectors:
    """30 movies (ids 100..129) in three tight clusters of 10 around orthogonal directions:
    ids 100–109 near e0, 110–119 near e1, 120–129 near e2 (8-dimensional, small noise)."""
    centres = np.eye(8)[:3] * 3.0
    vectors = np.repeat(centres, 10, axis=0) + rng.normal(0, 0.1, (30, 8))
    return MovieVectors.from_matrix(np.arange(100, 130), vectors)


def test_one_movie_returns_its_own_cluster_best_first(clusters):
    ids, cosine = similar_movies(clusters, [103], k=9)
    assert set(ids.tolist()) == set(range(100, 110)) - {103}
    assert (np.diff(cosine) <= 0).all() and cosine.min() > 0.9
    assert ((cosine >= -1) & (cosine <= 1)).all()


def test_a_set_of_movies_uses_the_mean_of_their_vectors(clusters):
    ids, cosine = similar_movies(clusters, [101, 112], k=18)
    # the centroid sits between clusters 0 and 1: all of both come before any of cluster 2
    assert set(ids.tolist()) == (set(range(100, 120)) - {101, 112})
    assert cosine.min() > 0.5 and cosine.max() < 0.9
    ids, _ = similar_movies(clusters, [101, 112], k=30)
    assert set(ids[-10:].tolist()) == set(range(120, 130))


def test_queries_are_never_returned_and_unknown_ids_are_ignored(clusters):
    ids, _ = similar_movies(clusters, [100, 5], k=50)
    assert 100 not in ids and len(ids) == 29
    ids, cosine = similar_movies(clusters, [5, 6], k=5)
    assert len(ids) == 0 and len(cosine) == 0


def test_ineligible_movies_are_not_returned(clusters):
    eligible = np.ones(30, bool)
    eligible[[0, 1, 2]] = False  # ids 100, 101, 102 (e.g. too few ratings)
    vectors = MovieVectors(clusters.movie_ids, clusters.unit, eligible)
    ids, _ = similar_movies(vectors, [100], k=9)
    assert not {100, 101, 102} & set(ids.tolist())
    assert set(ids.tolist()) <= set(range(103, 110)) | set(range(110, 130))


def test_trained_embedding_model_puts_same_taste_movies_together():
    from recommender.models import make_model
    from recommender.neural.runtime import limit_threads
    from tests.recommender_contract import ACTION, ROMANCE, taste_groups

    limit_threads(2)
    ratings, movies = taste_groups()
    model = make_model(
        "embed", dim=8, l2_rows=1e-3, epochs=20, batch_size=64, learning_rate=2e-2, seed=3
    ).fit(ratings, movies)
    ids, cosine = similar_movies(model, [ACTION[0]], k=5)
    assert set(ids.tolist()) <= set(ACTION)  # unrated movies 21, 22 are not eligible
    ids, _ = similar_movies(model, ROMANCE[:3], k=5)
    assert set(ids.tolist()) <= set(ROMANCE) - set(ROMANCE[:3])
