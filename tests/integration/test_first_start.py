"""First start: the worker serves Pearson from the ratings alone while the model build runs in
the background, says so in ``GET /api/v1/status``, and swaps in the built blend by its hot
reload; a failed build is reported and Pearson stays served.

Real parts: the worker app on the session's redis-server with an empty ``ARTIFACTS_DIR``
(Pearson fitted on ml-latest-small); the real build runner (``scripts.build_models.Build``)
running real child processes in a background thread and writing the real progress file; a
tiny real blend artifact written by one of those steps (``tests/integration/build_steps.py``)
and loaded by the worker's real hot reload.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from scripts.build_models import Build, Step

API = "/api/v1"
RATED = [(1, 5.0), (2, 5.0), (3, 4.5), (11, 1.0), (12, 1.5)]


def step(name: str, *args: str, seconds: float = 5.0, bar: str = "") -> Step:
    return Step(name, ("tests.integration.build_steps", *args), seconds, "blend", bar)


def wait_for(check, timeout: float = 45.0, every: float = 0.2):
    """Call ``check()`` until it returns something truthy; that value, or fail at ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"not reached within {timeout:.0f} s; last: {check()!r}")


@pytest.fixture()
def first_start(make_worker_app, worker_login, tmp_path):
    """A worker with nothing built (``ARTIFACTS_DIR`` empty), checking for new versions on
    every request, and a signed-up person with five ratings."""
    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    app = make_worker_app(
        RECOMMENDER_MODEL="auto", ARTIFACTS_DIR=str(artifacts), RELOAD_CHECK_SECONDS=0
    )
    client = app.test_client()
    me = worker_login(client, "first_start")
    for movie_id, stars in RATED:
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=me)
    return client, me, artifacts


def status(client) -> dict:
    answer = client.get(f"{API}/status")
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return answer.get_json()


def recommended_by(client, me) -> str:
    answer = client.get(f"{API}/me/recommendations", headers=me)
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["items"]
    return answer.get_json()["model"]


def test_pearson_is_served_at_once_then_the_built_blend_is_swapped_in(first_start, tmp_path):
    client, me, artifacts = first_start
    before = status(client)
    assert before["serving"] == "interim" and before["model"] == "pearson"
    assert before["build"] == {"state": "none", "steps": []}
    assert before["message"] == "Taste-neighbour picks (no full model has been built)"
    assert recommended_by(client, me) == "pearson"

    gate = tmp_path / "go"
    build = Build(
        [
            step("gate", "wait", str(gate), bar="encoding movie texts"),
            step("blend", "blend", str(artifacts)),
        ],
        artifacts,
    )
    codes: list[int] = []
    runner = threading.Thread(target=lambda: codes.append(build.run()))
    runner.start()
    try:
        # step 1 runs and has printed its progress bar (50 %): weighted, 25 % of the build
        running = wait_for(
            lambda: (
                (s := status(client))["build"].get("state") == "running"
                and s["build"]["steps"][0]["progress"] == 0.5
                and s
            )
        )
        assert running["serving"] == "interim" and running["model"] == "pearson"
        assert running["message"] == (
            "Taste-neighbour picks while the full model builds — step 1 of 2, 25 %"
        )
        steps = running["build"]["steps"]
        assert [s["state"] for s in steps] == ["running", "waiting"]
        assert [s["name"] for s in steps] == ["gate", "blend"]
        assert running["build"]["log"] == str((artifacts / "build.log").resolve())
        assert recommended_by(client, me) == "pearson"  # served all along
        gate.touch()
        runner.join(60)
    finally:
        gate.touch()
        runner.join(60)
    assert codes == [0]

    # the next requests see the new pointer; the reloader swaps the blend in
    after = wait_for(lambda: (s := status(client))["model"] == "blend" and s)
    assert after["serving"] == "final" and after["model_version"] == "blend@tiny"
    assert after["message"] == "Blended picks"
    assert after["build"]["state"] == "done" and after["build"]["percent"] == 100
    assert [s["state"] for s in after["build"]["steps"]] == ["done", "done"]
    assert all(s["seconds"] is not None and s["progress"] == 1.0 for s in after["build"]["steps"])
    assert recommended_by(client, me) == "blend"
    assert "saved" in Path(after["build"]["log"]).read_text()


def test_sbert_vectors_from_the_build_are_swapped_in_before_the_blend(
    first_start, content_artifacts
):
    """The build's first step writes the SBERT vectors; the worker picks them up by the same
    hot reload (the file's time is their version), so similar movies work while Pearson is
    still served. Loading the SBERT encoder with them takes most of this test's time."""
    client, _, artifacts = first_start
    assert client.get(f"{API}/movies/1/similar").status_code == 503  # no vectors yet
    vectors = step("vectors", "sbert", f"{content_artifacts / 'sbert'},{artifacts}")
    assert Build([vectors], artifacts).run() == 0
    wait_for(lambda: client.get(f"{API}/movies/1/similar").status_code == 200, 120, every=1)
    ready = client.get("/readyz").get_json()
    assert ready["model"] == "pearson" and ready["models"]["content_vectors"] == "loaded"
    assert ready["versions"]["content_vectors"].startswith("sbert@")
    similar = client.get(f"{API}/movies/1/similar").get_json()
    assert similar["source"] == "sbert" and similar["items"]


def test_a_failed_build_is_reported_and_pearson_stays_served(first_start):
    client, me, artifacts = first_start
    build = Build([step("doomed", "fail", "boom: no space left on device")], artifacts)
    assert build.run() == 3
    body = status(client)
    assert body["serving"] == "interim" and body["model"] == "pearson"
    assert body["message"] == (
        "Taste-neighbour picks: building the full model failed at step 1 of 1 (details below)"
    )
    failed = body["build"]
    assert failed["state"] == "failed" and failed["steps"][0]["state"] == "failed"
    assert "building the doomed failed" in failed["error"] and "exited with 3" in failed["error"]
    assert "boom: no space left on device" in Path(failed["log"]).read_text()
    assert recommended_by(client, me) == "pearson"


def test_a_build_whose_process_is_gone_reads_as_stopped(first_start):
    """A build killed without a word (kill -9, a reboot) left "running" behind; the status
    says it stopped instead of claiming progress forever."""
    import json
    import subprocess
    import sys

    from recommender import build_status

    client, _, artifacts = first_start
    build_status.write(artifacts, {"state": "running", "step": 2, "of": 4, "steps": []})
    written = json.loads((artifacts / build_status.FILE).read_text())
    assert status(client)["build"]["state"] == "running"  # its process (this one) is alive
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    written["pid"] = int(ended.stdout)
    (artifacts / build_status.FILE).write_text(json.dumps(written))
    body = status(client)
    assert body["build"]["state"] == "stopped"
    assert "stopped at step 2 of 4" in body["message"]


def test_serve_builds_in_the_background_only_when_the_models_are_not_current(data_dir, tmp_path):
    """``scripts.serve`` starts ``scripts.build_models --background`` (a process of its own,
    at a lower priority, writing its progress file) when nothing is built, nothing when the
    stamp matches the data; stopping it (as serve does on Ctrl-C) leaves "stopped"."""
    import json
    import os

    from recommender import build_status
    from scripts import build_models, serve

    artifacts = tmp_path / "artifacts"
    artifacts.mkdir()
    env = {**os.environ, "DATA_DIR": str(data_dir), "ARTIFACTS_DIR": str(artifacts)}
    env.pop("MOVIELENS_PATH", None)
    release = data_dir / "ml-latest-small"
    (artifacts / "build.json").write_text(json.dumps(build_models.dataset_stamp(release)))
    assert serve.start_build(env) is None  # current: nothing to build

    (artifacts / "build.json").unlink()
    build = serve.start_build(env)
    assert build is not None
    try:
        running = wait_for(
            lambda: (s := build_status.read(artifacts))["state"] == "running" and s, timeout=50
        )
        assert running["pid"] == build.pid and running["step"] == 1 and running["of"] == 4
        assert os.getpriority(os.PRIO_PROCESS, build.pid) >= 10
    finally:
        serve.stop(build, "model build")
    stopped = build_status.read(artifacts)
    assert stopped["state"] == "stopped" and stopped["finished_at"]
    assert not (artifacts / "build.json").exists()
