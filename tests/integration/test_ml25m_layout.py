"""The real ml-25m / ml-32m layout, end to end: load it, build every model, serve it.

The fixture writes a small release of exactly ml-25m's shape, generated here (never a big file
in git): ``ratings.csv``, ``movies.csv`` (quoted titles with commas, a title without a year,
``(no genres listed)``, movies nobody rated), ``links.csv`` (an empty tmdbId), ``tags.csv``
(a tag with a comma and one with a quoted newline), ``genome-scores.csv``, ``genome-tags.csv``
and ``README.txt``, and no overviews. Then the real ``python -m scripts.build_models``
(real SBERT, real TensorFlow, the real blend) builds into a fresh ``ARTIFACTS_DIR``, and a real
gunicorn worker on the session's Redis serves the blend over HTTP.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import requests

from tests.helpers import http_sign_up_and_log_in

API = "/api/v1"
UNRATED = (990_001, 990_002)
"""Movie ids listed in movies.csv and links.csv that nobody rated (ml-25m has ~3,400)."""


def write_ml25m_shaped(folder: Path) -> Path:
    """A small release with every file and quirk of ml-25m (see the module docstring)."""
    from recommender.synthetic import make_synthetic
    from scripts.make_synthetic import write_movielens_csv

    ml = make_synthetic(n_users=120, n_movies=150, n_ratings=3_000, seed=3)
    extra = pd.DataFrame(
        {
            "movieId": pd.array(UNRATED, dtype="int32"),
            "title": ["Unwatched, The", "Nobody's Film"],
            "year": pd.array([1999, None], dtype="Int16"),  # a title without a year
            "genres": [["Drama"], []],  # [] is written as "(no genres listed)"
        }
    )
    ml.movies = pd.concat([ml.movies, extra], ignore_index=True)
    links = pd.DataFrame({"movieId": UNRATED, "imdbId": [1, 2], "tmdbId": [3, None]})
    ml.links = pd.concat([ml.links, links.astype(ml.links.dtypes.to_dict())], ignore_index=True)
    write_movielens_csv(ml, folder)
    movie = int(ml.ratings["movieId"].iloc[0])
    (folder / "tags.csv").write_text(
        "userId,movieId,tag,timestamp\n"
        f'1,{movie},"dark, moody",1139045764\n'
        f'2,{movie},"line one\nline two",1139045765\n'
        f"3,{movie},classic,1139045766\n"
    )
    (folder / "genome-tags.csv").write_text("tagId,tag\n1,007\n2,007 (series)\n3,18th century\n")
    scores = ["movieId,tagId,relevance"]
    scores += [
        f"{m},{t},0.{(m * 7 + t) % 1000:03d}" for m in ml.movies["movieId"] for t in (1, 2, 3)
    ]
    (folder / "genome-scores.csv").write_text("\n".join(scores) + "\n")
    (folder / "README.txt").write_text("Summary\n=======\nA small file of ml-25m's shape.\n")
    return folder


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return write_ml25m_shaped(tmp_path_factory.mktemp("ml-25m-shaped") / "ml-25m")


def test_ml25m_layout_loads_with_tags_and_unrated_movies(release):
    from recommender.movielens import detect_format, load_movielens

    assert detect_format(release) == "csv"
    ml = load_movielens(release)
    assert len(ml.ratings) == 3_000 and ml.ratings["userId"].nunique() == 120
    assert set(UNRATED) <= set(ml.movies["movieId"]) and len(ml.movies) == 152
    unwatched = ml.movies.set_index("movieId").loc[UNRATED[0]]
    assert unwatched["title"] == "Unwatched, The" and unwatched["year"] == 1999
    assert ml.movies.set_index("movieId").loc[UNRATED[1], "genres"] == []
    assert pd.isna(ml.links.set_index("movieId").loc[UNRATED[1], "tmdbId"])
    assert sorted(ml.tags["tag"]) == ["classic", "dark, moody", "line one\nline two"]


@pytest.mark.timeout(1500)  # four build steps in child processes: ~3 min quiet, 10+ busy
def test_build_models_completes_on_the_ml25m_layout_and_the_worker_serves_it(
    release, tmp_path, redis_server
):
    import redis

    from worker.launch import start_worker

    artifacts = tmp_path / "artifacts"
    env = {
        **os.environ,
        "MOVIELENS_PATH": str(release),
        "ARTIFACTS_DIR": str(artifacts),
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("DATA_DIR", None)  # no overviews, as a downloaded ml-25m folder has none
    build = subprocess.run(
        [sys.executable, "-m", "scripts.build_models"],
        env=env,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]
    assert "All models built" in build.stdout
    for built in ("sbert/vectors.npy", "blend/latest", "plots/embeddings.png", "build.json"):
        assert (artifacts / built).exists(), built

    redis.Redis.from_url(redis_server.url).flushdb()
    config = {"BCRYPT_ROUNDS": 4, "SIGNUP_MAX_PER_ADDRESS": 1000}
    worker = start_worker(
        redis_server.url,
        processes=1,
        threads=2,
        app_config=config,
        env={"MOVIELENS_PATH": str(release), "ARTIFACTS_DIR": str(artifacts)},
    )
    try:
        ready = requests.get(f"{worker.url}/readyz", timeout=30).json()
        assert ready["model"] == "blend", ready
        headers = http_sign_up_and_log_in(worker.url, "ml25m_person")
        grid = requests.get(f"{worker.url}{API}/movies?page=1", headers=headers, timeout=30)
        rated = [item["id"] for item in grid.json()["items"][:6]]
        for number, movie_id in enumerate(rated):
            answer = requests.put(
                f"{worker.url}{API}/me/ratings/{movie_id}",
                json={"rating": 5.0 if number % 2 else 2.0},
                headers=headers,
                timeout=30,
            )
            assert answer.status_code in (200, 201), answer.text
        answer = requests.get(f"{worker.url}{API}/me/recommendations", headers=headers, timeout=60)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["model"] == "blend"
        ids = [item["movie"]["id"] for item in body["items"]]
        catalogue = set(pd.read_csv(release / "movies.csv")["movieId"])
        assert len(ids) == 24 and set(ids) <= catalogue - set(rated)
        assert all(0 <= item["match"] <= 100 for item in body["items"])
    finally:
        worker.stop()
