"""HTTP routes, one blueprint per product area; all JSON, all under ``/api/v1`` except the
health probes. Shared helpers for the blueprints live here."""

from __future__ import annotations

from typing import Any

from flask import current_app

from api import rules
from worker.services import ModelService
from worker.store import Store

API = "/api/v1"


def store() -> Store:
    return current_app.extensions["store"]


def models() -> ModelService:
    return current_app.extensions["models"]


def movie_json(movie_id: int, my_rating: float | None) -> dict[str, Any] | None:
    """The contract's movie object (catalogue record + the user's own rating), or None."""
    movie = models().catalog.movie(movie_id)
    if movie is not None:
        movie["my_rating"] = my_rating
    return movie


def require_movie(movie_id: int) -> None:
    """404 ``movie_not_found`` unless the catalogue has ``movie_id``."""
    from worker.errors import ApiError

    if not (0 < movie_id <= rules.MAX_MOVIE_ID) or movie_id not in models().catalog:
        raise ApiError(404, "movie_not_found", f"No movie has id {movie_id}.")
