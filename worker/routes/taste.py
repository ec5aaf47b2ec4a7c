"""The person's own taste, for the app's Insights page (:mod:`recommender.taste`). Always the
token's user."""

from __future__ import annotations

from flask import Blueprint, g

from api import answers
from recommender.taste import taste
from worker.endpoint import endpoint
from worker.routes import API, models, movie_json, store

bp = Blueprint("taste", __name__, url_prefix=f"{API}/me")


@bp.get("/taste")
@endpoint(
    "Your ratings against everyone's: genres you rate high and low, movies you rate differently",
    tag="insights",
    auth="required",
    answers={200: answers.Taste},
)
def my_taste():
    """:func:`recommender.taste.taste` of the token's user, each movie as the movie object
    under ``movie``."""
    service = models()
    profile = store().profile(g.user.id)
    summary = taste(profile, service.loader.everyone(), service.catalog)
    for item in summary["movies"]:
        item["movie"] = movie_json(item.pop("movie_id"), item["rating"])
    return summary
