"""The movie grid (genre filter or title search, paginated) and single movies.

A bearer token is optional here: with one, each movie carries the user's ``my_rating`` and the
grid defaults to the user's genres; without one, ``my_rating`` is null and all genres show.

The grid's order (``order``): a person with fewer than ``MIN_RATINGS`` ratings gets the
newcomer's order (:mod:`recommender.onboarding`: movies whose ratings teach the models most,
still recognisable, their genres taking turns); everybody else, anonymous browsing and every
title search get today's most-rated first. The answer says which order it used; the app sends
it back for "show more", so a grid keeps its order while the person rates their fifth movie.

The onboarding grid adapts to what a signed-in person rated (their first ratings, oldest
first, replayed through :class:`recommender.onboarding.GridWalk`): the places they have seen
(``shown``, the app's grid length; default everything up to the page asked for) stay up to the
last one they rated, the rest is chosen from their ratings. Nothing is stored for it: the same
ratings and ``shown`` give the same grid on every worker process.
"""

from __future__ import annotations

from flask import Blueprint

from api import answers, inputs
from recommender.onboarding import MAX_REPLAYED
from worker import auth
from worker.endpoint import endpoint
from worker.routes import API, models, movie_json, require_movie, store
from worker.services import MIN_RATINGS

bp = Blueprint("movies", __name__, url_prefix=API)


@bp.get("/movies")
@endpoint(
    "Movie grid: the user's genres (or all), a genre filter or a title search",
    tag="movies",
    auth="optional",
    query=inputs.BrowseMovies,
    answers={200: answers.MoviesPage},
)
def browse(query: inputs.BrowseMovies):
    """Paged movies: ``q`` title search, ``genres=A,B`` (any of them), ``order`` (module
    docstring: ``onboarding`` by default below five ratings, else ``popular``)."""
    user = auth.current_user(required=False)
    page, size = query.page, query.page_size
    if query.genres:
        genres = query.genres
    elif query.q is None and user is not None:
        genres = user.genres
    else:
        genres = []
    order = "popular" if query.q is not None else query.order or _default_order(user)
    if order == "onboarding":
        rated = _first_rated(user.id) if user else []
        grid = models().first_grid()
        ids, total = grid.page(genres, page, size, rated=rated, shown=query.shown)
    else:
        ids, total = models().catalog.browse(genres, query.q, page, size)
    ids = [int(i) for i in ids]
    mine = store().ratings_of(user.id, ids) if user else {}
    items = [movie_json(i, mine.get(i)) for i in ids]
    return {"items": items, **answers.Page.of(total, page, size), "order": order}


def _first_rated(user_id: str) -> list[int]:
    """The person's first ``MAX_REPLAYED`` rated movies, oldest first: what their adaptive
    grid is chosen from (:meth:`recommender.onboarding.FirstGrid.order`)."""
    rows, total = store().ratings_page(user_id, 0, MAX_REPLAYED)
    if total > MAX_REPLAYED:
        rows, _ = store().ratings_page(user_id, total - MAX_REPLAYED, MAX_REPLAYED)
    return [movie_id for movie_id, _, _ in reversed(rows)]


def _default_order(user) -> str:
    """``onboarding`` for a signed-in person with fewer than ``MIN_RATINGS`` ratings."""
    if user is not None and store().rating_count(user.id) < MIN_RATINGS:
        return "onboarding"
    return "popular"


@bp.get("/movies/<int:movie_id>")
@endpoint("One movie", tag="movies", auth="optional", answers={200: answers.Movie}, errors=(404,))
def one(movie_id: int):
    """One movie; 404 ``movie_not_found`` for an unknown id."""
    user = auth.current_user(required=False)
    require_movie(movie_id)
    mine = store().ratings_of(user.id, [movie_id]) if user else {}
    return movie_json(movie_id, mine.get(movie_id))


@bp.get("/movies/<int:movie_id>/similar")
@endpoint(
    "Movies like this one: story, genres and audience (SBERT content, genres, embed model)",
    tag="movies",
    auth="optional",
    query=inputs.SimilarQuery,
    answers={200: answers.SimilarMovies},
    errors=(404,),
)
def similar(movie_id: int, query: inputs.SimilarQuery):
    """``{"items": [{"movie", "similarity"}], "source": "embed" | "sbert"}``: the ``k`` (1..50,
    default 12) movies most like this one (:func:`worker.services.similar.similar_movies`),
    without the caller's not-interested movies; 404
    for an unknown movie, 503 without vectors."""
    k = query.k
    user = auth.current_user(required=False)
    require_movie(movie_id)
    ids, sims, source = models().similar(movie_id, k, user.id if user else None)
    mine = store().ratings_of(user.id, ids) if user else {}
    items = []
    for movie_id_, similarity in zip(ids, sims, strict=True):
        movie = movie_json(movie_id_, mine.get(movie_id_))
        if movie is not None:
            items.append({"movie": movie, "similarity": round(float(similarity), 4)})
    return {"items": items, "source": source}
