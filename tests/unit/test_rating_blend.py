"""rating-blend: the shared contract, the CLI contract, and weights learned on an inner split.

Real fits of real components (item-knn, mf-sgd) on the "two taste groups" data, small settings.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.models import make_model
from recommender.rating_blend import RatingBlendRecommender
from tests.recommender_contract import ACTION, ACTION_FAN, RecommenderContract, taste_groups

SMALL = {
    "component_params": {
        "item-knn": {"k": 5, "shrinkage": 2.0, "calibration_users": 0},
        "mf-sgd": {"factors": 4, "epochs": 40, "learning_rate": 0.02, "l2": 0.02,
                   "batch_size": 32, "calibration_users": 0},
    },
    "components": "item-knn,mf-sgd",
    "inner_fraction": 0.2,
    "interactions": True,
    "calibration_users": 20,
}  # fmt: skip


class TestRatingBlendContract(RecommenderContract):
    def make_model(self):
        return make_model("rating-blend", **SMALL)


@pytest.fixture(scope="module")
def fitted():
    ratings, movies = taste_groups()
    return make_model("rating-blend", **SMALL).fit(ratings, movies)


def test_weights_are_learned_on_an_inner_split_of_the_training_ratings(fitted):
    ratings, _ = taste_groups()
    # every feature has a weight; the stack predicts the set-aside ratings well
    assert fitted.weights.shape == (len(fitted.feature_names),) == (9,)
    assert fitted.inner_rmse < 0.5 < float(ratings["rating"].std())
    # the components were refitted on all training ratings after the weights were learned
    knn = fitted.components[0]
    assert knn.name == "item-knn" and knn.movie_count.sum() == len(ratings)


def test_a_useless_component_gets_less_weight_than_a_good_one():
    ratings, movies = taste_groups()
    model = RatingBlendRecommender(
        components="item-knn,popularity", interactions=False, inner_fraction=0.2,
        component_params={"item-knn": SMALL["component_params"]["item-knn"]},
        calibration_users=0,
    ).fit(ratings, movies)  # fmt: skip
    knn_weight, popularity_weight = model.weights[1:]
    assert knn_weight > 0.5 and abs(popularity_weight) < knn_weight / 2


def test_predict_agrees_with_score_and_serves_new_people(fitted):
    wanted = [4, 5, 14, 15, 21]
    scores = fitted.score(ACTION_FAN)
    pos = np.searchsorted(scores.movie_ids, wanted)
    assert np.allclose(fitted.predict(ACTION_FAN, wanted), scores.predicted[pos])
    assert fitted.predict(ACTION_FAN, [4, 5]).mean() > fitted.predict(ACTION_FAN, [14, 15]).max()
    recs = fitted.recommend(ACTION_FAN, k=3)
    assert set(recs.movie_ids) <= set(ACTION)
    assert recs.evidence[0]["because"].startswith("because you rated")  # item-knn's reason


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="component"):
        RatingBlendRecommender(components="")
    with pytest.raises(ValueError, match="own component"):
        RatingBlendRecommender(components="item-knn,rating-blend")
    with pytest.raises(ValueError, match="not in components"):
        RatingBlendRecommender(components="item-knn", component_params={"mf-sgd": {}})
    with pytest.raises(ValueError, match="inner_fraction"):
        RatingBlendRecommender(inner_fraction=1.0)


def test_recommend_and_predict_commands(tmp_path):
    from scripts import predict, recommend

    ratings, movies = taste_groups()
    late = ratings["userId"].isin([1, 21])
    ratings[~late].to_csv(tmp_path / "train.csv", index=False)
    ratings[late].groupby("userId").head(8).to_csv(tmp_path / "profiles.csv", index=False)
    pd.DataFrame({"userId": [1, 1, 21, 5], "movieId": [9, 19, 9, 999_999]}).to_csv(
        tmp_path / "pairs.csv", index=False
    )
    movies.assign(genres=movies["genres"].str.join("|")).to_csv(tmp_path / "movies.csv")
    params = ["components=item-knn,mf-sgd", "inner_fraction=0.2", "calibration_users=20",
              "component_params={'mf-sgd': {'factors': 4, 'epochs': 30}}"]  # fmt: skip
    common = ["--model", "rating-blend", "--train", str(tmp_path / "train.csv"),
              "--movies", str(tmp_path / "movies.csv"),
              *[arg for p in params for arg in ("--param", p)]]  # fmt: skip
    recommend.main([*common, "--profiles", str(tmp_path / "profiles.csv"), "--k", "4",
                    "--out", str(tmp_path / "recs.csv")])  # fmt: skip
    predict.main([*common, "--profiles", str(tmp_path / "profiles.csv"), "--test",
                  str(tmp_path / "pairs.csv"), "--out", str(tmp_path / "pred.csv")])  # fmt: skip
    recs = pd.read_csv(tmp_path / "recs.csv")
    profiles = pd.read_csv(tmp_path / "profiles.csv")
    assert list(recs.columns) == ["userId", "rank", "movieId", "score", "match"]
    for user, mine in recs.groupby("userId"):
        assert mine["rank"].tolist() == [1, 2, 3, 4]
        assert not set(mine["movieId"]) & set(profiles.loc[profiles["userId"] == user, "movieId"])
    pred = pd.read_csv(tmp_path / "pred.csv")
    assert list(pred.columns) == ["userId", "movieId", "prediction", "match"]
    assert pred["prediction"].between(0.5, 5).all() and pred["match"].between(0, 100).all()
    assert pred["prediction"].iloc[0] > pred["prediction"].iloc[1]  # person 1 loves Action
    assert pred["match"].iloc[3] == 0  # unknown movie
