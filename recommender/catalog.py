"""The movie catalogue the worker serves and the app shows: MovieLens movies joined with TMDB
plot overviews, taglines and posters.

Built once per process with :meth:`Catalog.from_movielens`; every per-request operation
(:meth:`Catalog.movie`, :meth:`Catalog.browse`, :meth:`Catalog.ids_with_genres`) then works on
numpy arrays precomputed at build time, taking well under a millisecond on ml-latest-small
(9.7k movies) and a few milliseconds on ml-25m (62k movies).

Overviews come from a CSV laid out like ``tmdb_overviews.csv`` (tmdbId, imdbId "tt0114709",
title, release_date, overview, tagline, poster_path; quoted newlines allowed). A movie is
joined through its ``links.tmdbId``, or through ``links.imdbId`` when the tmdbId is missing or
not in the file. Movies without an overview keep ``None`` for overview, tagline and poster.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from recommender import settings
from recommender.dataset import MovieLens
from recommender.movielens import DatasetError
from recommender.vocabulary import index_or_missing, position_of

TMDB_IMAGE_BASE = "https://image.tmdb.org/t/p/"
POSTER_SIZE = "w342"
"""TMDB poster width used in ``poster_url`` (TMDB sizes: w92 w154 w185 w342 w500 w780)."""

_ARTICLES = "|".join(
    (
        "The",
        "A",
        "An",
        "Les",
        "La",
        "Le",
        "L'",
        "Il",
        "Lo",
        "Gli",
        "El",
        "Los",
        "Las",
        "Das",
        "Der",
        "Die",
        "Det",
        "Den",
        "Het",
        "Een",
        "Ein",
        "Eine",
        "Os",
        "Uma",
        "Um",
    )
)
_TRAILING_ARTICLE = re.compile(rf"^(?P<main>.+), (?P<article>{_ARTICLES})(?P<rest> \(.*\))?$")
"""MovieLens writes "Matrix, The" and "Cité des enfants perdus, La"; people type "The Matrix"."""

_SEARCH_CACHE_SIZE = 64
_COMMON_MATCH_SHARE = 8
"""A query with more than one hit per this many titles is matched title by title."""

_OVERVIEW_TYPES = {
    "tmdbId": pa.int64(),
    "imdbId": pa.string(),
    "overview": pa.string(),
    "tagline": pa.string(),
    "poster_path": pa.string(),
}


def fold_text(text: str) -> str:
    """Lower-case, accent-free, single-spaced form of ``text`` used for title search
    (``"Amélie  "`` → ``"amelie"``)."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())


def natural_title(title: str) -> str:
    """MovieLens's "Matrix, The" → "The Matrix"; "Avventura, L'" → "L'avventura"; else as is."""
    found = _TRAILING_ARTICLE.match(title)
    if not found:
        return title
    article = found["article"]
    joiner = "" if article.endswith("'") else " "
    return f"{article}{joiner}{found['main']}{found['rest'] or ''}"


def _search_key(title: str) -> str:
    """Both spellings of a title, folded, on two lines so a query matches either."""
    return f"{fold_text(title)}\n{fold_text(natural_title(title))}"


def read_overviews(path: str | Path) -> pd.DataFrame:
    """Read a TMDB overviews CSV into tmdbId ``Int64``, imdbId ``Int64`` (from "tt0114709"),
    overview, tagline, poster_path (``str`` or ``None`` when empty).

    Raises :class:`~recommender.movielens.DatasetError` when the file is missing."""
    if not Path(path).is_file():
        raise DatasetError(f"{path}: expected a TMDB overviews CSV, but the file does not exist")
    table = pacsv.read_csv(
        Path(path),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types=_OVERVIEW_TYPES, include_columns=list(_OVERVIEW_TYPES)
        ),
    )
    frame = table.to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get)
    imdb = frame["imdbId"].astype(object).str.removeprefix("tt")
    frame["imdbId"] = pd.to_numeric(imdb, errors="coerce").astype("Int64")
    for column in ("overview", "tagline", "poster_path"):
        text = frame[column].astype(object).str.strip()
        frame[column] = _none_for_missing(text.where(text != ""))
    return frame


_EXTRA_COLUMNS = ["overview", "tagline", "poster_path"]


def _lookup(overviews: pd.DataFrame, key: str, values: pd.Series) -> pd.DataFrame:
    """Rows of ``overviews`` whose ``key`` equals each of ``values`` (NaN rows where none)."""
    table = overviews.dropna(subset=[key]).drop_duplicates(key).set_index(key)[_EXTRA_COLUMNS]
    return table.reindex(values.to_numpy()).reset_index(drop=True)


def join_overviews(
    movie_ids: np.ndarray, links: pd.DataFrame | None, path: Path | None
) -> dict[str, np.ndarray]:
    """Overview, tagline and poster_path of each movie: object arrays aligned with
    ``movie_ids``, ``None`` where unknown. A movie is matched by tmdbId, else by imdbId."""
    if path is None or links is None:
        return {c: np.full(len(movie_ids), None, dtype=object) for c in _EXTRA_COLUMNS}
    overviews = read_overviews(path)
    links = links.drop_duplicates("movieId").set_index("movieId").reindex(movie_ids)
    by_tmdb = _lookup(overviews, "tmdbId", links["tmdbId"])
    by_imdb = _lookup(overviews, "imdbId", links["imdbId"])
    tmdb_found = links["tmdbId"].isin(overviews["tmdbId"].dropna()).to_numpy()
    joined = by_tmdb.where(np.broadcast_to(tmdb_found[:, None], by_tmdb.shape), by_imdb)
    return {c: _none_for_missing(joined[c]) for c in _EXTRA_COLUMNS}


def _none_for_missing(values: pd.Series) -> np.ndarray:
    return values.astype(object).where(values.notna(), None).to_numpy(dtype=object)


class Catalog:
    """Every movie of one dataset with what the app shows about it.

    Arrays are aligned and sorted by movie id: ``ids`` (int64), ``titles``, ``years`` (float,
    NaN when unknown), ``genre_lists``, ``overviews``/``taglines``/``posters`` (str or None),
    ``rating_counts`` (int64, number of ratings in the dataset) and ``genre_matrix``
    (bool, shape ``(n_movies, n_genres)``, columns in :attr:`genres` order).
    """

    def __init__(
        self,
        movies: pd.DataFrame,
        rating_counts: np.ndarray,
        extras: dict[str, np.ndarray] | None = None,
    ) -> None:
        """``movies`` is a :class:`MovieLens` movies table; ``rating_counts`` aligned with it;
        ``extras`` maps overview/tagline/poster_path to arrays aligned with it."""
        order = np.argsort(movies["movieId"].to_numpy(), kind="stable")
        movies = movies.iloc[order]
        self.ids = movies["movieId"].to_numpy(dtype=np.int64)
        self.titles = movies["title"].to_numpy(dtype=object)
        self.years = movies["year"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
        self.genre_lists = movies["genres"].to_numpy(dtype=object)
        self.rating_counts = np.asarray(rating_counts, dtype=np.int64)[order]
        extras = extras or {}
        empty = np.full(len(self.ids), None, dtype=object)
        self.overviews = np.asarray(extras.get("overview", empty), dtype=object)[order]
        self.taglines = np.asarray(extras.get("tagline", empty), dtype=object)[order]
        self.posters = np.asarray(extras.get("poster_path", empty), dtype=object)[order]
        self._genres = sorted({g for genres in self.genre_lists for g in genres})
        self._genre_index = {g: i for i, g in enumerate(self._genres)}
        self.genre_matrix = self._build_genre_matrix()
        self._search_keys = [_search_key(t) for t in self.titles]
        self._search_text = "\n".join(self._search_keys)
        self._search_offsets = np.cumsum([0] + [len(k) + 1 for k in self._search_keys[:-1]])
        self._scan_titles = functools.lru_cache(_SEARCH_CACHE_SIZE)(self._scan_titles_uncached)
        sort_titles = np.array([fold_text(natural_title(t)) for t in self.titles], dtype=object)
        self._popular_order = np.lexsort((self.ids, sort_titles, -self.rating_counts))

    @classmethod
    def from_movielens(cls, ml: MovieLens, overviews_path: str | Path | None = None) -> Catalog:
        """Build the catalogue of ``ml``, joining overviews from ``overviews_path``.

        ``overviews_path=None`` uses :func:`recommender.settings.overviews_path` (which is
        itself ``None`` when no overviews file is configured; movies then have no overview).
        An explicit path that does not exist raises ``DatasetError``. To build without
        overviews regardless of settings, use ``Catalog(ml.movies, counts)``.
        Rating counts come from ``ml.ratings``.
        """
        movie_ids = ml.movies["movieId"].to_numpy(dtype=np.int64)
        path = Path(overviews_path) if overviews_path is not None else settings.overviews_path()
        extras = join_overviews(movie_ids, ml.links, path)
        return cls(ml.movies, count_ratings(ml.ratings["movieId"].to_numpy(), movie_ids), extras)

    # ------------------------------------------------------------------ lookups

    def __len__(self) -> int:
        return len(self.ids)

    def __contains__(self, movie_id: object) -> bool:
        try:
            return self._position(int(movie_id)) is not None  # type: ignore[call-overload]
        except (TypeError, ValueError):
            return False

    @property
    def genres(self) -> list[str]:
        """Every genre name in the catalogue, sorted."""
        return list(self._genres)

    def _position(self, movie_id: int) -> int | None:
        return position_of(self.ids, movie_id)

    def positions(self, ids: Iterable[int]) -> np.ndarray:
        """Row of each id in the catalogue arrays (``-1`` for unknown ids)."""
        return index_or_missing(self.ids, np.fromiter(ids, dtype=np.int64))

    def poster_url(self, poster_path: str | None, size: str = POSTER_SIZE) -> str | None:
        """Full TMDB image URL of a ``poster_path`` like ``"/rhIRbc.jpg"``, or ``None``."""
        return f"{TMDB_IMAGE_BASE}{size}{poster_path}" if poster_path else None

    def _record(self, pos: int) -> dict[str, Any]:
        year = self.years[pos]
        return {
            "id": int(self.ids[pos]),
            "title": str(self.titles[pos]),
            "year": None if np.isnan(year) else int(year),
            "genres": list(self.genre_lists[pos]),
            "poster_url": self.poster_url(self.posters[pos]),
            "overview": self.overviews[pos],
            "tagline": self.taglines[pos],
        }

    def movie(self, movie_id: int) -> dict[str, Any] | None:
        """The movie as the API shows it: ``{"id", "title", "year", "genres", "poster_url",
        "overview", "tagline"}`` (a fresh dict), or ``None`` for an unknown id."""
        pos = self._position(int(movie_id))
        return None if pos is None else self._record(pos)

    def movies(self, ids: Iterable[int]) -> list[dict[str, Any]]:
        """:meth:`movie` for each known id, in the given order; unknown ids are skipped."""
        return [self._record(int(pos)) for pos in self.positions(ids) if pos >= 0]

    def rating_count(self, movie_id: int) -> int:
        """Number of ratings the movie has in the dataset (0 for unknown ids)."""
        pos = self._position(int(movie_id))
        return 0 if pos is None else int(self.rating_counts[pos])

    # ------------------------------------------------------------------ filters

    def _build_genre_matrix(self) -> np.ndarray:
        matrix = np.zeros((len(self.ids), len(self._genres)), dtype=bool)
        rows = [i for i, genres in enumerate(self.genre_lists) for _ in genres]
        cols = [self._genre_index[g] for genres in self.genre_lists for g in genres]
        matrix[rows, cols] = True
        return matrix

    def genre_mask(self, genres: Sequence[str] | None) -> np.ndarray:
        """Bool mask over movies having ANY of ``genres``; all True when ``genres`` is empty
        or ``None``. Unknown genre names match nothing."""
        if not genres:
            return np.ones(len(self.ids), dtype=bool)
        columns = [self._genre_index[g] for g in genres if g in self._genre_index]
        return self.genre_matrix[:, columns].any(axis=1)

    def title_mask(self, query: str | None) -> np.ndarray:
        """Bool mask over movies whose title contains ``query`` (case- and accent-insensitive,
        either as MovieLens writes it or with its article in front). Empty query: all True.

        Scans every title (about 2 ms per 10k titles); the last few queries are cached so
        paging through one search result costs nothing more."""
        folded = fold_text(query or "")
        if not folded:
            return np.ones(len(self.ids), dtype=bool)
        return self._scan_titles(folded).copy()

    def _scan_titles_uncached(self, folded: str) -> np.ndarray:
        """Read-only mask of titles containing ``folded`` (already folded, no newlines).

        One C-level regex scan of all titles joined by newlines finds rare matches (the usual
        case); a query matching nearly everywhere ("e") is then tested title by title."""
        mask = np.zeros(len(self.ids), dtype=bool)
        limit = len(self.ids) // _COMMON_MATCH_SHARE
        starts = list(islice(re.finditer(re.escape(folded), self._search_text), limit + 1))
        if len(starts) > limit:
            mask[:] = [folded in key for key in self._search_keys]
        else:
            positions = [m.start() for m in starts]
            mask[np.searchsorted(self._search_offsets, positions, side="right") - 1] = True
        mask.flags.writeable = False
        return mask

    def subset_mask(
        self,
        genres: Sequence[str] | None = None,
        query: str | None = None,
        year_from: int | None = None,
        year_to: int | None = None,
    ) -> np.ndarray:
        """Bool mask over movies matching every filter given: ANY of ``genres``, ``query`` in
        the title (:meth:`title_mask`), released ``year_from``..``year_to`` (inclusive; a movie
        without a year fails a year filter)."""
        mask = self.genre_mask(genres)
        if query:
            mask &= self.title_mask(query)
        with np.errstate(invalid="ignore"):
            if year_from is not None:
                mask &= self.years >= year_from
            if year_to is not None:
                mask &= self.years <= year_to
        return mask

    def ids_with_genres(self, genres: Sequence[str] | None) -> np.ndarray:
        """Sorted movie ids (int64) having ANY of ``genres`` (every id when none given)."""
        return self.ids[self.genre_mask(genres)]

    def browse(
        self,
        genres: Sequence[str] | None = None,
        query: str | None = None,
        page: int = 1,
        page_size: int = 24,
    ) -> tuple[np.ndarray, int]:
        """One page of movies for the rating grid: most-rated first, then by title.

        Inputs: ``genres`` (ANY of them; ``None``/empty = all), ``query`` (title search),
        ``page`` (1-based) and ``page_size`` (>= 1). Output: ``(ids, total)`` — the page's movie
        ids (int64, possibly empty past the end) and how many movies match in all.
        """
        if page < 1 or page_size < 1:
            raise ValueError(f"page and page_size must be >= 1, got {page}, {page_size}")
        mask = self.genre_mask(genres)
        if query:
            mask &= self.title_mask(query)
        ordered = self._popular_order[mask[self._popular_order]]
        start = (page - 1) * page_size
        return self.ids[ordered[start : start + page_size]], len(ordered)

    # ------------------------------------------------------------------ content text

    def text(self, movie_id: int) -> str:
        """Content text of one movie for text embeddings (see :meth:`texts`); "" if unknown."""
        pos = self._position(int(movie_id))
        return "" if pos is None else self._text(pos)

    def texts(self) -> list[str]:
        """Content text of every movie, aligned with :attr:`ids`: ``"Title (year). Genres:
        A, B. Overview Tagline"`` with missing parts left out."""
        return [self._text(pos) for pos in range(len(self.ids))]

    def _text(self, pos: int) -> str:
        year = self.years[pos]
        head = natural_title(str(self.titles[pos]))
        parts = [f"{head} ({int(year)})." if not np.isnan(year) else f"{head}."]
        if len(self.genre_lists[pos]):
            parts.append(f"Genres: {', '.join(self.genre_lists[pos])}.")
        parts.extend(t for t in (self.overviews[pos], self.taglines[pos]) if t)
        return " ".join(parts)


def count_ratings(rated_movie_ids: np.ndarray, movie_ids: np.ndarray) -> np.ndarray:
    """Number of entries of ``rated_movie_ids`` equal to each of ``movie_ids`` (int64).

    Uses ``np.bincount`` (linear time; 25M ratings in well under a second)."""
    rated = np.asarray(rated_movie_ids, dtype=np.int64)
    movie_ids = np.asarray(movie_ids, dtype=np.int64)
    if not len(rated):
        return np.zeros(len(movie_ids), dtype=np.int64)
    size = int(max(rated.max(), movie_ids.max(initial=0))) + 1
    counts = np.bincount(rated, minlength=size)
    inside = (movie_ids >= 0) & (movie_ids < size)
    return np.where(inside, counts[np.clip(movie_ids, 0, size - 1)], 0).astype(np.int64)
