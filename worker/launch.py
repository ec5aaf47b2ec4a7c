"""Start a real worker (gunicorn, N processes) as a child process and wait until it is ready.

Used by the test fixtures (``live_worker``) and ``scripts/load_test.py``; the image and
Kubernetes run ``gunicorn -c worker/gunicorn.conf.py "worker.app:create_app()"``. All three, and
``python -m worker``, read the settings from :data:`GUNICORN_CONF`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.embedded_redis import free_port

GUNICORN_CONF = Path(__file__).with_name("gunicorn.conf.py")
"""The one gunicorn configuration file of the worker."""


def gunicorn_settings() -> dict[str, Any]:
    """The settings :data:`GUNICORN_CONF` defines, as gunicorn reads them (the file is run)."""
    import runpy

    values = runpy.run_path(str(GUNICORN_CONF))
    return {name: value for name, value in values.items() if not name.startswith("_")}


@dataclass
class LiveWorker:
    """A gunicorn worker child process serving ``url``."""

    url: str
    process: subprocess.Popen

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_worker(
    redis_url: str,
    *,
    processes: int = 2,
    threads: int = 4,
    port: int | None = None,
    app_config: dict[str, Any] | None = None,
    log_path: Path | None = None,
    timeout: float = 180.0,
    env: dict[str, str] | None = None,
) -> LiveWorker:
    """Run ``gunicorn worker.app:create_app(app_config)`` with the production settings of
    :data:`GUNICORN_CONF` on 127.0.0.1 (``processes`` x ``threads``) and wait for /readyz.

    ``app_config`` is passed to ``create_app`` as ``test_config`` (a Python literal), e.g.
    ``{"BCRYPT_ROUNDS": 4}``; ``None`` runs with production settings from the environment.
    ``env`` adds environment variables (e.g. ``WORKER_READ_TIMEOUT``).
    """
    port = port or free_port()
    factory = f"worker.app:create_app({app_config!r})" if app_config else "worker.app:create_app()"
    env = {
        **os.environ,
        **(env or {}),
        "REDIS_URL": redis_url,
        "PYTHONPATH": str(Path(__file__).parents[1]),
    }
    env.setdefault("OMP_NUM_THREADS", "1")
    cmd = [
        sys.executable, "-m", "gunicorn", factory,
        "-c", str(GUNICORN_CONF),
        "--bind", f"127.0.0.1:{port}",
        "--workers", str(processes),
        "--threads", str(threads),
    ]  # fmt: skip
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    worker = LiveWorker(f"http://127.0.0.1:{port}", process)
    if not wait_ready(worker, timeout, processes):
        worker.stop()
        raise RuntimeError(f"worker on port {port} not ready within {timeout}s (log: {log_path})")
    return worker


def wait_ready(worker: LiveWorker, timeout: float, processes: int = 1) -> bool:
    """Poll ``/readyz`` until ``processes`` different gunicorn processes (told apart by the
    ``instance`` name in the answer) have each answered 200."""
    import json

    deadline = time.monotonic() + timeout
    ready: set[str] = set()
    while time.monotonic() < deadline:
        if worker.process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(worker.url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    ready.add(json.loads(response.read()).get("instance", ""))
        except OSError:
            pass
        if len(ready) >= processes:
            return True
        time.sleep(0.1)
    return False
