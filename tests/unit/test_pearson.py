"""PearsonRecommender: the shared contract, the similarity on hand-made data, and one fully
worked example of the whole procedure (neighbours, predictions, ordering, evidence, fill-up)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest

from recommender.neighbours import pearson, pearson_rows
from recommender.pearson import PearsonRecommender
from tests.recommender_contract import RecommenderContract


class TestPearsonContract(RecommenderContract):
    def make_model(self):
        # every person shares 4 of the fans' 6 movies (the checkerboard), so candidates are
        # chosen by the id tie-break: take all 40 so both taste groups are among them
        return PearsonRecommender(candidates=40, neighbours=10)


class TestCentredPearsonContract(RecommenderContract):
    def make_model(self):
        return PearsonRecommender(candidates=40, neighbours=10, centred=True)


# ------------------------------------------------------------------------------- similarity


def test_pearson_computed_by_hand():
    a = {1: 5.0, 2: 3.0, 3: 4.0}
    b = {1: 1.0, 2: 5.0, 3: 2.0, 9: 4.0}  # 9 is not co-rated: ignored
    # a centred: (1, -1, 0); b centred on its co-rated mean 8/3: (-5/3, 7/3, -2/3)
    expected = -4.0 / math.sqrt(2.0 * 78.0 / 9.0)
    assert pearson(a, b) == pytest.approx(expected)
    assert expected == pytest.approx(-0.9608, abs=1e-4)


def test_pearson_uses_means_over_the_co_rated_movies_only():
    a = {1: 5.0, 2: 3.0}
    b = {1: 2.0, 2: 1.0, 3: 5.0, 4: 5.0}  # b's mean over all four (3.25) would flip the sign
    assert pearson(a, b) == pytest.approx(1.0)


def test_pearson_is_symmetric_and_bounded(rng):
    for _ in range(50):
        movies = rng.choice(30, size=20, replace=False)
        a = {int(m): float(rng.integers(1, 11)) / 2 for m in movies[:14]}
        b = {int(m): float(rng.integers(1, 11)) / 2 for m in movies[6:]}
        assert pearson(a, b) == pytest.approx(pearson(b, a))
        assert -1.0 <= pearson(a, b) <= 1.0


def test_pearson_is_zero_without_enough_overlap_or_with_a_constant_side():
    assert pearson({1: 5.0, 2: 1.0}, {3: 5.0, 4: 1.0}) == 0.0
    assert pearson({1: 5.0, 2: 1.0}, {1: 5.0, 3: 1.0}) == 0.0  # one co-rated movie
    assert pearson({1: 4.0, 2: 4.0, 3: 4.0}, {1: 1.0, 2: 3.0, 3: 5.0}) == 0.0
    assert pearson({1: 1.0, 2: 3.0, 3: 5.0}, {1: 2.5, 2: 2.5, 3: 2.5}) == 0.0


def test_perfect_agreement_and_disagreement():
    assert pearson({1: 1.0, 2: 3.0, 3: 5.0}, {1: 2.0, 2: 3.0, 3: 4.0}) == pytest.approx(1.0)
    assert pearson({1: 1.0, 2: 3.0, 3: 5.0}, {1: 4.0, 2: 3.0, 3: 2.0}) == pytest.approx(-1.0)


def test_rows_at_once_equal_pairs_one_by_one(rng):
    x = np.array([5.0, 3.0, 4.0, 1.0, 2.5])
    block = rng.integers(0, 11, size=(30, 5)) / 2  # 0 = not rated
    similarity, co_rated = pearson_rows(x, block)
    a = dict(enumerate(x))
    for row, sim, co in zip(block, similarity, co_rated, strict=True):
        b = {i: r for i, r in enumerate(row) if r > 0}
        assert sim == pytest.approx(pearson(a, b))
        assert co == len(b)


# -------------------------------------------------------------------------- worked example

PROFILE = {1: 5.0, 2: 3.0, 3: 4.0}
PEOPLE = {
    10: {1: 5.0, 2: 3.0, 3: 4.0, 4: 5.0, 5: 2.0},  # same taste: similarity 1, co-rated 3
    11: {1: 4.0, 2: 2.0, 4: 4.0, 6: 5.0},  # similarity 1, co-rated 2
    12: {1: 1.0, 2: 5.0, 3: 2.0, 4: 1.0, 6: 2.0},  # opposite: -0.96, co-rated 3
    13: {1: 5.0, 7: 5.0},  # one co-rated movie: similarity 0
    14: {7: 3.0, 8: 4.0, 9: 4.0},  # no overlap: never a candidate
    15: {8: 5.0, 9: 4.5},
    16: {8: 4.0},
    17: {3: 5.0, 10: 5.0},  # overlap 1, like 13, but a higher id: loses the tie for candidate 4
}


def _worked_ratings() -> pd.DataFrame:
    rows = [(u, m, r, 0) for u, rated in PEOPLE.items() for m, r in rated.items()]
    return pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])


@pytest.fixture()
def worked() -> PearsonRecommender:
    return PearsonRecommender(candidates=4, neighbours=3).fit(_worked_ratings())


def _neighbours(scores):
    return [
        (n["user"], round(n["similarity"], 4), n["co_rated"]) for n in scores.context["neighbours"]
    ]


def test_worked_example_neighbours(worked):
    # candidates (most co-rated): 10 (3), 12 (3), 11 (2), 13 (1; 17 also has 1 but a higher id)
    # neighbours (most similar): 10 (1.0, 3 co-rated), 11 (1.0, 2), 13 (0.0); 12 (-0.96) out
    scores = worked.score(PROFILE)
    assert _neighbours(scores) == [(10, 1.0, 3), (11, 1.0, 2), (13, 0.0, 1)]
    assert scores.context["neighbour_count"] == 3


def test_worked_example_list_predictions_and_evidence(worked):
    recs = worked.recommend(PROFILE, k=7)
    # tier 2 (predicted >= 4, by neighbours who rated it): 4 (rated by 10 and 11), 6 (by 11);
    # tier 1 (rated by a neighbour, by prediction): 5 (2.0), 7 (only 13, similarity 0: no
    # prediction from neighbours); tier 0 (global popularity, 4+ ratings): 8 (3), 9 (2), 10 (1)
    assert recs.movie_ids.tolist() == [4, 6, 5, 7, 8, 9, 10]
    global_mean = _worked_ratings()["rating"].mean()
    movie7_damped = (5.0 + 3.0 + 10 * global_mean) / (2 + 10)
    np.testing.assert_allclose(recs.predicted[:4], [4.5, 5.0, 2.0, movie7_damped])
    # match: the share of the 3 neighbours who gave it 4★+ (movie 5: rated, not liked)
    np.testing.assert_allclose(recs.match, [200 / 3, 100 / 3, 0, 100 / 3, 0, 0, 0])
    assert recs.evidence[:4] == [
        {"neighbours_rated": 2, "neighbours_liked": 2},
        {"neighbours_rated": 1, "neighbours_liked": 1},
        {"neighbours_rated": 1, "neighbours_liked": 0},
        {"neighbours_rated": 1, "neighbours_liked": 1},
    ]


def test_negative_neighbours_do_not_weigh_in(worked):
    # with 4 neighbours, 12 (similarity -0.96, rated movie 4 one star) joins but is not weighted
    model = PearsonRecommender(candidates=4, neighbours=4).fit(_worked_ratings())
    scores = model.score(PROFILE)
    assert [n["user"] for n in scores.context["neighbours"]] == [10, 11, 13, 12]
    assert model.predict(PROFILE, [4])[0] == pytest.approx(4.5)
    assert model.predict_match(PROFILE, [4])[0] == pytest.approx(50.0)  # 2 of 4 gave it 4★+


def test_a_page_is_never_short_and_never_holds_a_rated_movie(worked):
    recs = worked.recommend({8: 5.0}, k=9)  # 8 is co-rated with nobody useful
    assert len(recs) == 9 and 8 not in recs.movie_ids


def test_a_training_user_is_never_their_own_neighbour(worked):
    scores = worked.score(PROFILE, user=10)
    users = [n["user"] for n in scores.context["neighbours"]]
    assert 10 not in users
    assert users == [11, 13, 17]  # 13 and 17 tie (0.0, 1 co-rated): the lower id first


def test_upsert_user_makes_an_app_user_a_neighbour_without_refitting(worked):
    worked.upsert_user("alice", {1: 5.0, 2: 3.0, 3: 4.0, 10: 5.0})
    scores = worked.score(PROFILE)
    assert _neighbours(scores) == [(10, 1.0, 3), ("alice", 1.0, 3), (11, 1.0, 2)]
    recs = worked.recommend(PROFILE, k=3)
    assert recs.movie_ids.tolist() == [4, 6, 10]  # alice's 5-star movie 10 joins tier 2
    assert worked.app_users == ("alice",)

    mine = worked.score(PROFILE, user="alice")
    assert "alice" not in [n["user"] for n in mine.context["neighbours"]]

    worked.upsert_user("alice", None)
    assert worked.app_users == ()
    assert _neighbours(worked.score(PROFILE))[1] == (11, 1.0, 2)


def test_app_users_are_kept_on_the_new_catalogue_after_a_refit(worked):
    worked.upsert_user("bob", {1: 5.0, 2: 3.0, 3: 4.0, 11: 5.0})  # 11 unknown to the model
    refitted = worked.fit(
        pd.concat(
            [
                _worked_ratings(),
                pd.DataFrame(
                    [(99, 11, 3.0, 0)], columns=["userId", "movieId", "rating", "timestamp"]
                ),
            ]
        )
    )
    assert refitted.app_users == ("bob",)
    assert refitted.predict(PROFILE, [11])[0] > 3.0  # bob's 5 stars now count


def test_repeated_ratings_keep_the_latest():
    ratings = pd.DataFrame(
        [(1, 1, 5.0, 10), (1, 1, 1.0, 20), (1, 2, 3.0, 10), (2, 1, 1.0, 0), (2, 2, 3.0, 0)],
        columns=["userId", "movieId", "rating", "timestamp"],
    )
    model = PearsonRecommender().fit(ratings)
    assert model.predict({1: 1.0, 2: 3.0}, [1], user=2)[0] == pytest.approx(1.0)


def test_upsert_user_needs_a_string_key(worked):
    with pytest.raises(TypeError):
        worked.upsert_user(5, {1: 4.0})


def test_a_fitted_model_survives_pickling(worked):
    worked.upsert_user("carol", {1: 5.0, 2: 3.0, 3: 4.0})
    again = pickle.loads(pickle.dumps(worked))
    assert (
        again.recommend(PROFILE, k=7).movie_ids.tolist()
        == worked.recommend(PROFILE, k=7).movie_ids.tolist()
    )
    again.upsert_user("dave", {1: 4.0})
    assert again.app_users == ("carol", "dave")


def test_centred_option_predicts_with_resnicks_formula():
    model = PearsonRecommender(candidates=4, neighbours=3, centred=True).fit(_worked_ratings())
    # profile mean 4.0; neighbour 10's mean 3.8, neighbour 11's 3.75 (all their ratings)
    expected = [4.0 + ((5 - 3.8) + (4 - 3.75)) / 2, 5.0, 4.0 + (2 - 3.8)]  # 6: 5.25 clipped
    np.testing.assert_allclose(model.predict(PROFILE, [4, 6, 5]), expected)
    assert model.recommend(PROFILE, k=3).movie_ids.tolist() == [4, 6, 5]
