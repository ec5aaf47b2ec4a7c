"""The user's recommendations, 24 per page, computed once per ratings version."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from worker import auth, validation
from worker.recommendations import explain
from worker.routes import API, models, movie_json

bp = Blueprint("recommendations", __name__, url_prefix=API)


@bp.get("/me/recommendations")
@auth.login_required
def recommendations():
    """Paged items ``{"movie", "predicted_rating", "match", "reason", "reasons", "evidence"}``
    plus ``model``, ``computed_at`` and ``ratings_version``; 422 ``not_enough_ratings``."""
    page, size = validation.paging(request)
    doc = models().recommendations(g.user.id)
    everything = doc["items"]
    start = (page - 1) * size
    items = []
    for item in everything[start : start + size]:
        movie = movie_json(item["movie_id"], None)
        if movie is None:
            continue
        items.append({"movie": movie, **explain(item, doc.get("neighbour_count"))})
    return jsonify(
        {
            "items": items,
            **validation.page_of(len(everything), page, size),
            "model": doc["model"],
            "model_version": doc["model_version"],
            "computed_at": doc["computed_at"],
            "ratings_version": doc["ratings_version"],
            "cached": doc["cached"],
        }
    )
