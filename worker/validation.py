"""Reading what a client sends, before any rule of the API applies; each failure is an
:class:`~worker.errors.ApiError`.

:func:`json_body` checks the framing of a JSON body (type, encoding, nesting depth, valid
JSON, an object); :func:`refusal` turns a pydantic ``ValidationError`` of the API's models
(:mod:`api.inputs`) into the 422 naming each wrong field. The field rules themselves live
in :mod:`api.rules` / :mod:`api.fields`. Nothing here touches Redis, so a request that fails
validation changes nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from flask import Request
from pydantic import BaseModel, ValidationError

from api.fields import OWN_MESSAGE, Says
from worker.errors import ApiError, validation_error

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


def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 415 if not JSON, 400 if malformed or nested deeper than
    :data:`MAX_JSON_DEPTH`, 422 when it is not an object."""
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
    return body


_GENERAL = {"missing": "required", "extra_forbidden": "unknown field"}


def _message(model: type[BaseModel], error: dict[str, Any]) -> str:
    """What the 422 says about one pydantic error: our validators' own text, else the
    field's :class:`~api.fields.Says`, else pydantic's message."""
    if error["type"] == OWN_MESSAGE:
        return error["msg"]
    if error["type"] in _GENERAL:
        return _GENERAL[error["type"]]
    field = model.model_fields.get(str(error["loc"][0])) if error["loc"] else None
    says = next((m for m in field.metadata if isinstance(m, Says)), None) if field else None
    return says.message(error["type"]) if says else error["msg"]


def refusal(model: type[BaseModel], exc: ValidationError) -> ApiError:
    """The 422 for ``exc``: ``fields`` maps each wrong input (its top-level name) to what is
    wrong with it (the first problem found, for a field with several)."""
    fields: dict[str, str] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "body"
        fields.setdefault(name, _message(model, error))
    return validation_error(fields)
