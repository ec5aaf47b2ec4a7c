"""Everything the worker keeps in Redis, by area, over one keys module.

- :mod:`worker.store.keys` names every key (its docstring is the key layout);
- :mod:`worker.store.client` makes the client (one server, or Redis Cluster from a
  ``redis+cluster://`` URL) and loads the Lua scripts of ``worker/store/lua/``;
- areas: :mod:`~worker.store.users` (accounts and sessions), :mod:`~worker.store.ratings`
  (ratings and the change stream), :mod:`~worker.store.feedback` (not-interested movies and
  the watchlist), :mod:`~worker.store.caches` (recommendation and query
  lists), :mod:`~worker.store.discover`, :mod:`~worker.store.export`,
  :mod:`~worker.store.lifecycle` (guests, merging, password change, removal);
- :class:`Store` is all of them on one client: the one object the routes and services use.

Redis Cluster: every key of one user carries the hash tag ``{<user id>}`` and every script
gets all its keys in ``KEYS``, all of one slot. Operations that also touch global keys
(username index, ``users``, ``guests``, the change stream, rate limits, export numbers, other
users' caches) do so in separate single-slot commands, ordered so that a crash between them
leaves nothing a reader would misread (see :mod:`~worker.store.users` and
:mod:`~worker.store.lifecycle`).
"""

from __future__ import annotations

import redis
from redis.cluster import RedisCluster

from worker.store import keys
from worker.store.caches import CachesArea
from worker.store.client import make_client, scripts_of
from worker.store.discover import DiscoverArea
from worker.store.export import EXPORT_USER_OFFSET, ExportArea
from worker.store.feedback import FeedbackArea
from worker.store.lifecycle import Guest, LifecycleArea
from worker.store.ratings import RatingChange, RatingsArea
from worker.store.users import User, UsersArea, now_ms

CHANGES_MAXLEN = keys.CHANGES_MAXLEN

__all__ = [
    "CHANGES_MAXLEN",
    "EXPORT_USER_OFFSET",
    "Guest",
    "RatingChange",
    "Store",
    "User",
    "export_movie_lists",
    "export_ratings",
    "failures_key",
    "now_ms",
    "signups_key",
]


class LayoutError(RuntimeError):
    """The database holds data of an older key layout: run ``python -m scripts.migrate_keys``."""


class Store(
    UsersArea, RatingsArea, FeedbackArea, CachesArea, DiscoverArea, ExportArea, LifecycleArea
):
    """Typed access to the worker's Redis data (see :mod:`worker.store.keys` for the layout)."""

    def __init__(self, client: redis.Redis | RedisCluster) -> None:
        self.r = client
        self.scripts = scripts_of(client)

    @classmethod
    def from_url(cls, url: str, **timeouts: float) -> Store:
        """A store on ``url`` (``redis://...`` or ``redis+cluster://...``; see
        :func:`worker.store.client.make_client` for the timeouts)."""
        return cls(make_client(url, **timeouts))

    def check_layout(self) -> None:
        """Mark an empty database as layout 2; raise :class:`LayoutError` on older data."""
        if self.r.get(keys.LAYOUT) == keys.LAYOUT_VERSION:
            return
        if self.r.scard(keys.USERS) or self.r.exists("export_user_ids"):
            raise LayoutError(
                "this Redis holds data of key layout 1: stop the workers and run "
                "'python -m scripts.migrate_keys' once (see docs/api.md)"
            )
        self.r.set(keys.LAYOUT, keys.LAYOUT_VERSION, nx=True)


def failures_key(kind: str, who: str) -> str:
    return keys.login_failures(kind, who)


def signups_key(address: str) -> str:
    return keys.signups(address)


def _decoding(client: redis.Redis | RedisCluster) -> redis.Redis | RedisCluster:
    """``client``, or for one made without ``decode_responses`` the same server with it."""
    if isinstance(client, redis.Redis):
        kwargs = client.connection_pool.connection_kwargs
        if not kwargs.get("decode_responses"):
            return redis.Redis(
                connection_pool=redis.ConnectionPool(
                    connection_class=client.connection_pool.connection_class,
                    **{**kwargs, "decode_responses": True},
                )
            )
    return client


def export_ratings(client: redis.Redis | RedisCluster):
    """Every rating of every app user, for retraining: a pandas DataFrame with MovieLens
    columns ``userId`` (int64: ``EXPORT_USER_OFFSET`` + a stable per-user number kept in
    Redis, so a person keeps the same id across exports), ``movieId`` (int64), ``rating``
    (float64, 0.5–5) and ``timestamp`` (int64 Unix seconds of the rating), sorted by user and
    time. ``client`` is any redis-py client (e.g. ``make_client(REDIS_URL)``); one made
    without ``decode_responses`` is reopened with it. Assigning new numbers is the only
    write."""
    return Store(_decoding(client)).export_ratings()


def export_movie_lists(client: redis.Redis | RedisCluster):
    """Every app user's watchlist and not-interested movies (same user ids as
    :func:`export_ratings`): see :meth:`worker.store.export.ExportArea.export_movie_lists`."""
    return Store(_decoding(client)).export_movie_lists()
