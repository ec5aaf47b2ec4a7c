"""The worker serves a model it is handed: ``create_app(config, loader=ModelLoader.serving(...))``.

A Pearson model fitted on the contract's tiny "two taste groups" data (40 people, 22 movies;
fitted in milliseconds) is given to the app; the dataset is never read (``MOVIELENS_PATH``
points at a folder that does not exist) and no SBERT model is loaded. On a real Redis, a
person who loves Action gets the unrated Action movies first, with reasons from
:mod:`recommender.reasons`, and a second app handed its own copy of the model sees that
person as a neighbour after one sync.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from recommender.catalog import Catalog
from recommender.pearson import PearsonRecommender
from recommender.reasons import neighbour_sentence
from tests.recommender_contract import ACTION, ROMANCE, taste_groups
from worker.services import ModelLoader, ModelService, user_model_key

API = "/api/v1"
LOVES_ACTION = {1: 5.0, 2: 4.5, 3: 5.0, 4: 4.5, 11: 1.0, 12: 1.5}


def small_loader() -> ModelLoader:
    """A loader serving Pearson fitted on the two-taste-groups data, with its catalogue."""
    ratings, movies = taste_groups()
    counts = ratings["movieId"].value_counts().reindex(movies["movieId"], fill_value=0)
    catalog = Catalog(movies, counts.to_numpy(dtype=np.int64))
    model = PearsonRecommender(candidates=40, neighbours=10).fit(ratings, movies)
    return ModelLoader.serving(catalog, model, "pearson", "pearson@taste-groups")


@pytest.fixture()
def small_app(make_worker_app, tmp_path, monkeypatch):
    """A worker app on the session's (emptied) Redis that serves :func:`small_loader`."""
    monkeypatch.setenv("MOVIELENS_PATH", str(tmp_path / "no-dataset-here"))
    return make_worker_app(loader=small_loader())


def test_a_handed_model_is_served_without_the_dataset(small_app, worker_login):
    started = time.perf_counter()
    client = small_app.test_client()
    ready = client.get("/readyz").get_json()
    assert ready["status"] == "ready" and ready["model_version"] == "pearson@taste-groups"
    assert ready["models"]["content_vectors"] == "missing"  # no SBERT anywhere
    genres = client.get(f"{API}/genres").get_json()["genres"]
    assert genres == ["Action", "Drama", "Romance"]

    headers = worker_login(client, "action_fan")
    for movie_id, stars in LOVES_ACTION.items():
        answer = client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
        assert answer.status_code == 200
    recs = client.get(f"{API}/me/recommendations", headers=headers).get_json()
    assert recs["model"] == "pearson" and recs["cached"] is False
    shown = [item["movie"]["id"] for item in recs["items"]]
    assert recs["total"] == 22 - len(LOVES_ACTION) and not set(shown) & set(LOVES_ACTION)
    unrated_action = [m for m in ACTION if m not in LOVES_ACTION]
    assert set(shown[: len(unrated_action)]) == set(unrated_action)
    assert set(shown[len(unrated_action) :]) <= set(ROMANCE) | {21, 22}
    top = recs["items"][0]
    assert top["reason"] == neighbour_sentence(top["evidence"], top["predicted_rating"], 10)
    assert top["reasons"][1] == f"Predicted rating for you: {top['predicted_rating']:.1f}★"
    assert top["predicted_rating"] >= 4.0 > recs["items"][-1]["predicted_rating"]

    again = client.get(f"{API}/me/recommendations", headers=headers).get_json()
    assert again["cached"] is True and again["items"] == recs["items"]
    assert time.perf_counter() - started < 10  # seconds, not the minutes of real data + SBERT


def test_a_second_app_with_its_own_model_sees_new_neighbours(small_app, worker_login):
    client = small_app.test_client()
    store = small_app.extensions["store"]
    other = ModelService(store, small_app.config, small_loader())
    other.start(background=False)
    headers = worker_login(client, "new_neighbour")
    client.put(f"{API}/me/ratings/1", json={"rating": 5.0}, headers=headers)
    user_id = store.user_id_for("new_neighbour")
    assert user_model_key(user_id) not in other.loaded.model.app_users
    assert other.sync() == 1
    assert user_model_key(user_id) in other.loaded.model.app_users
