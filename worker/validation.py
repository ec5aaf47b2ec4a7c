"""Checks on everything a client sends; each failure is an :class:`~worker.errors.ApiError`.

Nothing here touches Redis, so a request that fails validation changes nothing.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from flask import Request

from worker.errors import ApiError, validation_error

USERNAME_RE = re.compile(r"[A-Za-z0-9_.-]{3,32}", re.ASCII)
PASSWORD_MIN, PASSWORD_MAX = 8, 1024
PAGE_MAX = 10_000
PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 24, 100
QUERY_MAX = 200
MIN_STARS, MAX_STARS, STAR_STEP = 0.5, 5.0, 0.5
MAX_JSON_DEPTH = 32
"""Deepest nesting of arrays/objects a body may have (ours need 2); deeper gets 400."""

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKET = re.compile(r"[\[\]{}]")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _parse_int(digits: str) -> int:
    if len(digits) > 100:
        raise ValueError(f"a number of {len(digits)} digits is longer than any field allows")
    return int(digits)


def json_depth(text: str) -> int:
    """How deeply arrays/objects nest in a JSON text (brackets inside strings do not count).

    One linear scan without recursion, so any depth is measured safely; for malformed text the
    figure is still an upper bound of what a parser would have to recurse into."""
    depth = deepest = 0
    for match in _JSON_BRACKET.finditer(_JSON_STRING.sub("", text)):
        if match.group() in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def json_body(request: Request, allowed: set[str]) -> dict[str, Any]:
    """The request's JSON object; 415 if not JSON, 400 if malformed or nested deeper than
    :data:`MAX_JSON_DEPTH`, 422 on unknown fields."""
    if not request.is_json:
        raise ApiError(415, "unsupported_media_type", "Send the body as application/json.")
    raw = request.get_data(cache=True)  # 413 from Flask when over MAX_CONTENT_LENGTH
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
    if json_depth(text) > MAX_JSON_DEPTH:
        raise ApiError(
            400,
            "json_too_deep",
            f"The body is nested more than {MAX_JSON_DEPTH} levels deep; send a flat object.",
        )
    try:
        body = json.loads(text, parse_constant=_reject_constant, parse_int=_parse_int)
    except (RecursionError, ValueError) as exc:
        raise ApiError(400, "invalid_json", f"The body is not valid JSON: {exc}") from None
    if not isinstance(body, dict):
        raise validation_error({"body": "must be a JSON object"})
    unknown = sorted(set(body) - allowed)
    if unknown:
        raise validation_error({name: "unknown field" for name in unknown})
    return body


def username(value: Any) -> str:
    """A username of 3–32 characters from A–Z, a–z, 0–9, ``_ . -``."""
    if not isinstance(value, str) or not USERNAME_RE.fullmatch(value):
        raise validation_error(
            {"username": "must be 3-32 characters: letters A-Z, digits, '_', '.', '-'"}
        )
    return value


def password(value: Any) -> str:
    """A password of 8–1024 characters (any Unicode except NUL)."""
    if not isinstance(value, str) or not (PASSWORD_MIN <= len(value) <= PASSWORD_MAX):
        raise validation_error(
            {"password": f"must be a string of {PASSWORD_MIN}-{PASSWORD_MAX} characters"}
        )
    if "\x00" in value:
        raise validation_error({"password": "must not contain NUL characters"})
    return value


def stars(value: Any) -> float:
    """A rating 0.5–5.0 in steps of 0.5 (a JSON number, not a string or boolean)."""
    ok = (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and MIN_STARS <= value <= MAX_STARS
        and float(value) * 2 == int(float(value) * 2)
    )
    if not ok:
        raise validation_error({"rating": "must be a number from 0.5 to 5.0 in steps of 0.5"})
    return float(value)


def _int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if not re.fullmatch(r"[0-9]{1,7}", raw):
        raise validation_error({name: f"must be a whole number from {low} to {high}"})
    value = int(raw)
    if not low <= value <= high:
        raise validation_error({name: f"must be a whole number from {low} to {high}"})
    return value


def paging(request: Request) -> tuple[int, int]:
    """``(page, page_size)`` from the query: page 1..10000 (default 1), page_size 1..100 (24)."""
    page = _int_arg(request, "page", 1, 1, PAGE_MAX)
    size = _int_arg(request, "page_size", PAGE_SIZE_DEFAULT, 1, PAGE_SIZE_MAX)
    return page, size


def small_int_arg(request: Request, name: str, default: int, low: int, high: int) -> int:
    return _int_arg(request, name, default, low, high)


def genre_list(value: Any, known: list[str], field: str = "genres") -> list[str]:
    """1..len(known) distinct known genre names, in the order given."""
    if not isinstance(value, list) or not value or not all(isinstance(g, str) for g in value):
        raise validation_error({field: "must be a non-empty list of genre names"})
    unknown = [g for g in value if g not in set(known)]
    if unknown:
        shown = ", ".join(repr(g[:40]) for g in unknown[:5])
        raise validation_error({field: f"unknown genres: {shown}; see GET /api/v1/genres"})
    if len(set(value)) != len(value):
        raise validation_error({field: "must not repeat a genre"})
    return list(value)


def title_query(request: Request) -> str | None:
    """The title search ``q`` (at most 200 characters, no control characters) or ``None``."""
    q = request.args.get("q")
    if q is None or not q.strip():
        return None
    if len(q) > QUERY_MAX or any(ord(c) < 32 or ord(c) == 127 for c in q):
        raise validation_error({"q": f"must be at most {QUERY_MAX} printable characters"})
    return q.strip()


def description_query(request: Request) -> str | None:
    """The free-text ``query`` of recommendations (1-200 printable characters, not blank), or
    ``None`` when the parameter is absent. Present but blank or too long: 422."""
    query = request.args.get("query")
    if query is None:
        return None
    if (
        not query.strip()
        or len(query) > QUERY_MAX
        or any(ord(c) < 32 or ord(c) == 127 for c in query)
    ):
        raise validation_error(
            {"query": f"must be 1-{QUERY_MAX} printable characters describing what you want"}
        )
    return query.strip()


def page_of(items_total: int, page: int, size: int) -> dict[str, Any]:
    """The paging fields of a paged response: page, page_size, total, next_page."""
    next_page = page + 1 if page * size < items_total else None
    return {"page": page, "page_size": size, "total": items_total, "next_page": next_page}
