"""Caches: recommendation lists, the home view's rows, "describe what you want" lists, and
which lists lean on whom.

A list is cached in ``recs:{<id>}`` (field = model version; the rows built from it under
``rows:<model version>``) for the user's current ratings version only: every ratings change
deletes the hash, and a save is refused when the version moved on. A list computed with app
users as taste neighbours is recorded in each neighbour's
``neighbour_of:{<neighbour id>}``; removing a user invalidates exactly the lists recorded
there (:mod:`worker.store.lifecycle`). The record is written *before* the list and checked
after it (the neighbour still exists), so a list saved while its neighbour is being removed
is either found by the removal or drops itself.
"""

from __future__ import annotations

import json
from typing import Any

import redis
from redis.cluster import RedisCluster

from worker.store import keys
from worker.store.client import Scripts

APP_USER_PREFIX = "app:"
"""How the model names an app user among its neighbours (``worker.services.pool``)."""


ROWS_FIELD = "rows:"
"""Field of ``recs:{<id>}`` holding the home view's rows: ``rows:<model version>``."""


def app_neighbour_ids(neighbours: list[dict[str, Any]]) -> list[str]:
    """The app user ids among a list's taste neighbours (``{"user": "app:<id>", ...}``)."""
    found = (str(n.get("user", "")) for n in neighbours)
    return sorted({u[len(APP_USER_PREFIX) :] for u in found if u.startswith(APP_USER_PREFIX)})


class CachesArea:
    """Recommendation and query caches (mixed into the Store)."""

    r: redis.Redis | RedisCluster
    scripts: Scripts

    def recs_state(
        self, user_id: str, held_version: int = -1, model_version: str = ""
    ) -> tuple[int, int, dict[str, Any] | None]:
        """Rating count, ratings version and the list cached for that ratings version and
        ``model_version``, in one trip (the list is not sent when it is for ``held_version``,
        which the caller has)."""
        count, version, raw = self.scripts.recs_state(
            keys=[keys.ratings(user_id), keys.version(user_id), keys.recs(user_id)],
            args=[held_version, model_version],
        )
        return int(count), int(version), json.loads(raw) if raw else None

    def cached_recs(
        self, user_id: str, version: int, model_version: str | None = None
    ) -> dict[str, Any] | None:
        """The cached list for a ratings version (of ``model_version``, or of any model)."""
        if model_version is None:
            lists = self.r.hgetall(keys.recs(user_id))
            values = [v for f, v in lists.items() if not f.startswith(ROWS_FIELD)]
            raw = values[0] if values else None
        else:
            raw = self.r.hget(keys.recs(user_id), model_version)
        doc = json.loads(raw) if raw else None
        if doc is None or doc.get("ratings_version", version) != version:
            return None
        return doc

    def save_recs(
        self,
        user_id: str,
        version: int,
        recs: dict[str, Any],
        neighbours: list[dict[str, Any]],
        ttl: int,
        model_version: str = "",
    ) -> bool:
        """Cache a computed list unless the ratings changed meanwhile (then nothing is written)
        or an app user among its ``neighbours`` was removed meanwhile (then it is dropped)."""
        leaned_on = app_neighbour_ids(neighbours)
        if leaned_on:
            pipe = self.r.pipeline(transaction=False)
            for other in leaned_on:
                pipe.sadd(keys.neighbour_of(other), user_id)
                pipe.expire(keys.neighbour_of(other), ttl)
            pipe.execute()
        saved = self.scripts.save_recs(
            keys=[keys.version(user_id), keys.recs(user_id)],
            args=[str(version), json.dumps(recs), ttl, model_version],
        )
        if saved and leaned_on:
            pipe = self.r.pipeline(transaction=False)
            for other in leaned_on:
                pipe.exists(keys.user(other))
            if not all(pipe.execute()):  # removed meanwhile: the list must not be served
                self.invalidate_recs([user_id])
                return False
        return bool(saved)

    def update_recs(
        self, user_id: str, version: int, recs: dict[str, Any], model_version: str = ""
    ) -> bool:
        """Replace the cached list of ``(version, model_version)`` (its expiry unchanged);
        nothing is written when the ratings changed or that list is no longer cached."""
        found = self.scripts.update_recs(
            keys=[keys.version(user_id), keys.recs(user_id)],
            args=[str(version), json.dumps(recs), model_version],
        )
        return bool(found)

    def cached_rows(self, user_id: str, version: int, model_version: str) -> dict[str, Any] | None:
        """The home view's rows cached for this ratings version and model version, or None."""
        return self.cached_recs(user_id, version, ROWS_FIELD + model_version)

    def save_rows(
        self, user_id: str, version: int, rows: dict[str, Any], ttl: int, model_version: str
    ) -> bool:
        """Cache the home view's rows beside the list they were built from (the same hash, so
        every change that drops the list drops them); nothing is written when the ratings
        changed meanwhile."""
        saved = self.scripts.save_recs(
            keys=[keys.version(user_id), keys.recs(user_id)],
            args=[str(version), json.dumps(rows), ttl, ROWS_FIELD + model_version],
        )
        return bool(saved)

    def users_leaning_on(self, user_id: str) -> set[str]:
        """Ids of the users whose cached list had ``user_id`` as a taste neighbour."""
        return set(self.r.smembers(keys.neighbour_of(user_id)))

    def invalidate_recs(self, user_ids: list[str]) -> int:
        """Drop the cached lists of these users (bumping their ratings versions, so no process
        serves its in-memory copy either); returns how many had one."""
        each = [[keys.version(u), keys.recs(u)] for u in user_ids]
        if isinstance(self.r, RedisCluster):  # redis-py refuses scripts in cluster pipelines
            return sum(int(self.scripts.invalidate_recs(keys=k)) for k in each)
        pipe = self.r.pipeline(transaction=False)  # one round trip
        for k in each:
            self.scripts.invalidate_recs(keys=k, client=pipe)
        return sum(int(done) for done in pipe.execute()) if each else 0

    def query_recs(self, user_id: str, digest: str) -> dict[str, Any] | None:
        raw = self.r.get(keys.query_recs(user_id, digest))
        return json.loads(raw) if raw else None

    def save_query_recs(self, user_id: str, digest: str, doc: dict[str, Any], ttl: int) -> None:
        self.scripts.save_query_recs(
            keys=[keys.query_recs(user_id, digest), keys.query_recs_index(user_id)],
            args=[json.dumps(doc), ttl],
        )
