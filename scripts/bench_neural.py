"""Figures for the neural models, every baseline measured in the same run.

    python -m scripts.bench_neural --table      [--seeds 0 1 2]   rating protocol table
    python -m scripts.bench_neural --newuser    [--seeds 0] [--max-users N]
    python -m scripts.bench_neural --throughput tf.data vs keras.utils.PyDataset
    python -m scripts.bench_neural --training [--synthetic DIR] [--baseline-epochs N]
                                   [--new-only]
                                   the served models' training: previous vs new settings
    python -m scripts.bench_neural --foldin     fold-in latency p50/p99, 5 and 50 ratings
    python -m scripts.bench_neural --all
    python -m scripts.bench_neural --merge DIR [DIR ...]   one rating table from per-seed runs

Writes Markdown + JSON to ``ARTIFACTS_DIR/eval/``: ``neural_rating.md/.json`` (RMSE/MAE mean ±
std over seeds for Surprise SVD/NMF and every neural model; the best neural model's RMSE as a
ratio of SVD's), ``neural_newuser.md/.json`` (Recall/Precision/NDCG@24 and match ECE, given 5
and 20 ratings, against popularity and pearson), ``neural_speed.md/.json`` (throughput and
fold-in latency), ``neural_training.md/.json`` (``--training``: for ``embed`` and
``embed-implicit``, the settings before issue 15 vs today's defaults: ratings/s as the median
over epochs after the first, epochs run, wall time, validation RMSE, on ml-latest-small and on
the synthetic release in ``--synthetic``, e.g. 2M ratings from ``python -m
scripts.make_synthetic``). Data: ml-latest-small through the settings (``DATA_DIR``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

RATING_MODELS = (
    "surprise-svd",
    "surprise-nmf",
    "nncf-plain",
    "nncf-genres",
    "nncf",
    "neumf",
    "embed",
    "embed-implicit",
)
NEURAL = ("nncf-plain", "nncf-genres", "nncf", "neumf", "embed", "embed-implicit")
NEWUSER_MODELS = ("popularity", "pearson", "nncf", "neumf", "embed", "embed-implicit")
FOLDIN_MODELS = ("nncf", "neumf", "embed", "embed-implicit")


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for flag in ("table", "newuser", "throughput", "foldin", "training", "all"):
        parser.add_argument(f"--{flag}", action="store_true")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", help="override the model list of a part")
    parser.add_argument("--max-users", type=int, help="new-user protocol: users per seed")
    parser.add_argument("--epochs", type=int, help="cap training epochs (quick runs)")
    parser.add_argument("--out", type=Path, help="default: ARTIFACTS_DIR/eval")
    parser.add_argument("--threads", type=int)
    parser.add_argument(
        "--synthetic", type=Path, help="--training: also on this MovieLens-shaped release"
    )
    parser.add_argument(
        "--synthetic-only", action="store_true", help="--training: leave out ml-latest-small"
    )
    parser.add_argument(
        "--new-only",
        action="store_true",
        help="--training: today's settings only (no previous / without-XLA baselines)",
    )
    parser.add_argument(
        "--baseline-epochs",
        type=int,
        help="--training: cap the previous settings' epochs on --synthetic (slow there)",
    )
    parser.add_argument(
        "--merge",
        type=Path,
        nargs="+",
        metavar="DIR",
        help="combine neural_rating.json of runs with different --seeds (e.g. run in parallel)",
    )
    return parser.parse_args(argv)


def load_data():
    from recommender import settings
    from recommender.movielens import load_movielens

    return load_movielens(settings.movielens_dir())


def _params(models, epochs: int | None) -> dict:
    return {m: {"epochs": epochs} for m in models if m in NEURAL and epochs}


def _write(out: Path, stem: str, markdown: str, payload: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{stem}.md").write_text(markdown)
    (out / f"{stem}.json").write_text(json.dumps(payload, indent=2) + "\n")
    print(markdown)
    print(f"wrote {out / stem}.md and .json")


def rating_table(args, movielens, command: str) -> None:
    """Rating protocol (random 90/10, several seeds) for the baselines and neural models."""
    from recommender.evaluation import evaluate_rating_prediction

    models = args.models or RATING_MODELS
    results = evaluate_rating_prediction(
        models,
        movielens.ratings,
        movielens.movies,
        seeds=args.seeds,
        params=_params(models, args.epochs),
    )
    rating_report(results, args.out, command)


def merge_rating_tables(folders: list[Path], out: Path, command: str) -> None:
    """One table from several runs' ``neural_rating.json`` (each run: same models, own seeds;
    within a run every model saw the same split, so per-seed ratios stay like for like)."""
    from recommender.evaluation import Result

    merged: dict[str, Result] = {}
    commands = []
    for folder in folders:
        payload = json.loads((folder / "neural_rating.json").read_text())
        commands.append(payload["command"])
        for item in payload["results"]:
            result = merged.setdefault(item["model"], Result("rating", item["model"]))
            for name, values in item["values"].items():
                result.values.setdefault(name, []).extend(values)
            for name, values in item["counts"].items():
                result.counts.setdefault(name, []).extend(values)
    rating_report(list(merged.values()), out, command + " (merging: " + "; ".join(commands) + ")")


def rating_report(results, out: Path, command: str) -> None:
    """Write the rating table (Markdown + JSON) with the best neural model's ratio to SVD."""
    from recommender.evaluation import format_markdown

    by_name = {r.model: r for r in results}
    lines = [format_markdown(results)]
    payload: dict = {"command": command, "results": [r.summary() for r in results]}
    neural = [r for r in results if r.model in NEURAL]
    if "surprise-svd" in by_name and neural:
        svd = by_name["surprise-svd"]
        best = min(neural, key=lambda r: r.mean("rmse"))
        # per-seed ratio: both models saw the same split
        ratios = np.asarray(best.values["rmse"]) / np.asarray(svd.values["rmse"])
        payload["best_neural"] = {
            "model": best.model,
            "rmse_ratio_to_svd": float(ratios.mean()),
            "rmse_reduction_vs_svd_percent": float(100 * (1 - ratios.mean())),
            "per_seed_ratio": ratios.tolist(),
        }
        lines.append(
            f"Best neural model: **{best.model}**, RMSE {best.mean('rmse'):.4f} vs Surprise SVD "
            f"{svd.mean('rmse'):.4f}: ratio {ratios.mean():.4f} "
            f"({100 * (1 - ratios.mean()):.2f}% lower; target >= 4%), per seed "
            + ", ".join(f"{r:.4f}" for r in ratios)
            + "."
        )
    lines.append(f"\nCommand: `{command}`\n")
    _write(out, "neural_rating", "\n".join(lines), payload)


def newuser_table(args, movielens, command: str) -> None:
    """New-user protocol (held-out users, given 5 and 20 ratings, top 24, whole catalogue)."""
    from recommender.evaluation import evaluate_new_users, format_markdown

    models = args.models or NEWUSER_MODELS
    results = evaluate_new_users(
        models,
        movielens.ratings,
        movielens.movies,
        seeds=args.seeds,
        max_users=args.max_users,
        params=_params(models, args.epochs),
    )
    markdown = format_markdown(results) + f"\nCommand: `{command}`\n"
    _write(
        args.out,
        "neural_newuser",
        markdown,
        {"command": command, "results": [r.summary() for r in results]},
    )


def throughput(args, movielens) -> dict:
    """Training ratings/s of the same NNCF model fed by tf.data vs by a Python PyDataset."""
    from recommender.models import make_model
    from recommender.neural.callbacks import Throughput
    from recommender.neural.data import Features
    from recommender.neural.python_batches import PythonBatches

    ratings = movielens.ratings
    epochs = 2
    figures = {}
    for feeder in ("tf.data", "PyDataset"):
        model = make_model("nncf", epochs=epochs, validation_fraction=0.0, seed=0)
        meter = Throughput(len(ratings))
        data = None
        if feeder == "PyDataset":
            features = Features.from_ratings(ratings, movielens.movies)
            data = PythonBatches(ratings, features, batch_size=model.params["batch_size"], seed=0)
        model.fit(ratings, movielens.movies, callbacks=[meter], train_data=data)
        # epoch 1 includes graph tracing: report the best later epoch
        figures[feeder] = max(meter.rates[1:] or meter.rates)
    ratio = figures["tf.data"] / figures["PyDataset"]
    return {"ratings_per_second": figures, "ratio_tfdata_over_pydataset": ratio, "epochs": epochs}


def foldin_latency(args, movielens, repeats: int = 200) -> dict:
    """p50/p99 (ms) of ``score(profile)`` — fold-in plus scoring every movie — for strangers."""
    from recommender.models import make_model

    ratings = movielens.ratings
    rng = np.random.default_rng(0)
    popular = ratings["movieId"].value_counts().index.to_numpy()[:2000]
    out: dict = {}
    for name in args.models or FOLDIN_MODELS:
        model = make_model(name, epochs=args.epochs or 2, seed=0).fit(ratings, movielens.movies)
        out[name] = {}
        for size in (5, 50):
            profiles = [
                dict(
                    zip(
                        rng.choice(popular, size, replace=False).tolist(),
                        rng.choice(np.arange(1, 11) / 2, size).tolist(),
                        strict=True,
                    )
                )
                for _ in range(repeats)
            ]
            model.score(profiles[0])  # trace once
            times = []
            for profile in profiles:
                start = time.perf_counter()
                model.score(profile)
                times.append(1000 * (time.perf_counter() - start))
            out[name][size] = {
                "p50_ms": float(np.percentile(times, 50)),
                "p99_ms": float(np.percentile(times, 99)),
                "n_movies_scored": int(len(model.movie_ids)),
            }
    return out


TRAINING_MODELS = ("embed", "embed-implicit")  # the served ones: similar movies, the blend's
XLA_MODELS = ("embed", "embed-implicit")  # "new without XLA" shows what compiling adds


def training_run(name: str, ratings, movies, params: dict) -> dict:
    """Fit ``name`` with ``params``; its throughput, epochs, wall time and validation RMSE."""
    import os

    from recommender.models import make_model
    from recommender.neural.callbacks import Throughput

    model = make_model(name, seed=0, **params)
    meter = Throughput(round(len(ratings) * (1 - model.params["validation_fraction"])))
    started = time.perf_counter()
    model.fit(ratings, movies, callbacks=[meter])
    wall = time.perf_counter() - started
    later = meter.rates[1:] or meter.rates  # the first epoch also traces the graph
    later_cpu = meter.cpu_rates[1:] or meter.cpu_rates
    return {
        "model": name,
        "params": params,
        "batch_size": model.params["batch_size"],
        "learning_rate": model.params["learning_rate"],
        "learning_rate_decay": model.params["learning_rate_decay"],
        "patience": model.params["patience"],
        "plateau": model.params["learning_rate_plateau"],
        "xla": bool(model.model._jit_compile),
        "ratings_per_second": float(np.median(later)),
        "ratings_per_cpu_second": float(np.median(later_cpu)),
        "epochs_run": model.validation["epochs_run"],
        "best_epoch": model.validation["best_epoch"],
        "max_epochs": model.params["epochs"],
        "wall_seconds": wall,
        "val_rmse": model.validation["rmse"],
        "user_chunk": model.validation["user_chunk"],
        "load_average": os.getloadavg()[0],
    }


def training_table(args, movielens, command: str) -> None:
    """The served models' training before (``PREVIOUS_TRAINING``) and now (defaults)."""
    from recommender.movielens import load_movielens
    from recommender.neural.base import PREVIOUS_TRAINING

    datasets = [] if args.synthetic_only else [("ml-latest-small", movielens)]
    if args.synthetic:
        datasets.append((f"synthetic {args.synthetic.name}", load_movielens(args.synthetic)))
    runs = []
    for label, data in datasets:
        for name in args.models or TRAINING_MODELS:
            previous = dict(PREVIOUS_TRAINING)
            if args.baseline_epochs and data is not movielens:
                previous["epochs"] = args.baseline_epochs
            configs = [("previous", previous), ("new", {})]
            if name in XLA_MODELS:  # what the compiled step adds
                configs.insert(1, ("new without XLA", {"jit_compile": False}))
            if args.new_only:
                configs = configs[-1:]
            for config, params in configs:
                if args.epochs:
                    params = {**params, "epochs": args.epochs}
                run = training_run(name, data.ratings, data.movies, params)
                run.update(data=label, config=config, n_ratings=len(data.ratings))
                runs.append(run)
                print(json.dumps(run), flush=True)
    lines = [
        "| data | model | settings | ratings/s (median) | per CPU-s | epochs run (best) "
        "| wall s | val RMSE | load |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        capped = " (capped)" if r["epochs_run"] == r["max_epochs"] else ""
        decay = f", ×{r['learning_rate_decay']:g}/epoch" if r["learning_rate_decay"] != 1 else ""
        decay += f", ×{r['plateau']:g} on a plateau" if r["plateau"] != 1 else ""
        settings = (
            f"{r['config']}: batch {r['batch_size']}, lr {r['learning_rate']:g}{decay}, "
            f"patience {r['patience']}{', XLA' if r['xla'] else ''}"
        )
        lines.append(
            f"| {r['data']} | {r['model']} | {settings} | {r['ratings_per_second']:,.0f} "
            f"| {r['ratings_per_cpu_second']:,.0f} | {r['epochs_run']}{capped} ({r['best_epoch']}) "
            f"| {r['wall_seconds']:.1f} | {r['val_rmse']:.4f} | {r['load_average']:.1f} |"
        )
    lines += [
        "",
        "ratings/s: training ratings / wall time of an epoch (its validation pass included), "
        "median over the epochs after the first (which traces the graph); per CPU-s: the same "
        "per second of this process's CPU time. Load: 1-minute load average after the run "
        "(2 cores, shared). (capped): stopped by the epoch cap, not by early stopping.",
        f"\nCommand: `{command}`\n",
    ]
    _write(args.out, "neural_training", "\n".join(lines), {"command": command, "runs": runs})


def speed_report(args, movielens, command: str) -> None:
    payload: dict = {"command": command}
    lines = ["### Speed", ""]
    if args.throughput or args.all:
        payload["throughput"] = t = throughput(args, movielens)
        rates = t["ratings_per_second"]
        lines += [
            "| training input | ratings/s |",
            "|---|---|",
            *(f"| {k} | {v:,.0f} |" for k, v in rates.items()),
            "",
            f"tf.data / PyDataset throughput ratio: **{t['ratio_tfdata_over_pydataset']:.2f}**"
            " (same NNCF model, batch 512, best of epochs after the first).",
            "",
        ]
    if args.foldin or args.all:
        payload["foldin"] = f = foldin_latency(args, movielens)
        lines += ["| model | profile size | p50 ms | p99 ms |", "|---|---|---|---|"]
        for name, sizes in f.items():
            for size, v in sizes.items():
                lines.append(f"| {name} | {size} | {v['p50_ms']:.1f} | {v['p99_ms']:.1f} |")
        lines += ["", "Fold-in = fit the user vector + predict all movies, one `score()` call."]
    lines.append(f"\nCommand: `{command}`\n")
    _write(args.out, "neural_speed", "\n".join(lines), payload)


def main(argv=None) -> int:
    import sys

    args = parse_args(argv)
    from recommender import settings
    from recommender.neural.runtime import limit_threads, make_deterministic

    limit_threads(args.threads)
    make_deterministic(0)
    args.out = args.out or settings.artifacts_dir() / "eval"
    words = argv if argv is not None else sys.argv[1:]
    command = "python -m scripts.bench_neural " + " ".join(words)
    if args.merge:
        merge_rating_tables(args.merge, args.out, command)
        return 0
    movielens = load_data()
    if args.table or args.all:
        rating_table(args, movielens, command)
    if args.newuser or args.all:
        newuser_table(args, movielens, command)
    if args.throughput or args.foldin or args.all:
        speed_report(args, movielens, command)
    if args.training or args.all:
        training_table(args, movielens, command)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
