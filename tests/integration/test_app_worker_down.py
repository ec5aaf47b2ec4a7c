"""The app when the worker is down or too slow: a plain message, a Retry button, and recovery.

Real parts only: a real Redis (``redis_server`` fixture) and a real ``python -m worker`` process
that this test stops, freezes (SIGSTOP, i.e. "slow") and starts again on the same port.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests
from streamlit.testing.v1 import AppTest

from tests.helpers import PASSWORD, button
from worker.embedded_redis import free_port

ROOT = Path(__file__).resolve().parents[2]
HOME = str(ROOT / "app" / "Home.py")


class WorkerProcess:
    """``python -m worker`` on a fixed port, in its own process group (gunicorn forks)."""

    def __init__(self, port: int, redis_url: str, data_dir: Path) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.env = {
            **os.environ,
            "WORKER_PORT": str(port),
            "WORKER_HOST": "127.0.0.1",
            "REDIS_URL": redis_url,
            "DATA_DIR": str(data_dir),
            "WORKER_PROCESSES": "1",
        }
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 600) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "worker"], cwd=ROOT, env=self.env, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "worker exited while starting"
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise AssertionError("worker not ready in time")

    def signal(self, sig: int) -> None:
        os.killpg(self.process.pid, sig)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.signal(signal.SIGCONT)
        self.signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.process.wait()


@pytest.fixture()
def worker(redis_server, data_dir):
    process = WorkerProcess(free_port(), redis_server.url, data_dir)
    yield process
    process.stop()


def errors(at: AppTest) -> str:
    return "\n".join(str(e.value) for e in at.error)


def assert_down_message(at: AppTest, word: str) -> None:
    assert not at.exception, at.exception  # no traceback, ever
    assert f"recommendation service {word}" in errors(at)
    assert button(at, "Retry")


def test_worker_down_then_back(worker, monkeypatch):
    monkeypatch.setenv("WORKER_URL", worker.url)
    monkeypatch.setenv("WORKER_TIMEOUT_SECONDS", "5")
    at = AppTest.from_file(HOME, default_timeout=120)

    # Nothing listens yet: the first page says so and offers a retry.
    at.run()
    assert_down_message(at, "is not available")
    assert not any(b.label == "Create account" for b in at.button)

    worker.start()
    button(at, "Retry").click().run()
    assert not at.exception, at.exception
    assert not at.error
    at.text_input(key="signup_username").input(f"u{uuid.uuid4().hex[:12]}")
    at.text_input(key="signup_password").input(PASSWORD)
    at.text_input(key="signup_confirm").input(PASSWORD)
    button(at, "Create account").click().run()
    assert at.session_state["token"]
    at.pills(key="genre_pick").set_value(["Action", "Comedy", "Drama", "Crime", "Romance"]).run()
    button(at, "Save genres").click().run()
    slider = at.radio[0]

    # The worker goes away while the person is logged in.
    worker.stop()
    at.radio(key=slider.key).set_value(4.0).run()
    assert not at.exception, at.exception
    assert "was not saved" in errors(at)
    assert_down_message(at, "is not available")

    # It comes back (same Redis): Retry, and the person is still logged in.
    worker.start()
    button(at, "Retry").click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert len(at.radio) == 24
    assert at.radio(key=slider.key).value == 0.0  # shows what is saved: nothing
    at.radio(key=slider.key).set_value(4.0).run()
    assert "Saved: 4★" in "\n".join(c.value for c in at.caption)

    # Slow: the worker is frozen, so requests time out after WORKER_TIMEOUT_SECONDS.
    worker.signal(signal.SIGSTOP)
    try:
        at.segmented_control(key="nav").set_value("My ratings").run()
        assert_down_message(at, "is too slow to answer")
    finally:
        worker.signal(signal.SIGCONT)
    button(at, "Retry").click().run()
    assert not at.exception, at.exception
    assert not at.error
    assert len([s for s in at.radio if s.key.startswith("mine:")]) == 1
