"""The user's ratings: set or change, remove, list newest first. Always the token's user."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, g

from api import answers, inputs
from worker.endpoint import endpoint
from worker.errors import ApiError
from worker.routes import API, movie_json, require_movie, store
from worker.store import now_ms

bp = Blueprint("ratings", __name__, url_prefix=f"{API}/me/ratings")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@bp.put("/<int:movie_id>")
@endpoint(
    "Set or change a rating",
    tag="ratings",
    auth="required",
    body=inputs.RateMovie,
    answers={200: answers.Rated},
    errors=(404,),
)
def rate(movie_id: int, body: inputs.RateMovie):
    """Set or change a rating: body ``{"rating": 0.5..5.0 in steps of 0.5}``."""
    stars = body.rating
    require_movie(movie_id)
    rated_at = now_ms()
    change = store().set_rating(g.user.id, movie_id, stars, rated_at)
    return {
        "movie_id": movie_id,
        "rating": stars,
        "rated_at": _iso(rated_at),
        "rating_count": change.rating_count,
    }


@bp.delete("/<int:movie_id>")
@endpoint("Remove a rating", tag="ratings", auth="required", answers={204: None}, errors=(404,))
def unrate(movie_id: int):
    """Remove a rating: 204, or 404 ``rating_not_found`` when the movie was not rated."""
    require_movie(movie_id)
    if store().delete_rating(g.user.id, movie_id) is None:
        raise ApiError(404, "rating_not_found", f"You have not rated movie {movie_id}.")
    return "", 204


@bp.get("")
@endpoint(
    "The user's ratings, newest first",
    tag="ratings",
    auth="required",
    query=inputs.Paging,
    answers={200: answers.RatingsPage},
)
def my_ratings(query: inputs.Paging):
    """Paged ``{"movie", "rating", "rated_at"}``, newest first."""
    page, size = query.page, query.page_size
    rows, total = store().ratings_page(g.user.id, (page - 1) * size, size)
    items = [
        {"movie": movie_json(movie_id, stars), "rating": stars, "rated_at": _iso(ms)}
        for movie_id, stars, ms in rows
    ]
    return {"items": items, **answers.Page.of(total, page, size)}
