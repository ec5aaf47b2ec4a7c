"""Retrain what the worker serves on MovieLens + the app's own ratings, and promote it only if
it is not worse than what is served.

Usage::

    python -m scripts.retrain [--data FOLDER] [--artifacts-dir DIR] [--no-app-ratings]
        [--neural NAME|none] [--blend-param NAME=VALUE ...] [--embed-param NAME=VALUE ...]
        [--check-share 0.05] [--given 5] [--tolerance 0.0] [--force] [--seed N]

The one retraining command (the Kubernetes CronJob runs it). Steps:

1. **Data**: the MovieLens release (``--data`` or ``DATA_DIR``/``MOVIELENS_PATH``) plus every
   rating people made in the app, exported from the worker's Redis at ``REDIS_URL``
   (``worker.store.export_ratings``; app users get ids above 1,000,000,000). Exit code 2 when
   ``REDIS_URL`` is unset or unreachable, unless ``--no-app-ratings`` (the first build, before
   anyone used the app).
2. **Check people**: a fixed share (``--check-share``, 5 %) of the MovieLens people, picked by
   a hash of their id (the same people in every run), is left out of training. App users are
   never left out: their ratings always reach the model.
3. **Candidate**: the blend (popularity, co-liked, Pearson, SBERT content and its neural
   component, ``--neural``, default ``embed-implicit``; see :mod:`recommender.blend`) and the
   ``embed`` model the worker uses for similar movies, fitted on everything else.
4. **Held-out check**: each check person's first ``--given`` ratings (in time order) are the
   profile, the rest are hidden; a model's figure is the RMSE (stars) of its predictions for
   the hidden ratings (the blend also gets NDCG@24 of its list, hidden 4★+ = relevant). The
   candidate and the version now served are scored on exactly the same profiles.
5. **Promotion**: both versions are written (the blend under ``ARTIFACTS_DIR/blend/<version>/``,
   ``embed`` under ``ARTIFACTS_DIR/models/embed/<version>/``) with the figures of candidate and
   served in their manifests (``retrain``). Each pointer (``blend/latest``, ``models/embed/latest``)
   moves only when the candidate's check RMSE is not worse than the served one's by more than
   ``--tolerance`` stars (``--force`` moves it anyway). Running workers see the pointer within
   ``RELOAD_CHECK_SECONDS`` and hot-reload; a version that is not promoted stays on disk for
   inspection.

Under ``TF_CONFIG`` (a Kubernetes Indexed Job, see :mod:`recommender.neural.distributed`) the
neural training runs data-parallel across the pods; every pod computes the same blend and only
the chief writes and promotes.

Prints the check figures and the decision; exit code 0 whether or not it promoted (the
decision is in the output and the manifests), 2 for missing data or Redis, 3 when the
training processes of a distributed run read different data (they agree on the chief's start
time as the cut-off for app ratings; a deleted account between their exports still differs).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from scripts.train import literal_params
from worker.store import EXPORT_USER_OFFSET

CHECK_SALT = b"retrain-check-v1"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="MovieLens folder (default: settings)")
    parser.add_argument("--artifacts-dir", type=Path, help="default: ARTIFACTS_DIR")
    parser.add_argument(
        "--no-app-ratings",
        action="store_true",
        help="train on MovieLens only (no Redis needed: the first build)",
    )
    parser.add_argument(
        "--neural", default="embed-implicit", help="the blend's neural component, or 'none'"
    )
    parser.add_argument("--blend-param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--embed-param", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--check-share", type=float, default=0.05)
    parser.add_argument("--given", type=int, default=5, help="profile size of check people")
    parser.add_argument("--tolerance", type=float, default=0.0, help="stars of RMSE allowed")
    parser.add_argument("--force", action="store_true", help="promote whatever the check says")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="TensorFlow CPU threads (default 2)")
    args = parser.parse_args(argv)
    if not 0 < args.check_share < 1:
        parser.error("--check-share must be between 0 and 1")
    return args


# ------------------------------------------------------------------------------ check people


def is_check_person(user_ids: np.ndarray, share: float) -> np.ndarray:
    """Boolean mask: MovieLens people (ids below the app offset) whose salted CRC32 of the id
    falls in the first ``share`` of the range. Stable across runs, releases and machines."""
    ids = np.asarray(user_ids, dtype=np.int64)
    buckets = np.fromiter(
        (zlib.crc32(CHECK_SALT + int(i).to_bytes(8, "little")) for i in ids),
        dtype=np.uint64,
        count=len(ids),
    )
    return (ids < EXPORT_USER_OFFSET) & (buckets < np.uint64(share * 2**32))


def split_check(ratings: pd.DataFrame, share: float) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(training ratings, check people's ratings)."""
    users = ratings["userId"].unique()
    check = users[is_check_person(users, share)]
    mask = ratings["userId"].isin(check).to_numpy()
    return ratings[~mask], ratings[mask]


def check_profiles(check: pd.DataFrame, given: int) -> list[tuple[dict[int, float], pd.DataFrame]]:
    """(first ``given`` ratings as a profile, hidden rest) for every check person with at
    least one hidden rating, in user-id order."""
    from recommender.evaluation import first_ratings

    out = []
    for _, rows in check.groupby("userId", sort=True):
        profile, hidden = first_ratings(rows, given)
        if len(hidden):
            out.append((profile, hidden))
    return out


def check_figures(model, profiles, *, ranking: bool) -> dict[str, Any]:
    """Held-out figures of ``model`` on ``profiles``: RMSE and MAE of predicted stars for the
    hidden ratings; with ``ranking`` also NDCG@24 of ``recommend`` (hidden 4★+ relevant)."""
    from recommender.base import LIKED_RATING
    from recommender.evaluation import mae, ranking_metrics, rmse

    started = time.perf_counter()
    predicted, truth, ndcg = [], [], []
    for profile, hidden in profiles:
        movies = hidden["movieId"].to_numpy()
        predicted.append(np.asarray(model.predict(profile, movies), dtype=np.float64))
        truth.append(hidden["rating"].to_numpy(np.float64))
        liked = hidden.loc[hidden["rating"] >= LIKED_RATING, "movieId"].tolist()
        if ranking and liked:
            recs = model.recommend(profile, 24, exclude=profile.keys())
            ndcg.append(ranking_metrics(recs.movie_ids.tolist(), liked, 24)["ndcg"])
    p, t = np.concatenate(predicted), np.concatenate(truth)
    figures: dict[str, Any] = {
        "rmse": round(rmse(p, t), 4),
        "mae": round(mae(p, t), 4),
        "people": len(profiles),
        "ratings": int(len(t)),
    }
    if ranking:
        figures["ndcg@24"] = round(float(np.mean(ndcg)), 4) if ndcg else None
    figures["seconds"] = round(time.perf_counter() - started, 1)
    return figures


def decide(candidate: dict, served: dict | None, tolerance: float, force: bool) -> dict:
    """Promotion decision from the two check figures (lower RMSE is better)."""
    if served is None:
        return {"promoted": True, "why": "nothing is served yet"}
    worse_by = candidate["rmse"] - served["rmse"]
    if worse_by > tolerance:
        if force:
            return {"promoted": True, "why": f"worse by {worse_by:.4f} stars, --force"}
        return {
            "promoted": False,
            "why": f"check RMSE {candidate['rmse']:.4f} is worse than the served "
            f"{served['rmse']:.4f} by {worse_by:.4f} stars (tolerance {tolerance})",
        }
    return {
        "promoted": True,
        "why": f"check RMSE {candidate['rmse']:.4f} vs served {served['rmse']:.4f}",
    }


# ------------------------------------------------------------------------- served versions


def served_blend(artifacts: Path):
    """(version, model) of the blend the workers serve now, or (None, None)."""
    from recommender.blend import BlendRecommender
    from worker import artifacts as served

    version = served.blend_version(artifacts)
    if version is None:
        return None, None
    return version, BlendRecommender.load(served.blend_folder(artifacts, version))


def served_embed(artifacts: Path):
    """(version, model) of the ``embed`` model the workers serve now, or (None, None)."""
    from recommender.neural.artifacts import latest_version, load_latest

    version = latest_version("embed", artifacts)
    if version is None:
        return None, None
    return version, load_latest("embed", artifacts)


# ------------------------------------------------------------------ writing and promoting
# The one place that knows the artifact layout the worker reads (worker/artifacts.py).


def write_blend(model, artifacts: Path, version: str, manifest_extra: dict) -> Path:
    """Save the blend as ``blend/<version>/`` (``<version>.1``... if taken: versions are never
    overwritten) with ``manifest_extra`` merged in its manifest."""
    folder = Path(artifacts) / "blend" / version
    suffix = 1
    while folder.exists():
        folder, suffix = folder.with_name(f"{version}.{suffix}"), suffix + 1
    model.save(folder)
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest.update(manifest_extra)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return folder


def promote_blend(artifacts: Path, version: str) -> None:
    """Point ``blend/latest`` at ``version`` atomically (recommender.artifacts.set_latest)."""
    from recommender.artifacts import set_latest

    set_latest(Path(artifacts) / "blend", version)


def write_embed(model, artifacts: Path, manifest_extra: dict) -> Path:
    """Save ``embed`` as a new version (pointer untouched); returns its folder."""
    from recommender.neural.artifacts import save_artifact

    return save_artifact(model, artifacts, extra=manifest_extra, make_latest=False)


def promote_embed(artifacts: Path, version: str) -> None:
    from recommender.neural.artifacts import set_latest

    set_latest("embed", version, artifacts)


def update_manifest(folder: Path, **fields: Any) -> None:
    path = Path(folder) / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest.update(fields)
    path.write_text(json.dumps(manifest, indent=2, default=str))


# ------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from recommender.neural.distributed import configure_from_job, is_chief, worker_count

    configure_from_job()
    from recommender.neural.runtime import limit_threads

    limit_threads(args.threads)
    from recommender.neural.distributed import (
        chief_value,
        multi_worker_strategy,
        same_on_every_worker,
    )

    multi_worker_strategy()  # before any TensorFlow op, as TensorFlow requires
    from recommender import settings
    from recommender.blend import BlendRecommender
    from recommender.models import make_model
    from recommender.neural.base import data_fingerprint
    from scripts.train import export_app_ratings, read_training_data

    started = time.perf_counter()
    artifacts = Path(args.artifacts_dir or settings.artifacts_dir())
    app_ratings = None
    if not args.no_app_ratings:
        # Across processes, everyone trains on the ratings made before the chief's start.
        cutoff = chief_value(float(int(time.time())))
        app_ratings = export_app_ratings()
        app_ratings = app_ratings[app_ratings["timestamp"] <= cutoff]
    ratings, movies = read_training_data(args.data, [], app_ratings)
    if not same_on_every_worker(data_fingerprint(ratings)):
        print(
            "error: the training processes read different data (an account was deleted "
            "between their exports?); run again",
            file=sys.stderr,
        )
        return 3
    train, check = split_check(ratings, args.check_share)
    profiles = check_profiles(check, args.given)
    if not profiles:
        print("error: no check people with hidden ratings; raise --check-share", file=sys.stderr)
        return 2
    n_app = 0 if app_ratings is None else len(app_ratings)
    print(
        f"data: {len(ratings):,} ratings ({n_app:,} from the app), {len(profiles)} check people "
        f"({len(check):,} ratings held out); training processes: {worker_count()}",
        flush=True,
    )

    neural = None if args.neural == "none" else args.neural
    blend_params = {"neural": neural, "seed": args.seed, **literal_params(args.blend_param)}
    blend = BlendRecommender(progress=True, **blend_params).fit(train, movies)
    print(f"blend fitted in {blend.metrics.get('fit_seconds')} s", flush=True)
    embed_params = {"seed": args.seed, **literal_params(args.embed_param)}
    embed = make_model("embed", **embed_params).fit(train, movies)
    print(f"embed fitted: validation RMSE {embed.validation.get('rmse', float('nan')):.4f}")
    if not is_chief():
        print("not the chief: the chief writes and promotes")
        return 0

    # Written first (a model that has scored a profile holds compiled functions that do not
    # pickle), figures and decision added to the manifests before any pointer moves.
    command = "python -m scripts.retrain " + " ".join(sys.argv[1:] if argv is None else argv)
    version = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    blend_folder = write_blend(blend, artifacts, version, {})
    update_manifest(blend_folder, version=blend_folder.name)
    embed_folder = write_embed(embed, artifacts, {})
    served_version, served_model = served_blend(artifacts)
    embed_version, embed_served = served_embed(artifacts)
    figures = {
        "blend": {
            "candidate": check_figures(blend, profiles, ranking=True),
            "served": None
            if served_model is None
            else {"version": served_version, **check_figures(served_model, profiles, ranking=True)},
        },
        "embed": {
            "candidate": check_figures(embed, profiles, ranking=False),
            "served": None
            if embed_served is None
            else {"version": embed_version, **check_figures(embed_served, profiles, ranking=False)},
        },
    }
    decisions = {
        name: decide(f["candidate"], f["served"], args.tolerance, args.force)
        for name, f in figures.items()
    }
    retrain = {
        "command": command,
        "versions": {"blend": blend_folder.name, "embed": embed_folder.name},
        "data": {
            "ratings": int(len(ratings)),
            "app_ratings": n_app,
            "app_users": 0 if app_ratings is None else int(app_ratings["userId"].nunique()),
            "training_ratings": int(len(train)),
            "check": {"share": args.check_share, "given": args.given, "people": len(profiles)},
        },
        "check": figures,
        "decision": decisions,
    }
    for folder in (blend_folder, embed_folder):
        update_manifest(folder, retrain=retrain)
    if decisions["blend"]["promoted"]:
        promote_blend(artifacts, blend_folder.name)
    if decisions["embed"]["promoted"]:
        promote_embed(artifacts, embed_folder.name)

    print(json.dumps({"check": figures, "decision": decisions}, indent=2))
    for name, folder in (("blend", blend_folder), ("embed", embed_folder)):
        verdict = "PROMOTED" if decisions[name]["promoted"] else "NOT promoted"
        print(f"{name} {folder.name}: {verdict} ({decisions[name]['why']}); {folder}")
    print(f"retrain done in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
