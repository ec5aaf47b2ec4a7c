"""Probes: ``/healthz`` (the process answers) and ``/readyz`` (models loaded, Redis reachable)."""

from __future__ import annotations

import os
import secrets

from flask import Blueprint, current_app

from api import answers
from worker import openapi
from worker.endpoint import endpoint
from worker.routes import API, models, store

bp = Blueprint("health", __name__)

INSTANCE = secrets.token_hex(4)
"""A random name of this process (new in each gunicorn worker after the fork), so probes and
tests can tell processes apart; process ids are not shown to anyone."""


def _new_instance() -> None:
    global INSTANCE
    INSTANCE = secrets.token_hex(4)


os.register_at_fork(after_in_child=_new_instance)


@bp.get("/healthz")
@endpoint("Liveness probe", tag="health", answers={200: answers.Health})
def healthz():
    """Liveness: 200 as soon as the process serves HTTP, even while models load."""
    return {"status": "ok"}


@bp.get("/readyz")
@endpoint(
    "Readiness probe: models loaded and Redis reachable",
    tag="health",
    answers={200: answers.Ready, 503: answers.Ready},
)
def readyz():
    """Readiness: 200 once models are loaded and Redis answers PING, else 503."""
    service = models()
    redis_ok = store().ping()
    body = {"status": "ready" if service.ready and redis_ok else "not ready", **service.status()}
    body["redis"] = "ok" if redis_ok else "unreachable"
    body["instance"] = INSTANCE  # which worker process answered, without telling its pid
    if service.error:
        body["error"] = service.error
    return body, 200 if body["status"] == "ready" else 503


@bp.get(f"{API}/status")
@endpoint(
    "Which recommendations are served, and how far the model build is",
    tag="health",
    answers={200: answers.Status},
)
def serving_status():
    """What the app's status line shows: the served model (``interim`` while Pearson stands in
    for the blend being built), one sentence for people, and the build's steps with progress
    (worker.services.build). Answers while models load too; no sign-in needed."""
    from worker.services.build import serving_status as status

    return status(models().registry)


@bp.get(f"{API}/openapi.json")
@endpoint("This document", tag="health", answers={200: answers.Document})
def openapi_document():
    """The OpenAPI 3.1 document of this API, generated from its models (worker.openapi)."""
    service = models()
    genres = service.loaded.catalog.genres if service.loaded is not None else None
    return openapi.document(current_app, genres)
