"""Build every model artifact the worker serves, once per dataset.

Usage: ``python -m scripts.build_models [--force]``

Steps, each a script of its own (run in a child process so memory and threads are released
between them), in the order the worker needs them:

1. ``scripts.embed``: SBERT vectors of every movie's text (re-encodes only changed texts);
2. ``scripts.train --model embed``: the embedding dot-product model (fold-in for new users,
   "similar movies");
3. ``scripts.plot_embeddings``: the 2-D map of movie embeddings shown on the Insights page;
4. ``scripts.fit_blend --neural embed-implicit``: the blend of popularity, Pearson, item
   co-likes, content and the neural model, with its learned weights and calibrated match
   percentage (it trains its own copies of the neural model while learning the weights).

A stamp ``ARTIFACTS_DIR/build.json`` records which dataset files (name and size) the artifacts
were built from, and the blend's format; when it matches, nothing is rebuilt. ``--force``
rebuilds anyway. A different ``DATA_DIR`` / ``MOVIELENS_RELEASE``, or a blend saved in a format
this code no longer reads, therefore rebuilds on the next ``make run``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from recommender import settings

STEPS: list[tuple[str, list[str]]] = [
    ("movie text embeddings (SBERT)", ["scripts.embed"]),
    ("neural embedding model", ["scripts.train", "--model", "embed"]),
    ("movie embedding map", ["scripts.plot_embeddings"]),
    (
        "blend and calibrated match percentage",
        ["scripts.fit_blend", "--neural", "embed-implicit"],
    ),
]


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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
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
    stamp_path = artifacts / "build.json"
    stamp = dataset_stamp(data)
    if not args.force and stamp_path.exists() and json.loads(stamp_path.read_text()) == stamp:
        print(f"Models are up to date for {data} (in {artifacts}; --force rebuilds).")
        return 0

    # One OpenMP thread: scikit-learn's tree fitting in the blend is many times slower when its
    # threads fight TensorFlow's on a small machine.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    for number, (what, command) in enumerate(STEPS, start=1):
        print(f"[{number}/{len(STEPS)}] Building the {what}...", flush=True)
        started = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", *command], env=env, check=False)
        if result.returncode != 0:
            print(
                f"error: building the {what} failed (`python -m {' '.join(command)}` "
                f"exited with {result.returncode})",
                file=sys.stderr,
            )
            return result.returncode
        print(f"[{number}/{len(STEPS)}] Done in {time.perf_counter() - started:.0f} s.", flush=True)

    artifacts.mkdir(parents=True, exist_ok=True)
    stamp_path.write_text(json.dumps(stamp, indent=2))
    print(f"All models built in {artifacts}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
