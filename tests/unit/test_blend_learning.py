"""How the blend's rank model learns: within-profile features, the rankers of
:data:`recommender.blend.learning.RANKERS`, and the cached cross-fitted rows that let
``scripts.evaluate_blend`` try a learner without cross-fitting again.

Data: synthetic feature rows (a few hundred, seeded) and the contract's two-taste-groups
checkerboard for the blend itself.
"""

from __future__ import annotations

import argparse
import pickle

import numpy as np
import pytest

from recommender.blend.features import FeatureLayout, within_profile
from recommender.blend.learning import RANKERS, LearningSettings, Rows, TrainingRows, learn
from recommender.blend.model import BlendRecommender
from tests.recommender_contract import ACTION, ACTION_FAN, taste_groups
from tests.unit.test_blend import make_blend


def test_within_profile_features_compare_each_movie_with_its_own_profile_candidates():
    X = np.array([[0.0, 1.0], [0.0, 3.0], [0.0, 2.0], [9.0, 10.0], [9.0, 30.0]])
    out = within_profile(X, np.array([1]), sizes=[3, 2])
    assert out.shape == (5, 5)
    np.testing.assert_array_equal(out[:, :2], X)  # the raw features are kept
    np.testing.assert_allclose(out[:, 2], [1 / 3, 1, 2 / 3, 1 / 2, 1])  # percentile rank
    np.testing.assert_allclose(out[:3, 3], [-1.2247, 1.2247, 0.0], atol=1e-4)  # z-score
    np.testing.assert_allclose(out[:, 4], [-2, 0, -1, -20, 0])  # gap to the profile's best
    # A profile whose scores are all higher (a generous component) gets the same relative values.
    shifted = within_profile(X[:3] + [0.0, 100.0], np.array([1]))
    np.testing.assert_allclose(shifted[:, 2:], out[:3, 2:])


def synthetic_rows(n_profiles: int, seed: int, offset: float = 3.0) -> TrainingRows:
    """Profiles whose candidates' ``signal`` (column 4) says which are liked *within* the
    profile, while each profile shifts every candidate's ``signal`` by its own offset (as a
    component that scores some people higher overall; ``offset``: its standard deviation)."""
    rng = np.random.default_rng(seed)
    rows = TrainingRows()
    for user in range(n_profiles):
        n = 30
        signal = rng.normal(size=n)
        liked = signal >= np.sort(signal)[-4]
        X = np.column_stack(
            [
                np.full(n, np.log1p(5)),
                np.full(n, 3.5),
                np.full(n, 0.5),
                rng.normal(size=n),  # noise
                signal + rng.normal(0, offset),  # the profile's offset
            ]
        )
        rows.rank.add(X, liked, np.full(n, np.nan), user)
        stars = np.where(liked, 4.5, 2.5)
        rows.match.add(X, liked, stars, user)
    return rows


LAYOUT = FeatureLayout(
    ("profile_size_log", "profile_mean", "profile_liked_share", "noise", "signal"),
    {"component": np.array([3, 4])},
    {},
)


def settings(ranker: str) -> LearningSettings:
    return LearningSettings(
        sizes=(5,),
        pool=30,
        negatives=30,
        rated_share=1.0,
        dropout=0.0,
        calibration="isotonic",
        seed=0,
        ranker=ranker,
    )


@pytest.mark.parametrize("ranker", RANKERS)
def test_every_ranker_puts_a_new_profiles_liked_candidates_first(ranker):
    learned, figures = learn(synthetic_rows(60, seed=0, offset=0.2), LAYOUT, settings(ranker))
    assert figures["ranker"] == ranker
    test = synthetic_rows(20, seed=1, offset=0.2).rank
    hits = []
    for X, liked in zip(test.X, test.liked, strict=True):
        p = learned.rank(X)
        assert ((p >= 0) & (p <= 1)).all()  # a probability-like score in every case
        hits.append(liked[np.argsort(-p)[:4]].mean())
    # 4 liked of 30: a random order puts ~0.13 of them in the top 4.
    assert np.mean(hits) > 0.6, ranker


def test_rankers_that_see_within_profile_order_beat_the_pointwise_classifier_on_it():
    """The profile offset hides the signal from a classifier of all profiles mixed; a ranker
    grouped by profile, or within-profile features, see through it."""
    test = synthetic_rows(40, seed=2).rank

    def precision_at_4(ranker):
        learned, _ = learn(synthetic_rows(60, seed=0), LAYOUT, settings(ranker))
        return np.mean(
            [
                liked[np.argsort(-learned.rank(X))[:4]].mean()
                for X, liked in zip(test.X, test.liked, strict=True)
            ]
        )

    pointwise = precision_at_4("pointwise")
    assert precision_at_4("lambdarank") > pointwise + 0.05
    assert precision_at_4("relative") > pointwise + 0.05


def test_an_unknown_ranker_is_refused():
    with pytest.raises(ValueError, match="unknown ranker"):
        learn(synthetic_rows(5, seed=0), LAYOUT, settings("listwise-magic"))


def test_rows_are_kept_only_when_asked_and_never_pickled():
    ratings, movies = taste_groups()
    plain = make_blend().fit(ratings, movies)
    assert not hasattr(plain, "training_rows")
    kept = make_blend(keep_rows=True).fit(ratings, movies)
    assert isinstance(kept.training_rows.rank, Rows) and kept.training_rows.rank.X
    assert "training_rows" not in pickle.loads(pickle.dumps(kept)).__dict__


def test_rows_cache_reproduces_the_fitted_blend_and_tries_each_ranker(tmp_path, monkeypatch):
    """``--rows-cache``: the first run fits the blend and caches its rows; the next loads them
    and learns once per ranker, the pointwise one giving the fitted blend's own list."""
    from scripts import evaluate_blend

    ratings, movies = taste_groups()
    monkeypatch.setattr(
        evaluate_blend,
        "fit_model",
        lambda name, train, movies, neural, content, **params: make_blend(**params).fit(
            train, movies
        ),
    )
    args = argparse.Namespace(
        models=["blend"],
        rows_cache=tmp_path,
        rankers=None,
        load_models=None,
        save_models=None,
        neural=None,
    )
    [(name, fitted, _)] = evaluate_blend.fitted_models(args, 0, ratings, movies, None)
    assert name == "blend" and (tmp_path / "blend-seed0.pkl").exists()
    assert not hasattr(fitted, "training_rows")

    args.rankers = ["pointwise", "lambdarank"]
    again = list(evaluate_blend.fitted_models(args, 0, ratings, movies, None))
    assert [name for name, _, _ in again] == ["blend@pointwise", "blend@lambdarank"]
    pointwise, lambdarank = again[0][1], again[1][1]
    assert isinstance(lambdarank, BlendRecommender)
    assert lambdarank.metrics["ranker"] == "lambdarank"
    assert lambdarank.learned.rank_calibrator is not None
    expected = fitted.recommend(ACTION_FAN, k=6)
    got = pointwise.recommend(ACTION_FAN, k=6)
    np.testing.assert_array_equal(got.movie_ids, expected.movie_ids)
    np.testing.assert_allclose(got.scores, expected.scores)
    # Only the rank model is learned again: the match percentages stay the fitted blend's.
    movies_asked = [4, 5, 11, 14]
    np.testing.assert_allclose(
        lambdarank.predict_match(ACTION_FAN, movies_asked),
        fitted.predict_match(ACTION_FAN, movies_asked),
    )
    top = lambdarank.recommend(ACTION_FAN, k=6)
    assert len(top) == 6 and set(top.movie_ids[:2].tolist()) <= set(ACTION)
