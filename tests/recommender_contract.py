"""The tests every model passes, written once (like implicit's ``recommender_base_test.py``).

A model's test module inherits :class:`RecommenderContract` and provides ``make_model()``::

    class TestPearsonContract(RecommenderContract):
        def make_model(self):
            return PearsonRecommender(candidates=20, neighbours=10)

The data is a tiny "two taste groups" checkerboard whose right answer is known: 40 people and
20 rated movies (+ 2 "Drama" nobody rated). Movies 1–10 are "Action", 11–20 "Romance". People 1–20
love Action (4.5–5 stars) and dislike Romance (1–1.5); people 21–40 the opposite. Each person
rated two thirds of the movies (a checkerboard of holes), so there is something to recommend.

Class attribute ``personalised = False`` (e.g. popularity) skips the checks that need the
model to tell the two groups apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.base import MAX_RATING, MIN_RATING, InvalidProfile, Recommender

ACTION = list(range(1, 11))
ROMANCE = list(range(11, 21))
UNRATED = [21, 22]
UNKNOWN_MOVIE = 999_999


def taste_groups() -> tuple[pd.DataFrame, pd.DataFrame]:
    """(ratings, movies) of the two-taste-groups checkerboard (see the module docstring)."""
    rows = []
    for user in range(1, 41):
        loves = ACTION if user <= 20 else ROMANCE
        for movie in ACTION + ROMANCE:
            if (user + movie) % 3 == 0:
                continue  # the checkerboard's holes
            wiggle = 0.5 * ((user * 7 + movie) % 2)
            stars = 5.0 - wiggle if movie in loves else 1.0 + wiggle
            # rated in an order that mixes the genres, so "first ratings" hold both kinds
            rows.append((user, movie, stars, 1_000_000 + 60 * ((7 * movie) % 20)))
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
    ratings = ratings.astype({"userId": "int32", "movieId": "int32", "rating": "float32"})
    ids = ACTION + ROMANCE + UNRATED
    movies = pd.DataFrame(
        {
            "movieId": np.array(ids, dtype=np.int32),
            "title": [f"Movie {m}" for m in ids],
            "year": pd.array([2000 + m for m in ids], dtype="Int16"),
            "genres": [
                ["Action"] if m in ACTION else ["Romance"] if m in ROMANCE else ["Drama"]
                for m in ids
            ],
        }
    )
    return ratings, movies


ACTION_FAN = {1: 5.0, 2: 4.5, 3: 5.0, 11: 1.0, 12: 1.5, 13: 1.0}
"""A new person (not in the data) with the Action group's taste."""

ROMANCE_FAN = {1: 1.0, 2: 1.5, 3: 1.0, 11: 5.0, 12: 4.5, 13: 5.0}


class RecommenderContract:
    """Mixin: subclasses named ``Test...`` implement :meth:`make_model`."""

    personalised = True

    def make_model(self) -> Recommender:
        raise NotImplementedError

    @pytest.fixture(scope="class")
    def data(self) -> tuple[pd.DataFrame, pd.DataFrame]:
        return taste_groups()

    @pytest.fixture(scope="class")
    def model(self, data) -> Recommender:
        ratings, movies = data
        return self.make_model().fit(ratings, movies)

    def test_catalogue_is_sorted_int64_and_scores_are_aligned(self, model):
        ids = model.movie_ids
        assert ids.dtype == np.int64 and (np.diff(ids) > 0).all()
        assert set(ACTION + ROMANCE).issubset(ids.tolist())
        scores = model.score(ACTION_FAN)
        assert scores.movie_ids is model.movie_ids or np.array_equal(scores.movie_ids, ids)
        for array in (scores.predicted, scores.rank, scores.match):
            assert array.shape == ids.shape
        for values in scores.evidence.values():
            assert len(values) == len(ids)

    def test_never_recommends_rated_or_excluded_movies(self, model):
        recs = model.recommend(ACTION_FAN, k=50, exclude=[4, 14])
        assert not set(recs.movie_ids.tolist()) & (set(ACTION_FAN) | {4, 14})

    def test_k_is_respected(self, model):
        assert len(model.recommend(ACTION_FAN, k=3)) == 3
        everything_unrated = len(model.movie_ids) - len(ACTION_FAN)
        assert len(model.recommend(ACTION_FAN, k=500)) == everything_unrated
        assert len(model.recommend(ACTION_FAN, k=0)) == 0

    def test_predictions_and_match_are_on_their_scales(self, model):
        wanted = [*model.movie_ids.tolist(), UNKNOWN_MOVIE]
        predicted = model.predict(ACTION_FAN, wanted)
        match = model.predict_match(ACTION_FAN, wanted)
        assert predicted.shape == match.shape == (len(wanted),)
        assert ((predicted >= MIN_RATING) & (predicted <= MAX_RATING)).all()
        assert ((match >= 0) & (match <= 100)).all()
        assert predicted[-1] == pytest.approx(model.default_rating)
        assert match[-1] == 0
        recs = model.recommend(ACTION_FAN, k=10)
        assert ((recs.predicted >= MIN_RATING) & (recs.predicted <= MAX_RATING)).all()
        assert ((recs.match >= 0) & (recs.match <= 100)).all()

    def test_candidates_restrict_the_list(self, model):
        allowed = [5, 6, 15, 16, 21, 1]  # 1 is rated: still never recommended
        recs = model.recommend(ACTION_FAN, k=10, candidates=allowed)
        assert sorted(recs.movie_ids.tolist()) == [5, 6, 15, 16, 21]

    def test_list_is_sorted_by_score_and_agrees_with_predict(self, model):
        recs = model.recommend(ROMANCE_FAN, k=8)
        assert (np.diff(recs.scores) <= 0).all()
        ids = recs.movie_ids.tolist()
        np.testing.assert_allclose(recs.predicted, model.predict(ROMANCE_FAN, ids))
        np.testing.assert_allclose(recs.match, model.predict_match(ROMANCE_FAN, ids))
        assert len(recs.evidence) == len(ids)

    def test_explaining_later_gives_the_same_evidence_as_explaining_at_once(self, model):
        everything = model.recommend(ROMANCE_FAN, k=8)
        lazy = model.recommend(ROMANCE_FAN, k=8, explain_first=3)
        assert lazy.movie_ids.tolist() == everything.movie_ids.tolist()
        np.testing.assert_allclose(lazy.match, everything.match)
        assert lazy.evidence[:3] == everything.evidence[:3]
        assert lazy.evidence[3:] == [None] * 5
        later = lazy.movie_ids[3:].tolist()
        assert model.explain(ROMANCE_FAN, later) == everything.evidence[3:]
        assert model.explain(ROMANCE_FAN, [UNKNOWN_MOVIE, later[0]]) == [{}, everything.evidence[3]]
        if lazy.explainer is not None:  # the same, from the scoring pass of the list
            assert lazy.explainer(later) == everything.evidence[3:]
            assert lazy.explainer([UNKNOWN_MOVIE, later[0]]) == [{}, everything.evidence[3]]
            assert lazy.explainer([UNKNOWN_MOVIE]) == [{}]

    def test_an_answer_does_not_depend_on_the_profiles_asked_before(self, model):
        """No state carries over between calls: the same profile gets the same list whatever
        was asked before it, in either order; a personalised model gives different tastes
        different lists."""
        profiles = [ACTION_FAN, ROMANCE_FAN, {5: 4.0, 17: 2.0}, ACTION_FAN]
        forward = [model.recommend(p, k=6).movie_ids.tolist() for p in profiles]
        backward = [model.recommend(p, k=6).movie_ids.tolist() for p in reversed(profiles)]
        assert forward == backward[::-1]
        assert forward[0] == forward[3]
        if self.personalised:
            assert forward[0] != forward[1], "an action fan and a romance fan got the same list"

    def test_deterministic_across_fits(self, model, data):
        again = self.make_model().fit(*data)
        first, second = model.recommend(ACTION_FAN, k=10), again.recommend(ACTION_FAN, k=10)
        assert first.movie_ids.tolist() == second.movie_ids.tolist()
        np.testing.assert_allclose(first.predicted, second.predicted)

    def test_profile_of_a_new_person_with_unknown_movies(self, model):
        profile = {**ACTION_FAN, UNKNOWN_MOVIE: 4.0}
        recs = model.recommend(profile, k=5, user="someone-new")
        assert len(recs) == 5 and UNKNOWN_MOVIE not in recs.movie_ids

    def test_empty_profile_gets_a_full_list_and_predictions(self, model):
        assert len(model.recommend({}, k=5)) == 5
        predicted = model.predict({}, [1, 11, UNKNOWN_MOVIE])
        assert ((predicted >= MIN_RATING) & (predicted <= MAX_RATING)).all()

    def test_invalid_profile_is_rejected(self, model):
        with pytest.raises(InvalidProfile):
            model.recommend({1: 7.0})

    def test_each_taste_group_gets_its_own_movies(self, model):
        if not self.personalised:
            pytest.skip("the model gives everybody the same list")
        action = model.recommend(ACTION_FAN, k=5).movie_ids.tolist()
        romance = model.recommend(ROMANCE_FAN, k=5).movie_ids.tolist()
        assert set(action) <= set(ACTION) - set(ACTION_FAN)
        assert set(romance) <= set(ROMANCE) - set(ROMANCE_FAN)
        liked = [m for m in ACTION if m not in ACTION_FAN]
        disliked = [m for m in ROMANCE if m not in ACTION_FAN]
        assert model.predict(ACTION_FAN, liked).min() > model.predict(ACTION_FAN, disliked).max()
