"""Where the worker finds saved models under ``ARTIFACTS_DIR`` and which version is current.

Layouts (written by the library's scripts, read here without loading anything heavy):

- blend: ``ARTIFACTS_DIR/blend/<version>/{blend.pkl,manifest.json}`` with the current version
  named in ``ARTIFACTS_DIR/blend/LATEST`` (``scripts/fit_blend.py``; ``latest`` is accepted too);
- neural models: ``ARTIFACTS_DIR/models/<model>/<version>/`` with a ``latest`` pointer
  (:mod:`recommender.neural.artifacts`); the worker uses ``embed`` for similar movies;
- SBERT content vectors: ``ARTIFACTS_DIR/sbert/{movie_ids.npy,vectors.npy,texts.json}``
  (``scripts/embed.py``; no versions: read once at start).

Every function here is a few ``stat``/small reads, cheap enough for the periodic reload check.
"""

from __future__ import annotations

from pathlib import Path

BLEND_POINTERS = ("LATEST", "latest")
BLEND_FILE = "blend.pkl"
SIMILAR_MODEL = "embed"


def blend_version(artifacts_dir: Path) -> str | None:
    """The blend version the pointer names, if its folder holds ``blend.pkl``; else ``None``."""
    root = Path(artifacts_dir) / "blend"
    for name in BLEND_POINTERS:
        try:
            version = (root / name).read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            continue
        if version and "/" not in version and (root / version / BLEND_FILE).is_file():
            return version
    return None


def blend_folder(artifacts_dir: Path, version: str) -> Path:
    return Path(artifacts_dir) / "blend" / version


def embed_version(artifacts_dir: Path) -> str | None:
    """The version the ``embed`` model's ``latest`` pointer names (``None``: never trained)."""
    from recommender.neural.artifacts import latest_version

    return latest_version(SIMILAR_MODEL, artifacts_dir)


def sbert_folder(artifacts_dir: Path) -> Path | None:
    """``ARTIFACTS_DIR/sbert`` when it holds saved content vectors, else ``None``."""
    folder = Path(artifacts_dir) / "sbert"
    if (folder / "movie_ids.npy").is_file() and (folder / "vectors.npy").is_file():
        return folder
    return None
