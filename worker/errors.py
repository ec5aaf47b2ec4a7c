"""One JSON shape for every error the worker returns.

``{"error": {"status": 422, "code": "validation_error", "message": "...", "fields": {...}}}``
(``fields`` only when specific inputs are wrong). Flask's own errors (404 unknown route, 405,
413 body too large, ...) and unexpected exceptions (500, logged with the stack trace, never
sent to the client) are converted to the same shape.
"""

from __future__ import annotations

import logging
from typing import Any

import redis
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException

log = logging.getLogger("worker")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error answer: HTTP ``status``, a snake_case ``code``, a message a person can act on."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        fields: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.fields, self.headers = fields, headers or {}


def validation_error(fields: dict[str, str], message: str | None = None) -> ApiError:
    """A 422 naming each wrong input in ``fields``."""
    text = message or "Invalid input: " + "; ".join(f"{k}: {v}" for k, v in fields.items())
    return ApiError(422, "validation_error", text, fields)


def error_response(status: int, code: str, message: str, fields=None, headers=None):
    body: dict[str, Any] = {"status": status, "code": code, "message": message}
    if fields:
        body["fields"] = fields
    response = jsonify({"error": body})
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


_REFUSALS = ("OOM", "MISCONF", "READONLY", "NOREPLICAS")


def _refusal(exc: redis.ResponseError) -> str | None:
    """Which write refusal of Redis ``exc`` is (``OOM``, ``MISCONF``, ...), also when a Lua
    script got it (``Error running script ... -OOM command not allowed ...``), else None."""
    if isinstance(exc, redis.exceptions.OutOfMemoryError):
        return "OOM"
    text = str(exc)
    for kind in _REFUSALS:
        if text.startswith(kind) or f"-{kind} " in text:
            return kind
    return None


def register(app: Flask) -> None:
    """Install the handlers that turn every error into the JSON shape above."""

    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError):
        return error_response(exc.status, exc.code, exc.message, exc.fields, exc.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        status = exc.code or 500
        headers = {k: v for k, v in exc.get_headers() if k in ("Allow", "Retry-After")}
        message = exc.description or exc.name
        return error_response(status, _HTTP_CODES.get(status, "http_error"), message, None, headers)

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    @app.errorhandler(redis.exceptions.RedisClusterException)  # no node of a cluster answers
    @app.errorhandler(redis.exceptions.ClusterDownError)  # a cluster with slots not served
    def _storage_down(exc: Exception):
        log.error("redis unavailable: %s", exc)
        return error_response(
            503,
            "storage_unavailable",
            "Storage is unavailable; try again shortly.",
            headers={"Retry-After": "5"},
        )

    @app.errorhandler(redis.ResponseError)
    def _storage_refused(exc: redis.ResponseError):
        # Redis refuses writes when it is out of memory (OOM, at maxmemory) or cannot persist
        # (MISCONF: the disk for the AOF/RDB is full or failing): nothing was written.
        text = str(exc)
        kind = _refusal(exc)
        if kind is not None:
            log.error("redis refused a write: %s", text)
            full = kind in ("OOM", "MISCONF")
            return error_response(
                503,
                "storage_full" if full else "storage_unavailable",
                "Storage is full and cannot take changes right now; nothing was saved. "
                "Try again later."
                if full
                else "Storage is unavailable; try again shortly.",
                headers={"Retry-After": "30" if full else "5"},
            )
        return _unexpected(exc)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error")
        return error_response(500, "internal_error", "Something went wrong on our side.")
