"""Neural recommenders: the shared contract, fold-in, artifacts, the training CLI, baselines.

Small real TensorFlow runs on the "two taste groups" data (tests/recommender_contract.py):
a few hundred ratings, tiny embeddings, two CPU threads.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from recommender.neural.runtime import limit_threads

limit_threads(2)

from recommender.baselines import SurpriseSVDRecommender  # noqa: E402
from recommender.models import make_model  # noqa: E402
from recommender.neural.artifacts import latest_version, load_latest, save_artifact  # noqa: E402
from recommender.neural.data import Features, make_dataset, profile_average  # noqa: E402
from tests.recommender_contract import (  # noqa: E402
    ACTION,
    ACTION_FAN,
    ROMANCE,
    RecommenderContract,
    taste_groups,
)

# Tiny runs keep a constant learning rate (the served models cut it on a plateau).
TINY = {
    "batch_size": 64,
    "epochs": 20,
    "learning_rate": 2e-2,
    "learning_rate_plateau": 1.0,
    "patience": 5,
    "seed": 3,
}
TINY_MODELS = {
    "nncf": {
        **TINY,
        "user_dim": 8,
        "movie_dim": 8,
        "genre_dim": 2,
        "tower": (16, 8),
        "dense_dropout": 0.1,
        "embedding_dropout": 0.0,
    },
    "neumf": {**TINY, "gmf_dim": 4, "mlp_dim": 8, "tower": (16, 8), "dropout": 0.0},
    "embed": {**TINY, "dim": 8, "l2_rows": 1e-3},
    "embed-implicit": {**TINY, "dim": 8, "l2_rows": 1e-3, "l2_implicit": 1e-3},
}


def group_truth(movie_ids, loves) -> np.ndarray:
    """What a member of a taste group rates a movie: 4.75 for a loved one, 1.25 otherwise."""
    return np.array([4.75 if m in loves else 1.25 for m in movie_ids])


class NeuralContract(RecommenderContract):
    """The shared contract plus what every neural model must also do."""

    name = ""

    def make_model(self):
        return make_model(self.name, **TINY_MODELS[self.name])

    def test_fold_in_beats_the_untrained_average_user(self, model):
        hidden = [m for m in ACTION + ROMANCE if m not in ACTION_FAN]
        truth = group_truth(hidden, ACTION)
        rows = model.features.movie_index(np.array(hidden))
        avg = profile_average(list(ACTION_FAN.values()), model.features.global_mean)
        untrained = model.scorer.score_all(model.start_vector(rows[:0]), avg)[rows]
        folded = model.predict(ACTION_FAN, hidden)
        untrained_rmse = np.sqrt(np.mean((untrained - truth) ** 2))
        folded_rmse = np.sqrt(np.mean((folded - truth) ** 2))
        assert folded_rmse < 0.6 * untrained_rmse, (folded_rmse, untrained_rmse)

    def test_training_user_is_scored_with_their_trained_vector(self, model):
        # user 21 loves Romance: even with an empty (or contrary) profile their vector says so
        predicted = model.predict(ACTION_FAN, ACTION + ROMANCE, user=21)
        assert predicted[len(ACTION) :].mean() > predicted[: len(ACTION)].mean() + 1.5
        assert model.score(ACTION_FAN, user=21).context["folded_in"] is False
        assert model.score(ACTION_FAN, user="app-user").context["folded_in"] is True

    def test_artifact_round_trip_reproduces_predictions(self, model, tmp_path):
        folder = save_artifact(model, tmp_path, extra={"command": "test"})
        assert latest_version(self.name, tmp_path) == folder.name
        manifest = json.loads((folder / "manifest.json").read_text())
        assert manifest["data"]["fingerprint"] == model.fingerprint
        assert len(model.fingerprint) == 16 and "rmse" in manifest["validation"]
        assert manifest["params"]["seed"] == TINY["seed"]
        loaded = load_latest(self.name, tmp_path)
        for kwargs in ({}, {"user": 5}):
            before, after = model.score(ACTION_FAN, **kwargs), loaded.score(ACTION_FAN, **kwargs)
            np.testing.assert_allclose(after.predicted, before.predicted, rtol=1e-5, atol=1e-5)
            np.testing.assert_allclose(after.match, before.match, rtol=1e-5, atol=1e-5)
        assert np.array_equal(loaded.movie_ids, model.movie_ids)


class TestNNCFContract(NeuralContract):
    name = "nncf"


class TestNeuMFContract(NeuralContract):
    name = "neumf"


class TestEmbedContract(NeuralContract):
    name = "embed"


class TestSurpriseSVDContract(RecommenderContract):
    personalised = False  # strangers get the movies' mean ratings (no fold-in in Surprise)

    def make_model(self):
        return SurpriseSVDRecommender(n_factors=5, n_epochs=10)


def test_surprise_svd_vectorised_predictions_equal_surprise_predict():
    ratings, movies = taste_groups()
    model = SurpriseSVDRecommender(n_factors=5, n_epochs=10).fit(ratings, movies)
    wanted = ACTION + ROMANCE + [21]
    ours = model.predict({}, wanted, user=7)
    theirs = [model.algo.predict(7, m).est for m in wanted]
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    # a stranger gets each movie's mean training rating
    means = ratings.groupby("movieId")["rating"].mean()
    np.testing.assert_allclose(model.predict({}, [1, 11]), means.loc[[1, 11]], rtol=1e-6)


def test_features_hold_shrunk_averages_and_multi_hot_genres():
    ratings, movies = taste_groups()
    features = Features.from_ratings(ratings, movies)
    assert features.n_movies == 22 and features.n_users == 40
    row = features.movie_index(np.array([1]))[0]
    stars = ratings.loc[ratings.movieId == 1, "rating"]
    expected = (stars.sum() + 5 * ratings.rating.mean()) / (len(stars) + 5)
    assert features.movie_avg[row] == pytest.approx(expected, rel=1e-5)
    assert features.genres[row, features.genre_names.index("Action")] == 1
    assert features.genres[row].sum() == 1
    assert features.movie_count[features.movie_index(np.array([21]))[0]] == 0
    # a stranger's average follows the same formula
    assert profile_average([5.0, 5.0], 3.0) == pytest.approx((10 + 15) / 7)


def test_tf_data_pipeline_yields_every_rating_once_per_epoch():
    ratings, movies = taste_groups()
    features = Features.from_ratings(ratings, movies)
    arrays = features.encode(ratings)
    batches = list(make_dataset(arrays, 64, shuffle=True, seed=1))
    inputs = {k: np.concatenate([b[0][k].numpy() for b in batches]) for k in batches[0][0]}
    stars = np.concatenate([b[1].numpy() for b in batches])
    assert stars.shape == (len(ratings), 1) and batches[0][1].shape == (64, 1)
    assert sorted(zip(inputs["user"], inputs["movie"], strict=True)) == sorted(
        zip(arrays["user"], arrays["movie"], strict=True)
    )
    assert not np.array_equal(inputs["movie"], arrays["movie"])  # shuffled


def test_load_latest_without_artifact_says_how_to_train(tmp_path):
    with pytest.raises(FileNotFoundError, match="scripts.train --model nncf"):
        load_latest("nncf", tmp_path)


def test_mirrored_strategy_path_trains_on_cpu():
    from recommender.neural.base import choose_strategy

    ratings, movies = taste_groups()
    model = make_model("nncf", **{**TINY_MODELS["nncf"], "epochs": 1, "batch_size": 256})
    model.strategy = choose_strategy(devices=["/cpu:0"])
    model.fit(ratings, movies)
    assert model.strategy.num_replicas_in_sync == 1
    movie_ids = movies.movieId.to_numpy()
    predicted = model.predict({1: 5.0, 11: 1.0}, movie_ids, user=1)
    assert predicted.shape == (len(movie_ids),) and np.isfinite(predicted).all()


def _write_movielens(folder, ratings: pd.DataFrame, movies: pd.DataFrame) -> None:
    folder.mkdir()
    ratings.to_csv(folder / "ratings.csv", index=False)
    table = movies.assign(
        title=[f"{t} ({y})" for t, y in zip(movies.title, movies.year, strict=True)],
        genres=["|".join(g) or "(no genres listed)" for g in movies.genres],
    )
    table[["movieId", "title", "genres"]].to_csv(folder / "movies.csv", index=False)


def test_train_cli_one_epoch_writes_a_versioned_artifact_with_app_ratings(tmp_path):
    from scripts.train import main

    ratings, movies = taste_groups()
    _write_movielens(tmp_path / "ml", ratings, movies)
    app = pd.DataFrame(
        {
            "userId": [-1] * 5,
            "movieId": [1, 2, 3, 11, 12],
            "rating": [5.0, 5.0, 4.5, 1.0, 1.0],
            "timestamp": [1] * 5,
        }
    )
    app.to_csv(tmp_path / "app.csv", index=False)
    code = main(
        [
            "--model",
            "nncf",
            "--data",
            str(tmp_path / "ml"),
            "--extra-ratings",
            str(tmp_path / "app.csv"),
            "--epochs",
            "1",
            "--batch-size",
            "256",
            "--param",
            "tower=(8,)",
            "--param",
            "user_dim=4",
            "--artifacts-dir",
            str(tmp_path / "artifacts"),
        ]
    )
    assert code == 0
    version = latest_version("nncf", tmp_path / "artifacts")
    folder = tmp_path / "artifacts" / "models" / "nncf" / version
    for name in ("model.keras", "features.npz", "manifest.json", "training_curves.png"):
        assert (folder / name).stat().st_size > 0
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["params"]["tower"] == [8] and manifest["n_ratings_total"] == len(ratings) + 5
    assert len(manifest["history"]["loss"]) == 1
    model = load_latest("nncf", tmp_path / "artifacts")
    assert -1 in model.features.user_ids.tolist()  # the app user was trained on


class TestEmbedImplicitContract(NeuralContract):
    """The SVD++-style variant: also proves its sparse profile layer survives save/load."""

    name = "embed-implicit"
