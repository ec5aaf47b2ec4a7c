"""How fast and lean is loading a big ratings.csv? pyarrow loaders vs pandas' default reader.

Usage: ``python -m scripts.bench_load [--ratings 25000000] [--cache DIR]``

Generates (once, cached in ``DATA_CACHE_DIR/synthetic-<n>``) a MovieLens-25M-shaped synthetic
release with :mod:`scripts.make_synthetic`, then loads its ratings.csv with each method in a
fresh subprocess, so every peak RSS is that method's alone:

- ``read_ratings_csv``: :func:`recommender.movielens.read_ratings_csv` (pyarrow, typed columns);
- ``load_movielens``: the whole folder (ratings, movies, links) via ``load_movielens``;
- ``pandas_default``: ``pandas.read_csv(path)`` with the default C engine (the baseline);
- ``pandas_typed``: the C engine with the same int32/float32 dtypes, for a fair comparison.

Prints seconds, peak RSS, RSS growth over the imports, and the DataFrame's own size, with
ratios to the pandas baseline measured in the same run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

from recommender import settings

ML25M_USERS, ML25M_MOVIES, ML25M_RATINGS = 162_000, 62_000, 25_000_000
METHODS = ("read_ratings_csv", "load_movielens", "pandas_default", "pandas_typed")
BASELINE = "pandas_default"


def _peak_rss_mb() -> float:
    """Peak resident memory of this process image so far, in MB.

    Linux's ``VmHWM`` restarts at exec; ``ru_maxrss`` (the fallback elsewhere) would carry the
    peak of the parent process that forked us."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu_seconds() -> float:
    """User + system CPU time of this process (all threads), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _load(method: str, folder: Path):
    """Load ``folder``'s ratings with ``method``; returns the ratings DataFrame."""
    import numpy as np
    import pandas as pd

    from recommender.movielens import load_movielens, read_ratings_csv

    path = folder / "ratings.csv"
    if method == "read_ratings_csv":
        return read_ratings_csv(path)
    if method == "load_movielens":
        return load_movielens(folder).ratings
    if method == "pandas_default":
        return pd.read_csv(path)
    if method == "pandas_typed":
        types = {"userId": np.int32, "movieId": np.int32, "rating": np.float32}
        return pd.read_csv(path, dtype={**types, "timestamp": np.int64})
    raise ValueError(f"unknown method {method!r}")


def run_child(method: str, folder: Path) -> dict:
    """Measure one method in this (fresh) process: seconds, peak and growth of RSS in MB."""
    import pandas  # noqa: F401  (imports are not part of the measurement)
    import pyarrow.csv  # noqa: F401

    import recommender.movielens  # noqa: F401

    before = _peak_rss_mb()
    started, cpu_started = time.perf_counter(), _cpu_seconds()
    frame = _load(method, folder)
    seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu_started
    peak = _peak_rss_mb()
    return {
        "method": method,
        "rows": len(frame),
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mb": peak,
        "rss_growth_mb": peak - before,
        "frame_mb": frame.memory_usage(deep=True).sum() / 1e6,
        "dtypes": ",".join(str(t) for t in frame.dtypes),
    }


def measure(method: str, folder: Path) -> dict:
    """Run :func:`run_child` in a new Python process and return its figures."""
    command = [sys.executable, "-m", "scripts.bench_load", "--child", method, str(folder)]
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def ensure_synthetic(n_ratings: int, cache: Path | None) -> Path:
    """Folder with a synthetic release of ``n_ratings`` ratings (ml-25m proportions), made
    once and reused."""
    from scripts.make_synthetic import generate

    folder = cache or settings.data_cache_dir() / f"synthetic-{n_ratings}"
    if not (folder / "ratings.csv").is_file():
        scale = n_ratings / ML25M_RATINGS
        n_users = max(100, round(ML25M_USERS * scale))
        n_movies = max(300, round(ML25M_MOVIES * min(1.0, scale**0.5)))
        print(
            f"generating {n_ratings:,} ratings ({n_users:,} users, {n_movies:,} movies) "
            f"into {folder}"
        )
        generate(n_users, n_movies, n_ratings, seed=0, out=folder)
    return folder


def print_table(results: list[dict]) -> None:
    """One row per method, with time and memory ratios to the pandas baseline."""
    base = next(r for r in results if r["method"] == BASELINE)
    print(
        f"{'method':<18}{'rows':>12}{'seconds':>9}{'x time':>8}{'cpu s':>7}{'peak MB':>9}"
        f"{'growth MB':>11}{'x mem':>7}{'frame MB':>10}  dtypes"
    )
    for r in results:
        print(
            f"{r['method']:<18}{r['rows']:>12,}{r['seconds']:>9.2f}"
            f"{r['seconds'] / base['seconds']:>8.2f}{r['cpu_seconds']:>7.1f}"
            f"{r['peak_rss_mb']:>9.0f}"
            f"{r['rss_growth_mb']:>11.0f}{r['rss_growth_mb'] / base['rss_growth_mb']:>7.2f}"
            f"{r['frame_mb']:>10.0f}  {r['dtypes']}"
        )
    print(
        "x time / x mem: ratio to pandas_default (lower is better); growth = peak RSS "
        "minus RSS after imports."
    )


def main(argv: list[str] | None = None) -> int:
    """Command line entry point (see the module docstring)."""
    parser = argparse.ArgumentParser(description="Benchmark loading a big ratings.csv.")
    parser.add_argument("--ratings", type=int, default=ML25M_RATINGS)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--child", nargs=2, metavar=("METHOD", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(run_child(args.child[0], Path(args.child[1]))))
        return 0
    folder = ensure_synthetic(args.ratings, args.cache)
    size_mb = (folder / "ratings.csv").stat().st_size / 1e6
    print(f"ratings.csv: {folder / 'ratings.csv'} ({size_mb:.0f} MB)")
    methods = args.methods.split(",")
    if BASELINE not in methods:
        methods.append(BASELINE)
    print_table([measure(method, folder) for method in methods])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
