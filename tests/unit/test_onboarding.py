"""The newcomer's grid order (recommender/onboarding.py): entropy, recognisable movies first,
genres taking turns, the same movies as today's grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recommender.catalog import Catalog, count_ratings
from recommender.movielens import load_movielens
from recommender.onboarding import FirstGrid, rating_entropy

CHOSEN = ["Horror", "Comedy", "Drama"]


@pytest.fixture(scope="module")
def small(data_dir):
    """ml-latest-small, its catalogue (no overviews) and its newcomer's grid."""
    ml = load_movielens(data_dir / "ml-latest-small")
    ids = ml.movies["movieId"].to_numpy()
    catalog = Catalog(ml.movies, count_ratings(ml.ratings["movieId"].to_numpy(), ids))
    return ml, catalog, FirstGrid.from_ratings(catalog, ml.ratings)


def test_rating_entropy_in_bits_over_half_stars():
    ratings = pd.DataFrame(
        {
            "movieId": [1, 1, 2, 2] + [3] * 10 + [99],
            "rating": [4.0, 4.0, 1.0, 5.0] + [0.5 * k for k in range(1, 11)] + [3.0],
        }
    )
    entropy = rating_entropy(ratings, np.array([1, 2, 3, 4], dtype=np.int64))
    # all alike: 0 bits; two values: 1 bit; ten values evenly: log2(10); no ratings: 0
    np.testing.assert_allclose(entropy, [0.0, 1.0, math.log2(10), 0.0])


def test_first_page_is_recognisable_and_spread_across_chosen_genres(small):
    ml, catalog, grid = small
    assert grid.min_ratings == math.ceil(0.1 * catalog.rating_counts.max()) >= 30
    ids, total = grid.page(CHOSEN, 1, 24)
    rows = catalog.positions(ids)
    assert len(ids) == 24
    # recognisable: every movie on the first page has at least a tenth of the top count
    assert (catalog.rating_counts[rows] >= grid.min_ratings).all()
    # spread: the three genres take turns, so each holds at least a third of the page ...
    for genre in CHOSEN:
        assert catalog.genre_mask([genre])[rows].sum() >= 8, genre
    # ... where today's most-rated-first page has hardly any horror
    today, today_total = catalog.browse(CHOSEN, None, 1, 24)
    assert catalog.genre_mask(["Horror"])[catalog.positions(today)].sum() < 8
    assert today_total == total
    assert set(ids) != set(today)


def test_order_holds_the_same_movies_as_today_with_the_informative_ones_first(small):
    ml, catalog, grid = small
    order = grid.order(CHOSEN)
    today, total = catalog.browse(CHOSEN, None, 1, len(catalog))
    assert len(order) == total and set(catalog.ids[order]) == set(today)
    recognisable = catalog.rating_counts[order] >= grid.min_ratings
    n = int(recognisable.sum())
    assert recognisable[:n].all() and not recognisable[n:].any()
    # the rest keeps today's order: most-rated first
    rest = catalog.rating_counts[order[n:]]
    assert (np.diff(rest) <= 0).all()
    # without taking turns, the recognisable part is by log(ratings) x entropy, best first
    flat = FirstGrid.from_ratings(catalog, ml.ratings, spread=False).order(CHOSEN)
    scores = grid.scores[flat[:n]]
    assert (np.diff(scores) <= 1e-12).all()
    entropy = rating_entropy(ml.ratings, catalog.ids)
    expected = np.log(catalog.rating_counts[flat[:n]]) * entropy[flat[:n]]
    np.testing.assert_allclose(scores, expected)


def test_genres_take_turns_on_a_toy_catalogue():
    # movies 1-4 Drama, 5-6 Comedy; entropy falls with the id, so Drama would fill the top
    movies = pd.DataFrame(
        {
            "movieId": [1, 2, 3, 4, 5, 6, 7],
            "title": [f"Movie {i}" for i in range(1, 8)],
            "year": [2000] * 7,
            "genres": [["Drama"]] * 4 + [["Comedy"]] * 2 + [["Horror"]],
        }
    )
    catalog = Catalog(movies, np.array([10, 10, 10, 10, 10, 10, 10]))
    grid = FirstGrid(catalog, np.array([3.0, 2.9, 2.8, 2.7, 1.0, 0.9, 3.2]))
    ids, total = grid.page(["Drama", "Comedy"], 1, 10)
    assert ids.tolist() == [5, 1, 6, 2, 3, 4] and total == 6  # Comedy, Drama, ... by name
    flat = FirstGrid(catalog, np.array([3.0, 2.9, 2.8, 2.7, 1.0, 0.9, 3.2]), spread=False)
    assert flat.page(["Drama", "Comedy"], 1, 10)[0].tolist() == [1, 2, 3, 4, 5, 6]
    assert grid.page(["Drama", "Comedy"], 2, 4)[0].tolist() == [3, 4]
    assert grid.page(["Drama", "Comedy"], 3, 4)[0].tolist() == []
    assert grid.page(None, 1, 3)[0].tolist() == [7, 1, 2]  # no genres: one ranking
    with pytest.raises(ValueError, match="page and page_size"):
        grid.page(["Drama"], 0, 24)
    with pytest.raises(ValueError, match="entropy"):
        FirstGrid(catalog, np.zeros(3))
