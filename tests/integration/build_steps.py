"""Small build steps for tests/integration/test_first_start.py, each run as
``python -m tests.integration.build_steps KIND ARG`` by the real build runner
(:class:`scripts.build_models.Build`), as the real steps are:

- ``wait GATE``: prints a tqdm-style bar at 50 % (as SBERT encoding does), then waits until the
  file GATE exists (at most 60 s), so the test can look at the status while a step runs;
- ``blend ARTIFACTS_DIR``: fits a tiny real blend (the contract's two-taste-groups data, no
  neural or content component) and saves it as a new version with the ``latest`` pointer, as
  ``scripts/fit_blend.py`` saves the real one;
- ``sbert SOURCE ARTIFACTS_DIR``: saves the real SBERT vectors of SOURCE (the session's
  ``content_artifacts/sbert``) to ``ARTIFACTS_DIR/sbert`` as ``scripts/embed.py`` saves them;
- ``fail MESSAGE``: prints MESSAGE and exits with code 3.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path


def main(kind: str, arg: str) -> int:
    if kind == "wait":
        print("Loading weights: 100%|██████████| 103/103", flush=True)  # not the step's bar
        print("encoding movie texts:  50%|█████     | 1/2 [00:01<00:01]", flush=True)
        deadline = time.monotonic() + 60
        while not Path(arg).exists():
            if time.monotonic() > deadline:
                return 4
            time.sleep(0.1)
        return 0
    if kind == "blend":
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        from recommender.artifacts import set_latest
        from recommender.blend import BlendRecommender
        from tests.recommender_contract import taste_groups

        ratings, movies = taste_groups()
        params = dict(neural=None, use_content=False, blend_users=0.5, folds=2, sizes=(3,))
        model = BlendRecommender(**params, seed=1).fit(ratings, movies)
        root = Path(arg) / "blend"
        model.save(root / "tiny")
        set_latest(root, "tiny")
        print(f"saved {root / 'tiny'}")
        return 0
    if kind == "sbert":
        from recommender.content import MovieVectors

        source, target = arg.split(",")
        MovieVectors.load(Path(source)).save(Path(target) / "sbert")
        return 0
    if kind == "fail":
        print(arg, flush=True)
        return 3
    raise SystemExit(f"unknown step {kind!r}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
