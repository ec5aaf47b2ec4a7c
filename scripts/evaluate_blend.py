"""Compare the blend with its components on the new-user protocol, and benchmark it.

Usage: ``python -m scripts.evaluate_blend [--seeds 0 1 2] [--given 5 20] [--models ...]
[--max-users N] [--neural NAME] [--out artifacts/eval]``

``--models`` takes registry names (``popularity``, ``pearson``, ``sbert``, ``embed-implicit``…)
and blends: ``blend`` (neural component from ``--neural``, none by default) or ``blend+NAME``
(the blend with neural model NAME, as the worker serves it); ``blend-previous+NAME`` is that
blend fitted as before issue 15 (the neural model with its previous training settings,
:data:`recommender.neural.base.PREVIOUS_TRAINING`, refitted from scratch in every
cross-fitting round), to compare fit time and quality in one run. The product's configuration
against all of its components, in one run::

    python -m scripts.evaluate_blend --models popularity pearson sbert embed-implicit \
        blend blend+embed-implicit

Protocol (the same as :func:`recommender.evaluation.evaluate_new_users`): per seed, 20% of the
users are held out entirely; every model (the blend included: its weights are learned inside
``fit`` from the training users only) is fitted on the other 80%; each held-out user gives
their first n ratings in time order (n = 5 and 20) as a profile; the top 24 of the whole
catalogue (profile excluded) are compared with their later 4★+ ratings. Reported per model and
band: NDCG@24, Recall@24, Precision@24 (mean ± std over seeds), ratio to popularity (NDCG), the
expected calibration error of the match percentage over every held-out rated movie, and for
the blend the latency of ``recommend`` (p50/p99 ms, one call per held-out user, evidence and
reasons included). Writes ``newuser_blend.md`` and ``newuser_blend.json`` to ``--out`` and
the reliability plot to ``artifacts/plots/reliability.png``.

``--discover 0 0.25 0.5 0.75 1`` also measures every model's list re-ranked at those
familiar ↔ discover settings (:mod:`recommender.rerank`, as the worker serves it): NDCG@24,
the share of slots taken by the 100 most-rated movies and personalisation, with the plot
``docs/discover_tradeoff.png``. ``--save-models DIR`` pickles each fitted blend per seed and
``--load-models DIR`` reuses them (same seeds, same split) instead of fitting again.
``blend+embed-implicit+item-knn`` (``mf-sgd``, ``autorec``, ``ease``) is the served blend with
that model added as a component (:mod:`recommender.blend.components.models`).

Trying a learner without cross-fitting again: ``--rows-cache DIR`` keeps each blend's
cross-fitted training rows with the fitted blend (``DIR/NAME-seedS.pkl``, ~170 MB each on
ml-latest-small); the next run with the same seeds loads them, and ``--rankers pointwise
lambdarank …`` (:data:`recommender.blend.learning.RANKERS`) learns only the rank model again
with each and measures each as ``NAME@RANKER`` (``pointwise`` reproduces the fitted blend to
the last digit; the components' opinions of each held-out profile are computed once for all
rankers)::

    python -m scripts.evaluate_blend --seeds 0 1 --models popularity blend+embed-implicit \
        --rows-cache artifacts/blend-rows                       # fits, caches (~4 min a seed)
    python -m scripts.evaluate_blend --seeds 0 1 --models popularity blend+embed-implicit \
        --rows-cache artifacts/blend-rows --rankers pointwise relative lambdarank
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import platform
import time
from pathlib import Path

import numpy as np

from recommender import settings
from recommender.base import LIKED_RATING
from recommender.blend.learning import RANKERS
from recommender.calibration import expected_calibration_error, plot_reliability
from recommender.evaluation import first_ratings, new_user_split, ranking_metrics
from recommender.evaluation_report import POPULAR_TOP, personalisation
from recommender.models import make_model
from recommender.movielens import load_movielens
from recommender.rerank import (
    DEFAULT_DISCOVER,
    MovieFacts,
    blocks_in_model_order,
    rerank,
    widened,
)

K = 24
CANDIDATES = 240
"""The model's list re-ranked for a ``--discover`` setting (the worker's ``RECS_CACHE_SIZE``),
before :func:`recommender.rerank.widened` adds the person's main genres."""


def _is_blend(name: str) -> bool:
    return name.partition("@")[0].partition("+")[0] in ("blend", "blend-previous")


def fit_model(name: str, train, movies, neural: str | None, content, **params):
    """Fit model ``name`` (with settings ``params``) on ``train``, reusing ``content`` (a
    :class:`~recommender.content.ContentRecommender` fitted on ``train``) for ``sbert`` and
    the blend; ``blend+NAME`` is the blend with neural model NAME, ``blend+NAME+item-knn`` (or
    ``mf-sgd``, ``autorec``, ``ease``) adds that model as a component
    (:data:`~recommender.blend.components.models.TRIAL_COMPONENTS`)."""
    if _is_blend(name):
        from recommender.blend.components import COMPONENTS
        from recommender.blend.components.models import TRIAL_COMPONENTS

        kind, *parts = name.split("+")
        extra = tuple(TRIAL_COMPONENTS[p] for p in parts if p in TRIAL_COMPONENTS)
        neural = next((p for p in parts if p not in TRIAL_COMPONENTS), params.pop("neural", neural))
        types = COMPONENTS + tuple(c for c in extra if c not in COMPONENTS)
        if kind == "blend-previous":  # the blend as fitted before the training speed-ups
            from recommender.neural.base import PREVIOUS_TRAINING

            params = {"reuse": False, "neural_params": PREVIOUS_TRAINING, **params}
        blend = make_model(
            "blend", neural=neural, content_model=content, component_types=types, **params
        )
        return blend.fit(train, movies)
    if name == "sbert":
        return content
    return make_model(name, **params).fit(train, movies)


def fitted_models(args, seed: int, train, movies, content):
    """Yield ``(name, fitted model, fit seconds)`` for every model of ``args.models`` on this
    seed's ``train``: loaded from ``--load-models`` or fitted (and saved to ``--save-models``);
    a blend with ``--rows-cache`` is loaded from there with its cross-fitted rows (or fitted and
    cached), and with ``--rankers`` yields one model per ranker, ``NAME@RANKER``, each learned
    on those rows (its fit seconds are the learning step's)."""
    for name in args.models:
        started = time.perf_counter()
        saved = args.load_models and args.load_models / f"{name}-seed{seed}.pkl"
        cached = _is_blend(name) and args.rows_cache and args.rows_cache / f"{name}-seed{seed}.pkl"
        rows = None
        if cached and cached.exists():
            with open(cached, "rb") as fh:
                model, rows = pickle.load(fh)
        elif saved and saved.exists():
            with open(saved, "rb") as fh:
                model = pickle.load(fh)
        elif cached:
            model = fit_model(name, train, movies, args.neural, content, keep_rows=True)
            rows = model.__dict__.pop("training_rows")
            cached.parent.mkdir(parents=True, exist_ok=True)
            with open(cached, "wb") as fh:
                pickle.dump((model, rows), fh, protocol=pickle.HIGHEST_PROTOCOL)
        else:
            model = fit_model(name, train, movies, args.neural, content)
        if _is_blend(name) and args.save_models:
            args.save_models.mkdir(parents=True, exist_ok=True)
            with open(args.save_models / f"{name}-seed{seed}.pkl", "wb") as fh:
                pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
        if rows is None or not args.rankers:
            yield name, model, time.perf_counter() - started
            continue
        shared = _shared_opinions(model)  # the rankers differ after the components' opinions
        for ranker in args.rankers:
            started = time.perf_counter()
            clone = relearned(model, rows, ranker)
            clone._opinions = shared
            yield f"{name}@{ranker}", clone, time.perf_counter() - started


def _shared_opinions(model):
    """``model._opinions`` remembering each (profile, user) it was asked: the blends that differ
    only in their rank model ask the components once per profile instead of once each."""
    memo: dict = {}

    def opinions(profile, user):
        key = (tuple(sorted(dict(profile).items())), user)
        if key not in memo:
            memo[key] = model._opinions(profile, user)
        return memo[key]

    return opinions


def relearned(model, rows, ranker: str):
    """A shallow copy of the fitted blend ``model`` whose rank model is learned again on its
    cross-fitted ``rows`` by ``ranker`` (:data:`RANKERS`; match and rating models kept)."""
    import copy
    import dataclasses

    from recommender.blend.learning import relearn_rank

    clone = copy.copy(model)
    clone.settings = dataclasses.replace(model.settings, ranker=ranker)
    clone.metrics = {**model.metrics, "ranker": ranker}
    clone.learned = relearn_rank(model.learned, rows, clone.layout, clone.settings)
    return clone


def _plot_tradeoff(points: list[dict], path: Path) -> None:
    """Two panels per number of given ratings: NDCG@24 against head share, and personalisation
    against the setting; one line per model, each point labelled with its setting."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    given = sorted({p["given"] for p in points})
    fig, axes = plt.subplots(len(given), 2, figsize=(11, 4.2 * len(given)), squeeze=False)
    for row, n in enumerate(given):
        left, right = axes[row]
        for name in sorted({p["model"] for p in points}):
            line = sorted(
                (p for p in points if p["model"] == name and p["given"] == n),
                key=lambda p: p["discover"],
            )
            head = [p["mean"]["head_share"] for p in line]
            ndcg = [p["mean"]["ndcg"] for p in line]
            left.plot(head, ndcg, marker="o", label=name)
            for p, x, y in zip(line, head, ndcg, strict=True):
                left.annotate(
                    f"{p['discover']:g}",
                    (x, y),
                    textcoords="offset points",
                    xytext=(4, 4),
                    fontsize=8,
                )
            right.plot(
                [p["discover"] for p in line],
                [p["mean"]["personalisation"] for p in line],
                marker="o",
                label=name,
            )
        left.set(
            xlabel="share of slots from the 100 most-rated movies",
            ylabel="NDCG@24",
            title=f"{n} ratings given: accuracy against head share (labels: discover)",
        )
        left.invert_xaxis()
        right.set(
            xlabel="discover setting (0 familiar – 1 discover)",
            ylabel="personalisation (1 − mean overlap)",
            title=f"{n} ratings given",
        )
        left.grid(alpha=0.3)
        right.grid(alpha=0.3)
        left.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> dict:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--given", type=int, nargs="+", default=[5, 20])
    parser.add_argument("--models", nargs="+", default=["popularity", "pearson", "sbert", "blend"])
    parser.add_argument("--neural", default=None, help="neural component of the blend")
    parser.add_argument("--max-users", type=int, default=None)
    parser.add_argument("--out", type=Path, default=None, help="default ARTIFACTS_DIR/eval")
    parser.add_argument("--plot", type=Path, default=None)
    parser.add_argument(
        "--save-models", type=Path, default=None, help="pickle each fitted blend here per seed"
    )
    parser.add_argument(
        "--load-models",
        type=Path,
        default=None,
        help="use the blends pickled there by --save-models (same seeds) instead of fitting",
    )
    parser.add_argument(
        "--rows-cache",
        type=Path,
        default=None,
        help="keep each blend's cross-fitted training rows (and the fitted blend) here per "
        "seed; a later run loads them and re-runs only the learning step (see --rankers)",
    )
    parser.add_argument(
        "--rankers",
        nargs="+",
        default=None,
        help=f"with --rows-cache: learn each blend's rank model with each of these {RANKERS} "
        "on the cached rows and measure every one (as BLEND@RANKER)",
    )
    parser.add_argument(
        "--discover",
        type=float,
        nargs="*",
        default=[],
        help="familiar-discover settings (0-1) to measure: NDCG@24, head share, personalisation",
    )
    parser.add_argument(
        "--discover-plot", type=Path, default=None, help="default docs/discover_tradeoff.png"
    )
    args = parser.parse_args(argv)
    out = args.out or settings.artifacts_dir() / "eval"
    plot = args.plot or settings.artifacts_dir() / "plots" / "reliability.png"

    from recommender.content import ContentRecommender

    ml = load_movielens(settings.movielens_dir())
    values: dict[tuple[str, int], dict[str, list[float]]] = {}
    pairs: dict[tuple[str, int], tuple[list, list]] = {}
    latency: dict[tuple[str, int], list[float]] = {}
    fit_seconds: dict[str, list[float]] = {}
    blend_metrics = []
    curve: dict[tuple[str, int, float], dict[str, list[float]]] = {}
    for seed in args.seeds:
        train, held = new_user_split(ml.ratings, 0.2, seed)
        users = np.unique(held["userId"].to_numpy())
        if args.max_users and len(users) > args.max_users:
            users = np.random.default_rng(seed).choice(users, args.max_users, replace=False)
            held = held[held["userId"].isin(users)]
        content = ContentRecommender().fit(train, ml.movies)
        facts = MovieFacts.from_ratings(train, ml.movies)
        head = train["movieId"].value_counts().index[:POPULAR_TOP].to_numpy(np.int64)
        for name, model, seconds in fitted_models(args, seed, train, ml.movies, content):
            fit_seconds.setdefault(name, []).append(seconds)
            if _is_blend(name):
                blend_metrics.append({"model": name, "seed": seed, **model.metrics})
            for n in args.given:
                per_user = []
                probs, outcomes = [], []
                discovered: dict[float, tuple[list, list]] = {}
                for _, rows in held.groupby("userId"):
                    profile, hidden = first_ratings(rows, n)
                    relevant = hidden.loc[hidden["rating"] >= LIKED_RATING, "movieId"]
                    if relevant.empty:
                        continue
                    start = time.perf_counter()
                    recs = model.recommend(profile, K)
                    if _is_blend(name):
                        elapsed = (time.perf_counter() - start) * 1000
                        latency.setdefault((name, n), []).append(elapsed)
                    per_user.append(ranking_metrics(recs.movie_ids.tolist(), relevant, K))
                    if args.discover:
                        widest = widened(model, profile, facts, CANDIDATES, explain_first=0)
                        for setting in args.discover:
                            top = rerank(widest.movie_ids, profile, facts, setting)[:K]
                            top = blocks_in_model_order(top, widest.movie_ids)
                            got = discovered.setdefault(setting, ([], []))
                            got[0].append(ranking_metrics(top.tolist(), relevant, K)["ndcg"])
                            got[1].append(top)
                    probs.append(model.predict_match(profile, hidden["movieId"]) / 100.0)
                    outcomes.append(hidden["rating"].to_numpy() >= LIKED_RATING)
                p, o = np.concatenate(probs), np.concatenate(outcomes)
                row = values.setdefault((name, n), {})
                for metric in ("ndcg", "recall", "precision"):
                    row.setdefault(metric, []).append(float(np.mean([u[metric] for u in per_user])))
                row.setdefault("ece", []).append(expected_calibration_error(p, o))
                row.setdefault("users", []).append(len(per_user))
                got = pairs.setdefault((name, n), ([], []))
                got[0].append(p)
                got[1].append(o)
                for setting, (ndcgs, lists) in discovered.items():
                    point = curve.setdefault((name, n, setting), {})
                    point.setdefault("ndcg", []).append(float(np.mean(ndcgs)))
                    point.setdefault("head_share", []).append(
                        float(np.isin(np.concatenate(lists), head).mean())
                    )
                    point.setdefault("personalisation", []).append(personalisation(lists, K))
                print(
                    f"seed {seed} {name:>10} given {n:>2}: NDCG@24 {row['ndcg'][-1]:.4f} "
                    f"ECE {row['ece'][-1]:.4f}",
                    flush=True,
                )

    def mean(name, n, metric):
        return float(np.mean(values[(name, n)][metric]))

    def std(name, n, metric):
        v = values[(name, n)][metric]
        return float(np.std(v, ddof=1)) if len(v) > 1 else 0.0

    measured = list(dict.fromkeys(name for name, _ in values))  # BLEND@RANKER included
    lines = [
        f"## New users, top {K} of the full catalogue (ml-latest-small, seeds {args.seeds})",
        "",
        "| given | model | NDCG@24 | × popularity | Recall@24 | Precision@24 | match ECE |",
        "|---|---|---|---|---|---|---|",
    ]
    summary: dict = {"seeds": args.seeds, "given": args.given, "k": K, "results": []}
    for n in args.given:
        for name in measured:
            ratio = mean(name, n, "ndcg") / mean("popularity", n, "ndcg")
            cells = [f"{mean(name, n, m):.4f} ± {std(name, n, m):.4f}" for m in ("ndcg",)]
            cells.append(f"{ratio:.3f}")
            cells += [f"{mean(name, n, m):.4f} ± {std(name, n, m):.4f}" for m in ("recall",)]
            cells += [f"{mean(name, n, m):.4f} ± {std(name, n, m):.4f}" for m in ("precision",)]
            cells.append(f"{mean(name, n, 'ece'):.4f}")
            lines.append(f"| {n} | {name} | " + " | ".join(cells) + " |")
            summary["results"].append(
                {
                    "model": name,
                    "given": n,
                    "per_seed": values[(name, n)],
                    "mean": {m: mean(name, n, m) for m in ("ndcg", "recall", "precision", "ece")},
                    "std": {m: std(name, n, m) for m in ("ndcg", "recall", "precision", "ece")},
                    "ndcg_vs_popularity": ratio,
                }
            )
    blends = [name for name in measured if _is_blend(name)]
    components = [name for name in measured if not _is_blend(name)]
    if blends and components:
        lines += ["", "Does each blend beat every single model of this run on NDCG@24?", ""]
        summary["beats_every_component"] = {}
        for name in blends:
            for n in args.given:
                best = max(components, key=lambda c: mean(c, n, "ndcg"))
                margin = mean(name, n, "ndcg") / mean(best, n, "ndcg")
                wins = margin > 1
                summary["beats_every_component"][f"{name}, given {n}"] = wins
                lines.append(
                    f"- {name}, given {n}: {'yes' if wins else 'NO'} — best single model "
                    f"{best} {mean(best, n, 'ndcg'):.4f}, blend {margin:.3f}× it"
                )
    if blends:
        lines += [
            "",
            "Blend `recommend` latency (top 24 with evidence and reasons, one call per "
            "held-out user, all seeds, in-process wall time):",
            "",
        ]
        summary["latency_ms"] = {}
        for (name, n), calls in latency.items():
            p50, p99 = np.percentile(calls, 50), np.percentile(calls, 99)
            summary["latency_ms"][f"{name}, given {n}"] = {
                "p50": p50,
                "p99": p99,
                "calls": len(calls),
            }
            lines.append(
                f"- {name}, given {n}: p50 {p50:.1f} ms, p99 {p99:.1f} ms ({len(calls)} calls)"
            )
        curves = {
            f"{name}, given {n}": (
                np.concatenate(pairs[(name, n)][0]),
                np.concatenate(pairs[(name, n)][1]),
            )
            for name in blends
            for n in args.given
        }
        plot_reliability(curves, plot)
        summary["reliability_plot"] = str(plot)
        summary["ece_pooled_over_seeds"] = {}
        lines += ["", "Match ECE pooled over all seeds' held-out pairs:", ""]
        for label, (probs, outcomes) in curves.items():
            ece = expected_calibration_error(probs, outcomes)
            summary["ece_pooled_over_seeds"][label] = ece
            lines.append(f"- {label}: {ece:.4f}")
        summary["blend_fit"] = blend_metrics
        lines += ["", f"Reliability plot: `{plot}`"]
    if curve:
        lines += [
            "",
            f"Familiar ↔ discover (`--discover`; served default {DEFAULT_DISCOVER}): the model's "
            f"top {CANDIDATES} plus its ranking of the person's main genres, re-ranked by "
            "`recommender.rerank`; head share = share of the slots taken by the "
            f"{POPULAR_TOP} most-rated training movies; personalisation = 1 − mean overlap of "
            "two people's top 24 (mean ± std over seeds).",
            "",
            "| given | model | discover | NDCG@24 | × the model's order | head share | "
            "personalisation |",
            "|---|---|---|---|---|---|---|",
        ]
        summary["discover"] = []
        for (name, n, setting), point in sorted(
            curve.items(), key=lambda kv: (kv[0][1], kv[0][0], kv[0][2])
        ):
            own = mean(name, n, "ndcg")
            got = {
                m: (float(np.mean(v)), float(np.std(v, ddof=1)) if len(v) > 1 else 0.0)
                for m, v in point.items()
            }
            lines.append(
                f"| {n} | {name} | {setting:g} | {got['ndcg'][0]:.4f} ± {got['ndcg'][1]:.4f} | "
                f"{got['ndcg'][0] / own:.3f} | {got['head_share'][0]:.3f} | "
                f"{got['personalisation'][0]:.3f} |"
            )
            summary["discover"].append(
                {
                    "model": name,
                    "given": n,
                    "discover": setting,
                    "per_seed": point,
                    "mean": {m: v[0] for m, v in got.items()},
                }
            )
        target = args.discover_plot or Path("docs") / "discover_tradeoff.png"
        _plot_tradeoff(summary["discover"], target)
        lines += ["", f"Trade-off plot: `{target}`"]
    lines += [
        "",
        "Fit seconds (mean): " + ", ".join(f"{k} {np.mean(v):.1f}" for k, v in fit_seconds.items()),
    ]
    lines += [
        f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared), "
        f"load average {os.getloadavg()[0]:.1f} at the end."
    ]
    markdown = "\n".join(lines) + "\n"
    out.mkdir(parents=True, exist_ok=True)
    (out / "newuser_blend.md").write_text(markdown)
    (out / "newuser_blend.json").write_text(json.dumps(summary, indent=2, default=float))
    print(markdown)
    return summary


if __name__ == "__main__":
    main()
