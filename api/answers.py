"""Response bodies of every route (pydantic models).

Convention: a list item that scores or annotates a movie is ``{"movie": Movie, ...scores}``
(ratings, recommendations, similar movies and discover rounds alike). Paged lists are a
:class:`Page` of their items.

The worker builds each answer through these models (:mod:`worker.endpoint`), so a body never
holds a field the document does not describe (unknown keys are dropped: ``extra="ignore"``,
while the document says ``additionalProperties: false``).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from api import rules

Item = TypeVar("Item")
Similarity = Field(ge=-1.0001, le=1.0001, description="cosine, -1..1")
Timestamp = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
"""An ISO 8601 time with its UTC offset, sent as the worker wrote it."""


class Answer(BaseModel):
    model_config = ConfigDict(extra="ignore", json_schema_extra={"additionalProperties": False})


class User(Answer):
    id: str
    username: str | None = Field(description="null for a guest")
    guest: bool


class Movie(Answer):
    """The movie object, everywhere a movie appears."""

    id: int
    title: str
    year: int | None
    genres: list[str]
    poster_url: str | None
    overview: str | None
    tagline: str | None
    my_rating: float | None = Field(
        ge=rules.MIN_STARS, le=rules.MAX_STARS, description="the caller's rating (null: none)"
    )


class Page(Answer, Generic[Item]):
    """One page of a list: ``items`` and the paging fields (``next_page`` null on the last)."""

    items: list[Item]
    page: int = Field(ge=1)
    page_size: int = Field(ge=1, le=rules.PAGE_SIZE_MAX)
    total: int = Field(ge=0)
    next_page: int | None = Field(ge=2, description="null on the last page")

    @staticmethod
    def of(total: int, page: int, size: int) -> dict[str, Any]:
        """The paging fields of page ``page`` (of ``size`` items) of ``total`` items."""
        next_page = page + 1 if page * size < total else None
        return {"page": page, "page_size": size, "total": total, "next_page": next_page}


# --- health -----------------------------------------------------------------------------------


class Health(Answer):
    status: Literal["ok"]


class Ready(Answer):
    status: Literal["ready", "not ready"]
    models: dict[str, str]
    model: str | None
    model_version: str | None
    model_reason: str | None = None
    versions: dict[str, str | None] | None = None
    load_seconds: float | None = None
    reloaded_at: Timestamp | None = None
    reload_error: str | None = None
    redis: Literal["ok", "unreachable"]
    instance: str
    error: str | None = None


class BuildStep(Answer):
    name: str
    state: Literal["waiting", "running", "done", "failed"]
    progress: float = Field(ge=0, le=1, description="share of the step done, 0..1")
    seconds: float | None = Field(description="how long the step took; null until it ends")


class Build(Answer):
    """The model build's progress (``ARTIFACTS_DIR/build-status.json``)."""

    state: Literal["none", "running", "done", "failed", "stopped"] = Field(
        description="none: no build was ever run here (e.g. a deployment with built models)"
    )
    step: int | None = Field(default=None, ge=1, description="the step being built (or failed)")
    of: int | None = Field(default=None, ge=1, description="how many steps the build has")
    percent: int = Field(default=0, ge=0, le=100, description="the whole build")
    steps: list[BuildStep]
    started_at: Timestamp | None = None
    updated_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    log: str | None = Field(default=None, description="the file holding the steps' output")
    error: str | None = Field(default=None, description="what failed, in a sentence")


class Status(Answer):
    serving: Literal["loading", "interim", "final"] = Field(
        description="interim: a stand-in (Pearson) while the wanted model (the blend) is built"
    )
    model: str | None
    model_version: str | None
    message: str = Field(description="one sentence for people: what is served, build progress")
    build: Build


class Document(BaseModel):
    """The OpenAPI document itself."""

    model_config = ConfigDict(extra="allow")
    openapi: str


# --- accounts ---------------------------------------------------------------------------------


class SignedUp(Answer):
    user: User


class Session(Answer):
    token: str = Field(min_length=43)
    expires_in: int = Field(ge=1, description="seconds")
    user: User


class Me(Answer):
    user: User
    genres: list[str]
    rating_count: int = Field(ge=0)
    ratings_needed: int = Field(ge=0, le=5)
    session_expires_in: int = Field(ge=0, description="seconds this token still lives")


class Genres(Answer):
    genres: list[str]


# --- movies and ratings -----------------------------------------------------------------------


class MoviesPage(Page[Movie]):
    order: Literal[rules.GRID_ORDERS] = Field(
        description="the order of this grid; send it as 'order' for the next pages"
    )


class SimilarMovie(Answer):
    movie: Movie
    similarity: float = Field(
        ge=-1.0001,
        le=1.0001,
        description="closeness -1..1 of story, genres and audience (tanh of the score / 3)",
    )


class SimilarMovies(Answer):
    items: list[SimilarMovie] = Field(max_length=rules.SIMILAR_K_MAX)
    source: Literal["embed", "sbert"]


class Rated(Answer):
    movie_id: int
    rating: float = Field(ge=rules.MIN_STARS, le=rules.MAX_STARS)
    rated_at: Timestamp
    rating_count: int = Field(ge=1)


class Rating(Answer):
    movie: Movie
    rating: float = Field(ge=rules.MIN_STARS, le=rules.MAX_STARS)
    rated_at: Timestamp


class RatingsPage(Page[Rating]):
    pass


class ListedMovie(Answer):
    """A movie on one of the user's lists (watchlist, not interested)."""

    movie: Movie
    added_at: Timestamp


class MovieListPage(Page[ListedMovie]):
    pass


class MovieListChange(Answer):
    """The state of one movie on one of the user's lists after a ``PUT`` or ``DELETE``."""

    movie_id: int
    listed: bool = Field(description="whether the movie is on the list now")
    changed: bool = Field(description="false when it already was so (PUT and DELETE repeat)")
    count: int = Field(ge=0, le=rules.MOVIE_LIST_MAX, description="movies on the list now")


# --- recommendations and discover -------------------------------------------------------------


class Recommendation(Answer):
    movie: Movie
    predicted_rating: float = Field(ge=rules.MIN_STARS, le=rules.MAX_STARS)
    match: int = Field(ge=0, le=100, description="percent")
    reason: str
    reasons: list[str]
    evidence: dict[str, Any]


class RecommendationsPage(Page[Recommendation]):
    model: str
    model_version: str
    computed_at: Timestamp
    ratings_version: int = Field(ge=0)
    cached: bool
    query: str | None = Field(None, description="only when asked with a query")
    ranked_by: Literal["model", "description"] | None = Field(
        None, description="only when asked with a query"
    )
    discover: float | None = Field(
        None,
        ge=rules.DISCOVER_MIN,
        le=rules.DISCOVER_MAX,
        description="the familiar (0) ↔ discover (1) setting the list was ordered for; "
        "only without a query",
    )


class Row(Answer):
    """One strip of the home view; its reason is in its title."""

    kind: Literal["top_picks", "because_you_liked", "genre", "something_different"]
    title: str = Field(description='e.g. "Because you liked Heat", "Comedy for you"')
    reason: str = Field(description="why these movies, and in what order")
    movie_id: int | None = Field(None, description="because_you_liked only: the loved movie")
    genre: str | None = Field(None, description="genre only: the genre")
    items: list[Recommendation] = Field(min_length=1, max_length=rules.ROW_SIZE)


class Rows(Answer):
    """The home view: rows in screen order, no movie in two of them, none the person rated."""

    rows: list[Row]
    model: str
    model_version: str
    computed_at: Timestamp
    ratings_version: int = Field(ge=0)
    cached: bool


class GenreTaste(Answer):
    genre: str
    count: int = Field(ge=1, description="how many of your rated movies have it")
    my_mean: float = Field(ge=rules.MIN_STARS, le=rules.MAX_STARS)
    everyone_mean: float | None = Field(ge=0, le=rules.MAX_STARS)


class MovieTaste(Answer):
    movie: Movie
    rating: float = Field(ge=rules.MIN_STARS, le=rules.MAX_STARS)
    everyone_mean: float = Field(ge=0, le=rules.MAX_STARS)
    everyone_count: int = Field(ge=1)


class Taste(Answer):
    """Your ratings against everyone's (the dataset's average of the same movies), stars."""

    rating_count: int = Field(ge=0)
    my_mean: float | None = Field(ge=rules.MIN_STARS, le=rules.MAX_STARS)
    everyone_mean: float | None = Field(ge=0, le=rules.MAX_STARS)
    genres: list[GenreTaste]
    movies: list[MovieTaste]


class DiscoverMovie(Answer):
    movie: Movie
    similarity: float | None = Field(
        ge=-1.0001,
        le=1.0001,
        description="cosine to the ticked movies' mean vector; null before any tick",
    )


class TopGenre(Answer):
    genre: str
    count: int = Field(ge=1)


class DiscoverRound(Answer):
    items: list[DiscoverMovie] = Field(max_length=rules.DISCOVER_BATCH)
    top_genres: list[TopGenre] = Field(max_length=5)
    liked: list[int]
    round: int = Field(ge=1)


# --- insights and errors ----------------------------------------------------------------------


class Plot(Answer):
    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    title: str
    caption: str
    url: str


class Plots(Answer):
    items: list[Plot]


class ErrorBody(Answer):
    status: int
    code: str
    message: str
    fields: dict[str, Any] | None = Field(None, description="the wrong inputs, by name")


class Error(Answer):
    """Every error the worker answers: ``{"error": {"status", "code", "message", "fields"}}``."""

    error: ErrorBody
