"""Request framing checks that run before Flask: chunked request bodies.

A chunked body (``Transfer-Encoding: chunked``, no ``Content-Length``) is read here, up to
``MAX_CONTENT_LENGTH`` + 1 bytes: a larger one gets **413** (before, Werkzeug silently cut it to
the limit and the route accepted the truncated body), a malformed one (bad chunk size, missing
terminator, the client hanging up) gets **400**, both in the worker's JSON error shape and
with ``Connection: close``. A body that fits is handed on as an ordinary body with a
``Content-Length``, so every route sees one kind of request.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger("worker")

READ_SIZE = 16 * 1024


def json_error(status: int, reason: str, code: str, message: str) -> tuple[str, list, bytes]:
    """``(status line, headers, body)`` of an error in the worker's JSON shape, for answers
    written outside Flask (this middleware and the gunicorn worker class)."""
    body = json.dumps({"error": {"status": status, "code": code, "message": message}}).encode()
    headers = [
        ("Content-Type", "application/json"),
        ("Content-Length", str(len(body))),
        ("X-Content-Type-Options", "nosniff"),
        ("Connection", "close"),
    ]
    return f"{status} {reason}", headers, body


class ChunkedBodyLimit:
    """WSGI middleware: read chunked bodies whole (at most ``max_bytes``), see the module doc."""

    def __init__(self, app: Callable, max_bytes: Callable[[], int | None]) -> None:
        self.app, self.max_bytes = app, max_bytes

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        if not chunked or environ.get("CONTENT_LENGTH"):
            return self.app(environ, start_response)
        limit = self.max_bytes()
        stream, parts, size = environ["wsgi.input"], [], 0
        try:
            while True:
                part = stream.read(READ_SIZE)
                if not part:
                    break
                parts.append(part)
                size += len(part)
                if limit is not None and size > limit:
                    return self._error(
                        start_response,
                        json_error(
                            413,
                            "Content Too Large",
                            "payload_too_large",
                            f"The body is larger than {limit} bytes.",
                        ),
                    )
        except Exception as exc:  # gunicorn's InvalidChunkSize, NoMoreData, ...
            log.info("malformed chunked body: %s: %s", type(exc).__name__, exc)
            return self._error(
                start_response,
                json_error(
                    400,
                    "Bad Request",
                    "bad_request_body",
                    f"The chunked body is malformed ({type(exc).__name__}); send a valid body.",
                ),
            )
        body = b"".join(parts)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        environ.pop("HTTP_TRANSFER_ENCODING", None)
        environ["wsgi.input_terminated"] = False
        return self.app(environ, start_response)

    @staticmethod
    def _error(start_response: Callable, answer: tuple[str, list, bytes]) -> list[bytes]:
        status, headers, body = answer
        start_response(status, headers)
        return [body]
