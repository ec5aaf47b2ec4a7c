"""Where the project finds its data and writes its artifacts.

Every location is a setting read from the environment, never a path written into code:

- ``DATA_DIR``: a folder holding local copies of the datasets, laid out as
  ``DATA_DIR/<release>/`` (for example ``ml-latest-small/ratings.csv``) and
  ``DATA_DIR/overviews/tmdb_overviews.csv``. When it is unset, MovieLens is downloaded from
  GroupLens into ``DATA_CACHE_DIR`` by ``scripts/fetch_data.py``.
- ``MOVIELENS_RELEASE``: which release to use (default ``ml-latest-small``).
- ``MOVIELENS_PATH``: the folder of one release, overriding the two settings above.
- ``OVERVIEWS_PATH``: the TMDB overviews CSV, overriding ``DATA_DIR/overviews/...``.
- ``DATA_CACHE_DIR``: where downloads are unpacked (default ``~/.cache/movie-recommender``).
- ``ARTIFACTS_DIR``: where trained models and embeddings are written (default ``./artifacts``).
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_RELEASE = "ml-latest-small"
OVERVIEWS_FILE = "tmdb_overviews.csv"


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def movielens_release() -> str:
    """Name of the MovieLens release in use, e.g. ``ml-latest-small`` or ``ml-25m``."""
    return os.environ.get("MOVIELENS_RELEASE", "").strip() or DEFAULT_RELEASE


def data_cache_dir() -> Path:
    """Folder where downloaded releases are unpacked."""
    return _env_path("DATA_CACHE_DIR") or Path.home() / ".cache" / "movie-recommender"


def movielens_dir(release: str | None = None) -> Path:
    """Folder of the MovieLens release to load.

    Resolution order: ``MOVIELENS_PATH``; ``DATA_DIR/<release>``; ``DATA_CACHE_DIR/<release>``.
    The folder is not checked for existence here; loaders and ``fetch_data`` report clearly.
    """
    release = release or movielens_release()
    explicit = _env_path("MOVIELENS_PATH")
    if explicit is not None and release == movielens_release():
        return explicit
    data_dir = _env_path("DATA_DIR")
    if data_dir is not None:
        return data_dir / release
    return data_cache_dir() / release


def overviews_path() -> Path | None:
    """The TMDB overviews CSV if one is configured and present, else ``None``.

    Overviews are optional: movies without one still work everywhere.
    """
    explicit = _env_path("OVERVIEWS_PATH")
    if explicit is not None:
        return explicit if explicit.exists() else None
    for root in (_env_path("DATA_DIR"), data_cache_dir()):
        if root is not None and (root / "overviews" / OVERVIEWS_FILE).exists():
            return root / "overviews" / OVERVIEWS_FILE
    return None


def artifacts_dir() -> Path:
    """Folder for trained model artifacts, embeddings and blend weights."""
    return _env_path("ARTIFACTS_DIR") or Path("artifacts")
