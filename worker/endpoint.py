"""``@endpoint``: one declaration per route of what it takes and answers, from the API's
models (:mod:`api.inputs`, :mod:`api.answers`).

The same declaration does three things, so they cannot drift apart:

- validates the query (``query=`` model, passed to the view as ``query``) and the JSON body
  (``body=`` model, passed as ``body``), refusing bad input with the documented 4xx;
- builds the answer: a view returns a dict (or a model) and optionally a status; it goes
  through that status's model in ``answers``, so nothing undocumented is ever sent;
- describes the operation for the OpenAPI document (:mod:`worker.openapi` reads
  ``view.operation``).

``auth``: ``"required"`` (the decorator checks the bearer token: 401), ``"optional"`` (the
view reads ``auth.current_user(required=False)``), or ``"none"``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flask import Response, current_app, jsonify, request
from pydantic import BaseModel, ValidationError

from worker import auth as tokens
from worker import validation

Auth = Literal["none", "optional", "required"]
Answer = type[BaseModel] | str | None
"""A model (JSON body), a media type such as ``"text/csv"`` (other bodies) or None (no body)."""


@dataclass(frozen=True)
class Operation:
    """What the OpenAPI document says about one route."""

    summary: str
    tag: str
    answers: dict[int, Answer]
    errors: tuple[int, ...] = ()
    auth: Auth = "none"
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    description: str | None = None

    def error_statuses(self) -> list[int]:
        """Every error status the route may answer: its own plus those of its inputs."""
        codes = {*self.errors, 414, 431, 500, 503}  # 414/431: the request line or headers too long
        if self.auth != "none":
            codes.add(401)
        if self.body is not None:
            codes |= {400, 413, 415, 422}
        if self.query is not None:
            codes.add(422)
        return sorted(codes - set(self.answers))


def _query_arguments() -> dict[str, Any]:
    """The query string as ``{name: value}``; a name given more than once keeps all its values
    as a list, which the query model then refuses (422) instead of silently using the first."""
    return {
        name: values[0] if len(values) == 1 else values
        for name, values in request.args.to_dict(flat=False).items()
    }


def _context() -> dict[str, Any]:
    """Validation context: the served catalogue's genre names, read only when a field asks."""
    return {"genres": lambda: current_app.extensions["models"].catalog.genres}


def _validated(model: type[BaseModel], data: Any) -> BaseModel:
    try:
        return model.model_validate(data, context=_context())
    except ValidationError as exc:
        raise validation.refusal(model, exc) from None


def _answer(operation: Operation, result: Any) -> Any:
    """The view's return value as a response, through the model of its status."""
    if isinstance(result, Response):
        return result
    status = 200
    if isinstance(result, tuple):
        result, status = result
    model = operation.answers.get(status)
    if isinstance(model, type) and issubclass(model, BaseModel):
        checked = result if isinstance(result, model) else model.model_validate(result)
        result = jsonify(checked.model_dump(mode="json", exclude_unset=True))
        result.status_code = status
        return result
    return result, status


def endpoint(
    summary: str,
    *,
    tag: str,
    answers: dict[int, Answer],
    errors: tuple[int, ...] = (),
    auth: Auth = "none",
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    description: str | None = None,
) -> Callable[[Callable], Callable]:
    """Declare a route (see the module docstring); put it right under ``@bp.get(...)``."""
    operation = Operation(summary, tag, answers, errors, auth, body, query, description)

    def decorate(view: Callable) -> Callable:
        @functools.wraps(view)
        def run(*args: Any, **kwargs: Any) -> Any:
            if operation.query is not None:
                kwargs["query"] = _validated(operation.query, _query_arguments())
            if operation.body is not None:
                kwargs["body"] = _validated(operation.body, validation.json_body(request))
            return _answer(operation, view(*args, **kwargs))

        wrapped = tokens.login_required(run) if auth == "required" else run
        wrapped.operation = operation  # type: ignore[attr-defined]
        return wrapped

    return decorate
