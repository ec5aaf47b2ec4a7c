"""Versioned neural-model artifacts, and loading the newest one without a restart.

The versions follow the project's one convention (:mod:`recommender.artifacts`). Layout
(``root`` = ``ARTIFACTS_DIR``, see :func:`recommender.settings.artifacts_dir`)::

    root/models/<model>/<version>/model.keras      the whole Keras model (head nested inside)
    root/models/<model>/<version>/features.npz     id maps + feature statistics (data.Features)
    root/models/<model>/<version>/manifest.json    model name, params, data fingerprint,
                                                   validation metrics, history, calibration,
                                                   library versions
    root/models/<model>/latest                     text file: the current <version>

``<version>`` is ``YYYYmmddTHHMMSSZ-<fingerprint>`` so versions sort by time. The ``latest``
pointer is replaced atomically (write + rename) after the version folder is complete, so a
reader never sees a half-written model. The worker polls :func:`latest_version` and calls
:func:`load_latest` when it changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from recommender import artifacts
from recommender.artifacts import ArtifactNotFound
from recommender.settings import artifacts_dir as default_artifacts_dir

MODEL_FILE = "model.keras"
FEATURES_FILE = "features.npz"
MANIFEST_FILE = artifacts.MANIFEST
FORMAT_VERSION = 1


def model_dir(model_name: str, artifacts_dir: str | Path | None = None) -> Path:
    """``artifacts_dir/models/<model_name>`` (``ARTIFACTS_DIR`` when not given)."""
    return Path(artifacts_dir or default_artifacts_dir()) / "models" / model_name


def save_artifact(
    recommender,
    artifacts_dir: str | Path | None = None,
    *,
    extra: dict[str, Any] | None = None,
    make_latest: bool = True,
) -> Path:
    """Write a fitted :class:`~recommender.neural.base.NeuralRecommender` as a new version.

    ``extra`` is merged into the manifest (e.g. the command line, throughput). Returns the
    version folder; points ``latest`` at it when ``make_latest``.
    """
    tag = recommender.fingerprint[:8] or "nodata"
    folder = artifacts.new_version(model_dir(recommender.name, artifacts_dir), tag)
    recommender.model.save(folder / MODEL_FILE)
    np.savez(folder / FEATURES_FILE, **recommender.features.to_arrays())
    features = recommender.features
    manifest = {
        "format": FORMAT_VERSION,
        "model": recommender.name,
        "data": {
            "fingerprint": recommender.fingerprint,
            "n_users": features.n_users,
            "n_movies": features.n_movies,
            "n_ratings_fit": int(features.movie_count.sum()),
            "global_mean": features.global_mean,
        },
        "params": _jsonable(recommender.params),
        "validation": recommender.validation,
        "history": recommender.history,
        "calibration": recommender.calibration.to_dict(),
        **(extra or {}),
    }
    artifacts.write_manifest(folder, manifest)
    if make_latest:
        set_latest(recommender.name, folder.name, artifacts_dir)
    return folder


def set_latest(model_name: str, version: str, artifacts_dir: str | Path | None = None) -> None:
    """Point ``latest`` at ``version`` atomically."""
    artifacts.set_latest(model_dir(model_name, artifacts_dir), version)


def latest_version(model_name: str, artifacts_dir: str | Path | None = None) -> str | None:
    """The version ``latest`` points at, or ``None`` when the model was never trained.

    Cheap (one small file read): the worker can call it on every request or on a timer.
    """
    return artifacts.latest_version(model_dir(model_name, artifacts_dir))


def load_artifact(folder: str | Path):
    """Load one version folder back into a ready-to-score recommender (same predictions)."""
    import keras

    from recommender.calibration import StarsCalibrator
    from recommender.models import model_class
    from recommender.neural.data import Features

    folder = Path(folder)
    manifest = json.loads((folder / MANIFEST_FILE).read_text())
    cls = model_class(manifest["model"])  # imports the module, registering its custom layers
    recommender = cls(**manifest["params"])
    model = keras.saving.load_model(folder / MODEL_FILE)
    with np.load(folder / FEATURES_FILE) as arrays:
        features = Features.from_arrays({name: arrays[name] for name in arrays.files})
    recommender._set_fitted(model, features)
    recommender.calibration = StarsCalibrator(**manifest["calibration"])
    recommender.history = manifest["history"]
    recommender.validation = manifest["validation"]
    recommender.fingerprint = manifest["data"]["fingerprint"]
    recommender.version = manifest["version"]
    return recommender


def load_latest(model_name: str, artifacts_dir: str | Path | None = None):
    """Load the version ``latest`` points at; raises :class:`ArtifactNotFound` if none."""
    version = latest_version(model_name, artifacts_dir)
    if version is None:
        raise ArtifactNotFound(
            f"no trained {model_name!r} under {model_dir(model_name, artifacts_dir)}; "
            f"run: python -m scripts.train --model {model_name}"
        )
    return load_artifact(model_dir(model_name, artifacts_dir) / version)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
