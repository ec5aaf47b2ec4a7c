"""A person's own taste against everyone's, for the app's Insights page: the genres they rate
high and low, and how their ratings compare with the dataset's average rating of the same
movies. Stars are 0.5–5 throughout."""

from __future__ import annotations

from typing import Any

import pandas as pd

#: Most rated movies listed in ``movies`` (those whose rating differs most from everyone's).
MAX_MOVIES = 500


def everyone(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per movie id (index): ``mean`` (average stars of everyone in ``ratings``, a MovieLens
    ratings table) and ``count`` (how many rated it)."""
    return ratings.groupby("movieId")["rating"].agg(["mean", "count"])


def _round(value: float) -> float:
    return round(float(value), 2)


def taste(profile: dict[int, float], averages: pd.DataFrame, catalog: Any) -> dict[str, Any]:
    """The summary of ``profile`` ({movie id: stars}) against ``averages`` (:func:`everyone`);
    ``catalog``: :class:`recommender.catalog.Catalog` (its movies' genres).

    Output: ``rating_count``; ``my_mean`` and ``everyone_mean`` (stars, 0.5–5, over the rated
    movies that have an average; None without any); ``genres``: per genre of the rated movies
    ``{"genre", "count", "my_mean", "everyone_mean"}``, highest ``my_mean`` first (ties: more
    ratings first); ``movies``: up to ``MAX_MOVIES`` ``{"movie_id", "rating",
    "everyone_mean", "everyone_count"}``, largest ``rating - everyone_mean`` first.
    """
    rows = []
    for movie_id, stars in profile.items():
        movie = catalog.movie(movie_id)
        if movie is None:
            continue
        known = movie_id in averages.index
        mean = float(averages.at[movie_id, "mean"]) if known else None
        count = int(averages.at[movie_id, "count"]) if known else 0
        rows.append((movie_id, float(stars), mean, count, movie.get("genres") or []))
    compared = [r for r in rows if r[2] is not None]
    genres: dict[str, list[tuple[float, float | None]]] = {}
    for _, stars, mean, _, names in rows:
        for name in names:
            genres.setdefault(name, []).append((stars, mean))
    genre_rows = []
    for name, pairs in genres.items():
        means = [m for _, m in pairs if m is not None]
        genre_rows.append(
            {
                "genre": name,
                "count": len(pairs),
                "my_mean": _round(sum(s for s, _ in pairs) / len(pairs)),
                "everyone_mean": _round(sum(means) / len(means)) if means else None,
            }
        )
    genre_rows.sort(key=lambda r: (-r["my_mean"], -r["count"], r["genre"]))
    compared.sort(key=lambda r: (-(r[1] - r[2]), r[0]))
    return {
        "rating_count": len(rows),
        "my_mean": _round(sum(r[1] for r in compared) / len(compared)) if compared else None,
        "everyone_mean": _round(sum(r[2] for r in compared) / len(compared)) if compared else None,
        "genres": genre_rows,
        "movies": [
            {"movie_id": m, "rating": s, "everyone_mean": _round(mean), "everyone_count": c}
            for m, s, mean, c, _ in compared[:MAX_MOVIES]
        ],
    }
