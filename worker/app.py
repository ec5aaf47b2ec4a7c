"""The worker's Flask app factory: ``create_app(test_config=None, *, loader=None)``.

Production: ``gunicorn "worker.app:create_app()" --bind 0.0.0.0:8000``. Locally:
``python -m worker``. Settings come from the environment (:mod:`worker.config`); tests pass
``test_config`` (e.g. ``{"REDIS_URL": ..., "BCRYPT_ROUNDS": 4}``) on top of it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from worker import config, errors, framing
from worker.routes import (
    API,
    account,
    auth,
    discover,
    genres,
    health,
    insights,
    movie_lists,
    movies,
    ratings,
    recommendations,
    rows,
    taste,
)
from worker.services import ModelLoader, ModelService
from worker.store import Store


def create_app(
    test_config: dict[str, Any] | None = None, *, loader: ModelLoader | None = None
) -> Flask:
    """Build the app: settings, Redis store, model services (loading starts now), blueprints.

    ``loader`` gives the models (:class:`worker.services.ModelLoader`): apps made with one
    loader share what it loaded, and ``ModelLoader.serving(catalog, model, name)`` serves a
    model fitted elsewhere (tests hand it a small one). By default a new loader reads
    ``DATA_DIR`` and ``ARTIFACTS_DIR``."""
    app = Flask(__name__)
    app.config.update(config.from_environment())
    if test_config:
        app.config.update(test_config)
    if not app.config.get("REDIS_URL"):
        raise RuntimeError("REDIS_URL is not set (python -m worker starts an embedded Redis)")
    app.json.sort_keys = False
    app.json.ensure_ascii = False
    if app.config["TRUSTED_PROXIES"]:
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    app.wsgi_app = framing.ChunkedBodyLimit(app.wsgi_app, lambda: app.config["MAX_CONTENT_LENGTH"])
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    store = Store.from_url(app.config["REDIS_URL"])
    try:
        store.check_layout()  # refuses data of an older key layout (run scripts.migrate_keys)
    except (redis.RedisError, redis.exceptions.RedisClusterException) as exc:
        # Redis not up yet: /readyz says so. The layout is then not checked by this process;
        # the other processes (and the next start) check it.
        logging.getLogger(__name__).warning("could not check the Redis key layout: %s", exc)
    service = ModelService(store, app.config, loader)
    app.extensions["store"] = store
    app.extensions["models"] = service

    @app.before_request
    def _start_timer():
        g.started = time.perf_counter()

    @app.after_request
    def _server_timing(response):
        # Server-side time of the request, read by scripts/load_test.py and browsers' devtools,
        # plus any metrics a route added to g.timing (e.g. 'explain;desc="24 movies"').
        if "started" in g:
            ms = (time.perf_counter() - g.started) * 1000
            metrics = [f"app;dur={ms:.2f}", *g.get("timing", [])]
            response.headers["Server-Timing"] = ", ".join(metrics)
        response.headers["X-Content-Type-Options"] = "nosniff"
        if request.path.startswith(f"{API}/auth/"):  # answers that carry tokens or accounts
            response.headers["Cache-Control"] = "no-store"
        return response

    errors.register(app)
    blueprints = (
        health,
        auth,
        genres,
        movies,
        ratings,
        movie_lists,
        recommendations,
        rows,
        discover,
        insights,
        taste,
    )
    for blueprint in (module.bp for module in blueprints):
        app.register_blueprint(blueprint)
    app.register_blueprint(account.bp)
    service.start(background=app.config["LOAD_IN_BACKGROUND"])
    return app
