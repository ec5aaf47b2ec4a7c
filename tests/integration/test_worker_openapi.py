"""Property-based tests of the live worker against its own OpenAPI document (schemathesis).

Every operation gets generated requests (a few hundred in all), authenticated with a fresh
token of a user who has rated enough movies for recommendations; responses must never be
server errors and must conform to the document (status codes, content types, headers and
body schemas).
"""

from __future__ import annotations

import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
PASSWORD = "generated tests pw"


@pytest.fixture(scope="module")
def api_user(live_worker):
    """A user with five ratings (so recommendations answer 200); returns the username."""
    username = "st_" + uuid.uuid4().hex[:12]
    body = {"username": username, "password": PASSWORD}
    assert requests.post(f"{live_worker}/api/v1/auth/signup", json=body).status_code == 201
    token = requests.post(f"{live_worker}/api/v1/auth/login", json=body).json()["token"]
    for movie_id in (1, 2, 3, 5, 6):
        requests.put(
            f"{live_worker}/api/v1/me/ratings/{movie_id}",
            json={"rating": 4.0},
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
    return username


OPERATIONS = [
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("POST", "/api/v1/auth/signup"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/logout"),
    ("POST", "/api/v1/auth/guest"),
    ("GET", "/api/v1/me"),
    ("DELETE", "/api/v1/me"),
    ("PUT", "/api/v1/me/password"),
    ("GET", "/api/v1/me/ratings/export"),
    ("GET", "/api/v1/genres"),
    ("GET", "/api/v1/me/genres"),
    ("PUT", "/api/v1/me/genres"),
    ("GET", "/api/v1/movies"),
    ("GET", "/api/v1/movies/{movie_id}"),
    ("GET", "/api/v1/movies/{movie_id}/similar"),
    ("GET", "/api/v1/me/discover"),
    ("POST", "/api/v1/me/discover"),
    ("DELETE", "/api/v1/me/discover"),
    ("GET", "/api/v1/me/ratings"),
    ("PUT", "/api/v1/me/ratings/{movie_id}"),
    ("DELETE", "/api/v1/me/ratings/{movie_id}"),
    ("GET", "/api/v1/me/recommendations"),
    ("GET", "/api/v1/insights/plots"),
    ("GET", "/api/v1/insights/plots/{name}"),
]


@pytest.fixture(scope="module")
def api_schema(live_worker):
    return schemathesis.openapi.from_url(f"{live_worker}/api/v1/openapi.json")


def test_document_lists_every_operation(api_schema):
    found = {(op.ok().method.upper(), op.ok().path) for op in api_schema.get_all_operations()}
    assert found == set(OPERATIONS)  # schemathesis skips the document's own path


@pytest.mark.parametrize(("method", "path"), OPERATIONS)
def test_operation_conforms_to_the_document(method, path, api_schema, live_worker, api_user):
    """Up to 40 generated requests per operation (about 400 in all: operations without
    parameters need only a few)."""
    operation = api_schema[path][method]
    calls = 0

    @given(case=operation.as_strategy())
    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        nonlocal calls
        calls += 1
        token = requests.post(
            f"{live_worker}/api/v1/auth/login",
            json={"username": api_user, "password": PASSWORD},
        ).json()["token"]
        case.call_and_validate(
            base_url=live_worker, headers={"Authorization": f"Bearer {token}"}, checks=CHECKS
        )

    run()
    CALLS[(method, path)] = calls


CALLS: dict[tuple[str, str], int] = {}


def test_a_few_hundred_requests_were_generated():
    if len(CALLS) < len(OPERATIONS):
        pytest.skip("run together with the per-operation tests")
    assert sum(CALLS.values()) >= 250, CALLS
