"""An acknowledged rating survives a crash of Redis (AOF with appendfsync always)."""

from __future__ import annotations

from worker.embedded_redis import EmbeddedRedis, start_embedded_redis

API = "/api/v1"


def test_ratings_survive_a_redis_crash(tmp_path, make_worker_app, worker_login, data_dir):
    server = start_embedded_redis(tmp_path / "redis")
    try:
        assert server_config(server) == ("yes", "always")

        def restart():
            nonlocal server
            server = EmbeddedRedis(data_dir=tmp_path / "redis", port=server.port).start()

        ratings_survive_a_crash(
            make_worker_app(REDIS_URL=server.url),
            worker_login,
            crash=lambda: server.stop(kill=True),
            restart=restart,
        )
    finally:
        server.stop()


def ratings_survive_a_crash(app, worker_login, crash, restart) -> None:
    """Acknowledged ratings, then ``crash()`` (SIGKILL right after the acknowledged PUT: no
    clean shutdown) and ``restart()`` from the same files: the same token in the same app
    finds every rating, and /readyz said 503 while Redis was down
    (also run on a Redis Cluster by tests/integration/test_worker_cluster.py)."""
    client = app.test_client()
    headers = worker_login(client, "durable")
    for movie_id, stars in [(1, 4.5), (2, 3.0), (3, 5.0)]:
        answer = client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
        assert answer.status_code == 200
    crash()
    assert client.get("/readyz").status_code == 503  # Redis down: not ready

    restart()
    mine = client.get(f"{API}/me/ratings", headers=headers)  # same token, same app
    assert mine.status_code == 200
    got = {item["movie"]["id"]: item["rating"] for item in mine.get_json()["items"]}
    assert got == {1: 4.5, 2: 3.0, 3: 5.0}
    assert client.get("/readyz").status_code == 200
    change = client.put(f"{API}/me/ratings/4", json={"rating": 2}, headers=headers)
    assert change.get_json()["rating_count"] == 4


def server_config(server: EmbeddedRedis) -> tuple[str, str]:
    import redis

    db = redis.Redis(port=server.port, decode_responses=True)
    return db.config_get("appendonly")["appendonly"], db.config_get("appendfsync")["appendfsync"]
