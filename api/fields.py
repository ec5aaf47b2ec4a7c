"""The API's field types: pydantic ``Annotated`` types built from :mod:`api.rules`.

Each type carries its constraints (checked by pydantic and written into the JSON Schema of the
OpenAPI document) and a :class:`Says` marker: the text a 422 gives for the field. Checks a
JSON Schema keyword cannot state exactly (exact half-star steps, no repeats in a list, genre
names of the loaded catalogue) are validators next to the keyword that describes them, so the
type stays the one declaration of the rule.

Validation context (``Model.model_validate(data, context=...)``): ``{"genres": callable}``
returning the catalogue's genre names; without it genre names are not checked against the
catalogue (the worker always passes it).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, WithJsonSchema
from pydantic_core import PydanticCustomError, PydanticUseDefault

from api import rules

OWN_MESSAGE = "api_message"
"""Error type of our own validators: their message is sent as it is."""

GENRE_MARK = "x-catalogue-genre"
"""Key in a genre name's JSON Schema; the OpenAPI document replaces it by an ``enum`` of the
served catalogue's genres (see :mod:`worker.openapi`)."""


class Says:
    """What a 422 says about a field: ``default`` for any error, or the text given for a
    pydantic error type (``Says("...", missing="required")``)."""

    def __init__(self, default: str, **by_type: str) -> None:
        self.default, self.by_type = default, by_type

    def message(self, error_type: str) -> str:
        return self.by_type.get(error_type, self.default)


def own_error(message: str) -> PydanticCustomError:
    """A validation error whose ``message`` is sent to the client as it is."""
    return PydanticCustomError(OWN_MESSAGE, message)


# --- bodies -----------------------------------------------------------------------------------

Username = Annotated[
    str,
    Field(
        pattern=rules.USERNAME_PATTERN,
        min_length=rules.USERNAME_MIN,
        max_length=rules.USERNAME_MAX,
        description="3-32 characters of A-Z a-z 0-9 _ . - (unique ignoring case)",
    ),
    Says(rules.USERNAME_RULE),
]

NewPassword = Annotated[
    str,
    Field(
        min_length=rules.PASSWORD_MIN,
        max_length=rules.PASSWORD_MAX,
        pattern=rules.PASSWORD_PATTERN,
        description="8-1024 characters, any Unicode except NUL",
    ),
    Says(rules.PASSWORD_RULE, string_pattern_mismatch=rules.PASSWORD_NUL_RULE),
]

CurrentPassword = Annotated[
    str,
    Field(min_length=1, max_length=rules.PASSWORD_MAX, description="the password to check"),
    Says(rules.CURRENT_PASSWORD_RULE),
]


def _exact_half_star(value: float) -> float:
    # multipleOf in pydantic allows a rounding tolerance (2.5000000001 passes); a rating may not.
    if not rules.stars_ok(value):
        raise PydanticCustomError("multiple_of", "not a multiple of 0.5")
    return value


Stars = Annotated[
    float,
    Field(
        ge=rules.MIN_STARS,
        le=rules.MAX_STARS,
        multiple_of=rules.STAR_STEP,
        allow_inf_nan=False,
        description="0.5-5.0 in steps of 0.5 (a JSON number)",
    ),
    AfterValidator(_exact_half_star),
    Says(rules.STARS_RULE),
]

MovieId = Annotated[int, Field(ge=1, le=rules.MAX_MOVIE_ID)]


def _no_repeats(what: str) -> Callable[[list], list]:
    def check(value: list) -> list:
        if len(set(value)) != len(value):
            raise PydanticCustomError("repeated", f"must not repeat {what}")
        return value

    return check


def distinct_ids(low: int, high: int) -> Any:
    """A list of ``low``-``high`` distinct movie ids (the discover loop's ``liked``/``shown``)."""
    return Annotated[
        list[MovieId],
        Field(min_length=low, max_length=high, json_schema_extra={"uniqueItems": True}),
        AfterValidator(_no_repeats("a movie")),
        Says(f"must be a list of {low}-{high} movie ids", repeated="must not repeat a movie"),
    ]


def _known_genres(value: list[str], info: ValidationInfo) -> list[str]:
    known_of = (info.context or {}).get("genres")
    if known_of is None:
        return value
    known = set(known_of())
    unknown = [name for name in value if name not in known]
    if unknown:
        shown = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise own_error(f"unknown genres: {shown}; see GET /api/v1/genres")
    return value


GenreName = Annotated[str, WithJsonSchema({"type": "string", GENRE_MARK: True})]

GenreList = Annotated[
    list[GenreName],
    Field(min_length=1, json_schema_extra={"uniqueItems": True}),
    AfterValidator(_no_repeats("a genre")),
    AfterValidator(_known_genres),
    Says("must be a non-empty list of genre names", repeated="must not repeat a genre"),
]
"""1..N distinct names of the catalogue's genres (``GET /genres``), in the order given."""


# --- query parameters (always strings on the wire) -------------------------------------------

_DIGITS = re.compile(r"[0-9]{1,7}")


def _whole_number(value: Any) -> Any:
    """A query string of digits as an int (``+1``, ``1.0``, ``1_000`` and blank are not)."""
    if isinstance(value, str):
        if not _DIGITS.fullmatch(value):
            raise PydanticCustomError("int_parsing", "not a whole number")
        return int(value)
    return value


def query_int(low: int, high: int, description: str) -> Any:
    """A whole-number query parameter ``low``..``high`` (absent: the default)."""
    return Annotated[
        int,
        Field(ge=low, le=high, description=description),
        BeforeValidator(_whole_number),  # after Field, so the schema keeps minimum/maximum
        Says(rules.whole_number_rule(low, high)),
    ]


Page = query_int(1, rules.PAGE_MAX, "page number, from 1")
PageSize = query_int(1, rules.PAGE_SIZE_MAX, "items per page")
Year = query_int(rules.YEAR_MIN, rules.YEAR_MAX, "release year (inclusive)")


_DECIMAL = re.compile(r"-?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,3})?")


def _decimal(value: Any) -> Any:
    """A query string like ``0.5``, ``1``, ``.25`` or ``1e-05`` (at most 40 characters) as a
    float (``-0.5`` too: then the range says no); ``nan``, ``inf`` and blank are not numbers."""
    if isinstance(value, str):
        if len(value) > 40 or not _DECIMAL.fullmatch(value):
            raise PydanticCustomError("float_parsing", "not a decimal number")
        return float(value)
    return value


Discover = Annotated[
    float,
    Field(
        ge=rules.DISCOVER_MIN,
        le=rules.DISCOVER_MAX,
        description="familiar (0.0) ↔ discover (1.0): how far the list moves from the most "
        "popular movies towards less-known ones in your genres; absent: the served default",
    ),
    BeforeValidator(_decimal),
    Says(rules.DISCOVER_RULE),
]


def _blank_is_absent(value: Any) -> Any:
    if isinstance(value, str) and not value.strip():
        raise PydanticUseDefault()
    return value


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",")] if value.strip() else []
    return value


TitleSearch = Annotated[
    str,
    Field(
        max_length=rules.QUERY_MAX,
        pattern=rules.PRINTABLE_PATTERN,
        description="title search (case- and accent-insensitive); blank means none",
    ),
    BeforeValidator(_blank_is_absent),
    AfterValidator(str.strip),
    Says(rules.TITLE_SEARCH_RULE),
]

Description = Annotated[
    str,
    Field(
        min_length=1,
        max_length=rules.QUERY_MAX,
        pattern=rules.DESCRIPTION_PATTERN,
        description="describe what you want (free text); ranks the 200 movies closest to it "
        "for you (by similarity alone below 5 ratings)",
    ),
    AfterValidator(str.strip),
    Says(rules.DESCRIPTION_RULE),
]

GridShown = Annotated[
    query_int(0, rules.GRID_SHOWN_MAX, "movies of the grid the person has seen"),
    Field(
        description="With order 'onboarding' for a signed-in person: how many places of the "
        "grid the person has seen (the app's grid length; omitted: page × page_size). The grid "
        "adapts to their ratings: places seen up to the last one they rated stay, the rest is "
        "chosen from what they rated (recommender.onboarding.GridWalk)."
    ),
]

GridOrder = Annotated[
    Literal[rules.GRID_ORDERS],
    Field(
        description="'popular': most-rated first; 'onboarding': movies whose ratings teach the "
        "models most, still recognisable, genres taking turns (recommender.onboarding). "
        "Omitted: 'onboarding' for a signed-in person with fewer than 5 ratings and no title "
        "search, else 'popular'. A title search is always 'popular'. Pass the answer's "
        "'order' back for later pages so the grid does not change order while it is paged."
    ),
    BeforeValidator(_blank_is_absent),
    Says(rules.GRID_ORDER_RULE),
]

GenreFilter = Annotated[
    GenreList,
    BeforeValidator(_comma_list),
    Field(description="genre names, comma-separated (movies with any of them)"),
]
