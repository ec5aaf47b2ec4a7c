"""Where the worker finds saved models under ``ARTIFACTS_DIR`` and which version is current.

Layouts (written by the library's scripts, read here without loading anything heavy):

- blend: ``ARTIFACTS_DIR/blend/<version>/{blend.pkl,manifest.json}`` with the current version
  named in ``ARTIFACTS_DIR/blend/latest`` (``scripts/fit_blend.py``; older blends' ``LATEST``
  is still read);
- neural models: ``ARTIFACTS_DIR/models/<model>/<version>/`` with a ``latest`` pointer
  (:mod:`recommender.neural.artifacts`); the worker uses ``embed`` for similar movies;

both following the one convention of :mod:`recommender.artifacts`, whose
:func:`~recommender.artifacts.latest_version` reads every pointer;
- SBERT content vectors: ``ARTIFACTS_DIR/sbert/{movie_ids.npy,vectors.npy,texts.json}``
  (``scripts/embed.py``; no version folders: the modification time of ``vectors.npy``, which
  is replaced last, is the version, :func:`sbert_version`).

Every function here is a few ``stat``/small reads, cheap enough for the periodic reload check.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from recommender.artifacts import latest_version

BLEND_FILE = "blend.pkl"
SIMILAR_MODEL = "embed"


def blend_version(artifacts_dir: Path) -> str | None:
    """The blend version the pointer names, if its folder holds ``blend.pkl``; else ``None``."""
    return latest_version(Path(artifacts_dir) / "blend", BLEND_FILE)


def blend_folder(artifacts_dir: Path, version: str) -> Path:
    return Path(artifacts_dir) / "blend" / version


def embed_version(artifacts_dir: Path) -> str | None:
    """The version the ``embed`` model's ``latest`` pointer names (``None``: never trained)."""
    return latest_version(Path(artifacts_dir) / "models" / SIMILAR_MODEL)


def sbert_version(folder: Path) -> str:
    """``sbert@<UTC modification time of vectors.npy>``: the label of the saved SBERT vectors
    (``scripts/embed.py`` replaces ``vectors.npy`` last, so a new label means new vectors)."""
    stamp = (Path(folder) / "vectors.npy").stat().st_mtime_ns
    return f"sbert@{datetime.fromtimestamp(stamp / 1e9, UTC).strftime('%Y%m%dT%H%M%SZ')}"


def sbert_folder(artifacts_dir: Path) -> Path | None:
    """``ARTIFACTS_DIR/sbert`` when it holds saved content vectors, else ``None``."""
    folder = Path(artifacts_dir) / "sbert"
    if (folder / "movie_ids.npy").is_file() and (folder / "vectors.npy").is_file():
        return folder
    return None
