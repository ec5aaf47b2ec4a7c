"""``scripts.train --include-app-ratings``: retraining on the ratings people made in the app.

Real parts only: the session's real ``redis-server`` (tests/conftest.py ``redis_server``), the
worker's own store functions to write the ratings, a real one-epoch TensorFlow run on the tiny
"two taste groups" data (tests/recommender_contract.py) with two CPU threads.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import redis

from recommender.neural.runtime import limit_threads

limit_threads(2)

from recommender.neural.artifacts import latest_version, load_latest  # noqa: E402
from tests.recommender_contract import taste_groups  # noqa: E402
from tests.unit.test_neural import _write_movielens  # noqa: E402
from worker.store import EXPORT_USER_OFFSET, Store, export_ratings  # noqa: E402

APP_PEOPLE = {
    "action_fan": {1: 5.0, 2: 4.5, 3: 5.0, 11: 1.0, 12: 1.5},
    "romance_fan": {1: 1.0, 11: 5.0, 12: 4.5},
}


def _train_args(tmp_path, *more: str) -> list[str]:
    return [
        "--model",
        "embed",
        "--data",
        str(tmp_path / "ml"),
        "--epochs",
        "1",
        "--batch-size",
        "256",
        "--param",
        "dim=4",
        "--artifacts-dir",
        str(tmp_path / "artifacts"),
        *more,
    ]


def _latest_folder(artifacts):
    return artifacts / "models" / "embed" / latest_version("embed", artifacts)


@pytest.fixture()
def app_redis(redis_server):
    """The session's Redis, emptied, holding :data:`APP_PEOPLE`'s ratings written by the
    worker's store (sign-up + atomic rating scripts, as the worker does)."""
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    store = Store(client)
    for n, (username, profile) in enumerate(APP_PEOPLE.items()):
        user = store.create_user(username, "not-a-real-bcrypt-hash", "2026-11-23T00:00:00Z")
        for i, (movie, stars) in enumerate(profile.items()):
            store.set_rating(user.id, movie, stars, 1_700_000_000_000 + 1000 * (10 * n + i))
    yield redis_server.url
    client.flushdb()


def test_train_cli_with_app_ratings_trains_on_the_app_users(tmp_path, app_redis, monkeypatch):
    from scripts.train import main

    ratings, movies = taste_groups()
    _write_movielens(tmp_path / "ml", ratings, movies)
    monkeypatch.setenv("REDIS_URL", app_redis)

    assert main(_train_args(tmp_path, "--include-app-ratings")) == 0

    n_app = sum(len(p) for p in APP_PEOPLE.values())
    folder = _latest_folder(tmp_path / "artifacts")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["app_ratings"] == {
        "source": "redis (REDIS_URL)",
        "n_ratings": n_app,
        "n_users": len(APP_PEOPLE),
    }
    assert manifest["n_ratings_total"] == len(ratings) + n_app
    assert "--include-app-ratings" in manifest["command"]

    # the exported ids (stable per person, far above MovieLens ids) are users of the model
    exported = export_ratings(redis.Redis.from_url(app_redis))
    app_ids = sorted(exported["userId"].unique().tolist())
    assert len(app_ids) == len(APP_PEOPLE) and min(app_ids) > EXPORT_USER_OFFSET
    model = load_latest("embed", tmp_path / "artifacts")
    known = set(model.features.user_ids.tolist())
    assert set(app_ids) <= known
    assert set(ratings["userId"].unique()) <= known
    assert len(known) == ratings["userId"].nunique() + len(APP_PEOPLE)


def test_train_cli_without_the_flag_ignores_redis(tmp_path, app_redis, monkeypatch):
    from scripts.train import main

    ratings, movies = taste_groups()
    _write_movielens(tmp_path / "ml", ratings, movies)
    monkeypatch.setenv("REDIS_URL", app_redis)

    assert main(_train_args(tmp_path)) == 0

    model = load_latest("embed", tmp_path / "artifacts")
    assert max(model.features.user_ids.tolist()) < EXPORT_USER_OFFSET
    folder = _latest_folder(tmp_path / "artifacts")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["app_ratings"] is None and manifest["n_ratings_total"] == len(ratings)


def test_include_app_ratings_without_redis_url_exits_2(tmp_path, monkeypatch, capsys):
    from scripts.train import main

    ratings, movies = taste_groups()
    _write_movielens(tmp_path / "ml", ratings, movies)
    monkeypatch.delenv("REDIS_URL", raising=False)

    with pytest.raises(SystemExit) as exit_info:
        main(_train_args(tmp_path, "--include-app-ratings"))
    assert exit_info.value.code == 2
    assert "REDIS_URL" in capsys.readouterr().err
    assert not (tmp_path / "artifacts").exists()


def test_include_app_ratings_with_unreachable_redis_exits_2(tmp_path, monkeypatch, capsys):
    import socket

    from scripts.train import main

    ratings, movies = taste_groups()
    _write_movielens(tmp_path / "ml", ratings, movies)
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{port}/0")

    with pytest.raises(SystemExit) as exit_info:
        main(_train_args(tmp_path, "--include-app-ratings"))
    assert exit_info.value.code == 2
    assert "cannot export" in capsys.readouterr().err
    assert not (tmp_path / "artifacts").exists()


def test_exported_app_ratings_join_movielens_with_its_dtypes(tmp_path, app_redis):
    from scripts.train import read_training_data

    ratings, movies = taste_groups()
    _write_movielens(tmp_path / "ml", ratings, movies)
    exported = export_ratings(redis.Redis.from_url(app_redis))

    combined, _ = read_training_data(tmp_path / "ml", [], exported)

    assert len(combined) == len(ratings) + len(exported)
    app_rows = combined[combined["userId"] > EXPORT_USER_OFFSET]
    pd.testing.assert_frame_equal(
        app_rows.reset_index(drop=True),
        exported.astype(combined.dtypes.to_dict()).reset_index(drop=True),
    )
