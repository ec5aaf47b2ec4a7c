"""Request bodies and query parameters of every route (pydantic models).

Bodies refuse unknown fields and take JSON types as they are (``strict``: ``"4.5"`` is not a
rating, ``true`` is not a number). Queries ignore parameters they do not name and read their
values from the query string's text (see :func:`api.fields.query_int`).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

from api import rules
from api.fields import (
    CurrentPassword,
    Description,
    Discover,
    GenreFilter,
    GenreList,
    GridOrder,
    GridShown,
    NewPassword,
    Page,
    PageSize,
    Stars,
    TitleSearch,
    Username,
    Year,
    distinct_ids,
    own_error,
    query_int,
)


class Body(BaseModel):
    """A JSON object body: exactly the declared fields, JSON types as they are."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query parameters: the declared ones are read, others ignored."""

    model_config = ConfigDict(extra="ignore")


# --- bodies -----------------------------------------------------------------------------------


class SignUp(Body):
    username: Username
    password: NewPassword


class LogIn(Body):
    username: Username
    password: CurrentPassword


class ChangePassword(Body):
    old_password: CurrentPassword
    new_password: NewPassword


class DeleteAccount(Body):
    """An account sends its password (a missing one is 422); a guest sends ``{}``."""

    password: CurrentPassword = None


class ChooseGenres(Body):
    genres: GenreList


class RateMovie(Body):
    rating: Stars


class DiscoverTicks(Body):
    """``shown``: the current round's movies (1-5); ``liked``: those of them ticked (0-5).
    Both must be movies of the current round (422 otherwise: the document cannot say which
    movies that round holds)."""

    liked: distinct_ids(0, rules.DISCOVER_BATCH)
    shown: distinct_ids(1, rules.DISCOVER_BATCH)


# --- queries ----------------------------------------------------------------------------------


class Paging(Query):
    page: Page = 1
    page_size: PageSize = rules.PAGE_SIZE_DEFAULT


class BrowseMovies(Paging):
    q: TitleSearch = None
    genres: GenreFilter = None
    order: GridOrder = None
    shown: GridShown = None


class SimilarQuery(Query):
    k: query_int(1, rules.SIMILAR_K_MAX, "how many movies") = rules.SIMILAR_K_DEFAULT


class RecommendationsQuery(Paging):
    """``query`` describes what to look for; ``genres``, ``q``, ``year_from`` and ``year_to``
    narrow the list to a subset (all given filters must match), ranked for the user;
    ``discover`` (0.0 familiar – 1.0 discover) re-orders the whole list when neither is given."""

    query: Description = None
    genres: GenreFilter = None
    q: TitleSearch = None
    year_from: Year = None
    year_to: Year = None
    discover: Discover = None

    @field_validator("year_to")
    @classmethod
    def _not_before_year_from(cls, value: int | None, info: ValidationInfo) -> int | None:
        start = info.data.get("year_from")
        if value is not None and start is not None and value < start:
            raise own_error(f"must not be before year_from ({start})")
        return value

    def subset(self) -> dict[str, object] | None:
        """The filters given, ``{"genres", "q", "year_from", "year_to"}`` (None when none)."""
        chosen = {
            "genres": self.genres or None,
            "q": self.q or None,
            "year_from": self.year_from,
            "year_to": self.year_to,
        }
        return chosen if any(v is not None for v in chosen.values()) else None
