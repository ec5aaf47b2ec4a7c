"""gunicorn settings of the worker, for every way it is served:
``gunicorn -c python:worker.gunicorn_conf "worker.app:create_app()"`` (the container and
Kubernetes), ``python -m worker`` and the test fixtures (:mod:`worker.launch`). Command-line
options given after ``-c`` (``--bind``, ``--workers``, ``--threads``) override these.

- ``worker_class``: :class:`worker.gunicorn_worker.JsonThreadWorker`, gunicorn's threaded
  worker (a bcrypt check or a model scoring releases the GIL, so other requests go on) whose
  own error answers (414, 431, 400, ...) are in the worker's JSON error shape.
- Request limits: request line 4094 bytes (414 beyond), at most 100 header lines of 8190 bytes
  each (431 beyond); bodies are limited by the app (``MAX_CONTENT_LENGTH``, 413).
- ``control_socket``: one per gunicorn instance (``gunicorn-<master pid>.ctl`` in gunicorn's
  usual folder), so stopping one instance never deletes another's; owner-only (0600).
"""

from __future__ import annotations

import os
from pathlib import Path

bind = os.environ.get("WORKER_BIND", "127.0.0.1:8000")
worker_class = "worker.gunicorn_worker.JsonThreadWorker"
workers = int(os.environ.get("WORKER_PROCESSES", "") or 2)
threads = int(os.environ.get("WORKER_THREADS", "") or 4)
timeout = 120
graceful_timeout = 30
keepalive = 5

limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190


def _control_socket() -> str:
    """``$XDG_RUNTIME_DIR`` (else ``~/.gunicorn``) ``/gunicorn-<master pid>.ctl``."""
    base = os.environ.get("XDG_RUNTIME_DIR") or str(Path.home() / ".gunicorn")
    return str(Path(base) / f"gunicorn-{os.getpid()}.ctl")


control_socket = _control_socket()
control_socket_mode = 0o600
