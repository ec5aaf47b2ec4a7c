"""The OpenAPI 3.1 document of the worker, generated — never written by hand.

Paths and methods come from Flask's ``url_map``; what each route takes and answers from its
``@endpoint`` declaration (:mod:`worker.endpoint`); every schema from the pydantic models
(``model_json_schema``). A route registered without ``@endpoint`` is left out, and
``tests/integration/test_worker_openapi.py`` fails on it. Served at ``GET /api/v1/openapi.json``.

Genre names are an ``enum`` of the served catalogue's genres once it is loaded (before, just
strings), so the document states exactly which names ``PUT /me/genres`` and
``GET /movies?genres=`` accept.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from api.answers import Error
from api.fields import GENRE_MARK
from worker.endpoint import Operation

JSON = "application/json"
REF = "#/components/schemas/{model}"

ERROR_TEXT = {
    400: "Malformed JSON body",
    401: "Missing, invalid, expired or revoked token",
    403: "Wrong password",
    404: "Not found",
    409: "Conflict",
    413: "Body larger than 64 KiB",
    414: "Request line (method and URL) longer than 4094 bytes",
    415: "Body is not application/json",
    422: "Invalid input (see error.fields)",
    429: "Too many attempts (see Retry-After)",
    431: "Too many or too large header lines",
    500: "Unexpected server error",
    503: "Models still loading or storage unavailable (see Retry-After)",
}
SECURITY = {"none": [], "optional": [{}, {"bearerAuth": []}], "required": [{"bearerAuth": []}]}
_RULE_PARAM = re.compile(r"<(?:([^:<>]+):)?([^<>]+)>")
"""A Flask rule's variable: ``<int:movie_id>`` (converter, name) or ``<name>``."""


def operations(app: Flask) -> list[tuple[str, str, Operation, Any]]:
    """``(OpenAPI path, method, operation, url rule)`` of every declared route."""
    found = []
    for rule in app.url_map.iter_rules():
        operation = getattr(app.view_functions[rule.endpoint], "operation", None)
        if operation is None:
            continue
        path = _RULE_PARAM.sub(r"{\2}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            found.append((path, method.lower(), operation, rule))
    return found


def _schemas(ops: list[Operation]) -> tuple[dict, dict[tuple[type[BaseModel], str], Any]]:
    """Every model's JSON Schema under ``components/schemas``; refs by (model, mode)."""
    wanted: set[tuple[type[BaseModel], str]] = {(Error, "serialization")}
    for op in ops:
        if op.body is not None:
            wanted.add((op.body, "validation"))
        for answer in op.answers.values():
            if isinstance(answer, type) and issubclass(answer, BaseModel):
                wanted.add((answer, "serialization"))
    ordered = sorted(wanted, key=lambda pair: (pair[0].__name__, pair[1]))
    refs, top = models_json_schema(ordered, ref_template=REF)
    return top.get("$defs", {}), refs


def _query_parameters(model: type[BaseModel]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    params = []
    for name, prop in schema["properties"].items():
        prop = {k: v for k, v in prop.items() if k != "title"}
        if prop.get("default", 0) is None:
            del prop["default"]
        param: dict[str, Any] = {"name": name, "in": "query", "required": False}
        if "description" in prop:
            param["description"] = prop.pop("description")
        if prop.get("type") == "array":
            param.update(style="form", explode=False)  # genres=Action,Comedy
        param["schema"] = prop
        params.append(param)
    return params


def _path_parameters(rule: Any) -> list[dict[str, Any]]:
    params = []
    for converter, name in _RULE_PARAM.findall(rule.rule):
        schema = {"type": "integer" if converter == "int" else "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return params


def _error(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": ERROR_TEXT[status],
        "content": {JSON: {"schema": {"$ref": REF.format(model="Error")}}},
    }
    if status in (429, 503):
        answer["headers"] = {"Retry-After": {"schema": {"type": "string"}}}
    return answer


def _answer(status: int, answer: Any, refs: dict) -> dict[str, Any]:
    description = "OK" if status < 300 else ERROR_TEXT.get(status, "Not ready")
    if answer is None:
        return {"description": "No content" if status == 204 else description}
    if isinstance(answer, str):  # a media type
        binary = {"format": "binary"} if answer.startswith("image/") else {}
        schema = {"type": "string", **binary}
        return {"description": description, "content": {answer: {"schema": schema}}}
    schema = refs[(answer, "serialization")]
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _operation(op: Operation, rule: Any, refs: dict) -> dict[str, Any]:
    responses = {str(s): _answer(s, a, refs) for s, a in sorted(op.answers.items())}
    responses.update({str(s): _error(s) for s in op.error_statuses()})
    out: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "security": SECURITY[op.auth]}
    if op.description:
        out["description"] = op.description
    params = _path_parameters(rule) + (_query_parameters(op.query) if op.query else [])
    if params:
        out["parameters"] = params
    if op.body is not None:
        schema = refs[(op.body, "validation")]
        out["requestBody"] = {"required": True, "content": {JSON: {"schema": schema}}}
    out["responses"] = responses
    return out


def _fill_genres(node: Any, genres: list[str] | None) -> Any:
    """Replace each genre-name mark by an ``enum`` of ``genres`` (or a plain string)."""
    if isinstance(node, dict):
        if node.get(GENRE_MARK):
            return {"type": "string", "enum": list(genres)} if genres else {"type": "string"}
        return {k: _fill_genres(v, genres) for k, v in node.items()}
    if isinstance(node, list):
        return [_fill_genres(v, genres) for v in node]
    return node


def document(app: Flask, genres: list[str] | None = None) -> dict[str, Any]:
    """The whole document for ``app``; ``genres``: the catalogue's genre names, if loaded."""
    cache = app.extensions.setdefault("openapi", {})
    key = tuple(genres or ())
    if key not in cache:
        found = operations(app)
        schemas, refs = _schemas([op for _, _, op, _ in found])
        paths: dict[str, dict[str, Any]] = {}
        for path, method, op, rule in found:
            paths.setdefault(path, {})[method] = _operation(op, rule, refs)
        doc = {
            "openapi": "3.1.0",
            "info": {
                "title": "Movie recommender worker",
                "version": "1.0.0",
                "description": "Generated from the API's pydantic models (api/); see "
                "docs/api.md. Errors share one shape (Error).",
            },
            "servers": [{"url": "/"}],
            "paths": paths,
            "components": {
                "schemas": schemas,
                "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
            },
        }
        cache.clear()  # one catalogue at a time
        cache[key] = _fill_genres(doc, genres)
    return cache[key]
