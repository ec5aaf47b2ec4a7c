"""The gunicorn worker class the worker is served with: gunicorn's threaded worker (``gthread``)
that answers gunicorn's own errors in the worker's JSON error shape.

gunicorn answers some requests before our Flask app sees them: a request line over
``limit_request_line`` (414), too many or too large header lines (431), a malformed request
line, method, version or header (400), an unsupported transfer coding (501), and a crash
outside the app (500). Stock gunicorn writes those as HTML pages; :class:`JsonThreadWorker`
keeps gunicorn's choice of status and message (and its logging) and writes
``{"error": {"status", "code", "message"}}`` instead, with ``Connection: close``.

Use it with ``gunicorn -c python:worker.gunicorn_conf`` (which names it as ``worker_class``).
"""

from __future__ import annotations

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

from worker.framing import json_error

GUNICORN_ERROR_CODES = {
    400: "bad_request",
    403: "forbidden",
    408: "request_timeout",
    413: "payload_too_large",
    414: "request_line_too_long",
    417: "expectation_failed",
    431: "headers_too_large",
    500: "internal_error",
    501: "not_implemented",
}

GUNICORN_MESSAGES = {
    414: "The request line (method and URL) is too long; send a shorter URL.",
    431: "Too many or too large request headers; send fewer or shorter headers.",
    500: "Something went wrong on our side.",
}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:
    """Drop-in for ``gunicorn.util.write_error``: the same answer as JSON."""
    code = GUNICORN_ERROR_CODES.get(status_int, "http_error")
    message = GUNICORN_MESSAGES.get(status_int) or f"Bad request: {mesg}".strip().rstrip(":")
    status, headers, body = json_error(status_int, reason, code, message)
    head = "".join(f"{name}: {value}\r\n" for name, value in headers)
    util.write_nonblock(sock, f"HTTP/1.1 {status}\r\n{head}\r\n".encode("latin-1") + body)


class JsonThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker whose own error answers are JSON (see the module doc)."""

    def init_process(self) -> None:
        # gunicorn's Worker.handle_error picks status, reason and message, logs, then calls
        # util.write_error: replacing that one function in this (worker) process changes only
        # the body format, and keeps up with gunicorn's list of errors.
        util.write_error = write_json_error
        super().init_process()
