"""Simulate newcomers rating their first five movies on each grid order, and compare.

Usage (from the repo root)::

    python -m scripts.simulate_onboarding [--seeds 3] [--max-users N] [--genres top3|none]
        [--target rest|fixed|both] [--model pearson] [--ratings PATH] [--out-dir DIR]

The new-user protocol of :mod:`recommender.evaluation` (:func:`new_user_split`: per seed, 20%
of the users held out entirely, the model and the grid's statistics fitted on the other 80%),
with the profile found by scrolling instead of taken in time order:

- a simulated person chooses genres (``--genres top3``: the three genres they rated most, ties
  by name; ``none``: every genre) and reads the grid movie by movie (pages of 24), rating the
  first five movies shown that they rated in the data, with their real stars;
- the adaptive grids change after each rating exactly as the worker serves them
  (:class:`recommender.onboarding.GridWalk`: the places read so far stay, the rest is chosen
  from the movies rated so far), so the next movies a simulated person meets depend on what
  they rated; the static grids never change;
- the model recommends 24 movies from those five ratings; NDCG@24 (binary, 4+ stars relevant,
  :func:`recommender.evaluation.ranking_metrics`) against ``--target rest`` (their other
  ratings — the issue's protocol) or ``--target fixed`` (half of each person's ratings, drawn
  once per person and seed, is the target for every grid and never shown; the grid can only
  find the other half — so every grid is scored against the same movies); ``both`` runs the
  two one after the other;
- "scrolled" = movies shown before the fifth rating that the person did not rate; "pages" =
  pages of 24 opened until the fifth rating (1 = found all five on the first page).

Only people with at least five findable movies and at least one relevant target movie whatever
five they rate are simulated (the same people for every grid order). Prints a Markdown table
per protocol (NDCG@24 mean ± sd over seeds; scrolled median and mean over people and seeds;
ratios to today's popular-first grid) and writes ``onboarding.md``, ``onboarding.json`` and
``onboarding.png`` (one panel per protocol) to ``--out-dir`` (default ``ARTIFACTS_DIR/eval``).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse
from tqdm import tqdm

from recommender import settings
from recommender.base import LIKED_RATING
from recommender.catalog import Catalog, count_ratings
from recommender.evaluation import new_user_split, ranking_metrics
from recommender.models import make_model
from recommender.movielens import load_movielens
from recommender.onboarding import FirstGrid, GridWalk, raters_matrix, rating_entropy

K = 24
PAGE_SIZE = 24
GIVEN = 5
TODAY = "popular first (today)"
STATIC = "log-pop × entropy, genres take turns (static)"
FAMILIAR = "adaptive, likely known × teaches (no lift)"
SERVED = "adaptive, likely known × lift × teaches (served)"


class StaticWalk:
    """A grid that does not change while the person rates: ``ids`` is the whole order."""

    def __init__(self, ids: np.ndarray) -> None:
        self.ids = ids

    def rate(self, movie_id: int, shown: int) -> None:
        """Nothing changes."""


class AdaptiveWalk:
    """The adaptive grid (:class:`recommender.onboarding.GridWalk`) as movie ids."""

    def __init__(self, walk: GridWalk) -> None:
        self.walk = walk
        self.ids = walk.grid.catalog.ids[walk.order]

    def rate(self, movie_id: int, shown: int) -> None:
        """Tell the grid the person rated ``movie_id`` having seen ``shown`` places."""
        self.walk.rate(movie_id, shown)
        self.ids = self.walk.grid.catalog.ids[self.walk.order]


Start = Callable[[list[str]], "StaticWalk | AdaptiveWalk"]
"""``start(genres)``: a fresh grid of the chosen genres, before any rating."""


def grid_orders(
    catalog: Catalog, entropy: np.ndarray, raters: sparse.csr_matrix
) -> dict[str, Start]:
    """Today's grid and the candidate orders, each as a :data:`Start` over ``catalog``
    (``entropy`` and ``raters`` as for :class:`~recommender.onboarding.FirstGrid`)."""

    def static(**options) -> Start:
        grid = FirstGrid(catalog, entropy, **options)
        return lambda genres: StaticWalk(catalog.ids[grid.order(genres)])

    def adaptive(**options) -> Start:
        grid = FirstGrid(catalog, entropy, raters=raters, **options)
        return lambda genres: AdaptiveWalk(grid.walk(genres))

    return {
        TODAY: lambda genres: StaticWalk(catalog.browse(genres, None, 1, len(catalog))[0]),
        STATIC: static(),
        FAMILIAR: adaptive(lift=0.0),
        SERVED: adaptive(),
    }


def scroll(grid, known: set[int], given: int = GIVEN) -> tuple[list[int], int]:
    """Read ``grid`` (a :class:`StaticWalk` or :class:`AdaptiveWalk`) place by place, rating
    every movie of ``known`` met (the grid may change after each rating), until ``given``
    are found.

    Output: ``(found ids in the order read, scrolled)`` — scrolled counts the movies shown before
    the last one found that are not in ``known``; fewer than ``given`` found when the grid
    ends first."""
    found: list[int] = []
    place = 0
    while len(found) < given and place < len(grid.ids):
        movie_id = int(grid.ids[place])
        place += 1
        if movie_id in known:
            found.append(movie_id)
            grid.rate(movie_id, place)
    return found, place - len(found)


def chosen_genres(user_ratings: pd.DataFrame, genres_of: dict[int, list[str]], mode: str) -> list:
    """The genres a simulated person picks: their 3 most-rated (``top3``) or none (``none``)."""
    if mode == "none":
        return []
    counts = Counter(g for m in user_ratings["movieId"] for g in genres_of.get(int(m), ()))
    return [g for g, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


@dataclass
class Outcome:
    """One grid order's figures: per-seed mean NDCG@24 and every person's scrolled count."""

    ndcg: list[float] = field(default_factory=list)
    scrolled: list[int] = field(default_factory=list)
    pages: list[int] = field(default_factory=list)
    people: list[int] = field(default_factory=list)


def simulate(
    ratings: pd.DataFrame,
    movies: pd.DataFrame,
    *,
    seeds: Sequence[int] = (0, 1, 2),
    genres: str = "top3",
    target: str = "rest",
    model_name: str = "pearson",
    max_users: int | None = None,
    progress: bool = True,
) -> dict[str, Outcome]:
    """Run the simulation (module docstring); ``max_users`` keeps that many held-out people
    (the lowest ids) per seed, for quick runs. Output: grid order name -> :class:`Outcome`."""
    genres_of = {int(m): list(g) for m, g in zip(movies["movieId"], movies["genres"], strict=True)}
    movie_ids = np.sort(movies["movieId"].to_numpy(dtype=np.int64))
    outcomes: dict[str, Outcome] = {}
    for seed in seeds:
        train, held_out = new_user_split(ratings, 0.2, seed)
        catalog = Catalog(movies, count_ratings(train["movieId"].to_numpy(), movie_ids))
        orders = grid_orders(
            catalog, rating_entropy(train, catalog.ids), raters_matrix(train, catalog.ids)
        )
        model = make_model(model_name).fit(train, movies)
        people = _people(held_out, target, seed, max_users)
        for name, start in orders.items():
            outcome = outcomes.setdefault(name, Outcome())
            scores = []
            for shown, hidden in tqdm(people, desc=f"{name} seed {seed}", disable=not progress):
                picks = chosen_genres(pd.concat([shown, hidden]), genres_of, genres)
                stars = dict(zip(shown["movieId"].astype(int), shown["rating"], strict=True))
                found, scrolled = scroll(start(picks), set(stars))
                if len(found) < GIVEN:
                    continue
                profile = {m: float(stars[m]) for m in found}
                rest = hidden if target == "fixed" else shown[~shown["movieId"].isin(found)]
                relevant = rest.loc[rest["rating"] >= LIKED_RATING, "movieId"].astype(int)
                recs = model.recommend(profile, K)
                scores.append(ranking_metrics(recs.movie_ids.tolist(), relevant.tolist(), K))
                outcome.scrolled.append(scrolled)
                outcome.pages.append(-(-(scrolled + GIVEN) // PAGE_SIZE))
            outcome.ndcg.append(float(np.mean([s["ndcg"] for s in scores])))
            outcome.people.append(len(scores))
    return outcomes


def _people(held_out: pd.DataFrame, target: str, seed: int, max_users: int | None) -> list:
    """``(findable ratings, target ratings)`` of each held-out person kept (module docstring).

    ``rest``: all ratings are findable and the target is what is left of them (kept when more
    than five are 4+); ``fixed``: a seeded half is the target (kept when it has a 4+)."""
    people = []
    for user, own in held_out.groupby("userId"):
        if target == "fixed":
            rng = np.random.default_rng([seed, int(user)])
            half = rng.random(len(own)) < 0.5
            shown, hidden = own[half], own[~half]
            keep = len(shown) >= GIVEN and (hidden["rating"] >= LIKED_RATING).any()
        else:
            shown, hidden = own, own.iloc[:0]
            keep = int((own["rating"] >= LIKED_RATING).sum()) > GIVEN
        if keep:
            people.append((shown, hidden))
        if max_users is not None and len(people) == max_users:
            break
    return people


def summary(outcomes: dict[str, Outcome]) -> list[dict]:
    """Per grid order: NDCG mean/sd over seeds, scrolled median/mean, ratios to today's."""
    base = outcomes[TODAY]
    base_ndcg, base_scroll = float(np.mean(base.ndcg)), float(np.mean(base.scrolled))
    base_median = float(np.median(base.scrolled))
    rows = []
    for name, out in outcomes.items():
        ndcg, scrolled = float(np.mean(out.ndcg)), np.asarray(out.scrolled, dtype=np.float64)
        rows.append(
            {
                "grid": name,
                "ndcg_mean": ndcg,
                "ndcg_sd": float(np.std(out.ndcg, ddof=1)) if len(out.ndcg) > 1 else 0.0,
                "scrolled_median": float(np.median(scrolled)),
                "scrolled_mean": float(scrolled.mean()),
                "pages_mean": float(np.mean(out.pages)),
                "ndcg_ratio": ndcg / base_ndcg if base_ndcg else float("nan"),
                "scrolled_ratio": float(scrolled.mean()) / base_scroll if base_scroll else 1.0,
                "scrolled_median_ratio": (
                    float(np.median(scrolled)) / base_median if base_median else float("nan")
                ),
                "people_per_seed": float(np.mean(out.people)),
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    """The summary as a Markdown table."""
    lines = [
        "| grid order | NDCG@24 (mean ± sd over seeds) | scrolled median / mean | "
        "NDCG × today | scrolled × today (mean / median) | pages opened (mean) | "
        "people per seed |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['grid']} | {r['ndcg_mean']:.4f} ± {r['ndcg_sd']:.4f} | "
            f"{r['scrolled_median']:.0f} / {r['scrolled_mean']:.1f} | {r['ndcg_ratio']:.2f} | "
            f"{r['scrolled_ratio']:.2f} / {r['scrolled_median_ratio']:.2f} | "
            f"{r['pages_mean']:.2f} | "
            f"{r['people_per_seed']:.0f} |"
        )
    return "\n".join(lines)


def plot(panels: dict[str, list[dict]], path: Path, title: str) -> None:
    """One panel per protocol (``{target: summary rows}``): NDCG@24 × today's against movies
    scrolled × today's, the mean (filled) and the median (hollow) of each grid order, with the
    issue's target (≥ 1.15 × today's NDCG at ≤ 1.5 × today's scrolling) shaded (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels), 6.0), squeeze=False)
    for ax, (target, rows) in zip(axes[0], panels.items(), strict=True):
        ax.axhspan(1.15, 2.0, color="tab:green", alpha=0.08, zorder=0)
        ax.axvspan(1.5, 9.0, color="tab:red", alpha=0.08, zorder=0)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.axvline(1.0, color="grey", lw=0.8)
        for i, r in enumerate(rows):
            colour = f"C{i}"
            base = r["ndcg_mean"] / r["ndcg_ratio"] if r["ndcg_ratio"] else 1.0
            ax.errorbar(
                r["scrolled_ratio"],
                r["ndcg_ratio"],
                yerr=r["ndcg_sd"] / base,
                fmt="o",
                color=colour,
                capsize=3,
                label=(
                    f"{r['grid']}: NDCG ×{r['ndcg_ratio']:.2f}, scrolled ×"
                    f"{r['scrolled_ratio']:.2f} mean / ×{r['scrolled_median_ratio']:.2f} median"
                ),
            )
            ax.plot(
                r["scrolled_median_ratio"], r["ndcg_ratio"], "o", mfc="none", color=colour, ms=9
            )
            ax.plot(
                [r["scrolled_ratio"], r["scrolled_median_ratio"]],
                [r["ndcg_ratio"]] * 2,
                color=colour,
                lw=0.8,
                ls=":",
            )
        ratios = [r["ndcg_ratio"] for r in rows]
        ax.set_ylim(min(0.85, min(ratios) - 0.05), max(1.3, max(ratios) + 0.1))
        ax.set_xlim(0.5, 3.0)
        ax.set_xlabel("movies scrolled past before the fifth rating, × today's (● mean, ○ median)")
        ax.set_ylabel("NDCG@24 after five ratings, × today's (± sd over seeds)")
        protocol = (
            "the issue's: target = their other ratings"
            if target == "rest"
            else ("fixed: target = a fixed half of their ratings")
        )
        ax.set_title(f"{protocol}\ngreen: ≥ 1.15 × NDCG; red: > 1.5 × scrolling", fontsize=9)
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
        ax.grid(alpha=0.3)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default 3)")
    parser.add_argument("--max-users", type=int, default=None, help="people per seed (all)")
    parser.add_argument("--genres", choices=("top3", "none"), default="top3")
    parser.add_argument("--target", choices=("rest", "fixed", "both"), default="both")
    parser.add_argument("--model", default="pearson", help="registry model (default pearson)")
    parser.add_argument("--ratings", type=Path, default=None, help="dataset folder")
    parser.add_argument("--out-dir", type=Path, default=None, help="default ARTIFACTS_DIR/eval")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.seeds < 1 or (args.max_users is not None and args.max_users < 1):
        parser.error("--seeds and --max-users must be at least 1")
    ml = load_movielens(args.ratings or settings.movielens_dir())
    targets = ("rest", "fixed") if args.target == "both" else (args.target,)
    title = f"{ml.name}, model {args.model}, genres {args.genres}, {args.seeds} seeds"
    panels: dict[str, list[dict]] = {}
    text = [title]
    for target in targets:
        started = time.perf_counter()
        outcomes = simulate(
            ml.ratings,
            ml.movies,
            seeds=range(args.seeds),
            genres=args.genres,
            target=target,
            model_name=args.model,
            max_users=args.max_users,
            progress=not args.quiet,
        )
        panels[target] = summary(outcomes)
        seconds = time.perf_counter() - started
        text.append(f"target {target} ({seconds:.0f}s)\n\n{format_table(panels[target])}")
        print(f"{title}, {text[-1]}\n", flush=True)
    out_dir = args.out_dir or settings.artifacts_dir() / "eval"
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "onboarding.md").write_text("\n\n".join(text) + "\n")
    (out_dir / "onboarding.json").write_text(
        json.dumps({"title": title, "targets": panels}, indent=2)
    )
    plot(panels, out_dir / "onboarding.png", title)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
