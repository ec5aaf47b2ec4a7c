"""Training throughput with 1, 2, ... processes under ``MultiWorkerMirroredStrategy``.

Usage: ``python -m scripts.bench_distributed [--processes 1 2] [--model embed] [--epochs 3]
[--users N] [--param NAME=VALUE ...] [--threads 1]``

For each process count N, starts N local training processes (``TF_CONFIG`` with free
localhost ports, one per process, as :mod:`recommender.neural.distributed` reads it), each
training ``--model`` on the MovieLens release of the settings (``DATA_DIR``; ``--users`` keeps
the first N people) with the same seed and global batch. Prints one line per N: median epoch
time after the first (graph building) epoch, ratings per second (training ratings / epoch
time), validation RMSE, steps per epoch, and the 1-minute load average before and after
(the machine is shared: compare ratios in one run, never across runs).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time


def free_ports(n: int) -> list[int]:
    """``n`` TCP ports nothing listens on now (the OS picks them)."""
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def cluster_env(ports: list[int], index: int) -> dict[str, str]:
    """The environment of training process ``index`` of a localhost cluster on ``ports``."""
    if len(ports) == 1:
        return {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
    config = {
        "cluster": {"worker": [f"localhost:{p}" for p in ports]},
        "task": {"type": "worker", "index": index},
    }
    return {**os.environ, "TF_CONFIG": json.dumps(config)}


def child(args: argparse.Namespace) -> None:
    """One training process: train, print a JSON line of timings (the chief's is used)."""
    from recommender.neural.distributed import is_chief, multi_worker_strategy, worker_count
    from recommender.neural.runtime import limit_threads

    limit_threads(args.threads)
    multi_worker_strategy()
    import keras

    from recommender import settings
    from recommender.models import make_model
    from recommender.movielens import load_movielens
    from scripts.train import model_params, parse_args

    ml = load_movielens(settings.movielens_dir())
    ratings = ml.ratings
    if args.users:
        ratings = ratings[ratings["userId"] <= args.users]
    train_args = parse_args(
        ["--model", args.model, "--epochs", str(args.epochs)]
        + sum((["--param", p] for p in args.param), [])
        + (["--batch-size", str(args.batch_size)] if args.batch_size else [])
    )
    params = {**model_params(train_args), "patience": args.epochs}  # no early stop

    class Timer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.epochs.append(time.perf_counter() - self.start)

    timer = Timer()  # epoch hooks only: a per-batch hook would make Keras sync every step
    model = make_model(args.model, **params)
    model.fit(ratings, ml.movies, callbacks=[timer])
    n_fit = int(model.features.movie_count.sum())
    steady = sorted(timer.epochs[1:] or timer.epochs)
    epoch = steady[len(steady) // 2]
    if is_chief():
        line = {
            "processes": worker_count(),
            "epoch_seconds": round(epoch, 2),
            "first_epoch_seconds": round(timer.epochs[0], 2),
            "ratings_per_second": round(n_fit / epoch),
            "steps_per_epoch": -(-n_fit // model.params["batch_size"]),
            "training_ratings": n_fit,
            "val_rmse": round(model.validation["rmse"], 4),
        }
        print("RESULT " + json.dumps(line), flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--model", default="embed")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--users", type=int, default=0, help="first N people only (0: all)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--threads", type=int, default=1, help="TensorFlow threads per process")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args)
        return 0

    forwarded = [a for a in (argv if argv is not None else sys.argv[1:])]
    results = []
    for n in args.processes:
        ports = free_ports(n)
        load_before = os.getloadavg()[0]
        command = [sys.executable, "-m", "scripts.bench_distributed", "--child", *forwarded]
        processes = [
            subprocess.Popen(command, env=cluster_env(ports, i), stdout=subprocess.PIPE, text=True)
            for i in range(n)
        ]
        outputs = [p.communicate()[0] for p in processes]
        if any(p.returncode for p in processes):
            print(f"error: a training process of {n} failed", file=sys.stderr)
            return 1
        (line,) = [x for x in outputs[0].splitlines() if x.startswith("RESULT ")]
        result = {**json.loads(line[len("RESULT ") :])}
        result["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
        results.append(result)
        print(json.dumps(result), flush=True)
    if len(results) > 1:
        base = results[0]["ratings_per_second"]
        for r in results[1:]:
            print(
                f"{r['processes']} processes: {r['ratings_per_second'] / base:.2f}x the ratings/s "
                f"of {results[0]['processes']}; validation RMSE {r['val_rmse']} vs "
                f"{results[0]['val_rmse']}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
