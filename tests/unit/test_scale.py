"""What keeps the build's cost from growing badly with data (issue 15 point 3), in small."""

from __future__ import annotations

import numpy as np

from scripts.plot_embeddings import map_movies


def test_the_embedding_map_draws_at_most_the_most_rated_movies():
    counts = np.array([50, 3, 20, 90, 20, 19, 70, 25])
    assert map_movies(counts, min_ratings=20, max_movies=100).tolist() == [0, 2, 3, 4, 6, 7]
    # only the 3 most-rated of the eligible ones, in position order
    assert map_movies(counts, min_ratings=20, max_movies=3).tolist() == [0, 3, 6]
    # ties keep the lower position
    assert map_movies(counts, min_ratings=20, max_movies=5).tolist() == [0, 2, 3, 6, 7]


def test_the_map_of_an_ml25m_sized_catalogue_is_bounded():
    counts = np.random.default_rng(0).zipf(1.3, size=62_000)
    drawn = map_movies(counts, min_ratings=1, max_movies=5_000)
    assert len(drawn) == 5_000
    assert counts[drawn].min() >= np.sort(counts)[-5_000]
