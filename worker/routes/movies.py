"""The movie grid (genre filter or title search, paginated) and single movies.

A bearer token is optional here: with one, each movie carries the user's ``my_rating`` and the
grid defaults to the user's genres; without one, ``my_rating`` is null and all genres show.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from worker import auth, validation
from worker.routes import API, models, movie_json, require_movie, store

bp = Blueprint("movies", __name__, url_prefix=API)


@bp.get("/movies")
def browse():
    """Paged movies, most-rated first: ``q`` title search, ``genres=A,B`` (any of them)."""
    user = auth.current_user(required=False)
    page, size = validation.paging(request)
    query = validation.title_query(request)
    catalog = models().catalog
    raw = request.args.get("genres")
    if raw is not None and raw.strip():
        genres = validation.genre_list([p.strip() for p in raw.split(",")], catalog.genres)
    elif query is None and user is not None:
        genres = user.genres
    else:
        genres = []
    ids, total = catalog.browse(genres, query, page, size)
    ids = [int(i) for i in ids]
    mine = store().ratings_of(user.id, ids) if user else {}
    items = [movie_json(i, mine.get(i)) for i in ids]
    return jsonify({"items": items, **validation.page_of(total, page, size)})


@bp.get("/movies/<int:movie_id>")
def one(movie_id: int):
    """One movie; 404 ``movie_not_found`` for an unknown id."""
    user = auth.current_user(required=False)
    require_movie(movie_id)
    mine = store().ratings_of(user.id, [movie_id]) if user else {}
    return jsonify(movie_json(movie_id, mine.get(movie_id)))


SIMILAR_K_DEFAULT, SIMILAR_K_MAX = 12, 50


@bp.get("/movies/<int:movie_id>/similar")
def similar(movie_id: int):
    """``{"items": [movie + "similarity"], "source": "embed" | "sbert"}``: the ``k`` (1..50,
    default 12) movies closest to this one; 404 for an unknown movie, 503 without vectors."""
    k = validation.small_int_arg(request, "k", SIMILAR_K_DEFAULT, 1, SIMILAR_K_MAX)
    user = auth.current_user(required=False)
    require_movie(movie_id)
    ids, sims, source = models().similar(movie_id, k)
    mine = store().ratings_of(user.id, ids) if user else {}
    items = []
    for movie_id_, similarity in zip(ids, sims, strict=True):
        movie = movie_json(movie_id_, mine.get(movie_id_))
        if movie is not None:
            items.append({"movie": movie, "similarity": round(float(similarity), 4)})
    return jsonify({"items": items, "source": source})
