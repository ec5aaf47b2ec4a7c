"""gunicorn settings of the worker: the one file every way of serving it reads.

- the image and Kubernetes: ``gunicorn -c worker/gunicorn.conf.py "worker.app:create_app()"``
  (Dockerfile.worker's CMD, k8s/base/worker.yaml's command);
- ``python -m worker`` (:mod:`worker.__main__`) and the test fixtures (:mod:`worker.launch`).

Where it listens and how many processes and threads serve come from the environment, through
:func:`worker.config.server_settings`: ``WORKER_HOST`` (127.0.0.1), ``WORKER_PORT`` (8000),
``WORKER_PROCESSES`` (2), ``WORKER_THREADS`` (4), ``WORKER_ACCESS_LOG`` (``-`` = stdout; unset =
none). The image sets 0.0.0.0, one process with 8 threads (every process loads its own copy of
the models, so a pod scales out, not up) and ``-``. Command-line options given after ``-c``
(``--bind``, ``--workers``, ``--threads``) override these.

- ``worker_class``: :class:`worker.gunicorn_worker.JsonThreadWorker`, gunicorn's threaded
  worker (a bcrypt check or a model scoring releases the GIL, so other requests go on) whose
  own error answers (414, 431, 400, ...) are in the worker's JSON error shape.
- ``timeout`` 120 s (a silent process is restarted), ``graceful_timeout`` 30 s, keep-alive 5 s;
  heartbeat files in ``/tmp`` (an emptyDir in Kubernetes: the root filesystem is read-only).
- Request limits: request line 4094 bytes (414 beyond), at most 100 header lines of 8190 bytes
  each (431 beyond); bodies are limited by the app (``MAX_CONTENT_LENGTH``, 413).
- ``control_socket``: one per gunicorn instance (``gunicorn-<master pid>.ctl`` in gunicorn's
  usual folder), so stopping one instance never deletes another's; owner-only (0600).
- ``post_fork``: each process hands the GIL on every :data:`SWITCH_INTERVAL` seconds (Python's
  default is 5 ms). A fresh list keeps threads busy in Python for tens of milliseconds; with
  5 ms a cached page, and the event loop reading the next request, waited up to 5 ms at
  every step that needs the GIL back (each Redis reply, the response).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

# gunicorn runs this file by path: make `worker` importable however gunicorn was started.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.config import server_settings  # noqa: E402

_server = server_settings()

bind = f"{_server['host']}:{_server['port']}"
workers = _server["processes"]
threads = _server["threads"]
accesslog = _server["access_log"]
worker_class = "worker.gunicorn_worker.JsonThreadWorker"
timeout = 120
graceful_timeout = 30
keepalive = 5
worker_tmp_dir = "/tmp"

limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


def _control_socket() -> str:
    """``$XDG_RUNTIME_DIR`` (else ``~/.gunicorn``) ``/gunicorn-<master pid>.ctl``."""
    base = os.environ.get("XDG_RUNTIME_DIR") or str(Path.home() / ".gunicorn")
    return str(Path(base) / f"gunicorn-{os.getpid()}.ctl")


control_socket = _control_socket()
control_socket_mode = 0o600

SWITCH_INTERVAL = 0.001
"""Seconds a thread may hold the GIL while another waits for it (see the module docstring)."""


def post_fork(server, worker) -> None:  # noqa: ARG001 (gunicorn's hook signature)
    sys.setswitchinterval(SWITCH_INTERVAL)
