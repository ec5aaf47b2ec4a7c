"""The home view's rows: "Top picks for you", "Because you liked <movie>", "<Genre> for you"
and "Something different" (:mod:`recommender.rows`, :mod:`worker.services.rows`)."""

from __future__ import annotations

from flask import Blueprint, g

from api import answers
from worker.endpoint import endpoint
from worker.routes import API, models, movie_json

bp = Blueprint("rows", __name__, url_prefix=API)


@bp.get("/me/rows")
@endpoint(
    "The home view's rows (needs 5 ratings); cached until the ratings change",
    tag="recommendations",
    auth="required",
    answers={200: answers.Rows},
    errors=(422,),
)
def rows():
    """``{"rows": [{"kind", "title", "reason", "items"}], "model", "model_version",
    "computed_at", "ratings_version", "cached"}``: rows in screen order, each item as in the
    recommendations (``{"movie", "predicted_rating", "match", "reason", "reasons",
    "evidence"}``); no movie in two rows, none the user rated. 422 ``not_enough_ratings``."""
    screen = models().home_rows(g.user.id)
    shown = []
    for row in screen.rows:
        items = []
        for item in row.items:
            movie = movie_json(item.movie_id, None)
            if movie is not None:
                items.append({"movie": movie, **item.shown_json()})
        if items:
            shown.append({**row.to_json(), "items": items})
    return {
        "rows": shown,
        "model": screen.model,
        "model_version": screen.model_version,
        "computed_at": screen.computed_at,
        "ratings_version": screen.ratings_version,
        "cached": screen.cached,
    }
