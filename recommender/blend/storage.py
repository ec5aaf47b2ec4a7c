"""Saved blends: ``ARTIFACTS_DIR/blend/<version>/{blend.pkl, manifest.json}`` and the
``latest`` pointer, following :mod:`recommender.artifacts`.

The manifest records the format (:data:`FORMAT`), the library versions that wrote the pickle,
the components, features, neutral values, calibrator, learning figures and parameters. A blend
saved in another format — e.g. one pickled before the blend was split into components — is
refused with :class:`~recommender.artifacts.IncompatibleArtifact`, which names the command that
rebuilds it; ``scripts/build_models.py`` (``make run``) rebuilds by itself, because its stamp
holds the format.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recommender import artifacts

if TYPE_CHECKING:
    from recommender.blend.model import BlendRecommender

FORMAT = 2
"""Version of the saved blend's layout; :func:`load` refuses any other."""
BLEND_FILE = "blend.pkl"


def save(model: BlendRecommender, directory: Path, extra: dict[str, Any] | None = None) -> Path:
    """Write ``blend.pkl`` and ``manifest.json`` to ``directory`` (``extra`` merged into the
    manifest); returns ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / BLEND_FILE, "wb") as fh:
        pickle.dump(model, fh, protocol=pickle.HIGHEST_PROTOCOL)
    names = model.layout.names
    s = model.settings
    artifacts.write_manifest(
        directory,
        {
            "format": FORMAT,
            "model": model.name,
            "components": list(model.components),
            "features": list(names),
            "neutral_values": dict(zip(names, map(float, model.learned.neutral), strict=True)),
            "calibrator": model.learned.calibrator.to_dict(),
            "metrics": model.metrics,
            "params": {
                "neural": model.neural_name,
                "blend_users": model.blend_users,
                "max_blend_users": model.max_blend_users,
                "folds": model.folds,
                "rated_share": s.rated_share,
                "sizes": list(s.sizes),
                "pool": s.pool,
                "negatives": s.negatives,
                "dropout": s.dropout,
                "calibration": s.calibration,
                "seed": s.seed,
            },
            **(extra or {}),
        },
    )
    return directory


def load(directory: Path) -> BlendRecommender:
    """The blend saved in ``directory``; raises
    :class:`~recommender.artifacts.IncompatibleArtifact` for another format."""
    from recommender.blend.model import BlendRecommender

    directory = Path(directory)
    manifest = artifacts.read_manifest(directory)
    if manifest.get("format") != FORMAT:
        raise artifacts.IncompatibleArtifact(
            f"the blend in {directory} was saved in format {manifest.get('format', 1)}, "
            f"this code reads format {FORMAT}; refit it: python -m scripts.fit_blend "
            "(make run rebuilds it)"
        )
    with open(directory / BLEND_FILE, "rb") as fh:
        model = pickle.load(fh)
    if not isinstance(model, BlendRecommender):
        raise TypeError(f"{directory} does not hold a blend model")
    return model


def blend_root() -> Path:
    """``ARTIFACTS_DIR/blend``: where blend versions are saved."""
    from recommender import settings

    return settings.artifacts_dir() / "blend"


def blend_dir(version: str | None = None) -> Path:
    """Folder of a saved blend: ``ARTIFACTS_DIR/blend/<version>``, the ``latest`` one when
    ``version`` is ``None`` (see :mod:`recommender.artifacts`)."""
    if version is not None:
        return blend_root() / version
    try:
        return artifacts.latest_folder(blend_root(), BLEND_FILE)
    except artifacts.ArtifactNotFound as exc:
        raise artifacts.ArtifactNotFound(f"{exc}; run python -m scripts.fit_blend") from exc


def load_blend(version: str | None = None) -> BlendRecommender:
    """The saved blend (latest by default), ready to score; see ``scripts/fit_blend.py``."""
    return load(blend_dir(version))
