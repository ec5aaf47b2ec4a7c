"""Move a worker database from key layout 1 to layout 2 (hash tags, Redis Cluster-safe), once.

Usage: ``python -m scripts.migrate_keys [--redis-url URL] [--to URL]``. Stop the workers first
(a worker refuses to start on layout-1 data and says to run this).

- ``--redis-url`` (default ``REDIS_URL``): the layout-1 database (one Redis server).
- ``--to`` (default: the same database): where layout 2 is written, e.g. a new Redis Cluster
  (``redis+cluster://host:port``). Keys are copied with ``DUMP``/``RESTORE`` keeping their
  expiry; when source and target are the same database the old keys are deleted as they move.

What changes (see :mod:`worker.store.keys` for layout 2):

- every per-user key gets the user's hash tag: ``user:<id>`` -> ``user:{<id>}``, likewise
  ``ratings:``, ``rated:``, ``ratings_version:``, ``discover*:``, ``password_failures:``;
- sessions: ``session:<sha>`` -> ``session:{<id>}:<sha>`` plus ``legacy_session:<sha>`` -> id
  (tokens issued before carry no user id; they keep working until they expire), and the
  per-user index becomes ``sessions:{<id>}``, a sorted set by expiry;
- ``export_user_ids`` / ``export_user_counter`` -> ``{export}:user_ids`` / ``{export}:user_counter``
  (so everyone keeps their export number);
- caches (``recs:``, ``neighbours:``, ``query_recs*``) are dropped: they are recomputed on use;
- global keys keep their names (``username:``, ``users``, ``guests``, ``rating_changes``,
  window counters) and are copied when the target is another database;
- ``store_layout`` = "2" is set last. Running it again does nothing.

Prints what it moved. Exit code 0 when done (or nothing to do), 2 on a usage error.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter

import redis

from worker.store import keys
from worker.store.client import make_client

PER_USER = {
    "user": keys.user,
    "ratings": keys.ratings,
    "rated": keys.rated,
    "ratings_version": keys.version,
    "discover": keys.discover,
    "discover_shown": keys.discover_shown,
    "discover_liked": keys.discover_liked,
    "password_failures": keys.password_failures,
}
"""Layout-1 prefix of a per-user key -> its layout-2 name."""
GLOBAL_PATTERNS = [
    "username:*",
    "users",
    "guests",
    "rating_changes",
    "login_failures:*",
    "signups:*",
    "guest_creations:*",
]
RENAMED = {"export_user_ids": keys.EXPORT_IDS, "export_user_counter": keys.EXPORT_COUNTER}
CACHE_PATTERNS = ["recs:*", "neighbours:*", "query_recs:*", "query_recs_keys:*"]


class Migration:
    """One run from ``source`` (layout 1) to ``target`` (layout 2; may be the same database)."""

    def __init__(self, source: redis.Redis, target: redis.Redis, same: bool) -> None:
        self.src, self.dst, self.same = source, target, same
        self.moved: Counter[str] = Counter()

    def copy(self, old: str, new: str, what: str) -> bool:
        """Copy ``old`` to ``new`` with its expiry (then delete ``old`` in place)."""
        data = self.src.dump(old)
        if data is None:
            return False
        ttl = self.src.pttl(old)
        self.dst.restore(new, max(ttl, 0), data, replace=True)
        if self.same and old != new:
            self.src.delete(old)
        self.moved[what] += 1
        return True

    def old_keys(self, pattern: str) -> list[str]:
        """Layout-1 keys matching ``pattern`` (layout-2 names, with ``{``, are skipped)."""
        return [k.decode() for k in self.src.scan_iter(pattern, count=1000) if b"{" not in k]

    def run(self) -> Counter[str]:
        user_ids = {u.decode() for u in self.src.smembers("users")}
        user_ids |= {k.split(":", 1)[1] for k in self.old_keys("user:*")}
        for user_id in sorted(user_ids):
            for prefix, new_name in PER_USER.items():
                self.copy(f"{prefix}:{user_id}", new_name(user_id), prefix)
        for session in self.old_keys("session:*"):
            self.move_session(session)
        for index in self.old_keys("sessions:*"):
            self.src.delete(index)  # rebuilt from the sessions themselves
        if not self.same:
            for pattern in GLOBAL_PATTERNS:
                for key in self.old_keys(pattern):
                    self.copy(key, key, "global")
        for old, new in RENAMED.items():
            self.copy(old, new, old)
        if self.same:
            for pattern in CACHE_PATTERNS:
                for key in self.old_keys(pattern):
                    self.moved["cache dropped"] += self.src.delete(key)
            self.src.delete("sessions_indexed")
        self.dst.set(keys.LAYOUT, keys.LAYOUT_VERSION)
        return self.moved

    def move_session(self, old: str) -> None:
        """``session:<sha>`` -> ``session:{<id>}:<sha>``, its pointer and its index entry."""
        digest = old.split(":", 1)[1]
        user_id, ttl_ms = self.src.get(old), self.src.pttl(old)
        if user_id is None or ttl_ms <= 0:
            return
        user_id = user_id.decode()
        new = f"session:{keys.tag(user_id)}:{digest}"
        self.dst.set(new, user_id, px=ttl_ms)
        self.dst.set(f"legacy_session:{digest}", user_id, px=ttl_ms)
        index = keys.sessions(user_id)
        self.dst.zadd(index, {new: int(time.time() * 1000) + ttl_ms})
        if self.dst.pttl(index) < ttl_ms:
            self.dst.pexpire(index, ttl_ms)
        if self.same:
            self.src.delete(old)
        self.moved["session"] += 1


def migrate(source_url: str, target_url: str | None = None) -> Counter[str] | None:
    """Migrate ``source_url`` into ``target_url`` (default: in place); ``None`` when the
    target is already layout 2."""
    same = target_url is None or target_url == source_url
    source = make_client(source_url, decode_responses=False, socket_timeout=60)
    target = source if same else make_client(target_url, decode_responses=False, socket_timeout=60)
    if target.get(keys.LAYOUT) == keys.LAYOUT_VERSION.encode():
        return None
    return Migration(source, target, same).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default=None, help="layout-1 Redis (default: REDIS_URL)")
    parser.add_argument("--to", default=None, help="write layout 2 here (default: in place)")
    args = parser.parse_args(argv)
    url = args.redis_url or os.environ.get("REDIS_URL", "").strip()
    if not url:
        print("set REDIS_URL (or pass --redis-url) to the worker's Redis", file=sys.stderr)
        return 2
    moved = migrate(url, args.to)
    if moved is None:
        print("already key layout 2: nothing to do")
        return 0
    summary = ", ".join(f"{n} {what}" for what, n in sorted(moved.items())) or "no keys"
    print(f"migrated to key layout 2: {summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
