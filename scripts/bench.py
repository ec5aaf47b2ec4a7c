"""Benchmark Pearson recommendations: latency per request, fit time, and the pandas baseline.

Usage (from the repo root)::

    python -m scripts.bench [--scale 1.0] [--requests 200] [--pandas-requests 20] \\
        [--datasets small,synthetic] [--out-dir artifacts/bench]

For each dataset — ml-latest-small (found through ``recommender.settings``) and a synthetic
dataset of MovieLens-25M size (162,000 users, 62,000 movies, 25,000,000 ratings from
:mod:`recommender.synthetic`, every size times ``--scale``) — it measures:

- fit time (building the sparse matrices) of :class:`recommender.pearson.PearsonRecommender`;
- the latency of ``recommend(profile, k=24)`` for a new 5-rating and a 50-rating profile: the
  first 5 / 50 ratings (in time order) of real users sampled at random, scored with
  ``user=userId`` so the user is not their own neighbour (exactly like a new person);
  p50/p99/mean over ``--requests`` requests after a few warm-up ones;
- the same requests, fewer of them (``--pandas-requests``), through the straightforward pandas
  implementation in :mod:`scripts.pandas_pearson`, and the ratio of the medians; plus how many
  of the 24 movies the two agree on (they follow the same procedure; ties in floating-point
  similarities can order neighbours differently).

Prints a table and writes ``bench.json`` and ``bench.md`` to ``--out-dir`` (default
``ARTIFACTS_DIR/bench``). Targets: p99 <= 20 ms (small) and <= 150 ms (25M); pandas ratio >= 50x
at 25M. A figure printer, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from recommender import settings
from recommender.dataset import MovieLens
from recommender.movielens import load_movielens
from recommender.pearson import PearsonRecommender
from recommender.synthetic import make_synthetic
from scripts import pandas_pearson

ML_25M = {"n_users": 162_000, "n_movies": 62_000, "n_ratings": 25_000_000}
PROFILE_SIZES = (5, 50)
K = 24
TARGET_P99_MS = {"ml-latest-small": 20.0, "synthetic": 150.0}


def sample_profiles(
    ratings: pd.DataFrame, size: int, count: int, seed: int
) -> list[tuple[int, dict[int, float]]]:
    """``count`` (userId, first ``size`` ratings in time order) of random users with more."""
    rng = np.random.default_rng(seed)
    per_user = ratings.groupby("userId").size()
    users = rng.choice(per_user.index[per_user > size].to_numpy(), size=count, replace=True)
    picked = ratings[ratings["userId"].isin(users)].sort_values(
        ["userId", "timestamp", "movieId"], kind="stable"
    )
    first = {
        int(u): dict(
            zip(
                g["movieId"].head(size).astype(int),
                g["rating"].head(size).astype(float),
                strict=True,
            )
        )
        for u, g in picked.groupby("userId")
    }
    return [(int(u), first[int(u)]) for u in users]


def timed(call: Callable[[], object]) -> tuple[float, float, object]:
    """(wall-clock ms, CPU ms of this thread, result) of ``call()``."""
    started, started_cpu = time.perf_counter(), time.thread_time()
    result = call()
    cpu_ms = (time.thread_time() - started_cpu) * 1000.0
    return (time.perf_counter() - started) * 1000.0, cpu_ms, result


def latency_summary(ms: Sequence[float], cpu_ms: Sequence[float]) -> dict[str, float]:
    """Wall-clock p50/p99/mean and CPU-time p50/p99 (what the request costs without waiting
    for a shared, busy CPU) in milliseconds."""
    values, cpu = np.asarray(ms), np.asarray(cpu_ms)
    return {
        "requests": len(values),
        "p50_ms": float(np.percentile(values, 50)),
        "p99_ms": float(np.percentile(values, 99)),
        "mean_ms": float(values.mean()),
        "cpu_p50_ms": float(np.percentile(cpu, 50)),
        "cpu_p99_ms": float(np.percentile(cpu, 99)),
    }


def bench_dataset(
    name: str, ml: MovieLens, requests: int, pandas_requests: int, seed: int
) -> dict[str, object]:
    """Fit time, latency per profile size, and the pandas baseline on one dataset."""
    ratings = ml.ratings
    fit_ms, _, model = timed(lambda: PearsonRecommender().fit(ratings, ml.movies))
    result: dict[str, object] = {
        "dataset": name,
        "users": int(ratings["userId"].nunique()),
        "movies": len(model.movie_ids),
        "ratings": len(ratings),
        "fit_seconds": fit_ms / 1000.0,
        "cases": [],
    }
    popular_ms, _, popular = timed(lambda: pandas_pearson.popularity_order(ratings))
    result["pandas_popularity_seconds"] = popular_ms / 1000.0
    for size in PROFILE_SIZES:
        profiles = sample_profiles(ratings, size, requests + 5, seed + size)
        for user, profile in profiles[:5]:  # warm-up
            model.recommend(profile, K, user=user)
        ours, ours_cpu, lists = [], [], {}
        for user, profile in tqdm(profiles[5:], desc=f"{name} pearson {size}", leave=False):
            ms, cpu_ms, recs = timed(lambda u=user, p=profile: model.recommend(p, K, user=u))
            ours.append(ms)
            ours_cpu.append(cpu_ms)
            lists[user] = recs.movie_ids.tolist()
        naive, naive_cpu, agree = [], [], []
        for user, profile in tqdm(
            profiles[5 : 5 + pandas_requests], desc=f"{name} pandas {size}", leave=False
        ):
            ms, cpu_ms, ids = timed(
                lambda u=user, p=profile: pandas_pearson.recommend(
                    ratings, popular, p, K, exclude_user=u
                )
            )
            naive.append(ms)
            naive_cpu.append(cpu_ms)
            agree.append(len(set(ids) & set(lists[user])) / K)
        case = {
            "profile_ratings": size,
            "pearson": latency_summary(ours, ours_cpu),
            "pandas": latency_summary(naive, naive_cpu),
            "agreement_top24": float(np.mean(agree)),
        }
        case["ratio_p50"] = case["pandas"]["p50_ms"] / case["pearson"]["p50_ms"]
        case["ratio_mean"] = case["pandas"]["mean_ms"] / case["pearson"]["mean_ms"]
        case["ratio_cpu_p50"] = case["pandas"]["cpu_p50_ms"] / case["pearson"]["cpu_p50_ms"]
        result["cases"].append(case)
    return result


def to_markdown(results: Sequence[dict], meta: dict) -> str:
    lines = [
        "## Pearson recommendation latency (k=24)",
        "",
        f"{meta['machine']}; {meta['requests']} requests per case (pandas: "
        f"{meta['pandas_requests']}); profiles = first 5/50 ratings of random real users; "
        f"load average at the end {meta['load_average']} on {meta['cpus']} CPUs. Wall-clock "
        "times include waiting for a busy CPU; CPU times are what a request costs.",
        "",
        "| dataset | ratings | fit s | profile | p50 ms | p99 ms | target p99 | CPU p50 ms "
        "| CPU p99 ms | pandas p50 ms | ratio (p50) | ratio (CPU p50) | agreement |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        target = TARGET_P99_MS[
            "synthetic" if r["dataset"].startswith("synthetic") else r["dataset"]
        ]
        for c in r["cases"]:
            lines.append(
                f"| {r['dataset']} | {r['ratings']:,} | {r['fit_seconds']:.2f} | "
                f"{c['profile_ratings']} | {c['pearson']['p50_ms']:.1f} | "
                f"{c['pearson']['p99_ms']:.1f} | {target:.0f} | "
                f"{c['pearson']['cpu_p50_ms']:.1f} | {c['pearson']['cpu_p99_ms']:.1f} | "
                f"{c['pandas']['p50_ms']:.0f} | {c['ratio_p50']:.0f}x | "
                f"{c['ratio_cpu_p50']:.0f}x | {c['agreement_top24']:.0%} |"
            )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="synthetic size x ML-25M")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--pandas-requests", type=int, default=20)
    parser.add_argument("--datasets", default="small,synthetic")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=None, help="default ARTIFACTS_DIR/bench")
    args = parser.parse_args(argv)

    results = []
    wanted = [d.strip() for d in args.datasets.split(",")]
    if "small" in wanted:
        ml = load_movielens(settings.movielens_dir("ml-latest-small"))
        results.append(bench_dataset("ml-latest-small", ml, args.requests, args.pandas_requests, 0))
    if "synthetic" in wanted:
        sizes = {key: max(1000, round(value * args.scale)) for key, value in ML_25M.items()}
        started = time.perf_counter()
        ml = make_synthetic(**sizes, seed=args.seed)
        print(f"synthetic data {sizes} in {time.perf_counter() - started:.0f} s")
        name = "synthetic-25M" if args.scale == 1.0 else f"synthetic-x{args.scale:g}"
        results.append(bench_dataset(name, ml, args.requests, args.pandas_requests, args.seed))
        del ml

    meta = {
        "machine": f"{platform.processor() or platform.machine()}, python "
        f"{platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}",
        "requests": args.requests,
        "pandas_requests": args.pandas_requests,
        "scale": args.scale,
        "cpus": os.cpu_count(),
        "load_average": [round(x, 1) for x in os.getloadavg()],
    }
    report = to_markdown(results, meta)
    print(report)
    out_dir = args.out_dir or settings.artifacts_dir() / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench.md").write_text(report, encoding="utf8")
    (out_dir / "bench.json").write_text(json.dumps({**meta, "results": results}, indent=2))
    print(f"wrote {out_dir / 'bench.md'} and {out_dir / 'bench.json'}")


if __name__ == "__main__":
    main()
