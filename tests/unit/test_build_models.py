"""``scripts/build_models.py``: thread settings per step, the "up to date" check, the runner's
progress file (real child processes; the steps are tiny Python one-liners)."""

from __future__ import annotations

import json
import subprocess
import sys

from recommender import build_status
from scripts import build_models
from scripts.build_models import STEPS, Build, Step, cores, thread_settings


def test_each_step_uses_the_cores_it_has():
    kinds = {step.command[0]: step.threads for step in STEPS}
    assert kinds == {
        "scripts.embed": "torch",
        "scripts.train": "tensorflow",
        "scripts.plot_embeddings": "tensorflow",
        "scripts.fit_blend": "blend",
    }
    assert thread_settings("torch", 6)["OMP_NUM_THREADS"] == "6"
    tensorflow = thread_settings("tensorflow", 6)
    assert tensorflow["TF_NUM_THREADS"] == tensorflow["TF_NUM_INTRAOP_THREADS"] == "6"
    assert tensorflow["TF_NUM_INTEROP_THREADS"] == "3" and tensorflow["OMP_NUM_THREADS"] == "6"
    blend = thread_settings("blend", 6)
    assert blend["TF_NUM_INTRAOP_THREADS"] == "6" and blend["OMP_NUM_THREADS"] == "1"
    assert thread_settings("tensorflow", 1)["TF_NUM_INTEROP_THREADS"] == "1"


def test_sbert_encodes_with_torch_on_every_core():
    """The setting takes effect: torch in the SBERT step's environment runs ``cores()``
    threads (the old global OMP_NUM_THREADS=1 gave it one)."""
    env = {**build_models.os.environ, **thread_settings("torch", cores())}
    out = subprocess.run(
        [sys.executable, "-c", "import torch; print(torch.get_num_threads())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert int(out.stdout) == cores()


def test_up_to_date_only_after_a_finished_build_of_the_same_data(tmp_path):
    data, artifacts = tmp_path / "ml-tiny", tmp_path / "artifacts"
    data.mkdir()
    artifacts.mkdir()
    (data / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,0\n")
    assert not build_models.up_to_date(data, artifacts)
    stamp = build_models.dataset_stamp(data)
    (artifacts / "build.json").write_text(json.dumps(stamp))
    assert build_models.up_to_date(data, artifacts)
    (data / "ratings.csv").write_text("userId,movieId,rating,timestamp\n1,1,4.0,0\n1,2,3,0\n")
    assert not build_models.up_to_date(data, artifacts)


def test_the_runner_records_each_step_and_stops_at_the_first_failure(tmp_path):
    steps = [
        Step("first", ("json.tool", "--help"), 1.0, "torch"),
        Step("second", ("no_such_module_here",), 3.0, "blend"),
        Step("third", ("json.tool", "--help"), 1.0, "tensorflow"),
    ]
    assert Build(steps, tmp_path).run() == 1
    status = build_status.read(tmp_path)
    assert status["state"] == "failed" and status["step"] == 2 and status["of"] == 3
    assert [s["state"] for s in status["steps"]] == ["done", "failed", "waiting"]
    assert status["steps"][0]["progress"] == 1.0 and status["steps"][0]["seconds"] >= 0
    assert status["percent"] < 100 and status["finished_at"]
    assert "No module named no_such_module_here" in (tmp_path / "build.log").read_text()
    assert str(tmp_path / "build.log") in status["error"]
