"""Benchmark item-knn's (or EASE's) recommendation latency for new people on ml-latest-small.

Usage (from the repo root)::

    python -m scripts.bench_item_knn [--requests 300] [--sizes 5,20,100] [--k 30] [--model ease]

20% of the users (seed 0) are held out; ``item-knn`` and, as the baseline measured in the same
run, ``pearson`` are fitted on the others. Each request is ``recommend(profile, k=24)`` for the
first 5 / 20 / 100 ratings (time order) of a random held-out person — a person the models never
saw — after a few warm-up requests. Prints wall-clock p50/p99 and CPU-time p50/p99 per profile
size, the item-knn / pearson ratio of the medians and the load average. Target: item-knn p99
≤ 20 ms. ``--model ease`` measures ``ease`` (registry defaults) instead of item-knn, and also
prints its fit time and pickled size (what a worker process loads). A figure printer, not a test.
"""

from __future__ import annotations

import argparse
import os
import pickle
import time
from collections.abc import Sequence

from tqdm import tqdm

from recommender import settings
from recommender.evaluation import new_user_split
from recommender.models import make_model
from recommender.movielens import load_movielens
from scripts.bench import latency_summary, sample_profiles, timed

TARGET_P99_MS = 20.0


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--sizes", default="5,20,100", help="profile sizes")
    parser.add_argument("--k", type=int, default=30, help="item-knn neighbours")
    parser.add_argument("--model", default="item-knn", choices=["item-knn", "ease"])
    args = parser.parse_args(argv)
    ml = load_movielens(settings.movielens_dir())
    train, held_out = new_user_split(ml.ratings, 0.2, seed=0)
    started = time.perf_counter()
    params = {"k": args.k} if args.model == "item-knn" else {}
    measured = make_model(args.model, **params).fit(train, ml.movies)
    print(
        f"{args.model}: fit {time.perf_counter() - started:.1f} s, pickled "
        f"{len(pickle.dumps(measured, protocol=pickle.HIGHEST_PROTOCOL)) / 1e6:.1f} MB"
    )
    models = {args.model: measured, "pearson": make_model("pearson").fit(train, ml.movies)}
    print(f"load average before: {os.getloadavg()}")
    print("| profile | model | p50 ms | p99 ms | CPU p50 ms | CPU p99 ms |")
    print("|---|---|---|---|---|---|")
    for size in [int(s) for s in args.sizes.split(",")]:
        profiles = sample_profiles(held_out, size, args.requests + 5, seed=size)
        medians = {}
        for name, model in models.items():
            for _, profile in profiles[:5]:
                model.recommend(profile, 24)
            wall, cpu = [], []
            for _, profile in tqdm(profiles[5:], desc=f"{name} {size}", leave=False):
                ms, cpu_ms, _ = timed(lambda m=model, p=profile: m.recommend(p, 24))
                wall.append(ms)
                cpu.append(cpu_ms)
            s = latency_summary(wall, cpu)
            medians[name] = s["p50_ms"]
            print(
                f"| {size} | {name} | {s['p50_ms']:.1f} | {s['p99_ms']:.1f} "
                f"| {s['cpu_p50_ms']:.1f} | {s['cpu_p99_ms']:.1f} |",
                flush=True,
            )
        ratio = medians[args.model] / medians["pearson"]
        print(f"| {size} | {args.model} / pearson median | {ratio:.2f}× | | | |")
    print(f"load average after: {os.getloadavg()}; target item-knn p99 ≤ {TARGET_P99_MS} ms")


if __name__ == "__main__":
    main()
