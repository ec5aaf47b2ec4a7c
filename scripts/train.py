"""Train a neural recommender and write a versioned artifact.

    python -m scripts.train --model nncf|nncf-genres|nncf-plain|neumf|embed|embed-implicit
        [--data FOLDER] [--extra-ratings CSV ...] [--include-app-ratings]
        [--epochs N] [--batch-size N]
        [--learning-rate X] [--seed N] [--param NAME=VALUE ...] [--artifacts-dir DIR]
        [--threads N] [--no-latest]

Reads MovieLens (``--data`` or the settings: ``MOVIELENS_PATH`` / ``DATA_DIR``), adds the
app's own ratings from ``--extra-ratings`` (CSV userId,movieId,rating[,timestamp]; app users
must have userIds that do not collide with MovieLens ones, e.g. negative — see
``worker.store.export_ratings``) and, with ``--include-app-ratings``, every rating people
made in the app, exported from the worker's Redis at ``REDIS_URL`` (exit code 2 when
``REDIS_URL`` is unset or Redis cannot be reached), trains with a ``tf.data`` pipeline and
early stopping on a validation split (progress per epoch), and writes
``ARTIFACTS_DIR/models/<model>/<version>/`` (model, id maps, feature statistics, manifest,
``training_curves.png``) and moves the ``latest`` pointer. Uses every GPU through
``MirroredStrategy`` when there is one, the CPU otherwise. Same seed, same model.

Data-parallel across processes or machines: with ``TF_CONFIG`` set (or, in a Kubernetes
Indexed Job, derived from ``JOB_COMPLETION_INDEX``; :mod:`recommender.neural.distributed`)
every process runs this same command, training runs under ``MultiWorkerMirroredStrategy``
(``--batch-size`` is then the global batch, split across the processes) and only worker 0
(the chief) writes the artifact.
"""

from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path
from typing import Any

import pandas as pd

NEURAL_MODELS = ("nncf", "nncf-genres", "nncf-plain", "neumf", "embed", "embed-implicit")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, choices=NEURAL_MODELS)
    parser.add_argument("--data", type=Path, help="MovieLens folder (default: settings)")
    parser.add_argument(
        "--extra-ratings",
        type=Path,
        action="append",
        default=[],
        help="CSV of app ratings (userId,movieId,rating[,timestamp]) to train on too",
    )
    parser.add_argument(
        "--include-app-ratings",
        action="store_true",
        help="also train on the app's own ratings, exported from the Redis at REDIS_URL",
    )
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--batch-size", type=int)
    parser.add_argument("--learning-rate", type=float)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any model parameter, VALUE as a Python literal (e.g. tower=(256,128,64))",
    )
    parser.add_argument("--artifacts-dir", type=Path, help="default: ARTIFACTS_DIR")
    parser.add_argument("--threads", type=int, help="TensorFlow CPU threads (default 2)")
    parser.add_argument("--no-latest", action="store_true", help="do not move `latest`")
    return parser.parse_args(argv)


def model_params(args: argparse.Namespace) -> dict:
    """Model keyword arguments from the flags (``--param`` values parsed as literals)."""
    params: dict = {"seed": args.seed}
    for flag, name in (
        ("epochs", "epochs"),
        ("batch_size", "batch_size"),
        ("learning_rate", "learning_rate"),
    ):
        if getattr(args, flag) is not None:
            params[name] = getattr(args, flag)
    return {**params, **literal_params(args.param)}


def literal_params(items: list[str]) -> dict[str, Any]:
    """``NAME=VALUE`` flags as keyword arguments (VALUE a Python literal, else a string)."""
    params: dict[str, Any] = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            params[name] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[name] = value
    return params


def export_app_ratings() -> pd.DataFrame:
    """The app's own ratings from the worker's Redis at ``REDIS_URL``, as a MovieLens-style
    table (userId int64 = ``worker.store.EXPORT_USER_OFFSET`` + a stable per-user number,
    movieId, rating 0.5–5 stars, timestamp Unix seconds; see ``worker.store.export_ratings``).

    Exits with code 2 and a message on stderr when ``REDIS_URL`` is unset or Redis cannot be
    reached (a retrain must not silently train without the app's ratings).
    """
    import os

    url = os.environ.get("REDIS_URL")
    if not url:
        print(
            "error: --include-app-ratings needs REDIS_URL (the worker's Redis, "
            "e.g. redis://localhost:6379/0)",
            file=sys.stderr,
        )
        raise SystemExit(2)
    import redis

    from worker.store import export_ratings
    from worker.store.client import make_client

    try:
        return export_ratings(make_client(url, connect_timeout=10))
    except redis.RedisError as error:
        print(f"error: cannot export the app's ratings from REDIS_URL: {error}", file=sys.stderr)
        raise SystemExit(2) from error


def read_training_data(
    data: Path | None, extra: list[Path], app_ratings: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """MovieLens ratings plus every ``extra`` ratings CSV and ``app_ratings`` (a table with
    the same columns, e.g. from :func:`export_app_ratings`), and the movies table. Exits when
    an added userId collides with a MovieLens one."""
    from recommender import settings
    from recommender.movielens import load_movielens, read_ratings_csv

    movielens = load_movielens(data or settings.movielens_dir())
    known = set(movielens.ratings["userId"].unique())
    frames = [movielens.ratings]
    sources = [(str(path), read_ratings_csv(path)) for path in extra]
    if app_ratings is not None:
        sources.append(("app ratings (Redis)", app_ratings))
    for name, table in sources:
        clash = set(table["userId"].unique()) & known
        if clash:
            raise SystemExit(f"{name}: userIds {sorted(clash)[:5]} collide with MovieLens users")
        frames.append(table[["userId", "movieId", "rating", "timestamp"]])
    ratings = pd.concat(frames, ignore_index=True)
    return ratings.astype(movielens.ratings.dtypes.to_dict()), movielens.movies


def plot_history(history: dict[str, list[float]], path: Path, title: str) -> None:
    """Training and validation loss (MSE, stars²) and RMSE per epoch, saved as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "rmse"), strict=True):
        for prefix, style in (("", "-"), ("val_", "--")):
            values = history.get(prefix + metric)
            if values:
                epochs = range(1, len(values) + 1)
                label = ("validation " if prefix else "train ") + metric
                ax.plot(epochs, values, style, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric + (" (MSE + penalties)" if metric == "loss" else " (stars)"))
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from recommender.neural.distributed import (
        configure_from_job,
        is_chief,
        multi_worker_strategy,
        worker_count,
    )
    from recommender.neural.runtime import limit_threads, make_deterministic

    configure_from_job()  # TF_CONFIG from a Kubernetes Indexed Job's pod index, if any
    limit_threads(args.threads)
    multi_worker_strategy()  # with TF_CONFIG: before any TensorFlow op, as TensorFlow requires
    make_deterministic(args.seed)
    from recommender import settings
    from recommender.models import make_model
    from recommender.neural.artifacts import save_artifact
    from recommender.neural.callbacks import EpochProgress

    app_ratings = export_app_ratings() if args.include_app_ratings else None
    ratings, movies = read_training_data(args.data, args.extra_ratings, app_ratings)
    from recommender.neural.base import data_fingerprint
    from recommender.neural.distributed import same_on_every_worker

    if not same_on_every_worker(data_fingerprint(ratings)):
        print("error: the training processes read different data; run again", file=sys.stderr)
        return 3
    model = make_model(args.model, **model_params(args))
    progress = EpochProgress(model.params["epochs"], desc=f"train {args.model}")
    model.fit(ratings, movies, callbacks=[progress])
    v = model.validation
    summary = (
        f"{args.model}: validation RMSE {v.get('rmse', float('nan')):.4f} "
        f"MAE {v.get('mae', float('nan')):.4f} (best epoch {v.get('best_epoch')})"
    )
    if not is_chief():  # every process holds the same weights; one writes them
        print(summary + "; not the chief, so nothing saved")
        return 0
    extra = {
        "training_processes": worker_count(),
        "command": "python -m scripts.train " + " ".join(sys.argv[1:] if argv is None else argv),
        "extra_ratings": [str(p) for p in args.extra_ratings],
        "app_ratings": None
        if app_ratings is None
        else {
            "source": "redis (REDIS_URL)",
            "n_ratings": int(len(app_ratings)),
            "n_users": int(app_ratings["userId"].nunique()),
        },
        "n_ratings_total": int(len(ratings)),
    }
    artifacts = args.artifacts_dir or settings.artifacts_dir()
    folder = save_artifact(model, artifacts, extra=extra, make_latest=not args.no_latest)
    plot_history(model.history, folder / "training_curves.png", f"{args.model} training curves")
    plot_history(
        model.history,
        Path(artifacts) / "plots" / f"training_{args.model}.png",
        f"{args.model} training curves",
    )
    print(summary)
    print(f"saved {folder}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
