"""The gunicorn worker class the worker is served with: gunicorn's threaded worker (``gthread``)
that answers gunicorn's own errors in the worker's JSON error shape.

gunicorn answers some requests before our Flask app sees them: a request line over
``limit_request_line`` (414), too many or too large header lines (431), a malformed request
line, method, version or header (400), an unsupported transfer coding (501), and a crash
outside the app (500). Stock gunicorn writes those as HTML pages; :class:`JsonThreadWorker`
keeps gunicorn's choice of status and message (and its logging) and writes
``{"error": {"status", "code", "message"}}`` instead, with ``Connection: close``.

**Slow clients.** Stock ``gthread`` gives a connection a thread as soon as its first bytes
arrive, and the thread then waits for the rest of the request: a few dozen clients that
trickle a header line every few seconds hold every thread, and the worker is unreachable.
:class:`JsonThreadWorker` reads each request in its event loop instead (non-blocking, no
thread), the way a buffering proxy such as nginx does: the headers, and a body of up to
``BUFFER_BODY_MAX`` bytes (``Content-Length``, or chunked up to its last chunk). Only a whole
request is handed to a thread. A client that has not sent its whole request within
``WORKER_READ_TIMEOUT`` seconds (default 15) gets **408** (JSON) and is disconnected; the same
timeout bounds each later read or write of a thread on that connection (larger bodies,
``Expect: 100-continue``), so a stalled client cannot hold a thread for long either.

Use it with ``gunicorn -c worker/gunicorn.conf.py`` (which names it as ``worker_class``).
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import selectors
import socket
import time
from functools import partial

from gunicorn import util
from gunicorn.workers.gthread import TConn, ThreadWorker

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
    408: "The request did not arrive in time; send it again, all at once.",
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


BUFFER_BODY_MAX = 1024 * 1024
"""Bodies up to this size are read in the event loop before a thread is used."""
BUFFER_MAX = 2 * 1024 * 1024
"""Past this many buffered bytes the request goes to a thread as it is (the parser then
answers 431 / 413 as the limits say)."""
_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length[ \t]*:[ \t]*([0-9]{1,18})[ \t]*\r\n", re.I)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding[ \t]*:[^\r\n]*chunked", re.I)
_EXPECT_CONTINUE = re.compile(rb"\r\nexpect[ \t]*:[ \t]*100-continue", re.I)


def read_timeout() -> float:
    """``WORKER_READ_TIMEOUT`` seconds (default 15): the time a client has to send a request."""
    return float(os.environ.get("WORKER_READ_TIMEOUT", "") or 15)


def request_complete(buf: bytes) -> bool:
    """Whether ``buf`` holds a whole request as far as it needs buffering: the end of the
    headers and then the body (``Content-Length`` bytes, or chunked up to the last chunk),
    unless the body is over :data:`BUFFER_BODY_MAX` or the client waits for ``100 Continue``."""
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return len(buf) > BUFFER_MAX
    head = buf[: end + 2]
    if _EXPECT_CONTINUE.search(head):
        return True
    body = len(buf) - end - 4
    if _CHUNKED.search(head):
        return buf.endswith(b"0\r\n\r\n") or body > BUFFER_BODY_MAX
    found = _CONTENT_LENGTH.search(head)
    length = int(found.group(1)) if found else 0
    return body >= min(length, BUFFER_BODY_MAX)


class TimedSocket:
    """A client socket whose blocking mode has a timeout: every read or write a thread does
    on it gives up after ``timeout`` seconds (gunicorn switches sockets to "blocking" with
    ``setblocking(True)``, which would otherwise mean "wait forever")."""

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock, self._timeout = sock, timeout

    def setblocking(self, flag: bool) -> None:
        if flag:
            self._sock.settimeout(self._timeout)
        else:
            self._sock.setblocking(False)

    def __getattr__(self, name: str):
        return getattr(self._sock, name)


class JsonThreadWorker(ThreadWorker):
    """gunicorn's ``gthread`` worker whose own error answers are JSON and which reads whole
    requests before giving them a thread (see the module doc)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout()
        self.reading: dict[TConn, float] = {}  # connection -> deadline of its request

    def init_process(self) -> None:
        # gunicorn's Worker.handle_error picks status, reason and message, logs, then calls
        # util.write_error: replacing that one function in this (worker) process changes only
        # the body format, and keeps up with gunicorn's list of errors.
        util.write_error = write_json_error
        super().init_process()

    # --- reading requests in the event loop ------------------------------------------------

    def accept(self, listener) -> None:
        if self.cfg.is_ssl:  # TLS in gunicorn (not used: it ends at the Ingress): stock path
            return super().accept(listener)
        try:
            client_sock, client_addr = listener.accept()
        except OSError as e:
            if e.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = TConn(self.cfg, client_sock, client_addr, listener.getsockname())
        conn.sock = TimedSocket(conn.sock, self.read_timeout)
        self._read(conn)

    def on_client_socket_readable(self, conn, client) -> None:
        """A kept-alive connection sends its next request: buffer that one too."""
        if self.cfg.is_ssl:
            return super().on_client_socket_readable(conn, client)
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._read(conn)
        self._on_bytes(conn, client)

    def _read(self, conn: TConn) -> None:
        conn.buffered = bytearray()
        self.reading[conn] = time.monotonic() + self.read_timeout
        self.poller.register(conn.sock, selectors.EVENT_READ, partial(self._on_bytes, conn))

    def _on_bytes(self, conn: TConn, _sock) -> None:
        try:
            data = conn.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client hung up
            self._forget(conn)
            self.nr_conns -= 1
            conn.close()
            return
        conn.buffered += data
        if request_complete(conn.buffered):
            self._forget(conn)
            conn.data_ready = True
            self.enqueue_req(conn)

    def _forget(self, conn: TConn) -> None:
        if self.reading.pop(conn, None) is not None:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self.poller.unregister(conn.sock)

    def handle(self, conn: TConn):
        """Runs in a thread: give the buffered bytes to the parser, then serve as usual."""
        buffered = getattr(conn, "buffered", None)
        if buffered:
            conn.buffered = None
            conn.sock.setblocking(True)
            conn.init()
            conn.parser.unreader.unread(bytes(buffered))
        return super().handle(conn)

    def murder_pending(self) -> None:
        """Also answer 408 to connections whose request did not arrive in time."""
        super().murder_pending()
        now = time.monotonic()
        for conn, deadline in list(self.reading.items()):
            if deadline > now:
                continue
            self._forget(conn)
            self.nr_conns -= 1
            with contextlib.suppress(OSError):
                write_json_error(conn.sock, 408, "Request Timeout", "")
                conn.sock.shutdown(socket.SHUT_WR)  # FIN after the answer, then close
            conn.close()
