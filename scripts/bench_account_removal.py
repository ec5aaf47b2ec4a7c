"""How long does removing a user take? ``DELETE /me`` and the guest sweep.

Usage: ``python -m scripts.bench_account_removal [--users 100 1000 5000] [--runs 7]``

Removing a user (:mod:`worker.store.lifecycle`) is one script on the user's slot that deletes
its keys and returns the users whose cached lists leaned on it (``neighbour_of:{<id>}``), then
single-key steps: name, ``users``, ``guests``, export number, stream entry, and one small
script per leaning user to invalidate its list. Its cost grows with the user's sessions and
with how many lists leaned on it, not with the number of users (layout 1 scanned every
user's cached neighbours inside one script). For each size this starts a real
``redis-server``, fills it with that many users, each with a cached list of 50 app-user
neighbours (the size Pearson stores), and prints the median time of ``delete_user`` over
``--runs`` users, then the time of one guest-sweep batch (100 guests) at the largest size.
The machine is shared: quote medians and the load average printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import redis

from worker.accounts import Accounts
from worker.embedded_redis import start_embedded_redis
from worker.store import Store, keys

NEIGHBOURS = 50


def fill(client: redis.Redis, users: int, guests: int = 0) -> list[str]:
    """``users`` users (the first ``guests`` of them guests unused since 1970), each with a
    cached list leaning on 50 of the others; returns their ids."""
    client.flushdb()
    ids = [f"{i:016x}" for i in range(users)]
    pipe = client.pipeline(transaction=False)
    for i, user_id in enumerate(ids):
        guest = i < guests
        pipe.hset(
            keys.user(user_id),
            mapping={
                "username": "" if guest else f"user{i}",
                "password_hash": "" if guest else "hash",
                "created_at": "2026-01-01T00:00:00+00:00",
                "genres": "[]",
                "guest": "1" if guest else "0",
                "last_seen": 1,
            },
        )
        if guest:
            pipe.zadd(keys.GUESTS, {user_id: 1})
        else:
            pipe.set(keys.username(f"user{i}"), user_id)
        pipe.sadd(keys.USERS, user_id)
        pipe.set(keys.version(user_id), 1)
        pipe.hset(keys.recs(user_id), "pearson@bench", json.dumps({"ratings_version": 1}))
        for k in range(NEIGHBOURS):
            pipe.sadd(keys.neighbour_of(ids[(i * 7 + k + 1) % users]), user_id)
    pipe.execute()
    client.set(keys.LAYOUT, keys.LAYOUT_VERSION)
    return ids


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[100, 1000, 5000])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args(argv)
    print(f"load average: {os.getloadavg()[0]:.2f}")
    server = start_embedded_redis(Path(tempfile.mkdtemp(prefix="bench-removal-")))
    try:
        client = redis.Redis.from_url(server.url, decode_responses=True)
        accounts = Accounts(Store(client))
        for users in args.users:
            ids = fill(client, users)
            times = []
            for user_id in ids[: args.runs]:
                started = time.perf_counter()
                assert accounts.delete_user(user_id, "hash") == 1
                times.append((time.perf_counter() - started) * 1000)
            print(
                f"{users:>6} users: delete_user median {statistics.median(times):.1f} ms "
                f"(min {min(times):.1f}, max {max(times):.1f}, {args.runs} runs)"
            )
        users = max(args.users)
        fill(client, users, guests=100)
        started = time.perf_counter()
        removed = accounts.expire_guests(60, batch=100, batches=1)
        ms = (time.perf_counter() - started) * 1000
        print(f"{users:>6} users: one sweep batch removed {removed} guests in {ms:.0f} ms")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
