"""Feedback beyond stars: ``/me/watchlist`` ("want to watch") and ``/me/not-interested``.

``PUT /me/<list>/<movie id>`` adds the movie, ``DELETE`` removes it; both are idempotent
(repeating one answers 200 with ``changed: false``). ``GET /me/<list>`` pages the list, newest
first. A not-interested movie leaves every list of the user at once and counts as an implicit
low rating (:mod:`worker.store.feedback`); undo is the ``DELETE``. Errors: 404
``movie_not_found`` for an unknown movie, 409 ``list_full`` beyond
:data:`api.rules.MOVIE_LIST_MAX` movies, 401 without a token.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, g

from api import answers, inputs, rules
from worker.endpoint import endpoint
from worker.errors import ApiError
from worker.routes import API, movie_json, require_movie, store
from worker.store import now_ms
from worker.store.feedback import NOT_INTERESTED, WATCHLIST

bp = Blueprint("movie_lists", __name__, url_prefix=f"{API}/me")

NAMES = {WATCHLIST: "your watchlist", NOT_INTERESTED: "your not-interested movies"}


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


def _add(which: str, movie_id: int) -> dict:
    require_movie(movie_id)
    change = store().mark_movie(g.user.id, which, movie_id, now_ms())
    if change.full:
        raise ApiError(
            409,
            "list_full",
            f"{NAMES[which].capitalize()} already holds {rules.MOVIE_LIST_MAX} movies; "
            "remove some first.",
            fields={"limit": rules.MOVIE_LIST_MAX},
        )
    return {"movie_id": movie_id, "listed": True, "changed": change.changed, "count": change.count}


def _remove(which: str, movie_id: int) -> dict:
    require_movie(movie_id)
    change = store().unmark_movie(g.user.id, which, movie_id)
    return {
        "movie_id": movie_id,
        "listed": False,
        "changed": change.changed,
        "count": change.count,
    }


def _page(which: str, query: inputs.Paging) -> dict:
    page, size = query.page, query.page_size
    rows, total = store().movie_list_page(g.user.id, which, (page - 1) * size, size)
    mine = store().ratings_of(g.user.id, [m for m, _ in rows])
    items = []
    for movie_id, added_ms in rows:
        movie = movie_json(movie_id, mine.get(movie_id))
        if movie is not None:  # a movie the served catalogue no longer has
            items.append({"movie": movie, "added_at": _iso(added_ms)})
    return {"items": items, **answers.Page.of(total, page, size)}


@bp.put("/watchlist/<int:movie_id>")
@endpoint(
    "Want to watch: add a movie to my watchlist (idempotent)",
    tag="lists",
    auth="required",
    answers={200: answers.MovieListChange},
    errors=(404, 409),
)
def want_to_watch(movie_id: int):
    """200 ``{"movie_id", "listed": true, "changed", "count"}``; 404 ``movie_not_found``,
    409 ``list_full``."""
    return _add(WATCHLIST, movie_id)


@bp.delete("/watchlist/<int:movie_id>")
@endpoint(
    "Remove a movie from my watchlist (idempotent)",
    tag="lists",
    auth="required",
    answers={200: answers.MovieListChange},
    errors=(404,),
)
def unwatch(movie_id: int):
    """200 ``{"movie_id", "listed": false, "changed", "count"}``; 404 ``movie_not_found``."""
    return _remove(WATCHLIST, movie_id)


@bp.get("/watchlist")
@endpoint(
    "My watchlist, newest first",
    tag="lists",
    auth="required",
    query=inputs.Paging,
    answers={200: answers.MovieListPage},
)
def my_watchlist(query: inputs.Paging):
    """Paged ``{"movie", "added_at"}``, the movie added last first."""
    return _page(WATCHLIST, query)


@bp.put("/not-interested/<int:movie_id>")
@endpoint(
    "Not interested: remove a movie from all my lists; counts as a low rating (idempotent)",
    tag="lists",
    auth="required",
    answers={200: answers.MovieListChange},
    errors=(404, 409),
)
def not_interested(movie_id: int):
    """200 ``{"movie_id", "listed": true, "changed", "count"}``: the movie leaves every list
    at once and the lists are computed again with it as a 1-star rating; 404
    ``movie_not_found``, 409 ``list_full``."""
    return _add(NOT_INTERESTED, movie_id)


@bp.delete("/not-interested/<int:movie_id>")
@endpoint(
    "Undo not interested (idempotent)",
    tag="lists",
    auth="required",
    answers={200: answers.MovieListChange},
    errors=(404,),
)
def interested_again(movie_id: int):
    """200 ``{"movie_id", "listed": false, "changed", "count"}``: the movie may be recommended
    again; 404 ``movie_not_found``."""
    return _remove(NOT_INTERESTED, movie_id)


@bp.get("/not-interested")
@endpoint(
    "The movies I marked not interested, newest first",
    tag="lists",
    auth="required",
    query=inputs.Paging,
    answers={200: answers.MovieListPage},
)
def my_not_interested(query: inputs.Paging):
    """Paged ``{"movie", "added_at"}``, the movie marked last first."""
    return _page(NOT_INTERESTED, query)
