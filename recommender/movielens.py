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
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from recommender.dataset import (
    LINK_COLUMNS,
    MOVIE_COLUMNS,
    RATING_COLUMNS,
    TAG_COLUMNS,
    MovieLens,
)

NO_GENRES = "(no genres listed)"
"""MovieLens's marker for a movie without genres; read as an empty list."""

LATIN_1 = "latin-1"

_YEAR_AT_END = re.compile(r"^(?P<title>.*?)\s*\((?P<year>\d{4})(?:\s*[-–]\s*(?:\d{4})?)?\)\s*$")
"""``"Title (1995)"``, ``"Title (1994-1998)"`` or ``"Title (2007- )"`` at the end of a title."""

_DAT_SEPARATOR = "::"
_NETFLIX_FILES = "combined_data_*.txt"
_BLOCK_SIZE = 16 << 20  # bytes of CSV text pyarrow parses per block (per thread)


class DatasetError(ValueError):
    """A dataset folder is missing, unrecognised, or holds a file that cannot be read."""


# --------------------------------------------------------------------------- small helpers


def _require_file(path: Path, what: str) -> Path:
    if not path.is_file():
        raise DatasetError(f"{path}: expected {what}, but the file does not exist")
    return path


def _arrow_to_pandas(table: pa.Table, nullable_int64: bool = False) -> pd.DataFrame:
    """Arrow table → DataFrame of numpy columns, freeing Arrow buffers as it goes.

    With ``nullable_int64``, ``int64`` columns become pandas ``Int64`` (empty cells ``<NA>``).
    """
    mapper = {pa.int64(): pd.Int64Dtype()}.get if nullable_int64 else None
    return table.to_pandas(types_mapper=mapper, split_blocks=True, self_destruct=True)


def _read_csv(
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
        column_names=list(column_names) if column_names else None, block_size=_BLOCK_SIZE
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


def _decode_text(path: Path) -> str:
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


def _movies_frame(
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


# --------------------------------------------------------------------------- CSV releases

_RATING_TYPES = {
    "userId": pa.int32(),
    "movieId": pa.int32(),
    "rating": pa.float32(),
    "timestamp": pa.int64(),
}


def read_ratings_csv(path: str | Path) -> pd.DataFrame:
    """Read a MovieLens ``ratings.csv`` (header userId,movieId,rating,timestamp).

    Output: DataFrame with userId ``int32``, movieId ``int32``, rating ``float32`` (stars),
    timestamp ``int64`` (Unix seconds), in file order. Extra columns are ignored. 20 bytes per
    rating in memory (25M ratings = 500 MB; peak while loading about twice that).
    """
    path = _require_file(Path(path), "a ratings CSV with columns userId,movieId,rating,timestamp")
    frame = _arrow_to_pandas(_read_csv(path, _RATING_TYPES))
    return frame[RATING_COLUMNS]


def read_movies_csv(path: str | Path) -> pd.DataFrame:
    """Read a MovieLens ``movies.csv`` (header movieId,title,genres).

    Output: DataFrame movieId ``int32``, title ``str`` (no "(year)"), year ``Int16``,
    genres ``list[str]``, sorted by movieId. A file without a genres column gives ``[]``.
    """
    path = _require_file(Path(path), "a movies CSV with columns movieId,title,genres")
    with path.open("r", encoding="utf8", errors="replace") as handle:
        header = handle.readline()
    types = {"movieId": pa.int32(), "title": pa.string()}
    if "genres" in header:
        types["genres"] = pa.string()
    table = _read_csv(path, types)
    frame = table.to_pandas()
    titles, years = split_title_year(frame["title"])
    genres = split_genres(frame["genres"]) if "genres" in frame else [[] for _ in range(len(frame))]
    return _movies_frame(frame["movieId"].to_numpy(), titles, years, genres)


def read_links_csv(path: str | Path) -> pd.DataFrame:
    """Read ``links.csv`` (movieId,imdbId,tmdbId) into movieId ``int32``, imdbId and tmdbId
    ``Int64`` (``<NA>`` where empty)."""
    path = _require_file(Path(path), "a links CSV with columns movieId,imdbId,tmdbId")
    types = {"movieId": pa.int32(), "imdbId": pa.int64(), "tmdbId": pa.int64()}
    return _arrow_to_pandas(_read_csv(path, types), nullable_int64=True)[LINK_COLUMNS]


def read_tags_csv(path: str | Path) -> pd.DataFrame:
    """Read ``tags.csv`` (userId,movieId,tag,timestamp); tags may hold quoted commas."""
    path = _require_file(Path(path), "a tags CSV with columns userId,movieId,tag,timestamp")
    types = {
        "userId": pa.int32(),
        "movieId": pa.int32(),
        "tag": pa.string(),
        "timestamp": pa.int64(),
    }
    return _arrow_to_pandas(_read_csv(path, types, newlines_in_values=True))[TAG_COLUMNS]


def _load_csv_release(folder: Path) -> MovieLens:
    links, tags = folder / "links.csv", folder / "tags.csv"
    return MovieLens(
        name=folder.name,
        ratings=read_ratings_csv(folder / "ratings.csv"),
        movies=read_movies_csv(folder / "movies.csv"),
        links=read_links_csv(links) if links.is_file() else None,
        tags=read_tags_csv(tags) if tags.is_file() else None,
    )


# --------------------------------------------------------------------------- ml-1m / ml-10m


def _read_dat_ratings(path: Path) -> pd.DataFrame:
    """``UserID::MovieID::Rating::Timestamp`` lines (numbers only) → ratings table."""
    data = _require_file(path, "UserID::MovieID::Rating::Timestamp lines").read_bytes()
    source = pa.BufferReader(data.replace(b"::", b"\t"))
    table = _read_csv(
        path, _RATING_TYPES, source=source, column_names=RATING_COLUMNS, delimiter="\t"
    )
    return _arrow_to_pandas(table)[RATING_COLUMNS]


def _dat_lines(path: Path) -> list[str]:
    return [line for line in _decode_text(path).splitlines() if line.strip()]


def _read_dat_movies(path: Path) -> pd.DataFrame:
    """``MovieID::Title (year)::Genre|Genre`` lines (Latin-1 in ml-1m) → movies table."""
    _require_file(path, "MovieID::Title::Genres lines")
    ids, titles, genres = [], [], []
    for line in _dat_lines(path):
        movie_id, rest = line.split(_DAT_SEPARATOR, 1)
        title, genre_text = rest.rsplit(_DAT_SEPARATOR, 1)
        ids.append(int(movie_id))
        titles.append(title)
        genres.append(genre_text)
    title, year = split_title_year(titles)
    return _movies_frame(np.array(ids), title, year, split_genres(genres))


def _read_dat_tags(path: Path) -> pd.DataFrame:
    """``UserID::MovieID::Tag::Timestamp`` lines (ml-10m) → tags table; tags may hold ':'."""
    rows = []
    for line in _dat_lines(path):
        user, movie, rest = line.split(_DAT_SEPARATOR, 2)
        tag, timestamp = rest.rsplit(_DAT_SEPARATOR, 1)
        rows.append((int(user), int(movie), tag, int(timestamp)))
    frame = pd.DataFrame(rows, columns=TAG_COLUMNS)
    return frame.astype({"userId": np.int32, "movieId": np.int32, "timestamp": np.int64})


def _load_dat_release(folder: Path) -> MovieLens:
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
    _require_file(path, "tab-separated user item rating timestamp lines")
    table = _read_csv(path, _RATING_TYPES, column_names=RATING_COLUMNS, delimiter="\t")
    return _arrow_to_pandas(table)[RATING_COLUMNS]


def _read_100k_genre_names(path: Path) -> list[str]:
    """``u.genre``: ``name|index`` lines → names in index order."""
    pairs = [line.rsplit("|", 1) for line in _dat_lines(path)]
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
    _require_file(item_path, "pipe-separated movie lines")
    names = _read_100k_genre_names(_require_file(genre_path, "genre|index lines"))
    ids, titles, dates, genres = [], [], [], []
    for line in _dat_lines(item_path):
        fields = line.split("|")
        flags = fields[-len(names) :]
        ids.append(int(fields[0]))
        titles.append(fields[1])
        dates.append(fields[2])
        genres.append([n for n, f in zip(names, flags, strict=True) if f == "1" and n != "unknown"])
    title, year = split_title_year(titles)
    from_date = pd.Series([_release_year(d) for d in dates]).astype("Int16")
    return _movies_frame(np.array(ids), title, year.fillna(from_date), genres)


def _load_100k_release(folder: Path) -> MovieLens:
    return MovieLens(
        name=folder.name,
        ratings=_read_100k_ratings(folder / "u.data"),
        movies=_read_100k_movies(folder / "u.item", folder / "u.genre"),
    )


# --------------------------------------------------------------------------- Netflix Prize


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
    """One ``combined_data_N.txt``, streamed in ``_BLOCK_SIZE`` blocks, vectorised per block."""
    reader = pacsv.open_csv(
        path,
        read_options=pacsv.ReadOptions(column_names=["line"], block_size=_BLOCK_SIZE),
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
    _require_file(path, "movieId,year,title lines")
    ids, years, titles = [], [], []
    for line in _dat_lines(path):
        movie_id, year, title = line.split(",", 2)
        ids.append(int(movie_id))
        years.append(int(year) if year.strip().isdigit() else None)
        titles.append(title.strip())
    year_series = pd.array(years, dtype="Int16")
    return _movies_frame(np.array(ids), pd.Series(titles), pd.Series(year_series), [[]] * len(ids))


def _load_netflix(folder: Path) -> MovieLens:
    files = sorted(folder.glob(_NETFLIX_FILES))
    ratings = pd.concat([_read_netflix_ratings_file(f) for f in files], ignore_index=True)
    movies = _read_netflix_titles(folder / "movie_titles.csv")
    return MovieLens(name=folder.name, ratings=ratings[RATING_COLUMNS], movies=movies)


# --------------------------------------------------------------------------- autodetection

_FORMATS = {
    "csv": (("ratings.csv", "movies.csv"), _load_csv_release),
    "dat": (("ratings.dat", "movies.dat"), _load_dat_release),
    "100k": (("u.data", "u.item", "u.genre"), _load_100k_release),
    "netflix": ((_NETFLIX_FILES, "movie_titles.csv"), _load_netflix),
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
