"""The Netflix Prize layout: ``combined_data_*.txt`` (blocks headed ``movieId:``, then
``customerId,rating,YYYY-MM-DD`` lines) and ``movie_titles.csv``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from recommender.dataset import RATING_COLUMNS, MovieLens
from recommender.movielens.parsing import (
    BLOCK_SIZE,
    DatasetError,
    movies_frame,
    require_file,
    text_lines,
)

NETFLIX_FILES = "combined_data_*.txt"


def _forward_fill_headers(lines: pa.Array, carried: int) -> tuple[np.ndarray, np.ndarray, int]:
    """For one batch of Netflix lines: which lines are ``movieId:`` headers, and the movie id
    in force on every line (forward-filled from the last header; ``carried`` before the first).

    Returns ``(is_header, movie_per_line, last_movie_id)``; ids are ``-1`` before any header.
    """
    is_header = pc.ends_with(lines, ":").to_numpy(zero_copy_only=False)
    header_pos = np.flatnonzero(is_header)
    header_ids = pc.utf8_rtrim(lines.take(pa.array(header_pos)), characters=":")
    values = np.full(len(lines), carried, dtype=np.int64)
    values[header_pos] = pc.cast(header_ids, pa.int64()).to_numpy()
    index = np.where(is_header, np.arange(len(lines)), -1)
    last_header = np.maximum.accumulate(index) if len(index) else index
    movie = np.where(last_header >= 0, values[np.maximum(last_header, 0)], carried)
    return is_header, movie, int(movie[-1]) if len(movie) else carried


def _parse_netflix_lines(lines: pa.Array, path: Path) -> tuple[np.ndarray, ...]:
    """``customerId,rating,YYYY-MM-DD`` lines → (user int32, rating float32, Unix seconds)."""
    fields = pc.split_pattern(lines, ",", max_splits=2)
    if len(lines) and pc.min(pc.list_value_length(fields)).as_py() != 3:
        raise DatasetError(f"{path}: expected customerId,rating,date lines")
    flat = pc.list_flatten(fields)
    user = pc.cast(flat[0::3], pa.int32()).to_numpy()
    rating = pc.cast(flat[1::3], pa.float32()).to_numpy()
    dates = pc.strptime(flat[2::3], format="%Y-%m-%d", unit="s")
    seconds = pc.cast(dates, pa.int64()).to_numpy()
    return user, rating, seconds


def _read_netflix_ratings_file(path: Path) -> pd.DataFrame:
    """One ``combined_data_N.txt``, streamed in ``BLOCK_SIZE`` blocks, vectorised per block."""
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=["line"], block_size=BLOCK_SIZE),
        parse_options=pacsv.ParseOptions(delimiter="\x1f", quote_char=False),
        convert_options=pacsv.ConvertOptions(column_types={"line": pa.string()}),
    )
    parts, carried = [], -1
    for batch in reader:
        lines = batch.column(0)
        is_header, movie, carried = _forward_fill_headers(lines, carried)
        keep = ~is_header
        if (movie[keep] < 0).any():
            raise DatasetError(f"{path}: rating lines before the first 'movieId:' header")
        user, rating, seconds = _parse_netflix_lines(lines.filter(pa.array(keep)), path)
        parts.append(
            pd.DataFrame(
                {
                    "userId": user,
                    "movieId": movie[keep].astype(np.int32),
                    "rating": rating,
                    "timestamp": seconds,
                }
            )
        )
    if not parts:
        raise DatasetError(f"{path}: no ratings found")
    return pd.concat(parts, ignore_index=True)


def _read_netflix_titles(path: Path) -> pd.DataFrame:
    """``movie_titles.csv``: movieId,year,title (Latin-1; title may hold commas; year may be
    ``NULL``). Netflix has no genres, so every movie gets ``[]``."""
    require_file(path, "movieId,year,title lines")
    ids, years, titles = [], [], []
    for line in text_lines(path):
        movie_id, year, title = line.split(",", 2)
        ids.append(int(movie_id))
        years.append(int(year) if year.strip().isdigit() else None)
        titles.append(title.strip())
    year_series = pd.array(years, dtype="Int16")
    return movies_frame(np.array(ids), pd.Series(titles), pd.Series(year_series), [[]] * len(ids))


def load_netflix(folder: Path) -> MovieLens:
    files = sorted(folder.glob(NETFLIX_FILES))
    ratings = pd.concat([_read_netflix_ratings_file(f) for f in files], ignore_index=True)
    movies = _read_netflix_titles(folder / "movie_titles.csv")
    return MovieLens(name=folder.name, ratings=ratings[RATING_COLUMNS], movies=movies)
