"""PopularityRecommender: the shared contract plus its own counting rules, on hand-made data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.popularity import PopularityRecommender
from tests.recommender_contract import RecommenderContract, taste_groups


class TestPopularityContract(RecommenderContract):
    personalised = False

    def make_model(self):
        return PopularityRecommender()


def _ratings(rows):
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])


# movie 10: three 4+ ratings; movie 20: one 5-star rating; movie 30: four 2-star ratings
RATINGS = _ratings(
    [(u, 10, 4.0, 0) for u in (1, 2, 3)]
    + [(1, 20, 5.0, 0)]
    + [(u, 30, 2.0, 0) for u in (1, 2, 3, 4)]
)


def test_ranks_by_number_of_liked_ratings_not_by_mean():
    model = PopularityRecommender(damping=2.0).fit(RATINGS)
    assert model.recommend({}, k=3).movie_ids.tolist() == [10, 20, 30]


def test_prediction_is_the_damped_mean_and_match_the_damped_liked_share():
    model = PopularityRecommender(damping=2.0).fit(RATINGS)
    global_mean = (3 * 4.0 + 5.0 + 4 * 2.0) / 8  # 3.125
    liked_share = 4 / 8
    predicted = model.predict({}, [20, 30])
    assert predicted[0] == pytest.approx((5.0 + 2 * global_mean) / (1 + 2))
    assert predicted[1] == pytest.approx((8.0 + 2 * global_mean) / (4 + 2))
    match = model.predict_match({}, [10, 30])
    assert match[0] == pytest.approx(100 * (3 + 2 * liked_share) / (3 + 2))
    assert match[1] == pytest.approx(100 * (0 + 2 * liked_share) / (4 + 2))
    recs = model.recommend({}, k=1)
    assert recs.evidence == [{"ratings": 3, "liked": 3}]


def test_movies_nobody_rated_are_in_the_catalogue_at_the_global_mean():
    movies = pd.DataFrame({"movieId": [10, 20, 30, 40], "title": list("abcd"), "genres": [[]] * 4})
    model = PopularityRecommender().fit(RATINGS, movies)
    # 30 and 40 have no 4+ rating; the tie goes to the better damped mean (40's is the global one)
    assert model.recommend({}, k=4).movie_ids.tolist() == [10, 20, 40, 30]
    assert model.predict({}, [40])[0] == pytest.approx(3.125)


def test_genre_restriction_keeps_only_those_genres():
    ratings, movies = taste_groups()
    model = PopularityRecommender(genres=["Romance"]).fit(ratings, movies)
    recs = model.recommend({}, k=50)
    assert set(recs.movie_ids.tolist()) == set(range(11, 21))
    only = model.recommend({}, k=50, candidates=[1, 2, 11, 12])
    assert sorted(only.movie_ids.tolist()) == [11, 12]


def test_genres_can_be_given_as_one_string():
    assert PopularityRecommender(genres="Comedy|Drama").genres == ["Comedy", "Drama"]
    assert PopularityRecommender(genres="Comedy, Drama").genres == ["Comedy", "Drama"]


def test_genre_restriction_needs_movies():
    with pytest.raises(ValueError, match="genres"):
        PopularityRecommender(genres=["Drama"]).fit(RATINGS)


def test_scores_cannot_be_changed_by_a_caller():
    model = PopularityRecommender().fit(RATINGS)
    with pytest.raises(ValueError):
        model.score({}).rank[0] = np.inf
