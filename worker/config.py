"""Worker settings, read from environment variables once when the app is created.

Names (shared with deployment and the app; see docs/api.md):

- ``REDIS_URL``: Redis to use (``redis://`` one server, ``redis+cluster://`` a Redis Cluster: see
  :mod:`worker.store.client`); unset => ``python -m worker`` starts an embedded ``redis-server``
  with its data in ``WORKER_DATA_DIR`` (default ``./var/redis``).
- ``SESSION_TTL_SECONDS`` (default 604800 = 7 days): lifetime of a login token.
- ``BCRYPT_ROUNDS`` (default 12): bcrypt cost. The environment can raise it but never lower it
  below 12; tests lower it through ``create_app(test_config)`` only.
- ``WORKER_HOST`` (127.0.0.1), ``WORKER_PORT`` (8000), ``WORKER_PROCESSES`` (2),
  ``WORKER_THREADS`` (4), ``WORKER_ACCESS_LOG`` (unset: none; ``-``: stdout): where and how
  gunicorn serves (worker/gunicorn.conf.py).
- ``MAX_CONTENT_LENGTH`` (65536 bytes): larger request bodies get 413.
- ``RECOMMENDER_MODEL`` (default ``auto``): ``auto`` serves the saved blend
  (``ARTIFACTS_DIR/blend/latest``) when there is one, else Pearson fitted at start from the
  ratings; ``blend`` is the same; any other registry name (``pearson``, ``popularity``, ...) is
  fitted at start with ``make_model``.
- ``RELOAD_CHECK_SECONDS`` (default 30): how often (at most) each process checks the ``latest``
  pointers of the blend and ``embed`` artifacts and loads a new version in the background.
- ``TRUSTED_PROXIES`` (default 0): how many reverse proxies (e.g. the Ingress) sit in front of
  the worker; their ``X-Forwarded-For`` is then trusted for the client address used by the
  login rate limit.
- ``NEIGHBOUR_MIN_AGE_SECONDS`` (259200 = 3 days), ``NEIGHBOUR_MIN_RATINGS`` (20),
  ``NEIGHBOUR_MAX_APP`` (3): when app users count as taste neighbours (worker/trust.py).
- ``SIGNUP_MAX_PER_ADDRESS`` (10) per ``SIGNUP_WINDOW_SECONDS`` (3600): sign-ups per client
  address (429 beyond). gunicorn's own settings are in worker/gunicorn.conf.py
  (``WORKER_READ_TIMEOUT``, 15 s, in worker/gunicorn_worker.py).
- Data locations come from ``recommender.settings`` (DATA_DIR, MOVIELENS_PATH, OVERVIEWS_PATH);
  ``ARTIFACTS_DIR`` (default ``./artifacts``) is read once into the app config, so tests can
  point one app at their own folder.
"""

from __future__ import annotations

import os
from typing import Any

MIN_BCRYPT_ROUNDS = 12

DEFAULTS: dict[str, Any] = {
    "REDIS_URL": None,
    "SESSION_TTL_SECONDS": 604800,
    "BCRYPT_ROUNDS": MIN_BCRYPT_ROUNDS,
    "MAX_CONTENT_LENGTH": 64 * 1024,
    "RECOMMENDER_MODEL": "auto",
    "ARTIFACTS_DIR": None,  # None: recommender.settings.artifacts_dir() when the app is made
    "RELOAD_CHECK_SECONDS": 30.0,
    "TRUSTED_PROXIES": 0,
    # Login throttling: failures allowed per window, per username and per client address.
    "LOGIN_MAX_FAILURES_PER_USER": 5,
    "LOGIN_MAX_FAILURES_PER_ADDRESS": 20,
    "LOGIN_WINDOW_SECONDS": 900,
    # How many recommendations are computed and cached per user, and for how long.
    "RECS_CACHE_SIZE": 240,
    "RECS_CACHE_TTL_SECONDS": 86400,
    # A fresh list explains (evidence, reasons) the first this many movies of the view asked
    # for, from the opinions it was ranked from (~0.05 ms a movie at ml-25m size); the rest
    # when shown, each page then costing a whole scoring again (~60 ms). Three pages of 24.
    "RECS_EXPLAIN_FIRST": 72,
    # Describe-what-you-want lists (GET /me/recommendations?query=) are cached this long.
    "QUERY_CACHE_TTL_SECONDS": 600,
    # Similar movies from the embed model: only movies with this many training ratings.
    "SIMILAR_MIN_RATINGS": 5,
    # Discover loop state: expiry, and the most movies remembered as shown / liked.
    "DISCOVER_TTL_SECONDS": 30 * 86400,
    "DISCOVER_MAX_SHOWN": 1000,
    "DISCOVER_MAX_LIKED": 200,
    # Discover only proposes movies with at least this many ratings (no obscure films).
    "DISCOVER_MIN_RATINGS": 10,
    # Shilling resistance (worker/trust.py): app users count as taste neighbours only this long
    # after sign-up and with this many ratings, and at most this many per list.
    "NEIGHBOUR_MIN_AGE_SECONDS": 3 * 86400,
    "NEIGHBOUR_MIN_RATINGS": 20,
    "NEIGHBOUR_MAX_APP": 3,
    # Sign-ups per client address per window (worker/limits.py): 429 beyond.
    "SIGNUP_MAX_PER_ADDRESS": 10,
    "SIGNUP_WINDOW_SECONDS": 3600,
    # Load models in a background thread (True) or before create_app returns (False).
    "LOAD_IN_BACKGROUND": True,
}


HARDENING_SETTINGS = (
    "NEIGHBOUR_MIN_AGE_SECONDS",
    "NEIGHBOUR_MIN_RATINGS",
    "NEIGHBOUR_MAX_APP",
    "SIGNUP_MAX_PER_ADDRESS",
    "SIGNUP_WINDOW_SECONDS",
)
"""Integer settings of worker/trust.py and worker/limits.py, also read from the environment."""


def _int_env(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {value!r}") from exc


def from_environment() -> dict[str, Any]:
    """Settings from the environment on top of :data:`DEFAULTS` (see the module docstring)."""
    config = dict(DEFAULTS)
    redis_url = os.environ.get("REDIS_URL", "").strip()
    if redis_url:
        config["REDIS_URL"] = redis_url
    for name in (
        "SESSION_TTL_SECONDS",
        "MAX_CONTENT_LENGTH",
        "TRUSTED_PROXIES",
        *HARDENING_SETTINGS,
    ):
        value = _int_env(name)
        if value is not None:
            config[name] = value
    rounds = _int_env("BCRYPT_ROUNDS")
    if rounds is not None:
        if rounds < MIN_BCRYPT_ROUNDS:
            raise RuntimeError(f"BCRYPT_ROUNDS must be >= {MIN_BCRYPT_ROUNDS} in production")
        config["BCRYPT_ROUNDS"] = rounds
    model = os.environ.get("RECOMMENDER_MODEL", "").strip()
    if model:
        config["RECOMMENDER_MODEL"] = model
    reload_every = os.environ.get("RELOAD_CHECK_SECONDS", "").strip()
    if reload_every:
        try:
            config["RELOAD_CHECK_SECONDS"] = float(reload_every)
        except ValueError as exc:
            message = f"RELOAD_CHECK_SECONDS must be a number, got {reload_every!r}"
            raise RuntimeError(message) from exc
    artifacts = os.environ.get("ARTIFACTS_DIR", "").strip()
    if artifacts:
        config["ARTIFACTS_DIR"] = artifacts
    return config


def server_settings() -> dict[str, Any]:
    """How gunicorn serves the worker (worker/gunicorn.conf.py, ``python -m worker``): host,
    port, processes, threads per process, access log (``-`` = stdout, None = off) and the
    embedded Redis's data folder of ``python -m worker``."""
    return {
        "host": os.environ.get("WORKER_HOST", "").strip() or "127.0.0.1",
        "port": _int_env("WORKER_PORT") or 8000,
        "processes": _int_env("WORKER_PROCESSES") or 2,
        "threads": _int_env("WORKER_THREADS") or 4,
        "access_log": os.environ.get("WORKER_ACCESS_LOG", "").strip() or None,
        "data_dir": os.environ.get("WORKER_DATA_DIR", "").strip() or "var/redis",
    }
