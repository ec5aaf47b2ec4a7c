"""The CSV releases: ml-latest, ml-latest-small, ml-20m, ml-25m, ml-32m (``ratings.csv``,
``movies.csv``, optional ``links.csv`` and ``tags.csv``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from recommender.dataset import LINK_COLUMNS, RATING_COLUMNS, TAG_COLUMNS, MovieLens
from recommender.movielens.parsing import (
    RATING_TYPES,
    arrow_to_pandas,
    movies_frame,
    read_csv_typed,
    require_file,
    split_genres,
    split_title_year,
)


def read_ratings_csv(path: str | Path) -> pd.DataFrame:
    """Read a MovieLens ``ratings.csv`` (header userId,movieId,rating,timestamp).

    Output: DataFrame with userId ``int32``, movieId ``int32``, rating ``float32`` (stars),
    timestamp ``int64`` (Unix seconds), in file order. Extra columns are ignored. 20 bytes per
    rating in memory (25M ratings = 500 MB; peak while loading about twice that).
    """
    path = require_file(Path(path), "a ratings CSV with columns userId,movieId,rating,timestamp")
    frame = arrow_to_pandas(read_csv_typed(path, RATING_TYPES))
    return frame[RATING_COLUMNS]


def read_movies_csv(path: str | Path) -> pd.DataFrame:
    """Read a MovieLens ``movies.csv`` (header movieId,title,genres).

    Output: DataFrame movieId ``int32``, title ``str`` (no "(year)"), year ``Int16``,
    genres ``list[str]``, sorted by movieId. A file without a genres column gives ``[]``.
    """
    path = require_file(Path(path), "a movies CSV with columns movieId,title,genres")
    with path.open("r", encoding="utf8", errors="replace") as handle:
        header = handle.readline()
    types = {"movieId": pa.int32(), "title": pa.string()}
    if "genres" in header:
        types["genres"] = pa.string()
    table = read_csv_typed(path, types)
    frame = table.to_pandas()
    titles, years = split_title_year(frame["title"])
    genres = split_genres(frame["genres"]) if "genres" in frame else [[] for _ in range(len(frame))]
    return movies_frame(frame["movieId"].to_numpy(), titles, years, genres)


def read_links_csv(path: str | Path) -> pd.DataFrame:
    """Read ``links.csv`` (movieId,imdbId,tmdbId) into movieId ``int32``, imdbId and tmdbId
    ``Int64`` (``<NA>`` where empty)."""
    path = require_file(Path(path), "a links CSV with columns movieId,imdbId,tmdbId")
    types = {"movieId": pa.int32(), "imdbId": pa.int64(), "tmdbId": pa.int64()}
    return arrow_to_pandas(read_csv_typed(path, types), nullable_int64=True)[LINK_COLUMNS]


def read_tags_csv(path: str | Path) -> pd.DataFrame:
    """Read ``tags.csv`` (userId,movieId,tag,timestamp); tags may hold quoted commas."""
    path = require_file(Path(path), "a tags CSV with columns userId,movieId,tag,timestamp")
    types = {
        "userId": pa.int32(),
        "movieId": pa.int32(),
        "tag": pa.string(),
        "timestamp": pa.int64(),
    }
    return arrow_to_pandas(read_csv_typed(path, types, newlines_in_values=True))[TAG_COLUMNS]


def load_csv_release(folder: Path) -> MovieLens:
    links, tags = folder / "links.csv", folder / "tags.csv"
    return MovieLens(
        name=folder.name,
        ratings=read_ratings_csv(folder / "ratings.csv"),
        movies=read_movies_csv(folder / "movies.csv"),
        links=read_links_csv(links) if links.is_file() else None,
        tags=read_tags_csv(tags) if tags.is_file() else None,
    )
