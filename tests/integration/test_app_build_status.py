"""The app's status line while the full model builds (first start), and when its build failed.

Real parts: a gunicorn worker (one process) with its own redis-server, serving Pearson because
its ``ARTIFACTS_DIR`` holds no blend, and a progress file written there by the real writer
(:mod:`recommender.build_status`, as ``scripts/build_models.py`` writes it; the "building"
process is this test's, so it is alive); the app driven by ``AppTest`` over real HTTP.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from streamlit.testing.v1 import AppTest

from recommender import build_status
from scripts.build_models import STEPS
from tests.helpers import app_log_in, http_sign_up_and_log_in

HOME = str(Path(__file__).resolve().parents[2] / "app" / "Home.py")
GENRES = ["Action", "Adventure", "Comedy", "Drama", "Thriller"]
RUNNING = "Taste-neighbour picks while the full model builds — step 2 of 4, 40 %"


def progress_file(artifacts: Path, state: str, error: str | None = None) -> None:
    """What the build writes at step 2 of 4 (SBERT done in 95 s, the neural model half way)."""
    steps = [{"name": s.name, "state": "waiting", "progress": 0.0, "seconds": None} for s in STEPS]
    steps[0].update(state="done", progress=1.0, seconds=95.0)
    steps[1].update(state="running" if state == "running" else "failed", progress=0.5)
    build_status.write(
        artifacts,
        {
            "state": state,
            "step": 2,
            "of": 4,
            "percent": 40,
            "steps": steps,
            "started_at": build_status.now(),
            "log": str(artifacts / build_status.LOG),
            "error": error,
        },
    )


@pytest.fixture(scope="module")
def building_worker(tmp_path_factory):
    """(URL, ARTIFACTS_DIR) of a worker with no models built yet."""
    from worker.embedded_redis import start_embedded_redis
    from worker.launch import start_worker

    folder = tmp_path_factory.mktemp("first-start-app")
    artifacts = folder / "artifacts"
    artifacts.mkdir()
    server = start_embedded_redis(folder / "redis")
    config = {
        "BCRYPT_ROUNDS": 4,
        "SIGNUP_MAX_PER_ADDRESS": 1000,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 1000,
        "ARTIFACTS_DIR": str(artifacts),
    }
    worker = start_worker(
        server.url, processes=1, app_config=config, log_path=folder / "worker.log"
    )
    yield worker.url, artifacts
    worker.stop()
    server.stop()


def captions(at: AppTest) -> list[str]:
    return [str(c.value) for c in at.caption]


def test_the_status_line_says_what_is_served_and_shows_the_steps(building_worker, monkeypatch):
    url, artifacts = building_worker
    progress_file(artifacts, "running")
    headers = http_sign_up_and_log_in(url, "status_line")
    api = f"{url}/api/v1"
    requests.put(f"{api}/me/genres", json={"genres": GENRES}, headers=headers, timeout=30)
    for movie_id in (1, 2, 3, 6, 10):
        answer = requests.put(
            f"{api}/me/ratings/{movie_id}", json={"rating": 4.5}, headers=headers, timeout=30
        )
        assert answer.status_code == 200, answer.text

    monkeypatch.setenv("WORKER_URL", url)
    monkeypatch.setenv("WORKER_TIMEOUT_SECONDS", "60")
    at = AppTest.from_file(HOME, default_timeout=120)
    at.run()
    app_log_in(at, "status_line")
    at.session_state["goto"] = "Recommendations"
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["nav"] == "Recommendations"
    assert RUNNING in captions(at)
    assert any("% match" in str(m.value) for m in at.markdown)  # Pearson's list is there
    [expander] = [e for e in at.expander if e.label == "Model build progress"]
    bars = [p.proto.text for p in expander.get("progress")]
    assert bars == [
        "1. Movie text embeddings (SBERT) — done (95 s)",
        "2. Neural embedding model — building, 50 %",
        "3. Movie embedding map — waiting",
        "4. Blend and calibrated match percentage — waiting",
    ]
    assert f"Build log: `{artifacts / build_status.LOG}`" in captions(at)

    # the build fails: the line says so, the steps open with the error, the list stays
    progress_file(artifacts, "failed", error="building the neural embedding model failed")
    at.run()
    assert not at.exception, at.exception
    assert (
        "Taste-neighbour picks: building the full model failed at step 2 of 4 (details below)"
        in captions(at)
    )
    assert [e.value for e in at.error] == [
        "The build failed: building the neural embedding model failed"
    ]
    assert any("% match" in str(m.value) for m in at.markdown)
