"""The person's own taste, for the app's Insights page: the genres they rate high and low and
how their ratings compare with everyone's (the dataset's average rating of the same movies).
Always the token's user."""

from __future__ import annotations

import threading
from typing import Any

import pandas as pd
from flask import Blueprint, g, jsonify

from worker import auth
from worker.routes import API, models, movie_json, store

bp = Blueprint("taste", __name__, url_prefix=f"{API}/me")

#: Most rated movies listed in ``movies`` (those whose rating differs most from everyone's).
MAX_MOVIES = 500

_AVERAGES: dict[int, pd.DataFrame] = {}
_AVERAGES_LOCK = threading.Lock()


def everyone(ratings: pd.DataFrame) -> pd.DataFrame:
    """Per movie id: ``mean`` (average stars of everyone in the dataset) and ``count``;
    computed once per ratings table."""
    with _AVERAGES_LOCK:
        found = _AVERAGES.get(id(ratings))
        if found is None:
            found = ratings.groupby("movieId")["rating"].agg(["mean", "count"])
            _AVERAGES.clear()
            _AVERAGES[id(ratings)] = found
        return found


def _round(value: float) -> float:
    return round(float(value), 2)


def taste(profile: dict[int, float], averages: pd.DataFrame) -> dict[str, Any]:
    """The summary of ``profile`` ({movie id: stars}) against ``averages`` (:func:`everyone`).

    Output: ``rating_count``; ``my_mean`` and ``everyone_mean`` (stars, 0.5–5, over the rated
    movies that have an average; None without any); ``genres``: per genre of the rated movies
    ``{"genre", "count", "my_mean", "everyone_mean"}``, highest ``my_mean`` first (ties: more
    ratings first); ``movies``: up to ``MAX_MOVIES`` ``{"movie_id", "rating",
    "everyone_mean", "everyone_count"}``, largest ``rating - everyone_mean`` first.
    """
    catalog = models().catalog
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


@bp.get("/taste")
@auth.login_required
def my_taste():
    """``GET /me/taste``: :func:`taste` of the token's user, each movie as the contract's movie
    object under ``movie``."""
    from worker.recommendations import load_catalog

    profile = store().profile(g.user.id)
    summary = taste(profile, everyone(load_catalog()[1].ratings))
    for item in summary["movies"]:
        item["movie"] = movie_json(item.pop("movie_id"), item["rating"])
    return jsonify(summary)
