"""In-process cost of a fresh blend list, and its answers saved or compared across code versions.

    python -m scripts.bench_blend_serving --blend var/bench/artifacts-25M/blend \\
        --ratings var/bench/data/synthetic-25M/ratings.csv [--profiles 25] \\
        [--save answers.pkl | --compare answers.pkl]

Takes the first five ratings (in time) of ``--profiles`` people among the first 400,000 rows
of ``--ratings``, and for each asks the blend for what the worker asks of it: ``recommend`` of
240 with 24 explained and 60–100 ``also`` movies (some in its pool, some not), then explains
the next 48 movies with ``explain`` (scoring again) and with the list's ``explainer``. Prints
the median wall time of ``recommend`` and of each component's opinion (ms, one thread asking).
``--save`` writes the answers (movie ids, match, stars, scores, evidence) with pickle;
``--compare`` reads answers saved by another version of the code (e.g. from ``git archive``)
and prints, per profile, whether the lists, numbers and reasons are the same.
"""

from __future__ import annotations

import argparse
import pickle
import time
from pathlib import Path

import numpy as np
import pandas as pd


def first_profiles(ratings_csv: Path, n: int, seed: int = 0) -> list[dict[int, float]]:
    """The first five ratings (in time) of ``n`` people among the first 400,000 rows."""
    ratings = pd.read_csv(ratings_csv, nrows=400_000)
    people = np.random.default_rng(seed).choice(ratings["userId"].unique(), n, replace=False)
    out = []
    for person in people:
        rows = ratings[ratings["userId"] == person].sort_values("timestamp").head(5)
        out.append(
            dict(zip(rows["movieId"].astype(int), rows["rating"].astype(float), strict=True))
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--blend", type=Path, required=True, help="a saved blend's folder, or ARTIFACTS_DIR/blend"
    )
    parser.add_argument("--ratings", type=Path, required=True, help="ratings.csv of its data")
    parser.add_argument("--profiles", type=int, default=25)
    parser.add_argument("--save", type=Path)
    parser.add_argument("--compare", type=Path)
    args = parser.parse_args(argv)

    from recommender import artifacts
    from recommender.blend import storage

    folder = args.blend
    if not (folder / storage.BLEND_FILE).exists():  # the blends' root: its latest version
        folder = artifacts.latest_folder(folder, storage.BLEND_FILE)
    blend = storage.load(folder)
    profiles = first_profiles(args.ratings, args.profiles)
    answers, took, parts = [], [], {}
    for i, profile in enumerate(profiles):
        for name, component in blend.ensemble.components.items():
            started = time.perf_counter()
            component.opinion(profile, None)
            parts.setdefault(name, []).append((time.perf_counter() - started) * 1000)
        also = np.unique(np.random.default_rng(i).choice(blend.movie_ids, 60))
        inside = blend.recommend(profile, 240, explain_first=0).movie_ids[200:240]
        also = np.concatenate([also, inside]).tolist()
        started = time.perf_counter()
        recs = blend.recommend(profile, 240, explain_first=24, also=also)
        took.append((time.perf_counter() - started) * 1000)
        later = recs.movie_ids[24:72].tolist()
        explainer = getattr(recs, "explainer", None)  # absent in older versions
        answers.append(
            {
                "ids": recs.movie_ids,
                "match": recs.match,
                "predicted": recs.predicted,
                "scores": recs.scores,
                "evidence": recs.evidence,
                "later": blend.explain(profile, later),
                "explainer": explainer(later) if explainer else None,
            }
        )
    print(f"recommend(240, also, 24 explained): median {np.median(took):.1f} ms")
    for name, values in parts.items():
        print(f"  {name} opinion: median {np.median(values):.1f} ms")
    if args.save:
        args.save.write_bytes(pickle.dumps(answers))
    if args.compare:
        before = pickle.loads(args.compare.read_bytes())
        for old, new in zip(before, answers, strict=True):
            same = np.array_equal(old["ids"], new["ids"])
            diff = (
                max(float(np.abs(old[k] - new[k]).max()) for k in ("match", "predicted", "scores"))
                if same
                else float("nan")
            )
            print(
                f"same list {same} ({len(new['ids'])} movies), largest difference {diff:.1e}, "
                f"same reasons {old['evidence'] == new['evidence']}, "
                f"explain {old['later'] == new['later']}, "
                f"explainer {new['explainer'] is None or new['explainer'] == old['later']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
