"""The naive baseline for the benchmark: Pearson CF as a data scientist would first write it.

Same procedure and tie-breaks as :class:`recommender.pearson.PearsonRecommender` (see its
module docstring), written the straightforward way with pandas on the ratings table: filter the
ratings of the profile's movies, group by user, loop over the candidates computing each
correlation, then group the neighbours' ratings by movie. No precomputed matrix; only the global
popularity order (for the fill-up) is computed once, as any notebook would.

Used by :mod:`scripts.bench` to measure the speed-up of the vectorised version; not used by the
product.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.base import LIKED_RATING


def popularity_order(ratings: pd.DataFrame) -> pd.Index:
    """Movie ids by number of 4+ ratings, then damped mean (most popular first)."""
    global_mean = ratings["rating"].mean()
    stats = ratings.groupby("movieId")["rating"].agg(
        liked=lambda r: (r >= LIKED_RATING).sum(), total="sum", count="size"
    )
    damped = (stats["total"] + 10 * global_mean) / (stats["count"] + 10)
    stats["key"] = stats["liked"] + damped / 10
    return stats.sort_values("key", ascending=False, kind="stable").index


def recommend(
    ratings: pd.DataFrame,
    popular: pd.Index,
    profile: dict[int, float],
    k: int = 24,
    *,
    exclude_user: int | None = None,
    candidates: int = 100,
    neighbours: int = 50,
    min_predicted: float = 4.0,
) -> list[int]:
    """Top-``k`` movie ids for ``profile`` ``{movieId: stars}`` (never a rated movie)."""
    mine = pd.Series(profile, dtype="float64")
    shared = ratings[ratings["movieId"].isin(mine.index) & (ratings["userId"] != exclude_user)]
    overlap = shared.groupby("userId").size().sort_values(ascending=False, kind="stable")

    rows = []
    for user in overlap.index[:candidates]:
        theirs = shared[shared["userId"] == user].set_index("movieId")["rating"]
        ours = mine.loc[theirs.index]
        similarity = 0.0
        if len(theirs) >= 2 and theirs.std() > 0 and ours.std() > 0:
            similarity = float(np.corrcoef(ours.to_numpy(), theirs.to_numpy())[0, 1])
        rows.append({"userId": user, "similarity": similarity, "co_rated": len(theirs)})
    if not rows:
        return [m for m in popular if m not in profile][:k]
    nb = (
        pd.DataFrame(rows)
        .sort_values(["similarity", "co_rated", "userId"], ascending=[False, False, True])
        .head(neighbours)
    )

    theirs = ratings[ratings["userId"].isin(nb["userId"])].merge(nb, on="userId")
    theirs = theirs[~theirs["movieId"].isin(mine.index)]
    per_movie = theirs.groupby("movieId").agg(rated=("userId", "size"))
    positive = theirs[theirs["similarity"] > 0].copy()
    positive["weighted"] = positive["similarity"] * positive["rating"]
    sums = positive.groupby("movieId")[["weighted", "similarity"]].sum()
    per_movie["predicted"] = sums["weighted"] / sums["similarity"]
    per_movie = per_movie.reset_index()

    good = per_movie[per_movie["predicted"] >= min_predicted - 1e-9]
    rest = per_movie[~(per_movie["predicted"] >= min_predicted - 1e-9)].fillna({"predicted": 0})
    ranked = list(
        good.sort_values(["rated", "predicted", "movieId"], ascending=[False, False, True])[
            "movieId"
        ]
    )
    ranked += list(
        rest.sort_values(["predicted", "rated", "movieId"], ascending=[False, False, True])[
            "movieId"
        ]
    )
    if len(ranked) < k:
        seen = set(ranked) | set(profile)
        ranked += [m for m in popular[: k + len(seen)] if m not in seen]
    return [int(m) for m in ranked[:k]]
