"""Benchmark the familiar ↔ discover stage: what widening and re-ranking a list cost.

Usage (from the repo root)::

    python -m scripts.bench_rerank [--requests 60] [--model blend|pearson] [--out-dir DIR]

For ``--requests`` people (the first 5 ratings, in time order, of users of ml-latest-small
drawn at random), each request timed in turn, in the same run:

- **one call**: ``model.recommend(profile, 240, explain_first=24)``, the list without the
  person's main genres (the baseline);
- **two calls**: that call followed by the model's ranking of
  :func:`recommender.rerank.genre_candidates` in a second ``recommend`` (how
  :func:`~recommender.rerank.widened` worked before issue 17's last step);
- **widened**: :func:`recommender.rerank.widened`, both from one scoring pass (``also=``);
- **re-rank**: :func:`recommender.rerank.rerank` of the widened list at the default setting.

``--model blend`` (default) is the served blend saved under ``ARTIFACTS_DIR``
(``python -m scripts.fit_blend``); ``pearson`` is fitted here; ``--model-file F`` uses a blend
pickled by ``python -m scripts.evaluate_blend --save-models DIR`` instead. Prints medians and
p90 in ms, the ratios of the medians to one call, and the load average; writes
``bench_rerank.json`` to ``--out-dir`` (default ``ARTIFACTS_DIR/bench``). Target: widened
≤ 1.2× one call. A figure printer, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import numpy as np

from recommender import settings
from recommender.movielens import load_movielens
from recommender.rerank import DEFAULT_DISCOVER, MovieFacts, genre_candidates, rerank, widened

SIZE = 240
"""The list the worker caches (``RECS_CACHE_SIZE``)."""
EXPLAIN = 24
"""Movies the worker explains when it computes a list (``RECS_EXPLAIN_FIRST``)."""


def two_calls(model, profile, facts):
    """The list and the person's main genres ranked in two ``recommend`` calls."""
    first = model.recommend(profile, SIZE, explain_first=EXPLAIN)
    extra = genre_candidates(profile, facts, first.movie_ids.tolist())
    if len(extra):
        model.recommend(profile, len(extra), candidates=extra, explain_first=0)
    return first


def main(argv: list[str] | None = None) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--model", choices=("blend", "pearson"), default="blend")
    parser.add_argument("--model-file", type=Path, default=None, help="a pickled fitted model")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    out_dir = args.out_dir or settings.artifacts_dir() / "bench"

    ml = load_movielens(settings.movielens_dir())
    if args.model_file:
        import pickle

        with open(args.model_file, "rb") as fh:
            model = pickle.load(fh)
    elif args.model == "blend":
        from recommender.blend.storage import load_blend

        model = load_blend()
    else:
        from recommender.models import make_model

        model = make_model("pearson").fit(ml.ratings, ml.movies)
    facts = MovieFacts.from_ratings(ml.ratings, ml.movies)
    rng = np.random.default_rng(args.seed)
    ordered = ml.ratings.sort_values(["userId", "timestamp"], kind="stable")
    users = rng.choice(ordered["userId"].unique(), size=args.requests, replace=True)
    by_user = {u: rows for u, rows in ordered.groupby("userId")}
    profiles = [
        dict(zip(by_user[u]["movieId"].head(5), by_user[u]["rating"].head(5), strict=True))
        for u in users
    ]
    steps = {
        "one call": lambda p: model.recommend(p, SIZE, explain_first=EXPLAIN),
        "two calls": lambda p: two_calls(model, p, facts),
        "widened": lambda p: widened(model, p, facts, SIZE, explain_first=EXPLAIN),
    }
    for profile in profiles[:3]:  # warm-up (TensorFlow traces its functions once)
        for step in steps.values():
            step(profile)
    times: dict[str, list[float]] = {name: [] for name in [*steps, "re-rank"]}
    extra = []
    for i, profile in enumerate(profiles):
        names = list(steps)
        for name in names[i % 3 :] + names[: i % 3]:  # rotate the order: no step always first
            start = time.perf_counter()
            recs = steps[name](profile)
            times[name].append((time.perf_counter() - start) * 1000)
            if name == "widened":
                widest = recs
        extra.append(len(widest.movie_ids) - SIZE)
        start = time.perf_counter()
        rerank(widest.movie_ids, profile, facts, DEFAULT_DISCOVER)
        times["re-rank"].append((time.perf_counter() - start) * 1000)
    base = float(np.median(times["one call"]))
    load = os.getloadavg()
    summary = {
        "model": str(args.model_file or args.model),
        "requests": args.requests,
        "genre_movies_added_median": float(np.median(extra)),
        "load_average": load,
        "ms": {
            name: {
                "median": float(np.median(v)),
                "p90": float(np.percentile(v, 90)),
                "x_one_call": float(np.median(v)) / base,
            }
            for name, v in times.items()
        },
    }
    print(
        f"{summary['model']}, {args.requests} people with 5 ratings, list of {SIZE} "
        f"(+ median {summary['genre_movies_added_median']:.0f} genre movies); "
        f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}"
    )
    print(f"{'step':>10} | median ms | p90 ms | × one call")
    for name, row in summary["ms"].items():
        print(f"{name:>10} | {row['median']:9.1f} | {row['p90']:6.1f} | {row['x_one_call']:.2f}")
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "bench_rerank.json").write_text(json.dumps(summary, indent=2))
    return summary


if __name__ == "__main__":
    main()
