"""Build every model artifact the worker serves, once per dataset.

Usage: ``python -m scripts.build_models [--force] [--check] [--background]``

Steps, each a script of its own (run in a child process so memory and threads are released
between them), in the order the worker needs them:

1. ``scripts.embed``: SBERT vectors of every movie's text (re-encodes only changed texts);
2. ``scripts.train --model embed``: the embedding dot-product model (fold-in for new users,
   "similar movies");
3. ``scripts.plot_embeddings``: the 2-D map of movie embeddings shown on the Insights page;
4. ``scripts.fit_blend --neural embed-implicit``: the blend of popularity, Pearson, item
   co-likes, content and the neural model, with its learned weights and calibrated match
   percentage (it trains its own copies of the neural model while learning the weights).

Each step gets the thread settings that suit it, for the cores this process may use
(:func:`thread_settings`): SBERT encodes with torch on every core; the TensorFlow steps use
every core for their intra-op pools; the blend keeps OpenMP (scikit-learn's trees) to one
thread, which otherwise fights TensorFlow's threads on a small machine.

Every artifact is written as a new version and then pointed at (:mod:`recommender.artifacts`),
so a running worker picks each one up by its hot reload and never reads half of one; the
build can therefore run while the worker serves (``scripts/serve.py`` starts it in the
background, ``nice``'d, when the models are not current). Its progress — which step, how far,
how long each took, and on failure what failed — is written to
``ARTIFACTS_DIR/build-status.json`` (:mod:`recommender.build_status`), and the steps' output to
``ARTIFACTS_DIR/build.log``.

A stamp ``ARTIFACTS_DIR/build.json`` records which dataset files (name and size) the artifacts
were built from, and the blend's format; when it matches, nothing is rebuilt. ``--force``
rebuilds anyway; ``--check`` only says (exit 0: current, 1: a build is needed). A different
``DATA_DIR`` / ``MOVIELENS_RELEASE``, or a blend saved in a format this code no longer reads,
therefore rebuilds on the next ``make run``. ``--background`` lowers the build's priority
(``nice`` +10, its steps too) and prints only one line per step (the steps' own output goes
to the log alone).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from recommender import build_status, settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Step:
    """One build step: ``python -m <command...>``.

    ``seconds`` is its usual duration on ml-latest-small on 2 cores: it weights the step in
    the whole build's percent and estimates its progress while it prints none of its own.
    ``threads`` names its thread settings (:func:`thread_settings`); ``progress_bar``: the
    label of the tqdm bar in which the step prints its real progress (then its progress is
    never estimated: it stays 0 while the step loads, rather than running ahead of the bar)."""

    name: str
    command: tuple[str, ...]
    seconds: float
    threads: str
    progress_bar: str = ""


STEPS: tuple[Step, ...] = (
    Step(
        "movie text embeddings (SBERT)", ("scripts.embed",), 140.0, "torch", "encoding movie texts"
    ),
    Step("neural embedding model", ("scripts.train", "--model", "embed"), 60.0, "tensorflow"),
    Step("movie embedding map", ("scripts.plot_embeddings",), 16.0, "tensorflow"),
    Step(
        "blend and calibrated match percentage",
        ("scripts.fit_blend", "--neural", "embed-implicit"),
        420.0,
        "blend",
    ),
)


def cores() -> int:
    """CPU cores this process may run on (its affinity; a container's cpuset)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def thread_settings(kind: str, n: int) -> dict[str, str]:
    """Environment of a step of ``kind`` on ``n`` cores.

    - ``torch`` (SBERT): torch's intra-op pool and BLAS on all ``n`` cores;
    - ``tensorflow``: TensorFlow's intra-op pool on ``n`` cores, its inter-op pool on half
      (``TF_NUM_THREADS`` for :func:`recommender.neural.runtime.limit_threads`, and
      TensorFlow's own ``TF_NUM_INTRAOP_THREADS``/``TF_NUM_INTEROP_THREADS``), OpenMP on ``n``;
    - ``blend``: as ``tensorflow`` but OpenMP on one thread (its scikit-learn trees are many
      times slower when their threads fight TensorFlow's on a small machine)."""
    every, half = str(n), str(max(1, n // 2))
    tensorflow = {
        "TF_NUM_THREADS": every,
        "TF_NUM_INTRAOP_THREADS": every,
        "TF_NUM_INTEROP_THREADS": half,
    }
    if kind == "torch":
        return {"OMP_NUM_THREADS": every, "MKL_NUM_THREADS": every, "TOKENIZERS_PARALLELISM": "0"}
    if kind == "tensorflow":
        return {**tensorflow, "OMP_NUM_THREADS": every, "MKL_NUM_THREADS": every}
    if kind == "blend":
        return {**tensorflow, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    raise ValueError(f"unknown thread settings {kind!r}")


def step_environment(step: Step, base: Mapping[str, str]) -> dict[str, str]:
    """The environment ``step`` runs in: ``base`` with the step's thread settings for the
    cores this process may use, and the Hugging Face hub offline (SBERT ships in a package)."""
    return {**base, **thread_settings(step.threads, cores()), "HF_HUB_OFFLINE": "1"}


def dataset_stamp(folder: Path) -> dict[str, object]:
    """Name and byte size of every file of the release (cheap, and changes with the data), and
    the saved blend's format (a new format rebuilds: the worker cannot load the old one)."""
    from recommender.blend.storage import FORMAT

    files = sorted(p for p in folder.iterdir() if p.is_file())
    return {
        "release": folder.name,
        "files": {p.name: p.stat().st_size for p in files},
        "blend_format": FORMAT,
    }


def up_to_date(data: Path | None = None, artifacts: Path | None = None) -> bool:
    """Whether the artifacts in ``artifacts`` were built from the release in ``data``
    (defaults: the configured ones) by a build that finished."""
    data = data or settings.movielens_dir()
    stamp_path = (artifacts or settings.artifacts_dir()) / "build.json"
    if not data.is_dir() or not stamp_path.exists():
        return False
    try:
        return json.loads(stamp_path.read_text()) == dataset_stamp(data)
    except ValueError:
        return False


class Build:
    """Runs ``steps`` one after another, keeping ``ARTIFACTS_DIR/build-status.json`` current.

    ``artifacts``: the artifacts folder (status file and log go there); ``echo``: a stream
    that also gets the steps' output (``None``: the log only); ``env``: the steps' base
    environment. :meth:`run` returns 0, or the exit code of the step that failed."""

    def __init__(
        self,
        steps: tuple[Step, ...] | list[Step],
        artifacts: Path,
        *,
        echo: IO[bytes] | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.steps = list(steps)
        self.artifacts = Path(artifacts)
        self.log_path = (self.artifacts / build_status.LOG).resolve()
        self.echo = echo
        self.env = dict(os.environ if env is None else env)
        self.lock = threading.RLock()  # re-entered when Ctrl-C lands inside it
        self.child: subprocess.Popen | None = None
        self.status: dict = {
            "state": "running",
            "step": 1,
            "of": len(self.steps),
            "percent": 0,
            "steps": [
                {"name": s.name, "state": "waiting", "progress": 0.0, "seconds": None}
                for s in self.steps
            ],
            "started_at": build_status.now(),
            "finished_at": None,
            "log": str(self.log_path),
            "error": None,
        }

    def _save(self) -> None:
        total = sum(s.seconds for s in self.steps) or 1.0
        done = sum(
            step.seconds * entry["progress"]
            for step, entry in zip(self.steps, self.status["steps"], strict=True)
        )
        self.status["percent"] = int(100 * done / total)
        build_status.write(self.artifacts, self.status)

    def _pump(self, stream: IO[bytes], log: IO[bytes], entry: dict, step: Step) -> None:
        """Copy the step's output to the log (and ``echo``); the percent of the step's tqdm bar
        (``step.progress_bar``) is its progress."""
        bar = re.compile(re.escape(step.progress_bar.encode()) + rb":\s*(\d{1,3})%\|")
        tail = b""
        for chunk in iter(lambda: stream.read1(4096), b""):
            log.write(chunk)
            log.flush()
            if self.echo is not None:
                self.echo.write(chunk)
                self.echo.flush()
            seen, tail = tail + chunk, (tail + chunk)[-200:]  # a bar split between chunks
            found = bar.findall(seen) if step.progress_bar else []
            if found:
                with self.lock:
                    entry["progress"] = min(0.99, int(found[-1]) / 100)

    def _run_step(self, number: int, step: Step, log: IO[bytes]) -> int:
        entry = self.status["steps"][number - 1]
        env = step_environment(step, self.env)
        command = [sys.executable, "-m", *step.command]
        log.write(f"\n===== [{number}/{len(self.steps)}] {' '.join(command)}\n".encode())
        log.flush()
        started = time.monotonic()
        with self.lock:
            self.status["step"] = number
            entry.update(state="running", progress=0.0, started_at=build_status.now())
            self._save()
        self.child = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        pump = threading.Thread(target=self._pump, args=(self.child.stdout, log, entry, step))
        pump.start()
        while self.child.poll() is None:
            time.sleep(0.5)
            with self.lock:
                if not step.progress_bar:  # it prints none: estimate it from the time
                    entry["progress"] = round(
                        min(0.95, (time.monotonic() - started) / step.seconds), 3
                    )
                self._save()
        pump.join()
        code = self.child.returncode
        with self.lock:
            entry["seconds"] = round(time.monotonic() - started, 1)
            entry["state"] = "done" if code == 0 else "failed"
            entry["progress"] = 1.0 if code == 0 else entry["progress"]
            self._save()
        return code

    def run(self) -> int:
        self.artifacts.mkdir(parents=True, exist_ok=True)
        total = len(self.steps)
        with open(self.log_path, "ab") as log:
            try:
                for number, step in enumerate(self.steps, start=1):
                    print(f"[{number}/{total}] Building the {step.name}...", flush=True)
                    code = self._run_step(number, step, log)
                    seconds = self.status["steps"][number - 1]["seconds"]
                    if code != 0:
                        message = (
                            f"building the {step.name} failed (`python -m "
                            f"{' '.join(step.command)}` exited with {code}); see {self.log_path}"
                        )
                        print(f"error: {message}", file=sys.stderr, flush=True)
                        self._finish("failed", message)
                        return code
                    print(f"[{number}/{total}] Done in {seconds:.0f} s.", flush=True)
            except KeyboardInterrupt:
                self._stop_child()
                self._finish("stopped", "the build was stopped before it finished")
                return 130
        self._finish("done", None)
        return 0

    def _stop_child(self) -> None:
        child = self.child
        if child is not None and child.poll() is None:
            child.terminate()
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _finish(self, state: str, error: str | None) -> None:
        with self.lock:
            self.status.update(state=state, error=error, finished_at=build_status.now())
            for entry in self.status["steps"]:
                if entry["state"] == "running":
                    entry["state"] = "failed" if state == "failed" else "waiting"
            self._save()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (``scripts.serve`` stopping, a container runtime) stops the build like Ctrl-C."""
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument(
        "--check", action="store_true", help="exit 0 when up to date, 1 when a build is needed"
    )
    parser.add_argument(
        "--background",
        action="store_true",
        help="nice +10, one line per step (the steps' output goes to ARTIFACTS_DIR/build.log)",
    )
    args = parser.parse_args(argv)

    data = settings.movielens_dir()
    if not data.is_dir():
        print(
            f"error: no MovieLens data at {data}; run `python -m scripts.fetch_data` first "
            "or set DATA_DIR / MOVIELENS_PATH",
            file=sys.stderr,
        )
        return 2
    artifacts = settings.artifacts_dir()
    current = up_to_date(data, artifacts)
    if args.check:
        return 0 if current else 1
    if not args.force and current:
        print(f"Models are up to date for {data} (in {artifacts}; --force rebuilds).")
        return 0

    signal.signal(signal.SIGTERM, _interrupt)
    if args.background:
        os.nice(10)  # the product being served comes first; the steps inherit it
    echo = None if args.background else sys.stdout.buffer
    code = Build(STEPS, artifacts, echo=echo).run()
    if code != 0:
        return code
    (artifacts / "build.json").write_text(json.dumps(dataset_stamp(data), indent=2))
    print(f"All models built in {artifacts}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
