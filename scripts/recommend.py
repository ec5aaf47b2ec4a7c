"""Write the top-k recommendations of every user of a profiles file, with any registered model.

Usage (from the repo root)::

    python -m scripts.recommend --model pearson --train ratings.csv [--movies movies.csv] \\
        --profiles profiles.csv --k 24 --out recs.csv [--param neighbours=30]

- ``--train``, ``--movies``, ``--param``: as in :mod:`scripts.predict` (content models find the
  overviews file through ``recommender.settings.overviews_path()``).
- ``--profiles``: ratings CSV (userId,movieId,rating,timestamp) of the people to recommend for.
  Users absent from ``--train`` are folded in (Pearson keeps them as each other's neighbours,
  under the key ``"profile:<userId>"``); a user also in ``--train`` is rejected.
- ``--out``: ``userId,rank,movieId,score,match`` — for every user (ascending userId) the top
  ``k`` movies, ``rank`` 1..k, ``score`` the model's ordering key (higher first), ``match`` the
  percentage 0–100 the app shows. Never a movie the user rated in ``--profiles``. Fewer than
  ``k`` rows only when the catalogue has fewer unrated movies.

Exit code 2 with a one-line message on stderr for a bad or missing input file.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import pandas as pd
from tqdm import tqdm

from recommender.base import Recommender
from scripts.predict import (
    InputError,
    Profiles,
    add_common_arguments,
    fail,
    fitted_model,
)


def recommend_all(model: Recommender, profiles: Profiles, k: int) -> pd.DataFrame:
    """Top-``k`` rows ``userId,rank,movieId,score,match`` of every --profiles user."""
    frames = []
    for user in tqdm(sorted(profiles.extra), desc="recommend", disable=len(profiles.extra) < 50):
        profile, key = profiles.get(user)
        recs = model.recommend(profile, k, user=key)
        frames.append(
            pd.DataFrame(
                {
                    "userId": user,
                    "rank": range(1, len(recs) + 1),
                    "movieId": recs.movie_ids,
                    "score": recs.scores.round(6),
                    "match": recs.match.round(2),
                }
            )
        )
    columns = ["userId", "rank", "movieId", "score", "match"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_common_arguments(parser)
    parser.add_argument("--profiles", required=True, help="ratings CSV of the users")
    parser.add_argument("--k", type=int, default=24, help="movies per user (default 24)")
    args = parser.parse_args(argv)
    if args.k < 1:
        fail("--k must be at least 1")
    try:
        model, profiles = fitted_model(args)
        recommend_all(model, profiles, args.k).to_csv(args.out, index=False)
    except InputError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"--out {args.out}: {exc}")


if __name__ == "__main__":
    main()
