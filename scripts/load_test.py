"""Load test of the worker: simulated users sign up, rate movies and page through
recommendations, against a live worker on the loopback interface.

Usage::

    python -m scripts.load_test                      # starts redis + gunicorn (2 processes)
    python -m scripts.load_test --url http://127.0.0.1:8000 --users 8 --duration 30

Bounded: stops after ``--duration`` seconds or ``--max-requests`` requests, whichever first,
and refuses any URL that is not loopback. Each simulated user (one thread, its own HTTP
session) signs up, logs in, rates ``--ratings`` movies from the grid, then repeats: fetch
recommendation pages 1..4 (:data:`PAGES`), sometimes change a rating (so the next page 1 is
computed fresh), with ``--think-ms`` pause between requests.

Printed per kind of request: count, errors, p50/p99 latency (ms). Recommendation pages are
split by the worker's ``cached`` flag: "recs cached" were served from the Redis cache,
"recs fresh" were computed by the model (the saved blend when there is one, else Pearson), and
"recs explained" came from the cached list but were shown for the first time, so their reasons
were worked out then (the worker's ``Server-Timing`` names an ``explain`` metric). The
baseline measured in the same run is ``/healthz`` (the HTTP + WSGI floor), and each p99 is
also shown as a ratio of it. "srv" columns are the worker's own time per request (its
``Server-Timing`` header), without client-side queueing and connection set-up.
Targets on 2 cores: zero errors, cached p99 <= 20 ms, fresh p99 <= 100 ms.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlparse

import numpy as np
import requests

LOOPBACK = {"127.0.0.1", "localhost", "::1"}
PAGES = (1, 2, 3, 4)
"""Recommendation pages each simulated person looks at, in order. A fresh list explains its
first three pages (the worker's ``RECS_EXPLAIN_FIRST``, 72 movies), so page 4 is the one
whose reasons are worked out when it is first shown ("recs explained")."""

API = "/api/v1"


class Recorder:
    """Thread-safe latency and error log by request kind."""

    def __init__(self, max_requests: int, deadline: float) -> None:
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.server: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.examples: list[str] = []
        self.max_requests, self.deadline = max_requests, deadline
        self.count = 0
        self.lock = threading.Lock()

    def more(self) -> bool:
        return self.count < self.max_requests and time.monotonic() < self.deadline

    def call(self, session: requests.Session, kind: str, method: str, url: str, ok=(200,), **kw):
        started = time.perf_counter()
        try:
            response = session.request(method, url, timeout=30, **kw)
            status = response.status_code
        except requests.RequestException as exc:
            response, status = None, f"{type(exc).__name__}"
        elapsed = (time.perf_counter() - started) * 1000
        timing = response.headers.get("Server-Timing", "") if response is not None else ""
        if response is not None and kind == "recs" and status == 200:
            kind = "recs cached" if response.json().get("cached") else "recs fresh"
            if kind == "recs cached" and "explain;" in timing:
                kind = "recs explained"
        with self.lock:
            self.count += 1
            self.latencies[kind].append(elapsed)
            server_ms = re.search(r"app;dur=([0-9.]+)", timing)
            if server_ms:
                self.server[kind].append(float(server_ms.group(1)))
            if status not in ok:
                self.errors[kind] += 1
                if len(self.examples) < 5:
                    body = response.text[:200] if response is not None else ""
                    self.examples.append(f"{method} {url} -> {status} {body}")
        return response


def simulated_user(base: str, rec: Recorder, ratings: int, think: float, seed: int) -> None:
    rng = random.Random(seed)
    session = requests.Session()
    name = "load_" + uuid.uuid4().hex[:10]
    body = {"username": name, "password": "load test password"}
    rec.call(session, "signup", "POST", f"{base}{API}/auth/signup", ok=(201,), json=body)
    login = rec.call(session, "login", "POST", f"{base}{API}/auth/login", json=body)
    if login is None or login.status_code != 200:
        return
    session.headers["Authorization"] = f"Bearer {login.json()['token']}"
    grid = rec.call(session, "movies", "GET", f"{base}{API}/movies?page={rng.randint(1, 5)}")
    movie_ids = [m["id"] for m in grid.json()["items"]] if grid is not None else [1, 2, 3, 5, 6]
    rated = rng.sample(movie_ids, min(ratings, len(movie_ids)))
    for movie_id in rated:
        stars = rng.choice([1.0, 2.0, 3.0, 3.5, 4.0, 4.5, 5.0])
        rec.call(
            session, "rate", "PUT", f"{base}{API}/me/ratings/{movie_id}", json={"rating": stars}
        )
        time.sleep(think)
    while rec.more():
        for page in PAGES:
            rec.call(session, "recs", "GET", f"{base}{API}/me/recommendations?page={page}")
            time.sleep(think)
        rec.call(session, "health", "GET", f"{base}/healthz")
        if rng.random() < 0.5:
            stars = rng.choice([1.0, 2.5, 4.0, 5.0])
            url = f"{base}{API}/me/ratings/{rng.choice(rated)}"
            rec.call(session, "rate", "PUT", url, json={"rating": stars})
        time.sleep(think)


def report(rec: Recorder, seconds: float) -> dict[str, dict[str, float]]:
    total = sum(len(v) for v in rec.latencies.values())
    print(
        f"\n{total} requests in {seconds:.1f}s = {total / seconds:.1f} req/s, "
        f"errors: {sum(rec.errors.values())}"
    )
    base_p99 = float(np.percentile(rec.latencies["health"], 99)) if rec.latencies["health"] else 0
    print(
        f"{'kind':<16}{'count':>7}{'req/s':>8}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}"
        f"{'p99/healthz':>13}{'srv p50':>9}{'srv p99':>9}"
    )
    figures = {}
    kinds = ("health", "signup", "login", "movies", "rate", "recs cached", "recs explained")
    for kind in (*kinds, "recs fresh"):
        values = rec.latencies.get(kind)
        if not values:
            continue
        p50, p99 = (float(np.percentile(values, q)) for q in (50, 99))
        ratio = f"{p99 / base_p99:.1f}x" if base_p99 else "-"
        srv = rec.server.get(kind) or [float("nan")]
        s50, s99 = (float(np.percentile(srv, q)) for q in (50, 99))
        print(
            f"{kind:<16}{len(values):>7}{len(values) / seconds:>8.1f}{rec.errors[kind]:>8}"
            f"{p50:>9.1f}{p99:>9.1f}{ratio:>13}{s50:>9.1f}{s99:>9.1f}"
        )
        figures[kind] = {
            "count": len(values),
            "p50": p50,
            "p99": p99,
            "errors": rec.errors[kind],
            "server_p50": s50,
            "server_p99": s99,
        }
    # bcrypt apart: sign-up and login each run one bcrypt check (cost 12: ~0.2-0.3 s of CPU)
    server_total = sum(sum(v) for v in rec.server.values())
    bcrypt_kinds = ("signup", "login")
    bcrypt_ms = sum(sum(rec.server.get(k, [])) for k in bcrypt_kinds)
    other = total - sum(len(rec.latencies.get(k, [])) for k in bcrypt_kinds)
    if server_total:
        print(
            f"bcrypt (signup + login): {bcrypt_ms / 1000:.1f} s of {server_total / 1000:.1f} s "
            f"worker time ({bcrypt_ms / server_total:.0%}); other requests: "
            f"{other / seconds:.1f} req/s"
        )
    figures["bcrypt_share"] = {"share": bcrypt_ms / server_total if server_total else 0.0}
    for example in rec.examples:
        print("  error:", example)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running worker on loopback (default: start one)")
    parser.add_argument("--users", type=int, default=8, help="concurrent simulated users")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds (max 300)")
    parser.add_argument("--max-requests", type=int, default=20_000)
    parser.add_argument("--ratings", type=int, default=8, help="ratings per user before recs")
    parser.add_argument("--think-ms", type=float, default=20.0, help="pause between requests")
    parser.add_argument("--processes", type=int, default=2, help="gunicorn processes (2-4)")
    parser.add_argument(
        "--bcrypt-rounds",
        type=int,
        default=12,
        help="bcrypt cost of the started worker (12 = production)",
    )
    args = parser.parse_args(argv)
    duration = min(args.duration, 300.0)

    worker = server = None
    if args.url:
        if urlparse(args.url).hostname not in LOOPBACK:
            parser.error("--url must be a loopback address (127.0.0.1, localhost, ::1)")
        base = args.url.rstrip("/")
    else:
        from worker.embedded_redis import start_embedded_redis
        from worker.launch import start_worker

        folder = Path(tempfile.mkdtemp(prefix="load-test-"))
        server = start_embedded_redis(folder / "redis")
        # every simulated person signs up from 127.0.0.1: lift the per-address sign-up limit
        config = {"SIGNUP_MAX_PER_ADDRESS": 100_000, "LOGIN_MAX_FAILURES_PER_ADDRESS": 100_000}
        if args.bcrypt_rounds != 12:
            config["BCRYPT_ROUNDS"] = args.bcrypt_rounds
        print(f"starting gunicorn with {args.processes} processes (log: {folder / 'worker.log'})")
        worker = start_worker(
            server.url,
            processes=max(2, min(args.processes, 4)),
            app_config=config,
            log_path=folder / "worker.log",
        )
        base = worker.url
    try:
        print(
            f"worker {base}: {args.users} users, {duration:.0f}s or {args.max_requests} "
            f"requests, {args.ratings} ratings each, think {args.think_ms:.0f} ms"
        )
        started = time.monotonic()
        rec = Recorder(args.max_requests, started + duration)
        threads = [
            threading.Thread(
                target=simulated_user,
                args=(base, rec, args.ratings, args.think_ms / 1000, seed),
                daemon=True,
            )
            for seed in range(args.users)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(duration + 60)
        figures = report(rec, time.monotonic() - started)
    finally:
        if worker is not None:
            worker.stop()
        if server is not None:
            server.stop()
    errors = sum(f.get("errors", 0) for f in figures.values())
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
