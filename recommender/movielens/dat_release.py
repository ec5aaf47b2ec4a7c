"""The older releases: ml-1m and ml-10m (``::``-separated ``ratings.dat``, ``movies.dat``,
``tags.dat``) and ml-100k (``u.data``, ``u.item``, ``u.genre``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from recommender.dataset import RATING_COLUMNS, TAG_COLUMNS, MovieLens
from recommender.movielens.parsing import (
    RATING_TYPES,
    arrow_to_pandas,
    movies_frame,
    read_csv_typed,
    require_file,
    split_genres,
    split_title_year,
    text_lines,
)

_DAT_SEPARATOR = "::"


def _read_dat_ratings(path: Path) -> pd.DataFrame:
    """``UserID::MovieID::Rating::Timestamp`` lines (numbers only) → ratings table."""
    data = require_file(path, "UserID::MovieID::Rating::Timestamp lines").read_bytes()
    source = pa.BufferReader(data.replace(b"::", b"\t"))
    table = read_csv_typed(
        path, RATING_TYPES, source=source, column_names=RATING_COLUMNS, delimiter="\t"
    )
    return arrow_to_pandas(table)[RATING_COLUMNS]


def _read_dat_movies(path: Path) -> pd.DataFrame:
    """``MovieID::Title (year)::Genre|Genre`` lines (Latin-1 in ml-1m) → movies table."""
    require_file(path, "MovieID::Title::Genres lines")
    ids, titles, genres = [], [], []
    for line in text_lines(path):
        movie_id, rest = line.split(_DAT_SEPARATOR, 1)
        title, genre_text = rest.rsplit(_DAT_SEPARATOR, 1)
        ids.append(int(movie_id))
        titles.append(title)
        genres.append(genre_text)
    title, year = split_title_year(titles)
    return movies_frame(np.array(ids), title, year, split_genres(genres))


def _read_dat_tags(path: Path) -> pd.DataFrame:
    """``UserID::MovieID::Tag::Timestamp`` lines (ml-10m) → tags table; tags may hold ':'."""
    rows = []
    for line in text_lines(path):
        user, movie, rest = line.split(_DAT_SEPARATOR, 2)
        tag, timestamp = rest.rsplit(_DAT_SEPARATOR, 1)
        rows.append((int(user), int(movie), tag, int(timestamp)))
    frame = pd.DataFrame(rows, columns=TAG_COLUMNS)
    return frame.astype({"userId": np.int32, "movieId": np.int32, "timestamp": np.int64})


def load_dat_release(folder: Path) -> MovieLens:
    tags = folder / "tags.dat"
    return MovieLens(
        name=folder.name,
        ratings=_read_dat_ratings(folder / "ratings.dat"),
        movies=_read_dat_movies(folder / "movies.dat"),
        tags=_read_dat_tags(tags) if tags.is_file() else None,
    )


# --------------------------------------------------------------------------- ml-100k


def _read_100k_ratings(path: Path) -> pd.DataFrame:
    """``u.data``: tab-separated user, item, rating, timestamp without header."""
    require_file(path, "tab-separated user item rating timestamp lines")
    table = read_csv_typed(path, RATING_TYPES, column_names=RATING_COLUMNS, delimiter="\t")
    return arrow_to_pandas(table)[RATING_COLUMNS]


def _read_100k_genre_names(path: Path) -> list[str]:
    """``u.genre``: ``name|index`` lines → names in index order."""
    pairs = [line.rsplit("|", 1) for line in text_lines(path)]
    return [name for name, _ in sorted(pairs, key=lambda pair: int(pair[1]))]


def _release_year(date_text: str) -> float:
    try:
        return float(datetime.strptime(date_text.strip(), "%d-%b-%Y").year)
    except ValueError:
        return np.nan


def _read_100k_movies(item_path: Path, genre_path: Path) -> pd.DataFrame:
    """``u.item``: id|title|release date|video date|IMDb URL|19 genre flags (Latin-1).

    The year comes from the title, else from the release date ("01-Jan-1995"). The genre
    "unknown" is read as no genre, like MovieLens's later "(no genres listed)".
    """
    require_file(item_path, "pipe-separated movie lines")
    names = _read_100k_genre_names(require_file(genre_path, "genre|index lines"))
    ids, titles, dates, genres = [], [], [], []
    for line in text_lines(item_path):
        fields = line.split("|")
        flags = fields[-len(names) :]
        ids.append(int(fields[0]))
        titles.append(fields[1])
        dates.append(fields[2])
        genres.append([n for n, f in zip(names, flags, strict=True) if f == "1" and n != "unknown"])
    title, year = split_title_year(titles)
    from_date = pd.Series([_release_year(d) for d in dates]).astype("Int16")
    return movies_frame(np.array(ids), title, year.fillna(from_date), genres)


def load_100k_release(folder: Path) -> MovieLens:
    return MovieLens(
        name=folder.name,
        ratings=_read_100k_ratings(folder / "u.data"),
        movies=_read_100k_movies(folder / "u.item", folder / "u.genre"),
    )
