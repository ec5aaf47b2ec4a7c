"""How cost grows with data: every build step, the models on disk and the worker, at several sizes.

Usage::

    python -m scripts.bench_scale --sizes 100k 2M 25M [--work var/bench] [--serve-seconds 30]
    python -m scripts.bench_scale --report        # table + plot from the saved results only

For each size (a MovieLens-shaped synthetic release from :mod:`scripts.make_synthetic`, written
once into ``WORK/data/synthetic-<size>``; ``25M`` is ml-25m's 162,000 people x 62,000 movies):

1. **build**: each step of :data:`scripts.build_models.STEPS` (the very commands ``make run``
   runs), one child process each, into ``WORK/artifacts-<size>``; measured: wall seconds,
   CPU seconds, and peak memory (RSS of the step's whole process tree, sampled every 0.2 s);
2. **disk**: the size of each artifact folder (SBERT vectors, neural model, blend, ...);
3. **serve**: a real worker (gunicorn, 2 processes, real Redis) on those artifacts: its memory
   per process after loading and after the run, and 2 concurrent simulated people
   (:func:`scripts.load_test.simulated_user`) for ``--serve-seconds``: fresh and cached
   recommendation pages p50/p99; plus Pearson's own ``recommend`` p50/p99 in-process.

Results are saved to ``WORK/results.json`` after every step (a step already measured is not
run again, so an interrupted 25M run resumes), then printed as one table and drawn as a log-log
plot (CPU time and peak memory of each step against the number of ratings) to ``--plot``
(default ``docs/scale.png``). Every figure carries the load average when it was taken: the
machine is shared. Run it with ``nice -n 10``. A figure printer, not a test.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

SIZES: dict[str, tuple[int, int, int]] = {
    "100k": (610, 9_742, 100_000),  # ml-latest-small's people and movies
    "2M": (16_200, 6_200, 2_000_000),  # a tenth of ml-25m's people and movies
    "25M": (162_000, 62_000, 25_000_000),  # ml-25m
}
"""Size name -> (people, movies, ratings) of the synthetic release."""


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of process ``pid`` and all its descendants, in MB (0 when gone)."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0
    for process in processes:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += process.memory_info().rss
    return total / 1e6


def run_measured(command: list[str], env: dict[str, str], log: Path) -> dict[str, float]:
    """Run ``command`` (output to ``log``); its wall and CPU seconds and peak tree RSS (MB)."""
    peak = [0.0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_start = _load()
    started = time.perf_counter()
    with open(log, "ab") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def sample() -> None:
            while not done.wait(0.2):
                peak[0] = max(peak[0], _tree_rss_mb(process.pid))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        code = process.wait()
        done.set()
        sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {
        "seconds": round(time.perf_counter() - started, 1),
        "cpu_seconds": round(cpu, 1),
        "peak_mb": round(peak[0], 0),
        "exit_code": code,
        "load_start": load_start,
        "load_end": _load(),
    }


def _folder_mb(path: Path) -> float:
    files = [p for p in path.rglob("*") if p.is_file() and not p.is_symlink()]
    return round(sum(p.stat().st_size for p in files) / 1e6, 1)


class Results:
    """``WORK/results.json``: ``{size: {"data", "steps": {name: figures}, "disk", "serve"}}``.

    Saving merges the sizes this process measured into what is on disk (per size, per step),
    so runs of different sizes, or of the serving part alone, may share one file."""

    def __init__(self, path: Path):
        self.path = path
        self.data: dict = json.loads(path.read_text()) if path.exists() else {}
        self.touched: set[str] = set()

    def size(self, name: str) -> dict:
        """The entry of size ``name``, which this process then owns when saving."""
        self.touched.add(name)
        return self.data.setdefault(name, {"steps": {}})

    def save(self) -> None:
        """Write the sizes this process owns into the file, keeping every other size (and any
        step of its sizes only the file has) as another process saved it; under a file lock,
        so concurrent runs lose nothing. The entries callers hold stay the live ones."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            on_disk = json.loads(self.path.read_text()) if self.path.exists() else {}
            for size, entry in on_disk.items():
                if size not in self.touched:
                    self.data[size] = entry
                    continue
                mine = self.data[size]
                for key, value in entry.items():
                    mine.setdefault(key, value)
                for step, figures in entry.get("steps", {}).items():
                    mine["steps"].setdefault(step, figures)
            tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self.data, indent=2))
            os.replace(tmp, self.path)


def make_data(size: str, work: Path, results: Results, env: dict[str, str]) -> Path:
    """The synthetic release of ``size`` under ``work/data`` (generated once)."""
    folder = work / "data" / f"synthetic-{size}"
    entry = results.size(size)
    if not (folder / "ratings.csv").exists():
        users, movies, ratings = SIZES[size]
        command = [sys.executable, "-m", "scripts.make_synthetic", "--users", str(users)]
        command += ["--movies", str(movies), "--ratings", str(ratings), "--out", str(folder)]
        print(f"[{size}] generating {ratings:,} ratings into {folder}", flush=True)
        entry["data"] = run_measured(command, env, work / f"{size}.log")
    users, movies, ratings = SIZES[size]
    entry.setdefault("data", {}).update(people=users, movies=movies, ratings=ratings)
    results.save()
    return folder


def build(size: str, work: Path, results: Results, env: dict[str, str]) -> bool:
    """Run every build step not measured yet (the artifacts' sizes are recorded after each);
    False when one fails (later steps need it)."""
    from scripts.build_models import STEPS, step_environment

    steps = results.size(size)["steps"]
    for number, step in enumerate(STEPS, start=1):
        what = step.name
        if steps.get(what, {}).get("exit_code") == 0:
            continue
        print(f"[{size}] step {number}/{len(STEPS)}: {what} (load {_load()})", flush=True)
        command = [sys.executable, "-m", *step.command]
        figures = run_measured(command, step_environment(step, env), work / f"{size}.log")
        steps[what] = figures
        disk(size, Path(env["ARTIFACTS_DIR"]), results)
        print(f"[{size}]   {json.dumps(figures)}", flush=True)
        if figures["exit_code"] != 0:
            return False
    return True


def disk(size: str, artifacts: Path, results: Results) -> None:
    """Size on disk of each artifact folder (MB)."""
    folders = sorted(p for p in artifacts.iterdir() if p.is_dir())
    results.size(size)["disk"] = {p.name: _folder_mb(p) for p in folders}
    results.save()


def _worker_rss_mb(pid: int) -> list[float]:
    """RSS (MB) of each gunicorn worker process under master ``pid``."""
    import psutil

    return [round(p.memory_info().rss / 1e6) for p in psutil.Process(pid).children()]


def _pearson_latency(env: dict[str, str], requests: int = 100) -> dict[str, float]:
    """Pearson ``recommend`` (24) for 5-rating profiles, in a child with the size's data."""
    code = f"""
import json, time, numpy as np
from recommender import settings
from recommender.movielens import load_movielens
from recommender.pearson import PearsonRecommender
ratings = load_movielens(settings.movielens_dir()).ratings
model = PearsonRecommender().fit(ratings)
rng = np.random.default_rng(0)
users = rng.choice(np.unique(ratings["userId"]), {requests} + 5)
starts = np.searchsorted(ratings["userId"].to_numpy(), users)
times, cpu = [], []
for user, start in zip(users, starts):
    rows = ratings.iloc[start:start + 5]
    profile = dict(zip(rows["movieId"].tolist(), rows["rating"].tolist()))
    t, c = time.perf_counter(), time.thread_time()
    model.recommend(profile, 24, user=int(user))
    times.append((time.perf_counter() - t) * 1000)
    cpu.append((time.thread_time() - c) * 1000)
times, cpu = times[5:], cpu[5:]
p50, p99 = (float(np.percentile(times, q)) for q in (50, 99))
c50, c99 = (float(np.percentile(cpu, q)) for q in (50, 99))
print(json.dumps({{"p50": p50, "p99": p99, "cpu_p50": c50, "cpu_p99": c99}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def serve(size: str, work: Path, results: Results, env: dict[str, str], seconds: float) -> None:
    """Worker memory and recommendation latency with 2 concurrent people (see module doc)."""
    import requests

    from scripts.load_test import Recorder, simulated_user
    from worker.embedded_redis import start_embedded_redis
    from worker.launch import start_worker

    folder = Path(tempfile.mkdtemp(prefix=f"bench-scale-{size}-"))
    redis = start_embedded_redis(folder / "redis")
    config = {
        "SIGNUP_MAX_PER_ADDRESS": 100_000,
        "LOGIN_MAX_FAILURES_PER_ADDRESS": 100_000,
        "BCRYPT_ROUNDS": 4,
    }
    started = time.perf_counter()
    worker = None
    try:
        worker = start_worker(
            redis.url,
            processes=2,
            app_config=config,
            log_path=work / f"{size}-worker.log",
            timeout=1800.0,
            env={k: env[k] for k in ("MOVIELENS_PATH", "ARTIFACTS_DIR")},
        )
        ready_seconds = time.perf_counter() - started
        rss_ready = _worker_rss_mb(worker.process.pid)
        served = requests.get(f"{worker.url}/readyz", timeout=30).json().get("model")
        load = _load()
        rec = Recorder(100_000, time.monotonic() + seconds)
        people = [
            threading.Thread(target=simulated_user, args=(worker.url, rec, 8, 0.02, seed))
            for seed in range(2)
        ]
        for person in people:
            person.start()
        for person in people:
            person.join(seconds + 120)
        rss_after = _worker_rss_mb(worker.process.pid)
    finally:
        if worker is not None:
            worker.stop()
        redis.stop()
    import numpy as np

    def figures(kind: str) -> dict[str, float]:
        values = rec.latencies.get(kind) or [float("nan")]
        server = rec.server.get(kind) or [float("nan")]  # the worker's own Server-Timing
        return {
            "count": len(rec.latencies.get(kind, [])),
            "p50": round(float(np.percentile(values, 50)), 1),
            "p99": round(float(np.percentile(values, 99)), 1),
            "server_p99": round(float(np.percentile(server, 99)), 1),
        }

    results.size(size)["serve"] = {
        "model": served,
        "ready_seconds": round(ready_seconds, 1),
        "worker_rss_mb_ready": rss_ready,
        "worker_rss_mb_after": rss_after,
        "recs_fresh": figures("recs fresh"),
        "recs_cached": figures("recs cached"),
        "errors": int(sum(rec.errors.values())),
        "pearson": _pearson_latency(env),
        "load": load,
    }
    results.save()


def table(results: Results) -> str:
    """The results as a Markdown table: one row per measured figure, one column per size."""
    from scripts.build_models import STEPS

    sizes = [s for s in SIZES if s in results.data]
    rows: list[tuple[str, list[str]]] = []

    def row(label: str, value) -> None:
        rows.append((label, [value(results.data[s]) for s in sizes]))

    def get(entry: dict, *path, fmt="{:,.0f}") -> str:
        for key in path:
            if not isinstance(entry, dict) or key not in entry:
                return "—"
            entry = entry[key]
        return fmt.format(entry) if isinstance(entry, int | float) else str(entry)

    row("people / movies", lambda e: f"{get(e, 'data', 'people')} / {get(e, 'data', 'movies')}")
    for what in (step.name for step in STEPS):
        row(f"{what}: time s (CPU s)", lambda e, w=what: _step_time(e, w))
        row(f"{what}: peak MB", lambda e, w=what: get(e, "steps", w, "peak_mb"))
    row("whole build: time s", lambda e: _total(e, STEPS))
    row("load average during build", lambda e: _loads(e))
    for folder in ("sbert", "models", "plots", "blend", "embeddings"):
        row(f"on disk: {folder} MB", lambda e, f=folder: get(e, "disk", f, fmt="{:,.1f}"))
    row("worker: model served", lambda e: get(e, "serve", "model"))
    row("worker: ready after s", lambda e: get(e, "serve", "ready_seconds", fmt="{:.0f}"))
    row(
        "worker: MB per process (loaded → after)",
        lambda e: (
            f"{_per_process(e, 'worker_rss_mb_ready')} → {_per_process(e, 'worker_rss_mb_after')}"
        ),
    )
    for kind, label in (("recs_fresh", "fresh"), ("recs_cached", "cached")):
        row(
            f"recs {label}, 2 people: p50 / p99 ms (worker's own p99; n)",
            lambda e, k=kind: (
                f"{get(e, 'serve', k, 'p50', fmt='{:.0f}')} / "
                f"{get(e, 'serve', k, 'p99', fmt='{:.0f}')} "
                f"({get(e, 'serve', k, 'server_p99', fmt='{:.0f}')}; "
                f"{get(e, 'serve', k, 'count')})"
            ),
        )
    row(
        "Pearson recommend: p50 / p99 ms (CPU p50 / p99)",
        lambda e: (
            f"{get(e, 'serve', 'pearson', 'p50', fmt='{:.0f}')} / "
            f"{get(e, 'serve', 'pearson', 'p99', fmt='{:.0f}')} "
            f"({get(e, 'serve', 'pearson', 'cpu_p50', fmt='{:.0f}')} / "
            f"{get(e, 'serve', 'pearson', 'cpu_p99', fmt='{:.0f}')})"
        ),
    )
    row("load average while serving", lambda e: get(e, "serve", "load", fmt="{:.1f}"))
    head = "| ratings | " + " | ".join(sizes) + " |"
    lines = [head, "|---|" + "---:|" * len(sizes)]
    lines += [f"| {label} | " + " | ".join(values) + " |" for label, values in rows]
    return "\n".join(lines)


def _per_process(entry: dict, key: str) -> str:
    values = entry.get("serve", {}).get(key)
    return " + ".join(f"{v:,.0f}" for v in values) if values else "—"


def _step_time(entry: dict, what: str) -> str:
    step = entry.get("steps", {}).get(what)
    if not step:
        return "—"
    failed = "" if step["exit_code"] == 0 else f" exit {step['exit_code']}"
    return f"{step['seconds']:,.0f} ({step['cpu_seconds']:,.0f}){failed}"


def _total(entry: dict, steps) -> str:
    done = [entry.get("steps", {}).get(step.name) for step in steps]
    if not all(s and s["exit_code"] == 0 for s in done):
        return "(not all steps finished)"
    return f"{sum(s['seconds'] for s in done):,.0f}"


def _loads(entry: dict) -> str:
    loads = [v for s in entry.get("steps", {}).values() for v in (s["load_start"], s["load_end"])]
    return f"{min(loads):.1f}–{max(loads):.1f}" if loads else "—"


def plot(results: Results, out: Path) -> None:
    """Log-log: CPU seconds and peak memory of each build step, and the whole build's wall
    time, against the number of ratings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from scripts.build_models import STEPS

    fig, (time_ax, memory_ax) = plt.subplots(1, 2, figsize=(11, 4.5))
    for what in (step.name for step in STEPS):
        points = sorted(
            ((e["data"]["ratings"], e["steps"][what])
             for e in results.data.values()
             if e.get("steps", {}).get(what, {}).get("exit_code") == 0),
            key=lambda point: point[0],
        )  # fmt: skip
        if not points:
            continue
        x = [p for p, _ in points]
        time_ax.plot(x, [s["cpu_seconds"] for _, s in points], "o-", label=what)
        memory_ax.plot(x, [s["peak_mb"] / 1000 for _, s in points], "o-", label=what)
    whole = [
        (e["data"]["ratings"], sum(e["steps"][step.name]["seconds"] for step in STEPS))
        for e in results.data.values()
        if all(e.get("steps", {}).get(st.name, {}).get("exit_code") == 0 for st in STEPS)
    ]
    if whole:
        x, seconds = zip(*sorted(whole), strict=True)
        time_ax.plot(x, seconds, "k--", label="whole build, wall time")
    # CPU seconds per step: on a shared machine the wall time is partly waiting for a core
    for ax, label in ((time_ax, "seconds (steps: CPU time)"), (memory_ax, "peak memory (GB)")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("ratings")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
    memory_ax.axhline(12, color="red", linestyle="--", linewidth=1, label="12 GB target")
    time_ax.legend(fontsize=8)
    memory_ax.legend(fontsize=8)
    fig.suptitle("Build cost against data size (synthetic MovieLens-shaped releases)")
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    parser.add_argument("--work", type=Path, default=Path("var/bench"))
    parser.add_argument("--serve-seconds", type=float, default=30.0)
    parser.add_argument("--no-serve", action="store_true", help="measure the build only")
    parser.add_argument(
        "--serve-only",
        action="store_true",
        help="measure the worker on whatever artifacts the size has (Pearson when none)",
    )
    parser.add_argument("--report", action="store_true", help="only print the saved results")
    parser.add_argument("--plot", type=Path, default=Path("docs/scale.png"))
    args = parser.parse_args(argv)
    work = args.work.resolve()
    results = Results(work / "results.json")
    if not args.report:
        for size in args.sizes:
            env = {**os.environ, "HF_HUB_OFFLINE": "1"}
            env.pop("DATA_DIR", None)  # no overviews: the synthetic release has none
            data = make_data(size, work, results, env)
            artifacts = work / f"artifacts-{size}"
            env.update(MOVIELENS_PATH=str(data), ARTIFACTS_DIR=str(artifacts))
            artifacts.mkdir(parents=True, exist_ok=True)
            if args.serve_only:
                serve(size, work, results, env, args.serve_seconds)
                continue
            if not build(size, work, results, env):
                print(f"[{size}] a build step failed; see {work / f'{size}.log'}")
                continue
            disk(size, artifacts, results)
            if not args.no_serve and "serve" not in results.size(size):
                serve(size, work, results, env, args.serve_seconds)
    print(table(results))
    if any(e.get("steps") for e in results.data.values()):
        plot(results, args.plot)
    return 0


if __name__ == "__main__":
    sys.exit(main())
