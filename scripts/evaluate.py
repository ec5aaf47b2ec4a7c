"""Evaluate registered models with the project's two protocols and write a report.

Usage (from the repo root)::

    python -m scripts.evaluate --models popularity,pearson --protocol rating,newuser --seeds 3 \\
        [--ratings PATH] [--given 5,20] [--k 24] [--max-users N] [--out-dir artifacts/eval]

- ``--ratings``: a dataset folder (any layout ``load_movielens`` reads) or a ratings.csv (then a
  movies.csv beside it is used if present). Default: ``recommender.settings.movielens_dir()``.
- ``--protocol``: ``rating`` (random 90/10 split: RMSE, MAE) and/or ``newuser`` (20% of users held
  out, first 5/20 ratings as profile: Recall/Precision/NDCG@k and the match ECE). See
  :mod:`recommender.evaluation` for the exact definitions.
- ``--seeds N``: seeds 0..N-1; figures are mean ± standard deviation over seeds.
- ``--max-users N``: evaluate only N (seeded) test users per seed, for a quick run.
- ``--param model.NAME=VALUE``: a model setting (repeatable), e.g. ``pearson.neighbours=30``.

Prints a Markdown table and writes ``evaluation.md`` and ``evaluation.json`` to ``--out-dir``
(default ``ARTIFACTS_DIR/eval``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from recommender import settings
from recommender.evaluation import (
    evaluate_new_users,
    evaluate_rating_prediction,
    format_markdown,
)
from recommender.models import MODEL_NAMES, model_class
from recommender.movielens import DatasetError, load_movielens, read_movies_csv, read_ratings_csv
from scripts.predict import InputError, fail, parse_params

PROTOCOLS = ("rating", "newuser")


def load_ratings(path: Path) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """(ratings, movies or None) from a dataset folder or a ratings CSV."""
    try:
        if path.is_dir():
            ml = load_movielens(path)
            return ml.ratings, ml.movies
        ratings = read_ratings_csv(path)
        beside = path.with_name("movies.csv")
        return ratings, read_movies_csv(beside) if beside.exists() else None
    except (OSError, DatasetError, ValueError) as exc:
        raise InputError(f"--ratings {path}: {exc}") from exc


def _csv_list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def model_params(items: Sequence[str], names: Sequence[str]) -> dict[str, dict]:
    """``["pearson.neighbours=30"]`` -> ``{"pearson": {"neighbours": 30}}``."""
    params: dict[str, dict] = {name: {} for name in names}
    for item in items:
        model, dot, setting = item.partition(".")
        if not dot or model not in params:
            raise InputError(f"--param {item!r}: expected MODEL.NAME=VALUE for one of {names}")
        params[model].update(parse_params([setting]))
    return params


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", default="popularity,pearson", help="comma-separated names")
    parser.add_argument("--protocol", default="rating,newuser", help="rating and/or newuser")
    parser.add_argument("--seeds", type=int, default=3, help="number of seeds (0..N-1)")
    parser.add_argument("--ratings", type=Path, default=None, help="dataset folder or ratings.csv")
    parser.add_argument("--given", default="5,20", help="profile sizes for newuser")
    parser.add_argument("--k", type=int, default=24, help="list length for newuser")
    parser.add_argument("--max-users", type=int, default=None, help="test users per seed")
    parser.add_argument("--param", action="append", default=[], help="MODEL.NAME=VALUE")
    parser.add_argument("--out-dir", type=Path, default=None, help="default ARTIFACTS_DIR/eval")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)

    try:
        names, protocols = _csv_list(args.models), _csv_list(args.protocol)
        for name in names:
            if name not in MODEL_NAMES:
                raise InputError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
            model_class(name)  # fail now, not after an hour, if its dependencies are missing
        if not names or not set(protocols) <= set(PROTOCOLS) or not protocols:
            raise InputError(f"--protocol must list some of {', '.join(PROTOCOLS)}")
        given = [int(n) for n in _csv_list(args.given)]
        params = model_params(args.param, names)
        ratings_path = args.ratings or settings.movielens_dir()
        ratings, movies = load_ratings(Path(ratings_path))
    except InputError as exc:
        fail(str(exc))
    except ValueError as exc:
        fail(f"--given {args.given}: {exc}")

    seeds = list(range(args.seeds))
    common = dict(seeds=seeds, params=params, max_users=args.max_users, progress=not args.quiet)
    started = time.perf_counter()
    results = []
    if "rating" in protocols:
        results += evaluate_rating_prediction(names, ratings, movies, **common)
    if "newuser" in protocols:
        results += evaluate_new_users(names, ratings, movies, given=given, k=args.k, **common)

    title = f"Evaluation on {ratings_path} ({len(ratings):,} ratings)"
    report = f"## {title}\n\n{format_markdown(results, args.k)}"
    print(report)
    out_dir = args.out_dir or settings.artifacts_dir() / "eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "evaluation.md").write_text(report + "\n", encoding="utf8")
    payload = {
        "dataset": str(ratings_path),
        "ratings": len(ratings),
        "seeds": seeds,
        "k": args.k,
        "max_users": args.max_users,
        "params": params,
        "seconds": round(time.perf_counter() - started, 1),
        "python": platform.python_version(),
        "results": [r.summary() for r in results],
    }
    (out_dir / "evaluation.json").write_text(json.dumps(payload, indent=2), encoding="utf8")
    print(f"wrote {out_dir / 'evaluation.md'} and {out_dir / 'evaluation.json'}")


if __name__ == "__main__":
    main()
