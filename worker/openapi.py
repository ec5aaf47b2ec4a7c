"""The OpenAPI 3 description of the worker's API, written by hand in one place.

Served at ``GET /api/v1/openapi.json``; ``tests/test_worker_openapi.py`` runs schemathesis
against the live worker to check that the server does what this document says.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from worker.validation import PAGE_MAX, PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX, QUERY_MAX

JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {**schema, "nullable": True}


def _obj(props: dict[str, Any], required: list[str] | None = None, extra: bool = False):
    return {
        "type": "object",
        "properties": props,
        "required": list(props) if required is None else required,
        "additionalProperties": extra,
    }


ERROR_TEXT = {
    400: "Malformed JSON body",
    401: "Missing, invalid, expired or revoked token",
    403: "Wrong password",
    404: "Not found",
    409: "Conflict",
    413: "Body larger than 64 KiB",
    415: "Body is not application/json",
    422: "Invalid input (see error.fields)",
    429: "Too many attempts (see Retry-After)",
    500: "Unexpected server error",
    503: "Models still loading or storage unavailable (see Retry-After)",
}


def _error(status: int) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": ERROR_TEXT[status],
        "content": {JSON: {"schema": _ref("Error")}},
    }
    if status in (429, 503):
        response["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    return response


def _ok(schema: dict[str, Any] | None, description: str = "OK") -> dict[str, Any]:
    if schema is None:
        return {"description": description}
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _op(
    summary: str,
    ok: dict[int, dict[str, Any]],
    errors: list[int],
    *,
    auth: str = "none",
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    tag: str,
) -> dict[str, Any]:
    """One operation: ``auth`` is none, required or optional (token adds my_rating)."""
    codes = set(errors) | {500, 503}
    if auth != "none":
        codes.add(401)
    if body is not None:
        codes |= {400, 413, 415, 422}
    op: dict[str, Any] = {
        "summary": summary,
        "tags": [tag],
        "responses": {
            **{str(k): v for k, v in ok.items()},
            **{str(c): _error(c) for c in sorted(codes)},
        },
    }
    if auth == "required":
        op["security"] = [{"bearerAuth": []}]
    elif auth == "optional":
        op["security"] = [{}, {"bearerAuth": []}]
    else:
        op["security"] = []
    if body is not None:
        op["requestBody"] = {"required": True, "content": {JSON: {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


PAGING = [{"$ref": "#/components/parameters/page"}, {"$ref": "#/components/parameters/page_size"}]
MOVIE_ID = {"$ref": "#/components/parameters/movie_id"}

USERNAME = {"type": "string", "minLength": 3, "maxLength": 32, "pattern": "^[A-Za-z0-9_.-]{3,32}$"}
CREDENTIALS = _obj(
    {"username": USERNAME, "password": {"type": "string", "minLength": 8, "maxLength": 1024}}
)


def _paged(
    item: dict[str, Any], extra: dict[str, Any] | None = None, optional: tuple[str, ...] = ()
) -> dict[str, Any]:
    props = {
        "items": {"type": "array", "items": item},
        "page": {"type": "integer", "minimum": 1},
        "page_size": {"type": "integer", "minimum": 1, "maximum": PAGE_SIZE_MAX},
        "total": {"type": "integer", "minimum": 0},
        "next_page": _nullable({"type": "integer", "minimum": 2}),
        **(extra or {}),
    }
    return _obj(props, required=[name for name in props if name not in optional])


SCHEMAS: dict[str, Any] = {
    "Error": _obj(
        {
            "error": _obj(
                {
                    "status": {"type": "integer"},
                    "code": {"type": "string"},
                    "message": {"type": "string"},
                    "fields": {"type": "object", "additionalProperties": True},
                },
                required=["status", "code", "message"],
            )
        }
    ),
    "User": _obj(
        {
            "id": {"type": "string"},
            "username": _nullable({"type": "string"}),
            "guest": {"type": "boolean"},
        }
    ),
    "Movie": _obj(
        {
            "id": {"type": "integer"},
            "title": {"type": "string"},
            "year": _nullable({"type": "integer"}),
            "genres": {"type": "array", "items": {"type": "string"}},
            "poster_url": _nullable({"type": "string"}),
            "overview": _nullable({"type": "string"}),
            "tagline": _nullable({"type": "string"}),
            "my_rating": _nullable({"type": "number", "minimum": 0.5, "maximum": 5}),
        }
    ),
    "Genres": _obj({"genres": {"type": "array", "items": {"type": "string"}}}),
    "Rating": _obj(
        {
            "movie": _ref("Movie"),
            "rating": {"type": "number", "minimum": 0.5, "maximum": 5},
            "rated_at": {"type": "string", "format": "date-time"},
        }
    ),
    "Recommendation": _obj(
        {
            "movie": _ref("Movie"),
            "predicted_rating": {"type": "number", "minimum": 0.5, "maximum": 5},
            "match": {"type": "integer", "minimum": 0, "maximum": 100},
            "reason": {"type": "string"},
            "reasons": {"type": "array", "items": {"type": "string"}},
            "evidence": {"type": "object", "additionalProperties": True},
        }
    ),
}

RESPONSES = {
    "me": _obj(
        {
            "user": _ref("User"),
            "genres": {"type": "array", "items": {"type": "string"}},
            "rating_count": {"type": "integer", "minimum": 0},
            "ratings_needed": {"type": "integer", "minimum": 0, "maximum": 5},
            "session_expires_in": {"type": "integer", "minimum": 0},
        }
    ),
    "login": _obj(
        {
            "token": {"type": "string", "minLength": 43},
            "expires_in": {"type": "integer", "minimum": 1},
            "user": _ref("User"),
        }
    ),
    "rated": _obj(
        {
            "movie_id": {"type": "integer"},
            "rating": {"type": "number", "minimum": 0.5, "maximum": 5},
            "rated_at": {"type": "string", "format": "date-time"},
            "rating_count": {"type": "integer", "minimum": 1},
        }
    ),
    "ready": _obj(
        {
            "status": {"type": "string", "enum": ["ready", "not ready"]},
            "models": {"type": "object", "additionalProperties": {"type": "string"}},
            "model": _nullable({"type": "string"}),
            "model_version": _nullable({"type": "string"}),
            "model_reason": {"type": "string"},
            "versions": {"type": "object", "additionalProperties": _nullable({"type": "string"})},
            "load_seconds": {"type": "number"},
            "reloaded_at": {"type": "string", "format": "date-time"},
            "reload_error": {"type": "string"},
            "redis": {"type": "string", "enum": ["ok", "unreachable"]},
            "instance": {"type": "string"},
            "error": {"type": "string"},
        },
        required=["status", "models", "model", "model_version", "redis"],
    ),
    "similar": _obj(
        {
            "items": {
                "type": "array",
                "maxItems": 50,
                "items": _obj(
                    {
                        "movie": _ref("Movie"),
                        "similarity": {"type": "number", "minimum": -1.0001, "maximum": 1.0001},
                    }
                ),
            },
            "source": {"type": "string", "enum": ["embed", "sbert"]},
        }
    ),
    "plots": _obj(
        {
            "items": {
                "type": "array",
                "items": _obj(
                    {
                        "name": {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
                        "title": {"type": "string"},
                        "caption": {"type": "string"},
                        "url": {"type": "string"},
                    }
                ),
            }
        }
    ),
    "discover": _obj(
        {
            "items": {"type": "array", "maxItems": 5, "items": _ref("DiscoverMovie")},
            "top_genres": {
                "type": "array",
                "maxItems": 5,
                "items": _obj(
                    {"genre": {"type": "string"}, "count": {"type": "integer", "minimum": 1}}
                ),
            },
            "liked": {"type": "array", "items": {"type": "integer"}},
            "round": {"type": "integer", "minimum": 1},
        }
    ),
}

_MOVIE_PROPS = SCHEMAS["Movie"]["properties"]
SCHEMAS["DiscoverMovie"] = _obj(
    {
        **_MOVIE_PROPS,
        "similarity": _nullable({"type": "number", "minimum": -1.0001, "maximum": 1.0001}),
    }
)
DISCOVER_IDS = {"type": "array", "maxItems": 5, "uniqueItems": True, "items": {"type": "integer"}}


def _paths() -> dict[str, Any]:
    user_only = {"user": _ref("User")}
    return {
        "/healthz": {
            "get": _op(
                "Liveness probe", {200: _ok(_obj({"status": {"enum": ["ok"]}}))}, [], tag="health"
            ),
        },
        "/readyz": {
            "get": {
                **_op(
                    "Readiness probe: models loaded and Redis reachable",
                    {200: _ok(RESPONSES["ready"])},
                    [],
                    tag="health",
                ),
                "responses": {
                    "200": _ok(RESPONSES["ready"]),
                    "503": _ok(RESPONSES["ready"], "Not ready yet"),
                    "500": _error(500),
                },
            },
        },
        "/api/v1/openapi.json": {
            "get": _op("This document", {200: _ok({"type": "object"})}, [], tag="health"),
        },
        "/api/v1/auth/signup": {
            "post": _op(
                "Create an account (with a guest's token: turn that guest into it)",
                {201: _ok(_obj(user_only), "Created")},
                [409],
                auth="optional",
                body=CREDENTIALS,
                tag="auth",
            ),
        },
        "/api/v1/auth/login": {
            "post": _op(
                "Log in: returns a bearer token (with a guest's token: merge that guest in)",
                {200: _ok(RESPONSES["login"])},
                [401, 429],
                auth="optional",
                body=_obj(
                    {
                        "username": USERNAME,
                        "password": {"type": "string", "minLength": 1, "maxLength": 1024},
                    }
                ),
                tag="auth",
            ),
        },
        "/api/v1/auth/logout": {
            "post": _op(
                "Revoke the token", {204: _ok(None, "Logged out")}, [], auth="required", tag="auth"
            ),
        },
        "/api/v1/me": {
            "get": _op(
                "The user, genres and rating count",
                {200: _ok(RESPONSES["me"])},
                [],
                auth="required",
                tag="auth",
            ),
            "delete": _op(
                "Delete my account and every piece of its data (a guest sends {})",
                {204: _ok(None, "Deleted")},
                [403, 409, 429],
                auth="required",
                body=_obj(
                    {"password": {"type": "string", "minLength": 1, "maxLength": 1024}},
                    required=[],
                ),
                tag="auth",
            ),
        },
        "/api/v1/genres": {
            "get": _op("Every genre", {200: _ok(_ref("Genres"))}, [503], tag="genres"),
        },
        "/api/v1/me/genres": {
            "get": _op(
                "The user's genres", {200: _ok(_ref("Genres"))}, [], auth="required", tag="genres"
            ),
            "put": _op(
                "Replace the user's genres (1..N distinct known names)",
                {200: _ok(_ref("Genres"))},
                [503],
                auth="required",
                body=_obj(
                    {
                        "genres": {
                            "type": "array",
                            "minItems": 1,
                            "uniqueItems": True,
                            "items": {"type": "string"},
                        }
                    }
                ),
                tag="genres",
            ),
        },
        "/api/v1/movies": {
            "get": _op(
                "Movie grid: the user's genres (or all), a genre filter or a title search",
                {200: _ok(_paged(_ref("Movie")))},
                [422, 503],
                auth="optional",
                params=[
                    *PAGING,
                    {
                        "name": "q",
                        "in": "query",
                        "schema": {"type": "string", "maxLength": QUERY_MAX},
                        "description": "title search (case- and accent-insensitive)",
                    },
                    {
                        "name": "genres",
                        "in": "query",
                        "schema": {"type": "string"},
                        "description": "comma-separated genre names (movies with any of them)",
                    },
                ],
                tag="movies",
            ),
        },
        "/api/v1/movies/{movie_id}": {
            "get": _op(
                "One movie",
                {200: _ok(_ref("Movie"))},
                [404, 503],
                auth="optional",
                params=[MOVIE_ID],
                tag="movies",
            ),
        },
        "/api/v1/movies/{movie_id}/similar": {
            "get": _op(
                "Movies similar to this one (embed model's embeddings, else SBERT content)",
                {200: _ok(RESPONSES["similar"])},
                [404, 422, 503],
                auth="optional",
                params=[
                    MOVIE_ID,
                    {
                        "name": "k",
                        "in": "query",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 50, "default": 12},
                        "description": "how many movies (1-50)",
                    },
                ],
                tag="movies",
            ),
        },
        "/api/v1/auth/guest": {
            "post": _op(
                "Start as a guest: returns a bearer token of a new guest user",
                {201: _ok(RESPONSES["login"], "Created")},
                [429],
                tag="auth",
            ),
        },
        "/api/v1/me/password": {
            "put": _op(
                "Change the password; every other session of the user is revoked",
                {204: _ok(None, "Changed")},
                [403, 409, 429],
                auth="required",
                body=_obj(
                    {
                        "old_password": {"type": "string", "minLength": 1, "maxLength": 1024},
                        "new_password": CREDENTIALS["properties"]["password"],
                    }
                ),
                tag="auth",
            ),
        },
        "/api/v1/me/ratings/export": {
            "get": _op(
                "My ratings as CSV: movieId,title,rating,timestamp",
                {
                    200: {
                        "description": "A header line, then one line per rating, oldest first",
                        "content": {"text/csv": {"schema": {"type": "string"}}},
                    }
                },
                [],
                auth="required",
                tag="ratings",
            ),
        },
        "/api/v1/insights/plots": {
            "get": _op(
                "The plots of the Insights page: name, title, caption and image URL",
                {200: _ok(RESPONSES["plots"])},
                [],
                auth="required",
                tag="insights",
            ),
        },
        "/api/v1/insights/plots/{name}": {
            "get": _op(
                "One plot's PNG image",
                {
                    200: {
                        "description": "The image",
                        "content": {
                            "image/png": {"schema": {"type": "string", "format": "binary"}}
                        },
                    }
                },
                [404],
                auth="required",
                params=[
                    {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                tag="insights",
            ),
        },
        "/api/v1/me/discover": {
            "get": _op(
                "The discover loop's current round (starts one when there is none)",
                {200: _ok(RESPONSES["discover"])},
                [409, 503],
                auth="required",
                tag="discover",
            ),
            "post": _op(
                "Tick the liked movies of the current round; answers the next round",
                {200: _ok(RESPONSES["discover"])},
                [409, 503],
                auth="required",
                body=_obj(
                    {
                        "liked": DISCOVER_IDS,
                        "shown": {**DISCOVER_IDS, "minItems": 1},
                    }
                ),
                tag="discover",
            ),
            "delete": _op(
                "Start the discover loop over (ratings are untouched)",
                {204: _ok(None, "Reset")},
                [503],
                auth="required",
                tag="discover",
            ),
        },
        "/api/v1/me/ratings": {
            "get": _op(
                "The user's ratings, newest first",
                {200: _ok(_paged(_ref("Rating")))},
                [422, 503],
                auth="required",
                params=PAGING,
                tag="ratings",
            ),
        },
        "/api/v1/me/ratings/{movie_id}": {
            "put": _op(
                "Set or change a rating",
                {200: _ok(RESPONSES["rated"])},
                [404, 503],
                auth="required",
                params=[MOVIE_ID],
                body=_obj(
                    {"rating": {"type": "number", "minimum": 0.5, "maximum": 5, "multipleOf": 0.5}}
                ),
                tag="ratings",
            ),
            "delete": _op(
                "Remove a rating",
                {204: _ok(None, "Removed")},
                [404, 503],
                auth="required",
                params=[MOVIE_ID],
                tag="ratings",
            ),
        },
        "/api/v1/me/recommendations": {
            "get": _op(
                "Recommendations (needs 5 ratings); cached until the ratings change",
                {
                    200: _ok(
                        _paged(
                            _ref("Recommendation"),
                            {
                                "model": {"type": "string"},
                                "model_version": {"type": "string"},
                                "computed_at": {"type": "string", "format": "date-time"},
                                "ratings_version": {"type": "integer", "minimum": 0},
                                "cached": {"type": "boolean"},
                                "query": {"type": "string"},
                                "ranked_by": {"type": "string", "enum": ["model", "description"]},
                            },
                            optional=("query", "ranked_by"),
                        )
                    )
                },
                [422, 503],
                auth="required",
                params=[
                    *PAGING,
                    {
                        "name": "query",
                        "in": "query",
                        "schema": {"type": "string", "minLength": 1, "maxLength": QUERY_MAX},
                        "description": "describe what you want (free text); ranks the 200 "
                        "movies closest to it for you (by similarity alone below 5 ratings)",
                    },
                ],
                tag="recommendations",
            ),
        },
    }


@lru_cache(maxsize=1)
def spec() -> dict[str, Any]:
    """The whole OpenAPI 3.0 document."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Movie recommender worker",
            "version": "1.0.0",
            "description": "See docs/api.md. Errors share one shape (Error).",
        },
        "servers": [{"url": "/"}],
        "paths": _paths(),
        "components": {
            "schemas": SCHEMAS,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            "parameters": {
                "page": {
                    "name": "page",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": PAGE_MAX, "default": 1},
                },
                "page_size": {
                    "name": "page_size",
                    "in": "query",
                    "schema": {
                        "type": "integer",
                        "minimum": 1,
                        "maximum": PAGE_SIZE_MAX,
                        "default": PAGE_SIZE_DEFAULT,
                    },
                },
                "movie_id": {
                    "name": "movie_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "integer"},
                },
            },
        },
    }
