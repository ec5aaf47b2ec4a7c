"""Fixtures shared by every test: the data folder, a seeded RNG and a real Redis server."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from worker.embedded_redis import start_embedded_redis


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The local data folder from ``DATA_DIR`` (``ml-latest-small/`` and ``overviews/``)."""
    value = os.environ.get("DATA_DIR")
    if not value or not (Path(value) / "ml-latest-small" / "ratings.csv").exists():
        pytest.fail("set DATA_DIR to a folder holding ml-latest-small/ (see README)")
    return Path(value)


@pytest.fixture()
def rng() -> np.random.Generator:
    """A seeded random generator, so every test is repeatable."""
    return np.random.default_rng(42)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real ``redis-server`` on a free port, with AOF persistence, for the whole session."""
    server = start_embedded_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


# --------------------------------------------------------------------------- worker fixtures

WORKER_TEST_CONFIG = {
    "BCRYPT_ROUNDS": 4,
    "LOAD_IN_BACKGROUND": False,
    "RECOMMENDER_MODEL": "pearson",
    "NEIGHBOUR_MIN_AGE_SECONDS": 0,
    "NEIGHBOUR_MIN_RATINGS": 1,
    "SIGNUP_MAX_PER_ADDRESS": 1000,
}
"""Test-only settings for the in-process worker: cheap bcrypt, models loaded before the test,
Pearson (whose evidence the worker tests check) whatever the default model is, and app users
as neighbours from their first rating (tests/integration/test_worker_shilling.py checks
the real rules)."""


CONTENT_MOVIES = 300
"""How many of the most-rated ml-latest-small movies get SBERT vectors in the worker tests."""


@pytest.fixture(scope="session")
def empty_artifacts(tmp_path_factory) -> Path:
    """An ARTIFACTS_DIR with nothing in it (no blend, no embed, no content vectors)."""
    return tmp_path_factory.mktemp("no-artifacts")


@pytest.fixture(scope="session")
def content_artifacts(tmp_path_factory, data_dir) -> Path:
    """An ARTIFACTS_DIR holding real SBERT content vectors (``sbert/``, as scripts/embed.py
    writes them) of the 300 most-rated ml-latest-small movies plus movies 1-10.

    Encoded once per session with the real all-MiniLM-L6-v2 model, through an embedding cache
    seeded from the developer's ``ARTIFACTS_DIR/embeddings`` when one exists (then only texts
    missing there are encoded)."""
    import shutil

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from recommender import settings
    from recommender.content import EmbeddingCache, MovieVectors, load_catalogue_texts
    from recommender.movielens import load_movielens

    root = tmp_path_factory.mktemp("content-artifacts")
    cache_dir = root / "embeddings-cache"
    seed = settings.artifacts_dir() / "embeddings" / "all-MiniLM-L6-v2"
    if (seed / "index.json").exists():
        shutil.copytree(seed, cache_dir)
    ml = load_movielens(data_dir / "ml-latest-small")
    counts = ml.ratings["movieId"].value_counts()
    wanted = set(counts.index[:CONTENT_MOVIES].tolist()) | set(range(1, 11))
    movies = ml.movies[ml.movies["movieId"].isin(wanted)]
    texts = load_catalogue_texts(movies)
    vectors = MovieVectors.build(texts, cache=EmbeddingCache(cache_dir))
    vectors.save(root / "sbert")
    return root


@pytest.fixture(scope="session")
def model_loader(data_dir):
    """The session's :class:`worker.services.ModelLoader`: every worker app made by
    :func:`make_worker_app` shares it, so models and the catalogue load once per session."""
    from worker.services import ModelLoader

    return ModelLoader()


@pytest.fixture()
def make_worker_app(redis_server, data_dir, empty_artifacts, model_loader):
    """Factory ``make_worker_app(loader=None, **overrides)`` of worker apps on the session's
    Redis.

    The Redis database is emptied first, so every test starts from nothing. Models and the
    catalogue load once per test session (:func:`model_loader`) unless a ``loader`` is given
    (e.g. ``ModelLoader.serving(catalog, model, "pearson")``). ``ARTIFACTS_DIR`` is
    an empty folder unless overridden (then similar/discover/query answer 503).
    """
    import redis

    from worker.app import create_app

    def make(loader=None, **overrides):
        redis.Redis.from_url(redis_server.url).flushdb()
        config = {
            **WORKER_TEST_CONFIG,
            "REDIS_URL": redis_server.url,
            "ARTIFACTS_DIR": str(empty_artifacts),
            **overrides,
        }
        return create_app(config, loader=loader or model_loader)

    return make


@pytest.fixture()
def worker_app(make_worker_app):
    """A worker app (models loaded) on an empty Redis database."""
    return make_worker_app()


@pytest.fixture()
def worker_client(worker_app):
    """Flask test client of :func:`worker_app`."""
    return worker_app.test_client()


@pytest.fixture(scope="session")
def live_worker(tmp_path_factory, data_dir, content_artifacts):
    """Base URL (``http://127.0.0.1:PORT``) of a real worker: gunicorn, 2 processes, its own
    redis-server, bcrypt cost 4, high per-address login, sign-up and guest limits (generated
    tests make many from one address; the per-username limit of 5 stays) and the session's content
    vectors (no blend artifact: it serves Pearson, as RECOMMENDER_MODEL=auto falls back)."""
    from worker.launch import start_worker

    folder = tmp_path_factory.mktemp("live-worker")
    server = start_embedded_redis(folder / "redis")
    config = {
        "BCRYPT_ROUNDS": 4,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 1000,
        "SIGNUP_MAX_PER_ADDRESS": 1000,
        "GUEST_MAX_PER_ADDRESS": 1000,
        "ARTIFACTS_DIR": str(content_artifacts),
    }
    worker = start_worker(server.url, app_config=config, log_path=folder / "worker.log")
    yield worker.url
    worker.stop()
    server.stop()


@pytest.fixture()
def worker_login():
    """``worker_login(client, username, password=...)``: sign up, log in, return auth headers
    (:func:`tests.helpers.sign_up_and_log_in`)."""
    from tests.helpers import sign_up_and_log_in

    return sign_up_and_log_in


@pytest.fixture()
def list_neighbours():
    """``list_neighbours(app, username)``: the taste neighbours (``{"user", "similarity",
    ...}``, app users as ``app:<id>``) behind the user's recommendation list, as the app's
    model computes them now (the store keeps only which app users a list leaned on)."""
    from worker.services import user_model_key

    def neighbours(app, username: str) -> list[dict]:
        store, service = app.extensions["store"], app.extensions["models"]
        user_id = store.user_id_for(username)
        service.sync()
        recs = service.loaded.model.recommend(
            store.profile(user_id), k=service.lists.cache_size, user=user_model_key(user_id)
        )
        return list(recs.context.get("neighbours", []))

    return neighbours
