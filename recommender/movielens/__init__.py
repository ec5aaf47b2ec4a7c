"""Read any MovieLens release (and the Netflix Prize layout) into one :class:`MovieLens`.

``load_movielens(folder)`` looks at which files the folder holds and picks the reader:

============================  ================================================================
files in the folder           releases
============================  ================================================================
``ratings.csv``, movies.csv   ml-latest, ml-latest-small, ml-20m, ml-25m, ml-32m (links.csv
                              and tags.csv optional)
``ratings.dat``, movies.dat   ml-1m, ml-10m (``::``-separated; tags.dat for ml-10m)
``u.data``, ``u.item``        ml-100k (tab / pipe separated, 19 genre flag columns)
``combined_data_*.txt``       Netflix Prize (blocks headed ``movieId:``), ``movie_titles.csv``
============================  ================================================================

Every reader returns the tables documented on :class:`recommender.dataset.MovieLens`: ids
``int32``, ratings ``float32`` on the release's own star scale, timestamps ``int64`` Unix
seconds, titles without the trailing "(year)", year ``Int16`` (nullable) and genres as
``list[str]``. Big files are parsed by pyarrow's multi-threaded CSV reader with explicit column
types, so a 25M-row ``ratings.csv`` loads into 500 MB (pandas' defaults take 800 MB and
twice the peak memory; see ``scripts/bench_load.py``).

Modules: :mod:`~recommender.movielens.parsing` (what every reader shares),
:mod:`~recommender.movielens.csv_release`, :mod:`~recommender.movielens.dat_release` (ml-1m,
ml-10m, ml-100k) and :mod:`~recommender.movielens.netflix`; this one detects the layout.
"""

from __future__ import annotations

from pathlib import Path

from recommender.dataset import MovieLens
from recommender.movielens.csv_release import (
    load_csv_release,
    read_links_csv,
    read_movies_csv,
    read_ratings_csv,
    read_tags_csv,
)
from recommender.movielens.dat_release import load_100k_release, load_dat_release
from recommender.movielens.netflix import NETFLIX_FILES, load_netflix
from recommender.movielens.parsing import NO_GENRES, DatasetError, split_genres, split_title_year

__all__ = [
    "NO_GENRES",
    "DatasetError",
    "detect_format",
    "load_movielens",
    "read_links_csv",
    "read_movies_csv",
    "read_ratings_csv",
    "read_tags_csv",
    "split_genres",
    "split_title_year",
]


# --------------------------------------------------------------------------- autodetection

_FORMATS = {
    "csv": (("ratings.csv", "movies.csv"), load_csv_release),
    "dat": (("ratings.dat", "movies.dat"), load_dat_release),
    "100k": (("u.data", "u.item", "u.genre"), load_100k_release),
    "netflix": ((NETFLIX_FILES, "movie_titles.csv"), load_netflix),
}
"""Format name → (files that identify it, loader). Patterns with ``*`` must match a file."""


def _holds(folder: Path, pattern: str) -> bool:
    return any(folder.glob(pattern)) if "*" in pattern else (folder / pattern).is_file()


def detect_format(path: str | Path) -> str | None:
    """Which layout the folder holds: ``"csv"``, ``"dat"``, ``"100k"``, ``"netflix"``, or
    ``None`` when the folder is missing or holds none of them."""
    folder = Path(path)
    if not folder.is_dir():
        return None
    for name, (required, _) in _FORMATS.items():
        if all(_holds(folder, pattern) for pattern in required):
            return name
    return None


def load_movielens(path: str | Path) -> MovieLens:
    """Load the dataset in folder ``path``, whatever its layout (see the module docstring).

    Output: a :class:`MovieLens` named after the folder. Raises :class:`DatasetError` naming
    the folder and the files expected when it is missing or unrecognised.
    """
    folder = Path(path).expanduser()
    kind = detect_format(folder)
    if kind is None:
        expected = "; or ".join(" + ".join(files) for files, _ in _FORMATS.values())
        state = "does not exist" if not folder.is_dir() else "holds no known dataset layout"
        raise DatasetError(
            f"{folder} {state}: expected a MovieLens or Netflix Prize folder with {expected}. "
            "Run `python -m scripts.fetch_data` or set DATA_DIR / MOVIELENS_PATH."
        )
    return _FORMATS[kind][1](folder)
