"""The genre list and the user's chosen genres."""

from __future__ import annotations

from flask import Blueprint, g

from api import answers, inputs
from worker.endpoint import endpoint
from worker.routes import API, models, store

bp = Blueprint("genres", __name__, url_prefix=API)


@bp.get("/genres")
@endpoint("Every genre", tag="genres", answers={200: answers.Genres})
def all_genres():
    """Every genre of the catalogue, sorted."""
    return {"genres": models().catalog.genres}


@bp.get("/me/genres")
@endpoint("The user's genres", tag="genres", auth="required", answers={200: answers.Genres})
def my_genres():
    return {"genres": g.user.genres}


@bp.put("/me/genres")
@endpoint(
    "Replace the user's genres (1..N distinct names of GET /genres, order kept)",
    tag="genres",
    auth="required",
    body=inputs.ChooseGenres,
    answers={200: answers.Genres},
)
def save_my_genres(body: inputs.ChooseGenres):
    """Replace the user's genres: 1..N distinct names from ``GET /genres``."""
    store().set_genres(g.user.id, body.genres)
    return {"genres": body.genres}
