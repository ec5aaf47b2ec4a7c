"""Fit the blend on the whole training data and save it as a versioned artifact.

Usage: ``python -m scripts.fit_blend [--neural NAME] [--version V] [--bench N]``
(or ``--load latest --bench N`` to time a saved blend without refitting)

Fits :class:`recommender.blend.BlendRecommender` on every rating of the configured MovieLens
release (weights and calibration are learned inside ``fit`` on cross-fitted training users; see
the module docstring), and writes ``ARTIFACTS_DIR/blend/<version>/`` with ``blend.pkl`` and
``manifest.json`` (format, library versions, components, features, neutral values,
calibrator, learning figures, data, timings), then points ``ARTIFACTS_DIR/blend/latest`` at it
(the convention of :mod:`recommender.artifacts`). Load it with
``recommender.blend.load_blend()``.

``--bench N`` times ``recommend`` (top 24, with evidence and reasons) for N new-user profiles
(the first 5 and first 20 ratings of random people, scored as strangers without a user key)
and prints p50/p99 in ms of wall time and of the calling thread's CPU time (the second is what
a request costs on an idle core; the first includes waiting for a busy machine). Only the time
matters here: those people are in the training data.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from recommender import artifacts, settings
from recommender.blend import BlendRecommender, blend_dir, blend_root
from recommender.evaluation import first_ratings
from recommender.movielens import load_movielens


def bench(model: BlendRecommender, ratings, n: int, given: int, seed: int = 0) -> dict:
    """Latency (ms) of ``recommend`` for ``n`` profiles of ``given`` ratings, p50 and p99."""
    rng = np.random.default_rng(seed)
    users = rng.choice(np.unique(ratings["userId"]), size=n, replace=True)
    groups = dict(tuple(ratings.groupby("userId")))
    wall, cpu = [], []
    for user in users:
        profile, _ = first_ratings(groups[user], given)
        start, start_cpu = time.perf_counter(), time.thread_time()
        model.recommend(profile, 24)
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return {
        "p50": float(np.percentile(wall, 50)),
        "p99": float(np.percentile(wall, 99)),
        "cpu_p50": float(np.percentile(cpu, 50)),
        "cpu_p99": float(np.percentile(cpu, 99)),
        "calls": n,
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--neural", default=None, help="registry name, 'auto' or omitted")
    parser.add_argument("--version", default=None, help="default: UTC timestamp")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bench", type=int, default=0, help="profiles to time after fitting")
    parser.add_argument(
        "--load", default=None, help="benchmark a saved version ('latest') instead of fitting"
    )
    args = parser.parse_args(argv)

    ml = load_movielens(settings.movielens_dir())
    if args.load:
        directory = blend_dir(None if args.load == "latest" else args.load)
        model = BlendRecommender.load(directory)
        manifest = artifacts.read_manifest(directory)
        figures = {str(given): bench(model, ml.ratings, args.bench, given) for given in (5, 20)}
        print("recommend latency (ms; wall and this thread's CPU):", json.dumps(figures, indent=2))
        artifacts.write_manifest(directory, {**manifest, "latency_ms": figures})
        return
    model = BlendRecommender(neural=args.neural, seed=args.seed, progress=True)
    model.fit(ml.ratings, ml.movies)
    extra: dict = {
        "data": {
            "release": ml.name,
            "ratings": len(ml.ratings),
            "movies": len(ml.movies),
            "people": int(ml.ratings["userId"].nunique()),
        },
    }
    if args.bench:
        extra["latency_ms"] = {
            str(given): bench(model, ml.ratings, args.bench, given) for given in (5, 20)
        }
    root = blend_root()
    directory = root / args.version if args.version else artifacts.new_version(root)
    model.save(directory, extra=extra)
    artifacts.set_latest(root, directory.name)
    manifest = artifacts.read_manifest(directory)
    print(json.dumps({k: manifest[k] for k in ("version", "components", "metrics")}, indent=2))
    if args.bench:
        print("recommend latency (ms):", json.dumps(manifest["latency_ms"]))
    print(f"saved {directory}")


if __name__ == "__main__":
    main()
