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
    plus ``model``, ``computed_at`` and ``ratings_version``; 422 ``not_enough_ratings``.

    With ``query`` (free text, 1-200 characters): the movies matching that description, ranked
    for the user (by content similarity alone below 5 ratings); adds ``query`` and
    ``ranked_by`` ("model" or "description")."""
    page, size = validation.paging(request)
    query = validation.description_query(request)
    if query is None:
        doc = models().recommendations(g.user.id)
    else:
        doc = models().query_recommendations(g.user.id, query)
    everything = doc["items"]
    start = (page - 1) * size
    items = []
    for item in everything[start : start + size]:
        movie = movie_json(item["movie_id"], None)
        if movie is None:
            continue
        items.append({"movie": movie, **explain(item, doc.get("neighbour_count"))})
    body = {
        "items": items,
        **validation.page_of(len(everything), page, size),
        "model": doc["model"],
        "model_version": doc["model_version"],
        "computed_at": doc["computed_at"],
        "ratings_version": doc["ratings_version"],
        "cached": doc["cached"],
    }
    if query is not None:
        body["query"] = doc["query"]
        body["ranked_by"] = doc["ranked_by"]
    return jsonify(body)
