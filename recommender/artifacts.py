"""The one convention for versioned artifacts: a folder per version, a manifest, a pointer.

Layout, for every kind of saved model (``root`` is e.g. ``ARTIFACTS_DIR/blend`` or
``ARTIFACTS_DIR/models/embed``)::

    root/<version>/manifest.json   what was saved: format, version, created_at, the library
                                   versions that wrote it (``software``), and the kind's own
                                   fields (params, metrics, data…)
    root/<version>/...             the kind's own files (blend.pkl, model.keras…)
    root/latest                    text file: the current <version>

``<version>`` is ``YYYYmmddTHHMMSSZ[-tag]`` (UTC), so versions sort by time. The pointer is
replaced atomically (write + rename) after the version folder is complete, so a reader never
sees a half-written version. :func:`latest_version` is the one reader of the pointer (the
worker polls it; it is one small file read). Blends saved before this convention named their
pointer ``LATEST``; it is still read.
"""

from __future__ import annotations

import json
import os
import platform
import time
from importlib import metadata
from pathlib import Path
from typing import Any

POINTER = "latest"
LEGACY_POINTERS = ("LATEST",)
"""Older pointer names still read (the blend's, until November 2026)."""
MANIFEST = "manifest.json"

LIBRARIES = (
    "numpy",
    "pandas",
    "scipy",
    "scikit-learn",
    "tensorflow",
    "keras",
    "torch",
    "sentence-transformers",
)
"""Packages whose installed versions every manifest records (absent ones are left out)."""


class ArtifactNotFound(FileNotFoundError):
    """No (complete) version of the artifact exists under its folder."""


class IncompatibleArtifact(RuntimeError):
    """A saved version was written in a format this code no longer reads; rebuild it."""


def library_versions() -> dict[str, str]:
    """``{"python": "3.11.9", "numpy": "2.1.3", ...}`` of this process (nothing is imported)."""
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def new_version(root: Path, tag: str = "") -> Path:
    """Create and return an empty folder ``root/<UTC timestamp>[-tag]`` (unique)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    name = f"{stamp}-{tag}" if tag else stamp
    folder = Path(root) / name
    suffix = 1
    while folder.exists():  # two saves in one second
        folder = folder.with_name(f"{name}.{suffix}")
        suffix += 1
    folder.mkdir(parents=True)
    return folder


def write_manifest(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """Write ``folder/manifest.json``: ``manifest`` plus ``version`` (the folder's name),
    ``created_at`` and ``software`` (:func:`library_versions`) unless given. Returns it."""
    folder = Path(folder)
    full = {
        "version": folder.name,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "software": library_versions(),
        **manifest,
    }
    temporary = folder / f".{MANIFEST}.{os.getpid()}"
    temporary.write_text(json.dumps(full, indent=2, default=str) + "\n")
    os.replace(temporary, folder / MANIFEST)
    return full


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of one version folder (``{}`` when it has none: saved before manifests)."""
    path = Path(folder) / MANIFEST
    return json.loads(path.read_text()) if path.exists() else {}


def set_latest(root: Path, version: str) -> None:
    """Point ``root/latest`` at ``version`` atomically (the folder must hold a manifest)."""
    root = Path(root)
    if not (root / version / MANIFEST).exists():
        raise ArtifactNotFound(f"{root / version} is not a complete version")
    temporary = root / f".{POINTER}.{os.getpid()}"
    temporary.write_text(version + "\n")
    os.replace(temporary, root / POINTER)


def latest_version(root: Path, required: str = MANIFEST) -> str | None:
    """The version ``root/latest`` names (``LATEST`` for older blends), or ``None`` when there
    is no pointer or its folder lacks ``required``. Cheap: one small read and one ``stat``."""
    root = Path(root)
    for name in (POINTER, *LEGACY_POINTERS):
        try:
            version = (root / name).read_text().strip()
        except (FileNotFoundError, NotADirectoryError):
            continue
        if version and "/" not in version and (root / version / required).is_file():
            return version
    return None


def latest_folder(root: Path, required: str = MANIFEST) -> Path:
    """``root/<latest version>``; raises :class:`ArtifactNotFound` when there is none."""
    version = latest_version(root, required)
    if version is None:
        raise ArtifactNotFound(f"no saved version under {root}")
    return Path(root) / version
