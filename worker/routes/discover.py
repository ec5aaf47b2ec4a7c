"""The discover loop: five movies at a time; tick the ones you like, get the next five.

``GET /me/discover`` shows the current round (starting one — popular, genre-varied movies,
the user's chosen genres first — when there is none); ``POST /me/discover`` with the ticks of
the current round moves to the next round (the nearest unseen movies to the mean content
vector of everything ticked, :func:`recommender.discover.next_movies`); ``DELETE`` starts over.

Ticks are not ratings: the loop keeps its own keys (``discover*:{id}``, see
:mod:`worker.store`) and never touches the ratings, their version or the change stream. Movies
the user rated are never proposed. Every answer:
``{"items": [{"movie", "similarity"}], "top_genres": [{"genre", "count"}], "liked": [ids],
"round": n}`` (``similarity``: cosine -1..1 to the ticked movies' mean vector, ``null`` in the
first round).
"""

from __future__ import annotations

import numpy as np
from flask import Blueprint, current_app, g

from api import answers, inputs
from worker.endpoint import endpoint
from worker.errors import ApiError, validation_error
from worker.routes import API, models, movie_json, store

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
    hidden = sorted(models().lists.hidden(user.id))  # movies marked not interested
    return next_movies(
        content.vectors,
        liked,
        shown,
        popular=content.popular,
        genres_of=content.genres_of,
        preferred_genres=user.genres,
        allowed=content.allowed,
        exclude=rated + hidden,
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
        items.append({"movie": movie, "similarity": round(float(similarity), 4) if ok else None})
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
@endpoint(
    "The discover loop's current round (starts one when there is none)",
    tag="discover",
    auth="required",
    answers={200: answers.DiscoverRound},
    errors=(409,),
)
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
        return _page(content, user, new, [], page.movie_ids, page.similarity)
    sims = _similarities(content, [m for m in liked if m not in current], current)
    return _page(content, user, round_, liked, current, sims)


@bp.post("")
@endpoint(
    "Tick the liked movies of the current round; answers the next round",
    tag="discover",
    auth="required",
    body=inputs.DiscoverTicks,
    answers={200: answers.DiscoverRound},
    errors=(409,),
    description="shown: movies of the current round; liked: those of them ticked. Movies of "
    "another round, unknown movies or liked movies not in shown are refused with 422.",
)
def next_round(body: inputs.DiscoverTicks):
    """Body ``{"liked": [ids], "shown": [ids]}``: ``shown`` are movies of the current round
    (1-5), ``liked`` those of them the user ticked (0-5). Answers the next round."""
    shown, liked = body.shown, body.liked
    catalog = models().catalog
    unknown = [m for m in shown + liked if m not in catalog]
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
    return _page(content, user, new, all_liked, page.movie_ids, page.similarity)


@bp.delete("")
@endpoint(
    "Start the discover loop over (ratings are untouched)",
    tag="discover",
    auth="required",
    answers={204: None},
)
def reset():
    """204: forget the loop's ticks and shown movies (ratings are untouched)."""
    store().discover_reset(g.user.id)
    return "", 204
