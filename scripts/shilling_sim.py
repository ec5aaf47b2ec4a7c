"""Shilling simulation: k fake accounts copy a person's ratings and give one obscure film 5
stars; where does that film land in the person's recommendations, with and without the
worker's defences (:mod:`worker.trust`)?

Usage::

    python -m scripts.shilling_sim                  # k = 5 and 20, ml-latest-small
    python -m scripts.shilling_sim --fakes 5 20 50

The person (the victim) is an app user with 12 ratings (the 12 most-rated movies a MovieLens
user rated, as they rated them); the target is a film with 2 ratings. Scenarios, each on the
real Pearson model the worker serves (fitted on the ratings, app users added the way the worker
adds them):

- ``no attack``: the victim's list as it is;
- ``no defence``: every fake account is a neighbour (the worker before this change);
- ``fresh fakes``: accounts just created, as the worker admits them now (age and ratings rules);
- ``aged fakes``: the attacker waited out the age rule and padded each account to 20 ratings,
  so only the cap on app neighbours stands in the way.

Printed: the target's rank in the victim's list (1 = first; "-" = not in the first 240, the
list the worker caches), and how many of the victim's neighbours are fakes.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np

LIST_SIZE = 240


def rank_of(model, profile: dict[int, float], target: int, user: str) -> int | None:
    recs = model.recommend(profile, k=LIST_SIZE, user=user)
    ids = [int(m) for m in recs.movie_ids]
    return ids.index(target) + 1 if target in ids else None


def fakes_among_neighbours(model, profile, user: str) -> int:
    scores = model.score(profile, user=user)
    return sum(1 for n in scores.context["neighbours"] if str(n["user"]).startswith("app:fake"))


def simulate(fakes: list[int], seed: int = 0, cap: int | None = None) -> list[dict]:
    from recommender import settings
    from recommender.models import make_model
    from recommender.movielens import load_movielens
    from worker.trust import NeighbourPolicy, apply_cap

    ml = load_movielens(settings.movielens_dir())
    ratings = ml.ratings
    counts = ratings["movieId"].value_counts()
    rng = np.random.default_rng(seed)
    # the victim: a MovieLens user's 12 most-rated movies, then removed from the training data
    who = int(ratings["userId"].value_counts().index[rng.integers(50, 300)])
    theirs = ratings[ratings["userId"] == who].copy()
    theirs["popularity"] = theirs["movieId"].map(counts)
    victim = dict(
        theirs.sort_values("popularity", ascending=False)
        .head(12)[["movieId", "rating"]]
        .itertuples(index=False, name=None)
    )
    victim = {int(m): float(r) for m, r in victim.items()}
    train = ratings[ratings["userId"] != who]
    obscure = [int(m) for m, c in counts.items() if c == 2 and int(m) not in victim]
    target = obscure[int(rng.integers(len(obscure)))]
    padding = [int(m) for m in counts.index[:200] if int(m) not in victim][:8]

    model = make_model("pearson").fit(train, ml.movies)
    policy = NeighbourPolicy()  # the production defaults
    if cap is not None:
        policy = NeighbourPolicy(policy.min_age_seconds, policy.min_ratings, cap)
    model.upsert_user("app:victim", victim)
    rows = [{"scenario": "no attack", "fakes": 0, **_measure(model, victim, target)}]
    now = datetime.now(UTC)
    for k in fakes:
        fresh = {**victim, target: 5.0}
        aged = {**fresh, **{m: 3.0 for m in padding}}
        for scenario, profile, created in [
            ("no defence", fresh, now),
            ("fresh fakes", fresh, now),
            ("aged fakes", aged, now - timedelta(days=30)),
        ]:
            model.max_app_neighbours = None
            if scenario != "no defence":
                apply_cap(model, policy)
            admitted = scenario == "no defence" or _admitted(policy, created, len(profile))
            for i in range(k):
                model.upsert_user(f"app:fake{i}", profile if admitted else None)
            rows.append({"scenario": scenario, "fakes": k, **_measure(model, victim, target)})
            for i in range(k):
                model.upsert_user(f"app:fake{i}", None)
    return rows, target, int(counts[target])


def _admitted(policy, created: datetime, n: int) -> bool:
    due = policy.eligible_at(created.isoformat(timespec="seconds"), n)
    return due is not None and due <= time.time()


def _measure(model, victim, target) -> dict:
    return {
        "rank": rank_of(model, victim, target, "app:victim"),
        "fake_neighbours": fakes_among_neighbours(model, victim, "app:victim"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--fakes", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cap", type=int, default=None, help="app neighbours per list")
    args = parser.parse_args(argv)
    rows, target, n = simulate(args.fakes, args.seed, args.cap)
    print(f"target movie {target} ({n} ratings); rank in the victim's first {LIST_SIZE}:")
    print(f"{'scenario':<14}{'fakes':>6}{'rank':>8}{'fake neighbours':>17}")
    for row in rows:
        rank = row["rank"] if row["rank"] is not None else "-"
        print(f"{row['scenario']:<14}{row['fakes']:>6}{rank!s:>8}{row['fake_neighbours']:>17}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
