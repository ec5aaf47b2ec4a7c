"""EASE (recommender/ease.py): the shared contract, the closed form, the restriction of B to
the most-liked movies, strangers served without a refit, and EASE as a blend component.

Data: the contract's two-taste-groups checkerboard (40 people, 20 rated movies + 2 unrated).
"""

from __future__ import annotations

import numpy as np
import pytest

from recommender.blend import COMPONENTS, BlendRecommender
from recommender.blend.components.models import EASEComponent
from recommender.ease import OUTSIDE_RANK
from recommender.models import make_model
from tests.recommender_contract import (
    ACTION,
    ACTION_FAN,
    ROMANCE,
    ROMANCE_FAN,
    RecommenderContract,
    taste_groups,
)

SMALL = {"l2": 10.0, "calibration_users": 20}


class TestEASEContract(RecommenderContract):
    def make_model(self):
        return make_model("ease", **SMALL)


@pytest.fixture(scope="module")
def model():
    return make_model("ease", **SMALL).fit(*taste_groups())


def test_weights_are_the_closed_form_with_a_zero_diagonal(model):
    """B = I − P / diag(P), P = (XᵀX + λI)⁻¹, X = 1 where a person rated the movie 4★+."""
    ratings, _ = taste_groups()
    liked = ratings[ratings["rating"] >= 4.0]
    table = liked.pivot(index="userId", columns="movieId", values="rating").notna()
    ids = model.movie_ids[model.kept]
    X = table.reindex(columns=ids, fill_value=False).to_numpy(dtype=np.float64)
    P = np.linalg.inv(X.T @ X + SMALL["l2"] * np.eye(len(ids)))
    expected = np.eye(len(ids)) - P / np.diag(P)[None, :]
    np.testing.assert_allclose(model.B, expected, atol=1e-6)
    assert np.all(np.diag(model.B) == 0)
    assert model.B.dtype == np.float32
    # movies nobody liked (21, 22 were never rated) are not in B
    assert set(ids.tolist()) == set(ACTION + ROMANCE)


def test_a_stranger_is_the_sum_of_the_rows_of_the_movies_they_liked(model):
    scores = model.score(ACTION_FAN).rank
    liked = [m for m, stars in ACTION_FAN.items() if stars >= 4.0]  # 1, 2, 3 — not 11–13
    rows = model.column[model._positions(np.array(liked))[0]]
    expected = model.B[rows].sum(axis=0, dtype=np.float64)
    np.testing.assert_allclose(scores[model.kept], expected, atol=1e-5)
    # a disliked movie adds nothing: the same list with or without the 1★ ratings
    only_liked = {m: ACTION_FAN[m] for m in liked}
    np.testing.assert_array_equal(model.score(only_liked).rank, scores)


def test_restricting_b_to_the_most_liked_movies_keeps_the_rest_below_by_popularity():
    ratings, movies = taste_groups()
    ratings = ratings[~((ratings["movieId"] == 7) & (ratings["rating"] >= 4.0))]  # 7: least liked
    small = make_model("ease", max_movies=19, **SMALL).fit(ratings, movies)
    assert small.B.shape == (19, 19)
    outside = small.movie_ids[small.column < 0].tolist()
    assert outside == [7, 21, 22]
    rank = small.score(ACTION_FAN).rank
    assert rank[small.column < 0].max() < OUTSIDE_RANK + 1 < rank[small.kept].min()
    recs = small.recommend(ACTION_FAN, k=30)
    assert recs.movie_ids.tolist()[-3:] == [7, 21, 22]  # 7 was rated (popularity tie-break)
    with pytest.raises(ValueError, match="max_movies"):
        make_model("ease", max_movies=0)


def test_predicted_stars_rise_with_the_score_and_the_reason_names_a_liked_movie(model):
    assert model.star_slope > 0
    recs = model.recommend(ACTION_FAN, k=3)
    assert set(recs.movie_ids.tolist()) <= set(ACTION)
    reason = recs.evidence[0]["because"]
    assert reason in {"because you liked Movie 1", "because you liked Movie 2",
                      "because you liked Movie 3"}  # fmt: skip
    assert model.recommend({11: 1.0}, k=2).evidence[0]["because"] == ""  # nothing liked


def test_ease_in_the_blend_gives_its_score_and_candidates():
    blend = BlendRecommender(
        neural=None,
        use_content=False,
        blend_users=0.5,
        sizes=(3, 6),
        seed=1,
    ).fit(*taste_groups())
    assert EASEComponent in COMPONENTS  # served by default
    assert "ease" in blend.components
    assert blend.layout.names[-3:] == ("ease_score", "ease_rank_pct", "ease_missing")
    component = blend.component("ease")
    assert isinstance(component, EASEComponent)
    opinion = component.opinion(ROMANCE_FAN, None)
    romance, _ = blend.ensemble.catalogue.lookup(np.array(ROMANCE[3:]))
    action, _ = blend.ensemble.catalogue.lookup(np.array(ACTION[3:]))
    features = opinion.features(np.concatenate([romance, action]))
    assert features[: len(romance), 0].min() > features[len(romance) :, 0].max()
    unrated, _ = blend.ensemble.catalogue.lookup(np.array([21, 22]))
    assert np.isnan(opinion.features(unrated)[:, 0]).all()  # outside B: no opinion
    recs = blend.recommend(ROMANCE_FAN, k=3)
    assert set(recs.movie_ids.tolist()) <= set(ROMANCE)
    assert "ease" in recs.evidence[0]["components"]
