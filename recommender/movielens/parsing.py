"""What every MovieLens reader shares: the error type, typed CSV reading with pyarrow, text
decoding, titles with years, genre lists and the normalised movies table."""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from recommender.dataset import MOVIE_COLUMNS

NO_GENRES = "(no genres listed)"
"""MovieLens's marker for a movie without genres; read as an empty list."""

LATIN_1 = "latin-1"

_YEAR_AT_END = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
"""``"Title (1995)"``, ``"Title (1994-1998)"`` or ``"Title (2007- )"`` at the end of a title."""

BLOCK_SIZE = 16 << 20  # bytes of CSV text pyarrow parses per block (per thread)


class DatasetError(ValueError):
    """A dataset folder is missing, unrecognised, or holds a file that cannot be read."""


# --------------------------------------------------------------------------- small helpers


def require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DatasetError(f"{path}: expected {what}, but the file does not exist")
    return path


def arrow_to_pandas(table: pa.Table, nullable_int64: bool = False) -> pd.DataFrame:
    """Arrow table → DataFrame of numpy columns, freeing Arrow buffers as it goes.

    With ``nullable_int64``, ``int64`` columns become pandas ``Int64`` (empty cells ``<NA>``).
    """
    mapper = {pa.int64(): pd.Int64Dtype()}.get if nullable_int64 else None
    return table.to_pandas(types_mapper=mapper, split_blocks=True, self_destruct=True)


def read_csv_typed(
    path: Path,
    column_types: dict[str, pa.DataType],
    *,
    source: pa.NativeFile | None = None,
    column_names: Sequence[str] | None = None,
    delimiter: str = ",",
    newlines_in_values: bool = False,
) -> pa.Table:
    """Read ``path`` (or ``source``, text taken from ``path``) with pyarrow, keeping only
    ``column_types``'s columns, typed as given.

    Raises :class:`DatasetError` naming the file when the text does not parse.
    """
    read = pacsv.ReadOptions(
        column_names=list(column_names) if column_names else None, block_size=BLOCK_SIZE
    )
    parse = pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=newlines_in_values)
    convert = pacsv.ConvertOptions(
        column_types=column_types,
        include_columns=list(column_types),
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
    )
    try:
        return pacsv.read_csv(
            source or path, read_options=read, parse_options=parse, convert_options=convert
        )
    except (pa.ArrowInvalid, pa.ArrowKeyError) as exc:
        raise DatasetError(f"{path}: cannot read as {list(column_types)}: {exc}") from exc


def decode_text(path: Path) -> str:
    """The text of a small file: UTF-8 when it is valid UTF-8, else Latin-1 (old releases)."""
    data = path.read_bytes()
    try:
        return data.decode("utf8")
    except UnicodeDecodeError:
        return data.decode(LATIN_1)


# --------------------------------------------------------------------------- titles and genres


def split_title_year(titles: Sequence[str] | pd.Series) -> tuple[pd.Series, pd.Series]:
    """Split MovieLens titles like ``"Toy Story (1995)"`` into title and year.

    Input: titles as MovieLens writes them. Output: ``(title, year)`` Series aligned with the
    input: ``title`` (``str``) without the trailing "(year)" and surrounding spaces, ``year``
    (``Int16``, ``<NA>`` when the title has no year). The title text is otherwise kept as
    MovieLens spells it ("American President, The"); a leading "(500)" is part of the title;
    a year range "(1994-1998)" gives its first year.
    """
    raw = pd.Series(titles, dtype=object).fillna("").astype(str).str.strip()
    parts = raw.str.extract(_YEAR_AT_END)
    has_year = parts["year"].notna()
    title = raw.where(~has_year, parts["title"]).str.strip()
    year = pd.to_numeric(parts["year"], errors="coerce").astype("Int16")
    return title.astype(str), year


def split_genres(genres: Sequence[str] | pd.Series, sep: str = "|") -> list[list[str]]:
    """``"Adventure|Animation"`` → ``["Adventure", "Animation"]``; empty or "(no genres
    listed)" → ``[]``. One list per input string."""
    return [
        [] if not isinstance(text, str) or text in ("", NO_GENRES) else text.split(sep)
        for text in genres
    ]


def movies_frame(
    movie_ids: np.ndarray, titles: pd.Series, years: pd.Series, genres: list[list[str]]
) -> pd.DataFrame:
    """The normalised movies table (see :class:`MovieLens`), sorted by movieId."""
    frame = pd.DataFrame(
        {
            "movieId": np.asarray(movie_ids, dtype=np.int32),
            "title": titles.to_numpy(dtype=object),
            "year": years.astype("Int16").array,
            "genres": pd.Series(genres, dtype=object).to_numpy(),
        }
    )
    frame["title"] = frame["title"].astype(str)
    return frame.sort_values("movieId", kind="stable").reset_index(drop=True)[MOVIE_COLUMNS]


RATING_TYPES = {
    "userId": pa.int32(),
    "movieId": pa.int32(),
    "rating": pa.float32(),
    "timestamp": pa.int64(),
}
"""Column types of a ratings table as pyarrow reads it (ids int32, stars float32, seconds int64)."""


def text_lines(path: Path) -> list[str]:
    """The non-blank lines of a small text file (:func:`decode_text`)."""
    return [line for line in decode_text(path).splitlines() if line.strip()]
