"""The one text that describes each movie to the sentence encoder (:mod:`recommender.content`).

Each movie is described by :func:`movie_text`: title, year, genres, plot overview and tagline
when known (:func:`with_overviews`, from the TMDB overviews CSV), and user tags when present.
:func:`load_catalogue_texts` builds the texts of the configured MovieLens release.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender import settings


def _clean(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return " ".join(str(value).split())


def movie_text(
    title: str,
    year: int | None = None,
    genres: Iterable[str] = (),
    overview: str | None = None,
    tagline: str | None = None,
    tags: Iterable[str] = (),
) -> str:
    """The one text that describes a movie to the sentence encoder.

    Layout: ``"Title (Year). Genres: A, B. <overview> <tagline> Tags: x, y."``; parts that are
    unknown are left out, so a movie without an overview is still described by its title,
    year, genres and tags.
    """
    head = _clean(title)
    if year is not None and not pd.isna(year):
        head = f"{head} ({int(year)})"
    parts = [head + "."]
    genres = [g for g in genres if g]
    if genres:
        parts.append("Genres: " + ", ".join(genres) + ".")
    for extra in (_clean(overview), _clean(tagline)):
        if extra:
            parts.append(extra if extra[-1] in ".!?\"'" else extra + ".")
    tags = sorted({_clean(t).lower() for t in tags if _clean(t)})
    if tags:
        parts.append("Tags: " + ", ".join(tags) + ".")
    return " ".join(parts)


def movie_texts(movies: pd.DataFrame, tags: pd.DataFrame | None = None) -> dict[int, str]:
    """``{movieId: text}`` for every row of ``movies``.

    ``movies`` has columns movieId, title, year, genres (list[str]) and optionally overview and
    tagline (as added by :func:`with_overviews` or the Catalog). ``tags`` (columns movieId, tag)
    adds each movie's user tags.
    """
    tag_map: dict[int, list[str]] = {}
    if tags is not None and len(tags):
        for movie_id, group in tags.groupby("movieId")["tag"]:
            tag_map[int(movie_id)] = [str(t) for t in group]
    has_overview = "overview" in movies.columns
    has_tagline = "tagline" in movies.columns
    texts: dict[int, str] = {}
    for row in movies.itertuples(index=False):
        genres = row.genres if isinstance(row.genres, list | tuple | np.ndarray) else []
        texts[int(row.movieId)] = movie_text(
            row.title,
            row.year if "year" in movies.columns else None,
            genres,
            row.overview if has_overview else None,
            row.tagline if has_tagline else None,
            tag_map.get(int(row.movieId), ()),
        )
    return texts


def with_overviews(
    movies: pd.DataFrame,
    links: pd.DataFrame | None = None,
    overviews_path: Path | None = None,
) -> pd.DataFrame:
    """``movies`` with ``overview`` and ``tagline`` columns (``None`` where unknown).

    Overviews come from the TMDB overviews CSV (``settings.overviews_path()`` by default),
    joined through ``links`` (movieId → tmdbId, or imdbId when tmdbId is missing). Without a
    file or links, both columns are all ``None``.
    """
    out = movies.copy()
    out["overview"], out["tagline"] = None, None
    path = overviews_path if overviews_path is not None else settings.overviews_path()
    if path is None or links is None or not Path(path).exists():
        return out
    ov = pd.read_csv(path, dtype={"imdbId": "string"})
    ov = ov.dropna(subset=["overview"])
    by_tmdb = ov.dropna(subset=["tmdbId"]).drop_duplicates("tmdbId").set_index("tmdbId")
    imdb_key = ov["imdbId"].str.replace("tt", "", regex=False).str.lstrip("0")
    by_imdb = ov.assign(imdb=imdb_key).dropna(subset=["imdb"]).drop_duplicates("imdb")
    by_imdb = by_imdb.set_index("imdb")
    link = links.set_index("movieId")
    overview, tagline = [], []
    for movie_id in out["movieId"]:
        found = None
        if movie_id in link.index:
            tmdb = link.at[movie_id, "tmdbId"] if "tmdbId" in link.columns else None
            imdb = link.at[movie_id, "imdbId"] if "imdbId" in link.columns else None
            if tmdb is not None and not pd.isna(tmdb) and int(tmdb) in by_tmdb.index:
                found = by_tmdb.loc[int(tmdb)]
            elif imdb is not None and not pd.isna(imdb) and str(int(imdb)) in by_imdb.index:
                found = by_imdb.loc[str(int(imdb))]
        overview.append(None if found is None else _clean(found["overview"]) or None)
        tag = None if found is None else _clean(found.get("tagline")) or None
        tagline.append(tag)
    out["overview"], out["tagline"] = overview, tagline
    return out


def load_catalogue_texts(movies: pd.DataFrame) -> dict[int, str]:
    """Texts of ``movies``, enriched with overviews/taglines and tags from the configured data.

    Overviews are joined through ``links.csv`` of ``settings.movielens_dir()`` and tags come
    from its ``tags.csv``, when those files exist; otherwise the texts hold title, year and
    genres (and any overview/tagline columns ``movies`` already has).
    """
    from recommender.movielens import read_links_csv, read_movies_csv, read_tags_csv

    folder = settings.movielens_dir()
    if not _same_movies(movies, folder / "movies.csv", read_movies_csv):
        return movie_texts(movies)  # another dataset (e.g. synthetic): no enrichment by id
    if "overview" not in movies.columns:
        links = read_links_csv(folder / "links.csv") if (folder / "links.csv").exists() else None
        movies = with_overviews(movies, links)
    tags = None
    if (folder / "tags.csv").exists():
        tags = read_tags_csv(folder / "tags.csv")
        tags = tags[tags["movieId"].isin(movies["movieId"])]
    return movie_texts(movies, tags)


def _same_movies(movies: pd.DataFrame, path: Path, reader) -> bool:
    """Whether ``movies`` are the configured release's movies (ids with the same titles), so
    that overviews and tags joined by movie id belong to them."""
    if not path.exists() or not len(movies):
        return False
    known = reader(path)[["movieId", "title"]].set_index("movieId")["title"]
    sample = movies[["movieId", "title"]].head(200)
    titles = known.reindex(sample["movieId"].to_numpy())
    return bool((titles.to_numpy() == sample["title"].to_numpy()).mean() >= 0.9)
