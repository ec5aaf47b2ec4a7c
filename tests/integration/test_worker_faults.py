"""Faults: Redis crashes and comes back, a worker process is killed, Redis runs out of memory
or disk. Each test checks what a client sees (503 in the JSON shape while storage is down,
nothing acknowledged lost) and how fast the worker serves again, without restarting it.

The longer runs with figures are ``python -m scripts.fault_test``.
"""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis

from worker.embedded_redis import start_embedded_redis


def _wait_ping(client: redis.Redis, timeout: float) -> float:
    """Seconds until ``client`` answers PING (fails after ``timeout``)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            if client.ping():
                return time.monotonic() - started
        except redis.RedisError:
            time.sleep(0.05)
    pytest.fail(f"no PING answer within {timeout}s")


def test_embedded_redis_is_restarted_when_it_dies(tmp_path):
    """The supervisor of ``python -m worker`` restarts a killed redis-server on the same port
    and data, within a second or two; acknowledged writes survive (AOF, fsync always)."""
    server = start_embedded_redis(tmp_path / "redis").supervise()
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        client.set("acknowledged", "yes")
        first_pid = server.process.pid
        os.kill(first_pid, signal.SIGKILL)
        assert _wait_ping(client, 10) < 5
        assert server.process.pid != first_pid
        assert client.get("acknowledged") == "yes"
        assert server.restarts == 1
    finally:
        server.stop()
    assert server.process.poll() is not None  # a deliberate stop is not restarted
    time.sleep(0.5)
    assert server.process.poll() is not None


def test_embedded_redis_keeps_rdb_snapshots_and_a_password(tmp_path):
    """RDB snapshots are on (every 60 s after a change) as a second copy beside the AOF, and
    the server answers only clients that know its generated password."""
    server = start_embedded_redis(tmp_path / "redis", password="s3cret-for-test")
    try:
        assert ":s3cret-for-test@" in server.url
        client = redis.Redis.from_url(server.url, decode_responses=True)
        assert client.config_get("save")["save"] == "60 1"
        assert client.config_get("appendfsync")["appendfsync"] == "always"
        with pytest.raises(redis.AuthenticationError):
            redis.Redis(port=server.port).ping()
    finally:
        server.stop()


API = "/api/v1"


def test_redis_at_maxmemory_is_a_clear_503_and_recovers(
    make_worker_app, worker_login, redis_server
):
    """At ``maxmemory`` (noeviction) Redis refuses writes: the worker answers 503
    ``storage_full`` (was 500), keeps what was acknowledged, and works again with memory."""
    app = make_worker_app()
    client = app.test_client()
    headers = worker_login(client, "memory")
    assert client.put(f"{API}/me/ratings/1", json={"rating": 4}, headers=headers).status_code == 200
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    used = int(db.info("memory")["used_memory"])
    db.config_set("maxmemory-policy", "noeviction")
    db.config_set("maxmemory", used - 1024 * 1024 if used > 2 * 1024 * 1024 else 1)
    try:
        answer = client.put(f"{API}/me/ratings/2", json={"rating": 3}, headers=headers)
        assert answer.status_code == 503, answer.get_json()
        assert answer.get_json()["error"]["code"] == "storage_full"
        assert answer.headers["Retry-After"]
    finally:
        db.config_set("maxmemory", 0)
    mine = client.get(f"{API}/me/ratings", headers=headers).get_json()["items"]
    assert [item["movie"]["id"] for item in mine] == [1]
    assert client.put(f"{API}/me/ratings/2", json={"rating": 3}, headers=headers).status_code == 200


@pytest.fixture()
def small_disk(tmp_path):
    """A 2 MiB tmpfs mounted on a temporary folder (needs root, as in CI and here)."""
    import subprocess

    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.decode().strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_full_disk_is_a_clear_503_loses_nothing_and_recovers(
    small_disk, make_worker_app, worker_login
):
    """The AOF's disk fills up: Redis (fsync always) exits rather than acknowledge a write it
    could not persist; the worker answers 503, nothing acknowledged is lost, and once there is
    space again the supervisor's restart lets the same worker serve writes again."""
    server = start_embedded_redis(small_disk / "redis").supervise()
    try:
        app = make_worker_app(REDIS_URL=server.url)
        client = app.test_client()
        headers = worker_login(client, "diskfull")
        filler = small_disk / "filler"
        with open(filler, "wb", buffering=0) as out, pytest.raises(OSError):
            while True:
                out.write(b"x" * 4096)
        acknowledged, codes = {}, []
        for movie_id in range(1, 60):
            answer = client.put(
                f"{API}/me/ratings/{movie_id}", json={"rating": 4.5}, headers=headers
            )
            codes.append(answer.status_code)
            if answer.status_code == 200:
                acknowledged[movie_id] = 4.5
            else:
                assert answer.status_code == 503, answer.get_json()
                assert answer.get_json()["error"]["code"].startswith("storage_")
        assert 503 in codes, "the disk never filled up"
        filler.unlink()
        started = time.monotonic()
        while time.monotonic() - started < 15:
            answer = client.put(f"{API}/me/ratings/100", json={"rating": 3}, headers=headers)
            if answer.status_code == 200:
                break
            assert answer.status_code == 503
            time.sleep(0.2)
        assert answer.status_code == 200, "no recovery within 15 s of the space coming back"
        mine = client.get(f"{API}/me/ratings?page_size=100", headers=headers).get_json()
        got = {item["movie"]["id"]: item["rating"] for item in mine["items"]}
        assert {m: got.get(m) for m in acknowledged} == acknowledged  # nothing acknowledged lost
    finally:
        server.stop()


def test_redis_sigkill_under_write_load_loses_nothing_and_serves_again_fast(tmp_path, data_dir):
    """A real gunicorn worker under a write load; Redis (as an external Redis would) is killed
    and back after 0.5 s: nothing acknowledged is lost, the worker serves writes again within
    5 s, by itself (it is not restarted), and meanwhile answers 503 (not 500, not hanging)."""
    from scripts.fault_test import redis_crash_run

    figures = redis_crash_run(tmp_path, duration=7, clients=3, kill_every=2.5, down=0.5)
    assert figures["kills"] >= 1 and figures["acknowledged"] > 50, figures
    assert figures["lost"] == 0, figures
    assert all(s is not None and s <= 5 for s in figures["seconds_to_serve_again"]), figures
    assert not figures["worker_restarted"]
    assert set(figures["answers"]) <= {"200", "503"}, figures


def test_a_killed_worker_process_is_replaced_and_nothing_acknowledged_is_lost(tmp_path, data_dir):
    """SIGKILL of one of two gunicorn processes under a write load: the master replaces it
    within 5 s; only requests that were on the killed process fail (connection errors), never
    with a 5xx, and nothing acknowledged is lost."""
    from scripts.fault_test import worker_kill_run

    figures = worker_kill_run(
        tmp_path, duration=5, clients=3, kill_every=2, through_app_client=False
    )
    assert figures["kills"] >= 1 and figures["lost"] == 0, figures
    assert all(s <= 5 for s in figures["seconds_to_replace"]), figures
    failures = figures["failures_other_than_503"]
    assert not [k for k in failures if k.isdigit()], figures  # no HTTP 5xx
    assert sum(failures.values()) <= 3 * figures["kills"], figures  # at most those in flight


def test_people_using_the_app_see_no_failure_when_a_worker_process_is_killed(tmp_path, data_dir):
    """The same kills with every client rating through the app's ``WorkerClient``: a PUT whose
    connection the killed process broke is sent again on a fresh connection, so no request
    fails for want of a connection (a replacement process still loading answers a clear 503)
    and nothing acknowledged is lost."""
    from scripts.fault_test import worker_kill_run

    figures = worker_kill_run(
        tmp_path, duration=6, clients=4, kill_every=1.5, through_app_client=True
    )
    assert figures["kills"] >= 2 and figures["lost"] == 0, figures
    assert figures["failures_other_than_503"] == {}, figures
    assert figures["answers"].get("200", 0) > 20, figures
