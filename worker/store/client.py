"""Redis clients for the store: one server or a Redis Cluster, chosen by the URL; and the Lua
scripts of ``worker/store/lua/``.

URLs: ``redis://[:password@]host:port/0`` (or ``rediss://`` with TLS) is one server;
``redis+cluster://[:password@]host:port`` (or ``rediss+cluster://``) is a Redis Cluster, any
node of it as the seed (redis-py's ``RedisCluster`` discovers the rest and follows
``MOVED``/``ASK``; it reads the cluster's layout when made, so at least one node must answer
then). Every client has socket timeouts, so a Redis that stops answering fails a
request (503 ``storage_unavailable``) instead of hanging a worker thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import redis
from redis.cluster import RedisCluster

SOCKET_TIMEOUT_SECONDS = 5.0
"""How long one command may wait for Redis's answer (the slowest script, removing a user with
many sessions, takes milliseconds)."""
CONNECT_TIMEOUT_SECONDS = 2.0
HEALTH_CHECK_SECONDS = 30
CLUSTER_SCHEMES = {"redis+cluster": "redis", "rediss+cluster": "rediss"}
LUA_DIR = Path(__file__).with_name("lua")


def is_cluster_url(url: str) -> bool:
    return url.split("://", 1)[0] in CLUSTER_SCHEMES


def make_client(
    url: str,
    *,
    socket_timeout: float = SOCKET_TIMEOUT_SECONDS,
    connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    decode_responses: bool = True,
) -> redis.Redis | RedisCluster:
    """A client for ``url`` (see the module docstring), with socket timeouts in seconds."""
    scheme, _, rest = url.partition("://")
    options: dict[str, Any] = {
        "decode_responses": decode_responses,
        "socket_timeout": socket_timeout,
        "socket_connect_timeout": connect_timeout,
        "health_check_interval": HEALTH_CHECK_SECONDS,
    }
    if scheme in CLUSTER_SCHEMES:
        return RedisCluster.from_url(f"{CLUSTER_SCHEMES[scheme]}://{rest}", **options)
    return redis.Redis.from_url(url, **options)


class Scripts:
    """Every ``worker/store/lua/*.lua`` registered on one client, as attributes by file name
    (``scripts.set_rating(keys=[...], args=[...])``). Each script receives every key it
    touches in ``KEYS``, and all of them share one hash tag, so they run on Redis Cluster."""

    def __init__(self, client: redis.Redis | RedisCluster) -> None:
        for path in sorted(LUA_DIR.glob("*.lua")):
            setattr(self, path.stem, client.register_script(path.read_text()))

    def __getattr__(self, name: str) -> Any:  # only reached for a name without a file
        raise AttributeError(f"no Lua script {name}.lua in {LUA_DIR}")


def scripts_of(client: redis.Redis | RedisCluster) -> Scripts:
    """The :class:`Scripts` of ``client``, registered once per client."""
    found = getattr(client, "_store_scripts", None)
    if found is None:
        found = Scripts(client)
        client._store_scripts = found  # type: ignore[union-attr]
    return found
