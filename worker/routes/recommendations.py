"""The user's recommendations, 24 per page, computed once per ratings version."""

from __future__ import annotations

from flask import Blueprint, g

from api import answers, inputs
from recommender.reasons import explained
from recommender.rerank import DEFAULT_DISCOVER
from worker.endpoint import endpoint
from worker.routes import API, models, movie_json

bp = Blueprint("recommendations", __name__, url_prefix=API)


@bp.get("/me/recommendations")
@endpoint(
    "Recommendations (needs 5 ratings); cached until the ratings change",
    tag="recommendations",
    auth="required",
    query=inputs.RecommendationsQuery,
    answers={200: answers.RecommendationsPage},
)
def recommendations(query: inputs.RecommendationsQuery):
    """Paged items ``{"movie", "predicted_rating", "match", "reason", "reasons", "evidence"}``
    plus ``model``, ``computed_at`` and ``ratings_version``; 422 ``not_enough_ratings``.

    With ``query`` (free text, 1-200 characters): the movies matching that description, ranked
    for the user (by content similarity alone below 5 ratings); adds ``query`` and
    ``ranked_by`` ("model" or "description"). Without it, ``discover`` (0.0 familiar – 1.0
    discover, absent: the default) re-orders the list away from the most-rated movies towards
    less-known ones in the person's genres (:mod:`recommender.rerank`); the answer says the
    setting used."""
    page, size = query.page, query.page_size
    doc, shown = models().page(g.user.id, (page - 1) * size, size, query.query, query.discover)
    if doc.explained_now:  # a page shown for the first time: its reasons were worked out now
        g.timing = [f'explain;desc="{doc.explained_now} movies"']
    items = []
    for item in shown:
        movie = movie_json(item.movie_id, None)
        if movie is None:
            continue
        items.append({"movie": movie, **explained(item, doc.neighbour_count).shown_json()})
    body = {
        "items": items,
        **answers.Page.of(len(doc.items), page, size),
        "model": doc.model,
        "model_version": doc.model_version,
        "computed_at": doc.computed_at,
        "ratings_version": doc.ratings_version,
        "cached": doc.cached,
    }
    if query.query is None:
        body["discover"] = DEFAULT_DISCOVER if query.discover is None else query.discover
    else:
        body["query"] = doc.query
        body["ranked_by"] = doc.ranked_by
    return body
