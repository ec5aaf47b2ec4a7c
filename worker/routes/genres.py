"""The genre list and the user's chosen genres."""

from __future__ import annotations

from flask import Blueprint, g, jsonify, request

from worker import auth, validation
from worker.routes import API, models, store

bp = Blueprint("genres", __name__, url_prefix=API)


@bp.get("/genres")
def all_genres():
    """Every genre of the catalogue, sorted."""
    return jsonify({"genres": models().catalog.genres})


@bp.get("/me/genres")
@auth.login_required
def my_genres():
    return jsonify({"genres": g.user.genres})


@bp.put("/me/genres")
@auth.login_required
def save_my_genres():
    """Replace the user's genres: 1..N distinct names from ``GET /genres``."""
    body = validation.json_body(request, {"genres"})
    chosen = validation.genre_list(body.get("genres"), models().catalog.genres)
    store().set_genres(g.user.id, chosen)
    return jsonify({"genres": chosen})
