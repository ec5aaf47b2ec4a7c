"""item-knn, mf-sgd and autorec: the shared contract plus what each promises on its own.

Real fits on the "two taste groups" data (tests/recommender_contract.py), small settings so the
whole file stays cheap; autorec trains a real Keras model on two CPU threads.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from recommender.neural.runtime import limit_threads

limit_threads(2)

from recommender.models import make_model  # noqa: E402
from tests.recommender_contract import (  # noqa: E402
    ACTION,
    ACTION_FAN,
    ROMANCE,
    RecommenderContract,
    taste_groups,
)

SMALL = {
    "item-knn": {"k": 5, "shrinkage": 2.0, "calibration_users": 20},
    "mf-sgd": {"factors": 4, "epochs": 60, "learning_rate": 0.02, "l2": 0.02,
               "batch_size": 32, "calibration_users": 20, "validation_fraction": 0.1},
    "autorec": {"hidden": (16, 8), "activation": ("sigmoid", "elu"), "epochs": 30,
                "batch_size": 8, "learning_rate": 2e-2, "l2": 1e-4, "patience": 30,
                "validation_fraction": 0.1, "calibration_users": 20},
}  # fmt: skip


class TestItemKNNContract(RecommenderContract):
    def make_model(self):
        return make_model("item-knn", **SMALL["item-knn"])


class TestMFSGDContract(RecommenderContract):
    def make_model(self):
        return make_model("mf-sgd", **SMALL["mf-sgd"])


class TestAutoRecContract(RecommenderContract):
    def make_model(self):
        return make_model("autorec", **SMALL["autorec"])


def _fitted(name: str, **changes):
    ratings, movies = taste_groups()
    return make_model(name, **{**SMALL[name], **changes}).fit(ratings, movies)


def test_item_knn_similarity_is_adjusted_cosine():
    ratings, movies = taste_groups()
    model = make_model("item-knn", shrinkage=0.0, calibration_users=0).fit(ratings, movies)
    table = ratings.pivot(index="userId", columns="movieId", values="rating")
    centred = table.sub(table.mean(axis=1), axis=0).fillna(0.0)
    a, b = centred[1].to_numpy(), centred[12].to_numpy()
    expected = a @ b / np.linalg.norm(a) / np.linalg.norm(b)
    rows = model._positions(np.array([12]))[0]
    got = model.similarities(rows)[model._positions(np.array([1]))[0][0], 0]
    assert got == pytest.approx(expected, rel=1e-5)
    assert expected < -0.5  # an Action and a Romance movie are opposite


def test_item_knn_reason_names_the_movies_that_drove_it():
    model = _fitted("item-knn")
    recs = model.recommend(ACTION_FAN, k=3)
    reason = recs.evidence[0]["because"]
    assert reason.startswith("because you rated Movie ")
    # an Action pick is explained by the Action movies the person loved, with their stars
    assert "Movie 1 5★" in reason or "Movie 3 5★" in reason or "Movie 2 4.5★" in reason
    assert "Movie 11" not in reason and recs.evidence[0]["neighbours_rated"] >= 1


def test_item_knn_uses_only_the_k_most_similar_rated_movies():
    one, many = _fitted("item-knn", k=1), _fitted("item-knn", k=6)
    assert one.score(ACTION_FAN).evidence["neighbours_rated"].max() == 1
    assert many.score(ACTION_FAN).evidence["neighbours_rated"].max() > 1


def test_item_knn_falls_back_when_no_neighbour_was_rated():
    model = _fitted("item-knn")
    scores = model.score({1: 5.0})
    unrated = model._positions(np.array([21, 22]))[0]  # nobody rated them: no similarity
    assert (scores.evidence["neighbours_rated"][unrated] == 0).all()
    assert model.explain({1: 5.0}, [21])[0]["because"] == ""
    predicted = model.predict({1: 5.0}, [21, 22])
    assert np.isfinite(predicted).all() and (predicted > 0.5).all()


def test_mf_sgd_learns_and_folds_in_by_a_ridge_solve():
    model = _fitted("mf-sgd")
    assert model.history["rmse"][-1] < 0.5 * model.history["rmse"][0]
    assert len(model.history["val_rmse"]) == SMALL["mf-sgd"]["epochs"]
    vector, bias = model.fold_in(ACTION_FAN)
    rows = model._positions(np.array(list(ACTION_FAN)))[0]
    design = np.hstack([model.movie_factors[rows], np.ones((len(rows), 1))])
    target = np.array(list(ACTION_FAN.values())) - model.global_mean - model.movie_bias[rows]
    gradient = design.T @ (design @ np.append(vector, bias) - target)
    gradient += model.params["foldin_l2"] * np.append(vector, bias)
    np.testing.assert_allclose(gradient, 0.0, atol=1e-8)  # the ridge optimum


def test_mf_sgd_without_biases_keeps_them_at_zero():
    model = _fitted("mf-sgd", biases=False)
    assert not model.user_bias.any() and not model.movie_bias.any()
    liked = [m for m in ACTION if m not in ACTION_FAN]
    assert model.predict(ACTION_FAN, liked).mean() > model.predict(ACTION_FAN, ROMANCE[3:]).mean()


def test_autorec_layers_loss_and_training_curves():
    model = _fitted("autorec")
    dense = [layer for layer in model.model.layers if layer.name.startswith("hidden")]
    assert [layer.units for layer in dense] == [16, 8]
    assert [layer.activation.__name__ for layer in dense] == ["sigmoid", "elu"]
    assert all(layer.kernel_regularizer is not None for layer in dense)
    assert len(model.history["loss"]) == len(model.history["val_loss"]) > 1
    assert model.history["rmse"][-1] < model.history["rmse"][0]
    # the loss counts observed ratings only: filling the holes with anything changes nothing
    from recommender.neural.autorec import observed_mse

    truth = np.array([[4.0, 0.0, 2.0]], np.float32)
    a = float(observed_mse(truth, np.array([[3.0, 5.0, 2.0]], np.float32)))
    b = float(observed_mse(truth, np.array([[3.0, -9.0, 2.0]], np.float32)))
    assert a == b == pytest.approx(0.5)


def test_autorec_serves_people_who_signed_up_after_training():
    ratings, movies = taste_groups()
    late = ratings["userId"].isin([1, 21])  # one of each group signs up after training
    model = make_model("autorec", **SMALL["autorec"]).fit(ratings[~late], movies)
    for user, loves, hates in ((1, ACTION, ROMANCE), (21, ROMANCE, ACTION)):
        mine = ratings[ratings["userId"] == user].sort_values("timestamp").head(6)
        profile = dict(zip(mine["movieId"].astype(int), mine["rating"].astype(float), strict=True))
        assert model.score(profile, user=user).context["folded_in"]
        good = [m for m in loves if m not in profile]
        bad = [m for m in hates if m not in profile]
        assert model.predict(profile, good).mean() > model.predict(profile, bad).mean() + 1.0


@pytest.mark.parametrize("name", ["item-knn", "mf-sgd"])
def test_unknown_setting_is_refused(name):
    with pytest.raises(TypeError):
        make_model(name, nonsense=1)


def test_autorec_refuses_mismatched_activations():
    ratings, movies = taste_groups()
    with pytest.raises(ValueError, match="activation"):
        make_model("autorec", hidden=(4, 4), activation=("relu",)).fit(ratings, movies)


def test_models_accept_ratings_without_movies_table():
    ratings, _ = taste_groups()
    model = make_model("item-knn", calibration_users=0).fit(ratings)
    assert model.recommend(ACTION_FAN, k=2).evidence[0]["because"].startswith("because")
    assert isinstance(pd.Series(model.movie_ids).iloc[0], np.integer | int)


CLI_PARAMS = {
    "item-knn": ["k=5", "calibration_users=20"],
    "mf-sgd": ["factors=4", "epochs=30", "batch_size=32", "calibration_users=20"],
    "autorec": ["epochs=10", "batch_size=8", "calibration_users=20", "learning_rate=0.02"],
    "ease": ["l2=10", "calibration_users=20"],
}


@pytest.fixture(scope="module")
def cli_files(tmp_path_factory):
    """Taste-groups data as CSV files: people 1 and 21 are profiles, the rest is training."""
    folder = tmp_path_factory.mktemp("cli")
    ratings, movies = taste_groups()
    late = ratings["userId"].isin([1, 21])
    ratings[~late].to_csv(folder / "train.csv", index=False)
    ratings[late].groupby("userId").head(8).to_csv(folder / "profiles.csv", index=False)
    pd.DataFrame({"userId": [1, 1, 21, 5], "movieId": [9, 19, 9, 999_999]}).to_csv(
        folder / "pairs.csv", index=False
    )
    movies.assign(genres=movies["genres"].str.join("|")).to_csv(folder / "movies.csv", index=False)
    return folder


@pytest.mark.parametrize("name", ["item-knn", "mf-sgd", "autorec", "ease"])
def test_recommend_and_predict_commands(name, cli_files):
    from scripts import predict, recommend

    params = [arg for p in CLI_PARAMS[name] for arg in ("--param", p)]
    common = ["--model", name, "--train", str(cli_files / "train.csv"),
              "--movies", str(cli_files / "movies.csv"), *params]  # fmt: skip
    recs_path, pred_path = cli_files / f"recs-{name}.csv", cli_files / f"pred-{name}.csv"
    recommend.main([*common, "--profiles", str(cli_files / "profiles.csv"), "--k", "4",
                    "--out", str(recs_path)])  # fmt: skip
    predict.main([*common, "--profiles", str(cli_files / "profiles.csv"),
                  "--test", str(cli_files / "pairs.csv"), "--out", str(pred_path)])  # fmt: skip
    recs = pd.read_csv(recs_path)
    profiles = pd.read_csv(cli_files / "profiles.csv")
    assert list(recs.columns) == ["userId", "rank", "movieId", "score", "match"]
    for user, mine in recs.groupby("userId"):
        assert mine["rank"].tolist() == [1, 2, 3, 4]
        assert not set(mine["movieId"]) & set(profiles.loc[profiles["userId"] == user, "movieId"])
    pred = pd.read_csv(pred_path)
    assert list(pred.columns) == ["userId", "movieId", "prediction", "match"]
    assert pred["prediction"].between(0.5, 5).all() and pred["match"].between(0, 100).all()
    # person 1 loves Action (movie 9), person 21 loves Romance (movie 19)
    assert pred["prediction"].iloc[0] > pred["prediction"].iloc[1]
    assert pred["match"].iloc[3] == 0  # unknown movie


def test_item_knn_mf_sgd_and_ease_never_import_tensorflow():
    import subprocess
    import sys
    from pathlib import Path

    code = (
        "import sys; from recommender.models import make_model; "
        "from tests.recommender_contract import taste_groups; "
        "make_model('item-knn').fit(*taste_groups()); "
        "make_model('mf-sgd', epochs=2).fit(*taste_groups()); "
        "make_model('ease').fit(*taste_groups()); "
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules"
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
