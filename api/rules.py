"""The rules of the API's input fields, in one place (no third-party imports).

The pydantic field types (:mod:`api.fields`) are built from these constants, so the worker's
validation and its OpenAPI document follow them; the app's forms check the same rules before
they send anything (``app/views/auth.py``). Each ``*_RULE`` is the text a 422 names for the
field (``{"error": {"fields": {"username": USERNAME_RULE}}}``).
"""

from __future__ import annotations

import re

USERNAME_MIN, USERNAME_MAX = 3, 32
USERNAME_PATTERN = rf"^[A-Za-z0-9_.-]{{{USERNAME_MIN},{USERNAME_MAX}}}$"
"""ASCII letters and digits, ``_ . -``; 3-32 characters. Unique ignoring case."""
USERNAME_RULE = "must be 3-32 characters: letters A-Z, digits, '_', '.', '-'"

PASSWORD_MIN, PASSWORD_MAX = 8, 1024
"""A new password: 8-1024 characters, any Unicode except NUL."""
PASSWORD_PATTERN = r"^[^\x00]*$"
PASSWORD_RULE = f"must be a string of {PASSWORD_MIN}-{PASSWORD_MAX} characters"
PASSWORD_NUL_RULE = "must not contain NUL characters"
CURRENT_PASSWORD_RULE = f"must be a string of 1-{PASSWORD_MAX} characters"
"""A password being checked (log-in, change, delete): any 1-1024 characters."""

MIN_STARS, MAX_STARS, STAR_STEP = 0.5, 5.0, 0.5
STARS_RULE = "must be a number from 0.5 to 5.0 in steps of 0.5"

PAGE_MAX = 10_000
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 24, 100
SIMILAR_K_DEFAULT, SIMILAR_K_MAX = 12, 50
ROW_SIZE = 12
"""Most movies in one row of the home view (``GET /me/rows``)."""
MAX_MOVIE_ID = 2**31 - 1
MOVIE_LIST_MAX = 1000
"""Most movies a user's watchlist, and their not-interested list, may hold (409 beyond)."""
YEAR_MIN, YEAR_MAX = 1800, 2100
"""Range of the ``year_from``/``year_to`` filters."""

QUERY_MAX = 200
"""Longest title search (``q``) and description (``query``), in characters."""
PRINTABLE_PATTERN = r"^[^\x00-\x1f\x7f]*$"
"""Text without control characters (C0 and DEL)."""
DESCRIPTION_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
"""Printable text with at least one character that is not a space."""
TITLE_SEARCH_RULE = f"must be at most {QUERY_MAX} printable characters"
DESCRIPTION_RULE = f"must be 1-{QUERY_MAX} printable characters describing what you want"

GRID_ORDERS = ("popular", "onboarding")
"""Orders of the movie grid: most-rated first, or the newcomer's (``recommender.onboarding``)."""
GRID_ORDER_RULE = "must be 'popular' or 'onboarding'"
GRID_SHOWN_MAX = PAGE_MAX * PAGE_SIZE_MAX
"""Most places of the grid a person can have seen (``shown`` of ``GET /movies``)."""

DISCOVER_BATCH = 5
"""Movies per discover round (``recommender.discover.BATCH`` says the same)."""

DISCOVER_MIN, DISCOVER_MAX = 0.0, 1.0
DISCOVER_RULE = "must be a number from 0.0 (familiar) to 1.0 (discover)"
"""The familiar ↔ discover setting of a list (``recommender.rerank``)."""
"""Movies per discover round (``recommender.discover.BATCH`` says the same)."""

_USERNAME = re.compile(USERNAME_PATTERN, re.ASCII)


def whole_number_rule(low: int, high: int) -> str:
    return f"must be a whole number from {low} to {high}"


def username_ok(username: str) -> bool:
    """Whether ``username`` follows the rule (3-32 of ``A-Z a-z 0-9 _ . -``)."""
    return bool(_USERNAME.fullmatch(username))


def password_ok(password: str) -> bool:
    """Whether ``password`` may be a new password (8-1024 characters, no NUL)."""
    return PASSWORD_MIN <= len(password) <= PASSWORD_MAX and "\x00" not in password


def stars_ok(stars: float) -> bool:
    """Whether ``stars`` is a rating: 0.5-5.0 in steps of 0.5."""
    return MIN_STARS <= stars <= MAX_STARS and float(stars) * 2 == int(float(stars) * 2)


#: Longest session token accepted (header or cookie). The worker issues ``<user id>.<43
#: URL-safe base64 characters>`` (tokens of key layout 1: the 43 characters alone).
TOKEN_MAX = 256


def token_shaped(value: str) -> bool:
    """Whether ``value`` can be a session token: 1–``TOKEN_MAX`` ASCII letters, digits, ``-``,
    ``_`` or ``.`` (the app checks a cookie with this before sending it)."""
    return 0 < len(value) <= TOKEN_MAX and all(
        c.isascii() and (c.isalnum() or c in "-_.") for c in value
    )
