"""The discover loop: five movies at a time; tick the ones you like, get the next five.

``GET /me/discover`` shows the current round (starting one — popular, genre-varied movies,
the user's chosen genres first — when there is none); ``POST /me/discover`` with the ticks of
the current round moves to the next round (the nearest unseen movies to the mean content
vector of everything ticked, :func:`recommender.discover.next_movies`); ``DELETE`` starts over.

Ticks are not ratings: the loop keeps its own keys (``discover*:{id}``, see
:mod:`worker.store`) and never touches the ratings, their version or the change stream. Movies
the user rated are never proposed. Every answer:
``{"items": [movie + "similarity"], "top_genres": [{"genre", "count"}], "liked": [ids],
"round": n}`` (``similarity``: cosine -1..1 to the ticked movies' mean vector, ``null`` in the
first round).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from flask import Blueprint, current_app, g, jsonify, request

from worker import auth, validation
from worker.errors import ApiError, validation_error
from worker.routes import API, MAX_MOVIE_ID, models, movie_json, store

bp = Blueprint("discover", __name__, url_prefix=f"{API}/me/discover")


def _settings() -> dict[str, int]:
    cfg = current_app.config
    return {
        "ttl": int(cfg["DISCOVER_TTL_SECONDS"]),
        "max_shown": int(cfg["DISCOVER_MAX_SHOWN"]),
        "max_liked": int(cfg["DISCOVER_MAX_LIKED"]),
    }


def _next_batch(content, user, liked: list[int], shown: list[int]):
    from recommender.discover import next_movies

    rated = list(store().profile(user.id))
    return next_movies(
        content.vectors,
        liked,
        shown,
        popular=content.popular,
        genres_of=content.genres_of,
        preferred_genres=user.genres,
        allowed=content.allowed,
        exclude=rated,
    )


def _page(content, user, round_: int, liked: list[int], ids: list[int], sims: list[float]):
    from recommender.discover import top_genres

    mine = store().ratings_of(user.id, ids)
    items = []
    for movie_id, similarity in zip(ids, sims, strict=True):
        movie = movie_json(movie_id, mine.get(movie_id))
        if movie is None:
            continue
        ok = similarity is not None and np.isfinite(similarity)
        movie["similarity"] = round(float(similarity), 4) if ok else None
        items.append(movie)
    genres = top_genres(liked, content.genres_of)
    return {
        "items": items,
        "top_genres": [{"genre": name, "count": int(count)} for name, count in genres],
        "liked": liked,
        "round": round_,
    }


def _similarities(content, liked: list[int], ids: list[int]) -> list[float | None]:
    """Cosine of each of ``ids`` to the mean vector of ``liked`` (None without ticks)."""
    from recommender.discover import taste_vector

    vector = taste_vector(content.vectors, liked)
    if vector is None:
        return [None] * len(ids)
    out: list[float | None] = []
    for movie_id in ids:
        row = content.vectors.vector(movie_id)
        out.append(None if row is None else float(row @ vector))
    return out


def _conflict() -> ApiError:
    return ApiError(
        409, "discover_conflict", "The discover round changed meanwhile; load it again (GET)."
    )


@bp.get("")
@auth.login_required
def current_round():
    """The current round (starting the loop when there is none)."""
    content = models().require_content()
    user = g.user
    round_, liked, shown, current = store().discover_state(user.id)
    if round_ == 0:
        page = _next_batch(content, user, [], [])
        new = store().discover_advance(user.id, 0, [], page.movie_ids, **_settings())
        if new is None:
            raise _conflict()
        return jsonify(_page(content, user, new, [], page.movie_ids, page.similarity))
    sims = _similarities(content, [m for m in liked if m not in current], current)
    return jsonify(_page(content, user, round_, liked, current, sims))


def _id_list(value: Any, name: str, low: int, high: int) -> list[int]:
    if not isinstance(value, list) or not (low <= len(value) <= high):
        raise validation_error({name: f"must be a list of {low}-{high} movie ids"})
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        raise validation_error({name: "must hold whole-number movie ids"})
    if len(set(value)) != len(value):
        raise validation_error({name: "must not repeat a movie"})
    return list(value)


@bp.post("")
@auth.login_required
def next_round():
    """Body ``{"liked": [ids], "shown": [ids]}``: ``shown`` are movies of the current round
    (1-5), ``liked`` those of them the user ticked (0-5). Answers the next round."""
    from recommender.discover import BATCH

    body = validation.json_body(request, {"liked", "shown"})
    missing = {name: "required" for name in ("liked", "shown") if name not in body}
    if missing:
        raise validation_error(missing)
    shown = _id_list(body["shown"], "shown", 1, BATCH)
    liked = _id_list(body["liked"], "liked", 0, BATCH)
    catalog = models().catalog
    unknown = [m for m in shown + liked if not (0 < m <= MAX_MOVIE_ID) or m not in catalog]
    if unknown:
        raise validation_error({"shown": f"unknown movie ids: {sorted(set(unknown))[:10]}"})
    if set(liked) - set(shown):
        raise validation_error({"liked": "must be movies listed in shown"})
    content = models().require_content()
    user = g.user
    round_, liked_before, shown_before, current = store().discover_state(user.id)
    if round_ == 0:
        raise validation_error({"shown": "nothing was shown yet: GET /api/v1/me/discover first"})
    outside = sorted(set(shown) - set(current))
    if outside:
        raise validation_error(
            {"shown": f"not movies of the current round {round_}: {outside[:10]}"}
        )
    ticked = [m for m in shown if m in set(liked)]
    all_liked = liked_before + ticked
    page = _next_batch(content, user, all_liked, shown_before)
    new = store().discover_advance(user.id, round_, ticked, page.movie_ids, **_settings())
    if new is None:
        raise _conflict()
    return jsonify(_page(content, user, new, all_liked, page.movie_ids, page.similarity))


@bp.delete("")
@auth.login_required
def reset():
    """204: forget the loop's ticks and shown movies (ratings are untouched)."""
    store().discover_reset(g.user.id)
    return "", 204
