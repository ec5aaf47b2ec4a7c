"""Redis clients give up on a Redis that stops answering instead of hanging (socket timeouts):
a real ``redis-server`` frozen with SIGSTOP (it still accepts TCP connections, as a stuck
server does, but never answers)."""

from __future__ import annotations

import os
import signal
import time

import pytest

from worker.embedded_redis import start_embedded_redis


@pytest.fixture()
def frozen_redis(tmp_path):
    """URL of a real redis-server that is stopped (SIGSTOP) for the test, then resumed."""
    server = start_embedded_redis(tmp_path / "redis")
    os.kill(server.process.pid, signal.SIGSTOP)
    try:
        yield server.url
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        server.stop()


def test_the_training_export_fails_within_the_timeout_on_a_redis_that_stopped_answering(
    frozen_redis, monkeypatch, capsys
):
    from scripts.train import export_app_ratings

    monkeypatch.setenv("REDIS_URL", frozen_redis)
    start = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        export_app_ratings()
    waited = time.monotonic() - start
    assert exit_info.value.code == 2
    assert "cannot export" in capsys.readouterr().err
    assert waited < 30, f"gave up only after {waited:.1f} s"  # without a timeout: never
