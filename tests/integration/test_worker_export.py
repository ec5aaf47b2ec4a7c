"""Ratings export for retraining: stable, collision-free user ids; the CLI writes the same rows.

Real Redis (the session's server), real HTTP calls through the Flask test client, and the
real ``python -m scripts.export_ratings`` in a subprocess.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import redis

from worker.store import EXPORT_USER_OFFSET, export_ratings

API = "/api/v1"
ROOT = Path(__file__).parents[2]


def test_export_gives_each_app_user_a_stable_id_far_above_movielens(
    worker_client, worker_login, redis_server
):
    ann = worker_login(worker_client, "export_ann")
    bob = worker_login(worker_client, "export_bob")
    before = time.time()
    for movie_id, stars in [(1, 4.5), (2, 3.0)]:
        worker_client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=ann)
    worker_client.put(f"{API}/me/ratings/3", json={"rating": 5.0}, headers=bob)
    worker_client.put(f"{API}/me/ratings/2", json={"rating": 1.5}, headers=ann)  # changed

    client = redis.Redis.from_url(redis_server.url)  # bytes client, as train.py would make
    first = export_ratings(client)
    assert list(first.columns) == ["userId", "movieId", "rating", "timestamp"]
    assert [str(t) for t in first.dtypes] == ["int64", "int64", "float64", "int64"]
    assert (first["userId"] > EXPORT_USER_OFFSET).all()
    assert len(first) == 3 and first["userId"].nunique() == 2
    by_movie = first.set_index("movieId")
    assert by_movie.loc[2, "rating"] == 1.5 and by_movie.loc[1, "rating"] == 4.5
    assert by_movie.loc[1, "userId"] == by_movie.loc[2, "userId"] != by_movie.loc[3, "userId"]
    assert (first["timestamp"] >= int(before) - 1).all()
    assert (first["timestamp"] <= time.time() + 1).all()

    carl = worker_login(worker_client, "export_carl")
    worker_client.put(f"{API}/me/ratings/1", json={"rating": 2.0}, headers=carl)
    second = export_ratings(client)
    ids_before = set(first["userId"])
    assert ids_before < set(second["userId"])  # old users keep their ids, carl gets a new one
    assert len(set(second["userId"]) - ids_before) == 1


def test_cli_writes_the_export_as_csv(worker_client, worker_login, redis_server, tmp_path):
    headers = worker_login(worker_client, "export_cli")
    for movie_id in (1, 2, 3):
        worker_client.put(f"{API}/me/ratings/{movie_id}", json={"rating": 4.0}, headers=headers)
    out = tmp_path / "app_ratings.csv"
    env = {**os.environ, "REDIS_URL": redis_server.url, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "scripts.export_ratings", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "wrote 3 ratings of 1 app users" in done.stdout
    written = pd.read_csv(out)
    expected = export_ratings(redis.Redis.from_url(redis_server.url))
    pd.testing.assert_frame_equal(written, expected, check_dtype=False)


def test_cli_without_redis_url_says_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    env["PYTHONPATH"] = str(ROOT)
    done = subprocess.run(
        [sys.executable, "-m", "scripts.export_ratings", "--out", str(tmp_path / "x.csv")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2 and "REDIS_URL" in done.stderr
