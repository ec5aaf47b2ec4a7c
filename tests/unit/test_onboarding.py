"""The newcomer's grid order (recommender/onboarding.py): entropy, recognisable movies first,
genres taking turns, the same movies as today's grid."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from recommender.catalog import Catalog, count_ratings
from recommender.movielens import load_movielens
from recommender.onboarding import FirstGrid, raters_matrix, rating_entropy

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


def _toy_adaptive():
    """Six recognisable Drama movies; people 0-2 rated movies 1, 2 and 3, people 3-5 rated
    movies 4, 5 and 6 (two tastes that never meet); the static order mixes them."""
    movies = pd.DataFrame(
        {
            "movieId": [1, 2, 3, 4, 5, 6],
            "title": [f"Movie {i}" for i in range(1, 7)],
            "year": [2000] * 6,
            "genres": [["Drama"]] * 6,
        }
    )
    people = [0, 1, 2] * 3 + [3, 4, 5] * 3
    seen = [1] * 3 + [2] * 3 + [3] * 3 + [4] * 3 + [5] * 3 + [6] * 3
    ratings = pd.DataFrame({"userId": people, "movieId": seen, "rating": [4.0] * 18})
    catalog = Catalog(movies, count_ratings(ratings["movieId"].to_numpy(), movies["movieId"]))
    raters = raters_matrix(ratings, catalog.ids)
    entropy = np.array([3.0, 2.8, 2.6, 2.9, 2.7, 2.5])  # static order 1, 4, 2, 5, 3, 6
    return catalog, FirstGrid(catalog, entropy, raters=raters)


def test_raters_and_familiarity_say_who_rated_what_together():
    catalog, grid = _toy_adaptive()
    raters = raters_matrix(
        pd.DataFrame({"userId": [7, 7, 9, 9], "movieId": [1, 1, 2, 99], "rating": [1, 2, 3, 4]}),
        catalog.ids,
    )
    # rows are movies, columns people; a repeated rating counts once, unknown movies drop
    assert raters.shape == (6, 2) and raters.toarray()[:2].tolist() == [[1, 0], [0, 1]]
    assert raters.sum() == 2
    # everyone who rated movie 4 also rated 5 and 6, nobody rated 1-3: a share in [0, 1]
    np.testing.assert_allclose(grid.familiarity([3]), [0, 0, 0, 1, 1, 1])
    np.testing.assert_allclose(grid.familiarity([0, 3]), [0.5] * 6)  # the mean of the two
    assert not FirstGrid(catalog, np.ones(6)).familiarity([0]).any()  # no raters: nothing


def test_after_a_rating_the_seen_places_stay_and_the_rest_follows_the_taste():
    catalog, grid = _toy_adaptive()
    walk = grid.walk(["Drama"])
    assert catalog.ids[walk.order].tolist() == [1, 4, 2, 5, 3, 6]  # nothing rated: static
    walk.rate(5, shown=6)  # rated movie 5, fourth place, having seen all six
    # places 1-4 stay; 6 (everyone who rated 5 rated 6) comes before 3 (nobody did)
    assert walk.kept == 4 and catalog.ids[walk.order].tolist() == [1, 4, 2, 5, 6, 3]
    walk = grid.walk(["Drama"])
    walk.rate(1, shown=1)  # the first movie: 2 and 3 (same taste) move up
    assert walk.kept == 1 and catalog.ids[walk.order].tolist() == [1, 2, 3, 4, 5, 6]
    walk.rate(6, shown=1)  # rated elsewhere (a title search): nothing more kept, it goes last
    assert walk.kept == 1 and catalog.ids[walk.order].tolist() == [1, 4, 2, 5, 3, 6]
    walk.rate(42, shown=6)  # an unknown movie changes nothing
    assert catalog.ids[walk.order].tolist() == [1, 4, 2, 5, 3, 6]
    # the grid replays the same ratings to the same order, page by page
    assert grid.order(["Drama"], rated=[1, 6, 42], shown=1).tolist() == walk.order.tolist()
    assert grid.page(["Drama"], 1, 4, rated=[1], shown=1)[0].tolist() == [1, 2, 3, 4]
    assert grid.page(["Drama"], 2, 4, rated=[1], shown=1)[0].tolist() == [5, 6]
    with pytest.raises(ValueError, match="familiarity"):
        FirstGrid(catalog, np.ones(6), familiarity=-1.0)


def test_the_adaptive_grid_shows_movies_a_person_likely_knows_and_keeps_every_movie(small):
    ml, catalog, grid = small
    static = grid.order(CHOSEN)
    # a newcomer rates the third movie, then the seventh of the grid as it is then
    first = int(catalog.ids[static[2]])
    after_one = grid.order(CHOSEN, rated=[first], shown=24)
    assert after_one[:3].tolist() == static[:3].tolist()  # seen up to the rating: kept
    assert after_one[3:24].tolist() != static[3:24].tolist()
    rated = [first, int(catalog.ids[after_one[6]])]
    adapted = grid.order(CHOSEN, rated=rated, shown=24)
    assert adapted[:7].tolist() == after_one[:7].tolist()
    assert sorted(adapted.tolist()) == sorted(static.tolist())  # the same movies, once each
    following = adapted[7:24]
    assert (catalog.rating_counts[following] >= grid.min_ratings).all()  # still recognisable
    for genre in CHOSEN:  # the genres still take turns
        assert catalog.genre_mask([genre])[following].sum() >= 4, genre
    # people who rated those two rated the new choices more often than the static ones, and
    # more often than everybody did (lift): movies of this person's taste
    know = grid.familiarity(catalog.positions(rated))
    everybody = np.maximum(catalog.rating_counts, 1) / ml.ratings["userId"].nunique()
    fit = know * know / everybody  # familiarity x lift
    assert know[following].mean() > know[static[7:24]].mean()
    assert fit[following].mean() > fit[static[7:24]].mean()
    assert set(following.tolist()) != set(static[7:24].tolist())
