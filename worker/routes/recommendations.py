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
    description="Filters narrow the list to the movies matching all of them, ranked for you: "
    "genres (any of them), q (title search), year_from/year_to (inclusive; 422 when year_to "
    "is before year_from). Movies you marked not interested are never listed.",
)
def recommendations(query: inputs.RecommendationsQuery):
    """Paged items ``{"movie", "predicted_rating", "match", "reason", "reasons", "evidence"}``
    plus ``model``, ``computed_at`` and ``ratings_version``; 422 ``not_enough_ratings``.

    With ``query`` (free text, 1-200 characters): the movies matching that description, ranked
    for the user (by content similarity alone below 5 ratings); adds ``query`` and
    ``ranked_by`` ("model" or "description").

    With ``genres`` (any of them), ``q`` (title search) and ``year_from``/``year_to``: only the
    movies matching every filter given, ranked for the user (an empty page when none match).
    Movies the user marked not interested are never in a list.

    Without ``query`` or filters, ``discover`` (0.0 familiar – 1.0 discover, absent: the
    default) re-orders the list away from the most-rated movies towards less-known ones in the
    person's genres (:mod:`recommender.rerank`); the answer says the setting used."""
    page, size = query.page, query.page_size
    start = (page - 1) * size
    doc, shown = models().page(g.user.id, start, size, query.query, query.subset(), query.discover)
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
    if query.query is not None:
        body["query"] = doc.query
        body["ranked_by"] = doc.ranked_by
    elif query.subset() is None:
        body["discover"] = DEFAULT_DISCOVER if query.discover is None else query.discover
    return body
