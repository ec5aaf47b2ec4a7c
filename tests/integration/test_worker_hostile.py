"""A hostile client against a real gunicorn worker (the production config, one process, its
own redis-server): request framing (chunked, oversized, malformed), errors gunicorn itself
answers (long request lines, header floods, bad request lines and paths), slow clients, and
floods of sign-ups. Every answer is checked for: no 5xx, the worker's JSON error shape, and
nothing changed in Redis.
"""

from __future__ import annotations

import json
import select
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest
import redis

from tests.helpers import PASSWORD
from tests.integration.test_worker_validation import snapshot
from worker.embedded_redis import start_embedded_redis
from worker.store import keys

API = "/api/v1"
READ_TIMEOUT = 3
"""Seconds the hostile worker gives a client to send a whole request (production: 15)."""


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, data_dir, empty_artifacts):
    """``(base url, redis client)`` of a gunicorn worker on its own Redis, with a user
    ``victim`` who rated movie 1 (token in ``hostile.token``)."""
    from worker.launch import start_worker

    folder = tmp_path_factory.mktemp("hostile")
    server = start_embedded_redis(folder / "redis")
    config = {
        "BCRYPT_ROUNDS": 4,
        "RECOMMENDER_MODEL": "popularity",
        "ARTIFACTS_DIR": str(empty_artifacts),
    }
    worker = start_worker(
        server.url,
        processes=1,
        threads=4,
        app_config=config,
        log_path=folder / "worker.log",
        env={"WORKER_READ_TIMEOUT": str(READ_TIMEOUT)},
    )
    db = redis.Redis.from_url(server.url, decode_responses=True)
    try:
        yield worker.url, db
    finally:
        worker.stop()
        server.stop()


@pytest.fixture(scope="module")
def token(hostile) -> str:
    url, _ = hostile
    body = json.dumps({"username": "victim", "password": PASSWORD}).encode()
    assert request(url, "POST", f"{API}/auth/signup", body)[0] == 201
    status, _, answer = request(url, "POST", f"{API}/auth/login", body)
    assert status == 200
    token = json.loads(answer)["token"]
    rate = json.dumps({"rating": 4.5}).encode()
    assert request(url, "PUT", f"{API}/me/ratings/1", rate, token=token)[0] == 200
    return token


def raw(
    url: str, data: bytes, timeout: float = 10.0, *, half_close: bool = False
) -> tuple[int, dict[str, str], bytes]:
    """Send ``data`` as is on a new connection (then, with ``half_close``, end the sending
    side as a client that has nothing more to say); the answer's status, headers, body."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        return read_answer(sock)


def read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """Read one HTTP/1.1 answer (the worker closes or gives a Content-Length)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        more = sock.recv(65536)
        if not more:
            raise ConnectionError(f"closed before an answer: {buf[:200]!r}")
        buf += more
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines[1:])}
    length = int(headers.get("content-length", -1))
    while length < 0 or len(body) < length:
        try:
            more = sock.recv(65536)
        except ConnectionResetError:
            break
        if not more:
            break
        body += more
    return status, headers, body


def request(url, method, path, body=b"", *, token=None, headers=None):
    """One well-framed request with a Content-Length (and a JSON type when there is a body)."""
    lines = [f"{method} {path} HTTP/1.1", "Host: localhost", "Connection: close"]
    if body:
        lines += ["Content-Type: application/json", f"Content-Length: {len(body)}"]
    if token:
        lines.append(f"Authorization: Bearer {token}")
    lines += list(headers or [])
    return raw(url, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def chunked(body: bytes, size: int = 4096) -> bytes:
    """``body`` in chunked transfer coding."""
    out = b""
    for start in range(0, len(body), size):
        piece = body[start : start + size]
        out += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    return out + b"0\r\n\r\n"


def head(method: str, path: str, token: str, extra: str = "") -> bytes:
    return (
        f"{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n{extra}"
    ).encode()


def assert_json_error(status: int, headers: dict, body: bytes, expected: int) -> dict:
    assert status == expected, (status, body[:300])
    assert headers.get("content-type", "").startswith("application/json"), (headers, body[:200])
    error = json.loads(body)["error"]
    assert error["status"] == expected and error["code"] and error["message"]
    return error


# --------------------------------------------------------------------------- chunked bodies


def test_chunked_body_over_the_limit_is_413_and_changes_nothing(hostile, token):
    url, db = hostile
    before = snapshot(db)
    big = json.dumps({"rating": 3.0, "pad": "x" * (200 * 1024)}).encode()
    data = head("PUT", f"{API}/me/ratings/1", token, "Transfer-Encoding: chunked\r\n\r\n")
    assert_json_error(*raw(url, data + chunked(big)), 413)
    assert snapshot(db) == before


def test_chunked_body_within_the_limit_is_accepted(hostile, token):
    url, db = hostile
    data = head("PUT", f"{API}/me/ratings/2", token, "Transfer-Encoding: chunked\r\n\r\n")
    status, _, body = raw(url, data + chunked(json.dumps({"rating": 3.5}).encode(), size=3))
    assert status == 200, body
    assert db.hget(keys.ratings(db.get("username:victim")), "2") == "3.5"
    request(url, "DELETE", f"{API}/me/ratings/2", token=token)


@pytest.mark.parametrize(
    "framing",
    [
        b"zz\r\n{}\r\n0\r\n\r\n",  # chunk size not hex
        b"5\r\n{}\r\n0\r\n\r\n",  # chunk shorter than announced
        b"2\r\n{}XX0\r\n\r\n",  # missing CRLF after the chunk
        b"ffffffffffffffffffffff\r\n{}\r\n0\r\n\r\n",  # absurd chunk size
    ],
)
def test_malformed_chunked_body_is_a_json_400(hostile, token, framing):
    url, db = hostile
    before = snapshot(db)
    data = head("PUT", f"{API}/me/ratings/1", token, "Transfer-Encoding: chunked\r\n\r\n")
    assert_json_error(*raw(url, data + framing, half_close=True), 400)
    assert snapshot(db) == before


# --------------------------------------------------------------------------- gunicorn's own errors

GUNICORN_ERRORS = {
    "request line too long": (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", 414),
    "too many headers": (
        b"GET /healthz HTTP/1.1\r\n" + b"".join(b"X-%d: 1\r\n" % i for i in range(150)) + b"\r\n",
        431,
    ),
    "header line too large": (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n",
        431,
    ),
    "garbage request line": (b"HELLO\r\n\r\n", 400),
    "bad method": (b"G@T / HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "bad version": (b"GET / HTTP/9.9\r\nHost: x\r\n\r\n", 400),
    "header without colon": (b"GET / HTTP/1.1\r\nHost: x\r\nBroken\r\n\r\n", 400),
    "NUL in the path": (b"GET /api/v1/\x00movies HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "space in the path": (b"GET /api /v1 HTTP/1.1\r\nHost: x\r\n\r\n", 400),
    "unknown transfer coding": (
        b"POST /api/v1/auth/login HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
        400,
    ),
}


@pytest.mark.parametrize("name", GUNICORN_ERRORS)
def test_errors_gunicorn_answers_itself_are_json(hostile, name):
    url, db = hostile
    data, expected = GUNICORN_ERRORS[name]
    before = snapshot(db)
    error = assert_json_error(*raw(url, data, half_close=True), expected)
    assert "<html" not in error["message"].lower()
    assert snapshot(db) == before


@pytest.mark.parametrize(
    "path",
    [
        b"/api/v1/movies/%ff%fe",  # percent-encoded invalid UTF-8
        b"/api/v1/\xff\xfe",  # raw invalid UTF-8
        b"/api/v1/movies?q=%00",  # NUL in the query
        b"/%2e%2e/%2e%2e/etc/passwd",
    ],
)
def test_odd_paths_get_a_json_4xx(hostile, path):
    url, _ = hostile
    status, headers, body = raw(
        url, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\n\r\n", half_close=True
    )
    assert 400 <= status < 500, (status, body[:200])
    assert headers["content-type"].startswith("application/json")
    assert json.loads(body)["error"]["status"] == status


def test_every_way_of_serving_uses_the_gunicorn_settings():
    """The image, the Kubernetes Deployment, ``python -m worker`` and the fixtures all run with
    worker/gunicorn.conf.py (its worker class writes gunicorn's errors as JSON), the one place
    gunicorn settings are written."""
    from worker.launch import GUNICORN_CONF, gunicorn_settings

    root = GUNICORN_CONF.parents[1]
    assert GUNICORN_CONF.relative_to(root).as_posix() == "worker/gunicorn.conf.py"
    command = ["gunicorn", "-c", "worker/gunicorn.conf.py", "worker.app:create_app()"]
    assert f"CMD {json.dumps(command)}" in (root / "Dockerfile.worker").read_text()
    manifest = (root / "k8s/base/worker.yaml").read_text()
    assert "".join(f"            - {arg}\n" for arg in command) + "          ports:" in manifest
    assert "gunicorn_settings()" in (root / "worker/__main__.py").read_text()
    assert "str(GUNICORN_CONF)" in (root / "worker/launch.py").read_text()
    assert gunicorn_settings()["worker_class"] == "worker.gunicorn_worker.JsonThreadWorker"


def test_each_process_hands_the_gil_on_within_a_millisecond():
    """A cached page waits at most ~1 ms, not Python's 5 ms, each time it needs the GIL back
    from a thread computing a fresh list (gunicorn's ``post_fork`` sets it in each process)."""
    import sys

    from worker.launch import gunicorn_settings

    settings = gunicorn_settings()
    before = sys.getswitchinterval()
    try:
        settings["post_fork"](None, None)
        assert sys.getswitchinterval() == pytest.approx(0.001)
    finally:
        sys.setswitchinterval(before)


# --------------------------------------------------------------------------- slow clients


def _trickle(url: str, lines: list[bytes], pause: float, stop: threading.Event, out: list):
    """Open a connection and send one line every ``pause`` seconds until told to stop or the
    server answers; appends the server's status (or None when it just closed) to ``out``."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        try:
            for line in lines:
                if select.select([sock], [], [], 0)[0]:
                    break  # the server answered (or closed) before the request was complete
                sock.sendall(line)
                if stop.wait(pause):
                    break
            out.append(read_answer(sock)[0])
        except (OSError, ConnectionError):
            out.append(None)


@pytest.mark.parametrize("kind", ["headers", "body"])
def test_slow_clients_do_not_make_the_worker_unreachable(hostile, token, kind):
    """32 connections trickle a request (one header line, or one body byte, every 0.5 s) at a
    worker with 4 threads: other requests are still answered at once, and each slow
    connection gets a JSON 408 when its READ_TIMEOUT is over."""
    url, _ = hostile
    if kind == "headers":
        lines = [b"GET /healthz HTTP/1.1\r\n"] + [b"X-Slow-%d: 1\r\n" % i for i in range(50)]
    else:
        start = head("PUT", f"{API}/me/ratings/1", token, "Content-Length: 40\r\n\r\n")
        lines = [start] + [b" "] * 50
    stop, out = threading.Event(), []
    slow = [
        threading.Thread(target=_trickle, args=(url, lines, 0.5, stop, out), daemon=True)
        for _ in range(32)
    ]
    for thread in slow:
        thread.start()
    time.sleep(1.0)  # every slow connection is open and has sent something
    try:
        for _ in range(5):
            started = time.monotonic()
            status, _, _ = request(url, "GET", "/healthz")
            assert status == 200
            assert time.monotonic() - started < 1.0, "a normal request waited behind slow ones"
            time.sleep(0.1)
        for thread in slow:
            thread.join(timeout=READ_TIMEOUT + 5)
        assert out.count(408) == 32, out
    finally:
        stop.set()


# --------------------------------------------------------------------------- bodies over the wire

BAD_BODIES = {
    "deeply nested": (b"[" * 5000 + b"]" * 5000, 400),
    "deep inside a field": (b'{"rating": ' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
    "malformed": (b'{"rating": 4', 400),
    "invalid UTF-8": (b'{"rating": "\xff\xfe"}', 400),
    "NUL inside": (b'{"rating": 4\x00}', 400),
    "NaN": (b'{"rating": NaN}', 400),
    "huge number": (b'{"rating": 1' + b"0" * 5000 + b"}", 400),
    "oversized": (b'{"rating": 4, "pad": "' + b"x" * (200 * 1024) + b'"}', 413),
    "a list": (b"[4]", 422),
}


@pytest.mark.parametrize("name", BAD_BODIES)
@pytest.mark.parametrize(
    "method,path",
    [("PUT", f"{API}/me/ratings/1"), ("POST", f"{API}/auth/login"), ("PUT", f"{API}/me/genres")],
)
def test_bad_bodies_get_a_json_4xx_and_change_nothing(hostile, token, name, method, path):
    url, db = hostile
    body, expected = BAD_BODIES[name]
    before = snapshot(db)
    status, headers, answer = request(url, method, path, body, token=token)
    error = assert_json_error(status, headers, answer, expected)
    assert "sys." not in error["message"]  # a message for a person, not Python's
    assert snapshot(db) == before


def test_a_client_that_hangs_up_mid_body_changes_nothing(hostile, token):
    """A body shorter than its Content-Length, then the client stops sending: the request is
    dropped (no one to answer a request that never arrived), nothing is written, and the
    worker goes on serving."""
    url, db = hostile
    before = snapshot(db)
    data = head("PUT", f"{API}/me/ratings/1", token, "Content-Length: 100\r\n\r\n") + b'{"ra'
    with pytest.raises(ConnectionError, match="closed before an answer"):
        raw(url, data, half_close=True)
    assert snapshot(db) == before
    assert request(url, "GET", "/healthz")[0] == 200


# --------------------------------------------------------------------------- floods (run last)


def _at_once(count: int, send) -> list[int]:
    barrier = threading.Barrier(count)
    codes = [0] * count

    def run(i: int) -> None:
        barrier.wait()
        codes[i] = send(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return codes


def test_a_login_burst_gets_no_more_than_the_limit_of_checks(hostile, token):
    url, _ = hostile
    body = {"username": "victim", "password": "a wrong guess"}

    def send(i: int) -> int:
        payload = json.dumps({**body, "password": f"wrong guess {i}"}).encode()
        status, headers, answer = request(url, "POST", f"{API}/auth/login", payload)
        if status != 401:
            assert_json_error(status, headers, answer, 429)
            assert int(headers["retry-after"]) > 0
        return status

    codes = _at_once(16, send)
    assert codes.count(401) == 5 and codes.count(429) == 11, codes
    right = json.dumps({"username": "victim", "password": PASSWORD}).encode()
    assert request(url, "POST", f"{API}/auth/login", right)[0] == 429  # the limit holds


def test_a_sign_up_flood_from_one_address_is_cut_at_the_limit(hostile):
    """30 sign-ups at once from one address: at most 10 per hour get through (429 JSON with
    Retry-After for the rest), and Redis holds exactly the accounts that were answered 201."""
    url, db = hostile
    users_before = db.scard("users")
    used = int(db.get("signups:addr:127.0.0.1") or 0)

    def send(i: int) -> int:
        payload = json.dumps({"username": f"flood{i:02d}", "password": "flood password"})
        status, headers, answer = request(url, "POST", f"{API}/auth/signup", payload.encode())
        if status != 201:
            assert_json_error(status, headers, answer, 429)
            assert int(headers["retry-after"]) > 0
        return status

    codes = _at_once(30, send)
    assert codes.count(201) == 10 - used, codes
    assert codes.count(429) == 30 - codes.count(201)
    assert db.scard("users") == users_before + codes.count(201)


def test_each_gunicorn_instance_has_its_own_owner_only_control_socket(hostile):
    """The control socket is named after the master's pid: stopping another instance on the
    same host never removes this one's."""
    import os
    import stat
    from pathlib import Path

    from worker.launch import gunicorn_settings

    url, _ = hostile
    port = int(urlsplit(url).port)

    def cmdline(pid: str) -> bytes:
        try:
            return Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # gone meanwhile
            return b""

    masters = [p for p in os.listdir("/proc") if p.isdigit() and b"gunicorn" in cmdline(p)]
    masters = [p for p in masters if f"127.0.0.1:{port}".encode() in cmdline(p)]
    assert masters
    folder = os.path.dirname(gunicorn_settings()["control_socket"])
    sockets = [os.path.join(folder, f"gunicorn-{pid}.ctl") for pid in masters]
    found = [s for s in sockets if os.path.exists(s)]
    assert found, sockets
    assert stat.S_IMODE(os.stat(found[0]).st_mode) == 0o600
