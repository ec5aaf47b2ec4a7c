"""Fault runs against a real worker (gunicorn on loopback, its own redis-server), with figures.

Usage::

    python -m scripts.fault_test                      # both runs, 20 s each
    python -m scripts.fault_test --run redis --duration 30 --clients 8

- ``redis``: ``--clients`` simulated people each rate new movies as fast as the worker answers
  (every PUT rates a movie that person has not rated, so an acknowledged rating is never
  overwritten); Redis is SIGKILLed ``--kill-every`` seconds and restarted on the same port and
  data after ``--down`` seconds, as an external Redis (a StatefulSet, a managed Redis) would
  come back. The worker is never restarted. Printed: acknowledged ratings, how many of them
  Redis lacks afterwards (**lost**, must be 0), answers by status while Redis was down, and
  the seconds from Redis accepting connections again to the worker's next acknowledged write
  (**time to serve again**, target <= 5 s).
- ``worker``: the same load while one gunicorn worker process is SIGKILLed, run twice: with
  raw HTTP clients, then with every client rating through the app's own ``WorkerClient``
  (which sends an idempotent request again when its connection broke); printed: failed
  requests by kind (connection errors of requests in flight on the killed process, HTTP 5xx
  other than 503) and the seconds until the master has replaced the process. Through the
  app's client the target is 0 failures.

Bounded in time and to 127.0.0.1. :func:`redis_crash_run` and :func:`worker_kill_run` are
also used by the fast versions in ``tests/integration/test_worker_faults.py``.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import requests

from app.client import ApiError, WorkerClient, WorkerUnavailable
from worker.embedded_redis import EmbeddedRedis, start_embedded_redis
from worker.launch import LiveWorker, start_worker
from worker.store import keys

API = "/api/v1"
APP_CONFIG = {"BCRYPT_ROUNDS": 4, "RECOMMENDER_MODEL": "popularity", "SIGNUP_MAX_PER_ADDRESS": 1000}


@dataclass
class Load:
    """Clients that rate new movies until stopped; what they saw."""

    url: str
    movie_ids: list[int]
    clients: int
    stop: threading.Event = field(default_factory=threading.Event)
    acknowledged: dict[str, set[int]] = field(default_factory=dict)
    answers: Counter = field(default_factory=Counter)
    ack_times: list[float] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)
    through_app_client: bool = False
    """Rate through the app's own ``WorkerClient`` (pooled connections, one resend of an
    idempotent request whose connection broke) instead of raw HTTP: what a person sees."""

    def start(self) -> Load:
        for i in range(self.clients):
            thread = threading.Thread(target=self._client, args=(i,), daemon=True)
            thread.start()
            self.threads.append(thread)
        return self

    def _client(self, i: int) -> None:
        session = requests.Session()
        name = f"fault-{i}-{uuid.uuid4().hex[:6]}"
        body = {"username": name, "password": "fault test password"}
        session.post(f"{self.url}{API}/auth/signup", json=body, timeout=10).raise_for_status()
        login = session.post(f"{self.url}{API}/auth/login", json=body, timeout=10)
        login.raise_for_status()
        session.headers["Authorization"] = f"Bearer {login.json()['token']}"
        user_id = login.json()["user"]["id"]
        mine: set[int] = set()
        with self.lock:
            self.acknowledged[user_id] = mine
        queue = [m for j, m in enumerate(self.movie_ids) if j % self.clients == i]
        app_client = WorkerClient(self.url, 10, token=login.json()["token"])
        for movie_id in queue:
            if self.stop.is_set():
                return
            kind = self._rate(session, app_client, movie_id)
            with self.lock:
                self.answers[kind] += 1
                if kind == "200":
                    mine.add(movie_id)
                    self.ack_times.append(time.monotonic())
            if kind != "200":
                time.sleep(0.05)

    def _rate(self, session: requests.Session, app_client: WorkerClient, movie_id: int) -> str:
        """Rate one movie 4★; the HTTP status as text, or the name of the failure."""
        if self.through_app_client:
            try:
                app_client.rate(movie_id, 4.0)
                return "200"
            except ApiError as exc:
                return str(exc.status)
            except WorkerUnavailable as exc:  # an answer's 5xx status, or no answer at all
                return str(exc.status) if exc.status else type(exc).__name__
        try:
            answer = session.put(
                f"{self.url}{API}/me/ratings/{movie_id}", json={"rating": 4.0}, timeout=10
            )
            return str(answer.status_code)
        except requests.RequestException as exc:
            return type(exc).__name__

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def first_ack_after(self, moment: float) -> float | None:
        with self.lock:
            later = [t for t in self.ack_times if t >= moment]
        return min(later) - moment if later else None


def catalogue_ids() -> list[int]:
    data = Path(os.environ["DATA_DIR"]) / "ml-latest-small" / "movies.csv"
    return pd.read_csv(data, usecols=["movieId"])["movieId"].tolist()


def lost_ratings(server_url: str, load: Load) -> tuple[int, int]:
    """``(acknowledged, lost)``: acknowledged ratings, and those Redis does not hold."""
    import redis

    db = redis.Redis.from_url(server_url, decode_responses=True)
    acknowledged = lost = 0
    for user_id, movies in load.acknowledged.items():
        stored = {int(m) for m in db.hkeys(keys.ratings(user_id))}
        acknowledged += len(movies)
        lost += len(movies - stored)
    return acknowledged, lost


def redis_crash_run(
    folder: Path, duration: float, clients: int, kill_every: float, down: float
) -> dict:
    """The ``redis`` run (see the module doc); returns its figures."""
    server = start_embedded_redis(folder / "redis")
    worker = start_worker(server.url, processes=2, app_config=APP_CONFIG, log_path=folder / "w.log")
    load = Load(worker.url, catalogue_ids(), clients).start()
    recoveries, down_answers = [], Counter()
    try:
        end = time.monotonic() + duration
        while time.monotonic() + kill_every + down < end:
            time.sleep(kill_every)
            before = Counter(load.answers)
            server.stop(kill=True)
            time.sleep(down)
            server = EmbeddedRedis(data_dir=folder / "redis", port=server.port).start()
            back = time.monotonic()
            down_answers += Counter(load.answers) - before
            deadline = back + 30
            while load.first_ack_after(back) is None and time.monotonic() < deadline:
                time.sleep(0.02)
            recoveries.append(load.first_ack_after(back))
        time.sleep(max(0.0, end - time.monotonic()))
    finally:
        load.finish()
        restarted = worker.process.poll() is not None
        acknowledged, lost = lost_ratings(server.url, load)
        worker.stop()
        server.stop()
    return {
        "kills": len(recoveries),
        "acknowledged": acknowledged,
        "lost": lost,
        "answers": dict(load.answers),
        "answers_while_down": dict(down_answers),
        "seconds_to_serve_again": recoveries,
        "worker_restarted": restarted,
    }


def worker_children(master: int) -> set[int]:
    path = Path(f"/proc/{master}/task/{master}/children")
    return {int(p) for p in path.read_text().split()} if path.exists() else set()


def worker_kill_run(
    folder: Path, duration: float, clients: int, kill_every: float, through_app_client: bool
) -> dict:
    """The ``worker`` run (see the module doc); returns its figures. ``through_app_client``:
    the clients rate through the app's ``WorkerClient`` (what a person sees) instead of raw
    HTTP (what any other API client sees)."""
    server = start_embedded_redis(folder / "redis")
    worker: LiveWorker = start_worker(
        server.url, processes=2, app_config=APP_CONFIG, log_path=folder / "w.log"
    )
    load = Load(worker.url, catalogue_ids(), clients, through_app_client=through_app_client)
    load.start()
    replaced = []
    try:
        end = time.monotonic() + duration
        while time.monotonic() + kill_every < end:
            time.sleep(kill_every)
            children = worker_children(worker.process.pid)
            victim = min(children)
            os.kill(victim, signal.SIGKILL)
            killed_at = time.monotonic()
            while time.monotonic() - killed_at < 30:
                now = worker_children(worker.process.pid)
                if len(now) == len(children) and victim not in now:
                    break
                time.sleep(0.02)
            replaced.append(time.monotonic() - killed_at)
        time.sleep(max(0.0, end - time.monotonic()))
    finally:
        load.finish()
        acknowledged, lost = lost_ratings(server.url, load)
        worker.stop()
        server.stop()
    failures = {k: v for k, v in load.answers.items() if k not in ("200", "503")}
    return {
        "kills": len(replaced),
        "acknowledged": acknowledged,
        "lost": lost,
        "answers": dict(load.answers),
        "failures_other_than_503": failures,
        "seconds_to_replace": replaced,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", choices=["redis", "worker", "both"], default="both")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--kill-every", type=float, default=5.0)
    parser.add_argument("--down", type=float, default=1.0, help="seconds Redis stays dead")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        if args.run in ("redis", "both"):
            figures = redis_crash_run(
                Path(tmp) / "r", args.duration, args.clients, args.kill_every, args.down
            )
            print("redis SIGKILL under write load:", figures, flush=True)
        if args.run in ("worker", "both"):
            for through_app in (False, True):
                figures = worker_kill_run(
                    Path(tmp) / f"w{int(through_app)}",
                    args.duration,
                    args.clients,
                    args.kill_every,
                    through_app_client=through_app,
                )
                who = "through the app's client" if through_app else "raw HTTP clients"
                print(f"worker process SIGKILL under write load, {who}:", figures, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
