"""The user's ratings: set or change, remove, list newest first. Always the token's user."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, g, jsonify, request

from worker import auth, validation
from worker.errors import ApiError
from worker.routes import API, movie_json, require_movie, store
from worker.store import now_ms

bp = Blueprint("ratings", __name__, url_prefix=f"{API}/me/ratings")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds")


@bp.put("/<int:movie_id>")
@auth.login_required
def rate(movie_id: int):
    """Set or change a rating: body ``{"rating": 0.5..5.0 in steps of 0.5}``."""
    body = validation.json_body(request, {"rating"})
    stars = validation.stars(body.get("rating"))
    require_movie(movie_id)
    rated_at = now_ms()
    change = store().set_rating(g.user.id, movie_id, stars, rated_at)
    return jsonify(
        {
            "movie_id": movie_id,
            "rating": stars,
            "rated_at": _iso(rated_at),
            "rating_count": change.rating_count,
        }
    )


@bp.delete("/<int:movie_id>")
@auth.login_required
def unrate(movie_id: int):
    """Remove a rating: 204, or 404 ``rating_not_found`` when the movie was not rated."""
    require_movie(movie_id)
    if store().delete_rating(g.user.id, movie_id) is None:
        raise ApiError(404, "rating_not_found", f"You have not rated movie {movie_id}.")
    return "", 204


@bp.get("")
@auth.login_required
def my_ratings():
    """Paged ``{"movie", "rating", "rated_at"}``, newest first."""
    page, size = validation.paging(request)
    rows, total = store().ratings_page(g.user.id, (page - 1) * size, size)
    items = [
        {"movie": movie_json(movie_id, stars), "rating": stars, "rated_at": _iso(ms)}
        for movie_id, stars, ms in rows
    ]
    return jsonify({"items": items, **validation.page_of(total, page, size)})
