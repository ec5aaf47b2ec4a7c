"""The worker's OpenAPI document against the server: the routes it lists are the routes Flask
serves, and schemathesis drives every operation of the live worker with generated requests.

- Positive data (what the document allows) must be accepted: no 400/422 (401, 403, 404, 409
  and 429 are answers about state, not about the request's shape).
- Negative data (what the document forbids) must be refused with a 4xx.
- Every answer must conform to the document (status codes, content types, headers, body
  schemas) and never be a server error.

Requests carry a fresh token of a user with five ratings (so recommendations answer 200);
``DELETE /me`` runs as a fresh guest each time, so generated bodies delete guests, not the
test's account.
"""

from __future__ import annotations

import re
import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    positive_data_acceptance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
CHECKS = {
    GenerationMode.POSITIVE: [*CONFORMANCE, positive_data_acceptance],
    GenerationMode.NEGATIVE: [*CONFORMANCE, negative_data_rejection],
}
STATE_RULES = {
    ("POST", "/api/v1/me/discover"): "shown must be the current round's movies and liked a "
    "subset of shown: rules about the user's state and between fields, which JSON Schema "
    "cannot state (the operation's description says them)",
    ("GET", "/api/v1/me/recommendations"): "year_to must not be before year_from: a rule "
    "between fields, which JSON Schema cannot state (the operation's description says it)",
}
"""Operations whose allowed data may still get a 422, and why; for them, positive data is
only checked not to get a 400 (malformed) and to conform to the document."""
PASSWORD = "generated tests pw"
EXAMPLES = {GenerationMode.POSITIVE: 30, GenerationMode.NEGATIVE: 20}


def _rule_path(rule: str) -> str:
    """Flask's ``/movies/<int:movie_id>`` as OpenAPI's ``/movies/{movie_id}``."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)


def _served(app) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every route in Flask's url_map."""
    return {
        (method, _rule_path(rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint != "static"
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _documented(app) -> set[tuple[str, str]]:
    doc = app.test_client().get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.1")
    return {(m.upper(), path) for path, ops in doc["paths"].items() for m in ops}


def test_document_lists_exactly_the_routes_flask_serves(worker_app):
    """Every (method, path) of Flask's url_map is in the document, and nothing else is."""
    served, documented = _served(worker_app), _documented(worker_app)
    assert len(served) >= 20, served
    assert documented == served, {
        "served, not documented": served - documented,
        "documented, not served": documented - served,
    }


def test_a_route_without_a_declaration_would_be_caught(make_worker_app):
    app = make_worker_app()

    @app.get("/api/v1/undeclared")
    def undeclared():
        return {}

    assert _served(app) - _documented(app) == {("GET", "/api/v1/undeclared")}


def test_document_is_valid_openapi_3_1(worker_app):
    """Checked against the OpenAPI 3.1 meta-schema (schemathesis's copy), which does refuse a
    broken document."""
    doc = worker_app.test_client().get("/api/v1/openapi.json").get_json()
    schemathesis.openapi.from_dict(doc).validate()
    broken = {**doc, "paths": {"/x": {"get": {"responses": {"200": {"content": 5}}}}}}
    with pytest.raises(Exception, match="content"):
        schemathesis.openapi.from_dict(broken).validate()


def test_every_error_is_documented_with_the_error_shape(worker_app):
    doc = worker_app.test_client().get("/api/v1/openapi.json").get_json()
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            for status, answer in op["responses"].items():
                if int(status) >= 400 and not (path == "/readyz" and status == "503"):
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Error"}, (method, path)
            if "requestBody" in op:
                assert {"400", "413", "415", "422"} <= set(op["responses"]), (method, path)


@pytest.fixture()
def api_user(live_worker):
    """A fresh user with five ratings (so recommendations answer 200); returns the username.
    Fresh for each mode, so what one mode's requests changed cannot decide the other's."""
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


@pytest.fixture(scope="module")
def api_doc(live_worker):
    return requests.get(f"{live_worker}/api/v1/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def api_schema(api_doc):
    doc = api_doc
    genres = doc["components"]["schemas"]["ChooseGenres"]["properties"]["genres"]["items"]
    assert "Comedy" in genres["enum"], "the document names the catalogue's genres"
    schema = schemathesis.openapi.from_dict(doc)
    # Unknown query parameters are ignored by design (docs/api.md), unlike unknown body fields.
    schema.config.generation.update(allow_extra_parameters=False)
    # A generated URL longer than gunicorn's request line limit is refused by gunicorn itself
    # (414, documented for every operation, like 431 for headers): that refusal counts too.
    rejection = schema.config.checks.negative_data_rejection
    schema.config.checks.negative_data_rejection = type(rejection)(
        expected_statuses=[*rejection.expected_statuses, "414", "431"]
    )
    return schema


def _token(live_worker: str, method: str, path: str, username: str) -> str | None:
    """The token a generated request carries: none for sign-up, log-in and guests (they
    make their own), a fresh guest's for DELETE /me, else a fresh one of ``username``."""
    if path.startswith("/api/v1/auth/") and path != "/api/v1/auth/logout":
        return None
    if (method, path) == ("DELETE", "/api/v1/me"):
        return requests.post(f"{live_worker}/api/v1/auth/guest").json()["token"]
    body = {"username": username, "password": PASSWORD}
    return requests.post(f"{live_worker}/api/v1/auth/login", json=body).json()["token"]


def _run(operation, mode: GenerationMode, live_worker: str, username: str) -> int:
    """Drive one operation with generated requests of ``mode``; returns how many were sent."""
    method, path = operation.method.upper(), operation.path
    checks = CHECKS[mode]
    if mode is GenerationMode.POSITIVE and (method, path) in STATE_RULES:
        checks = CONFORMANCE
    calls = 0

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES[mode],
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case):
        nonlocal calls
        calls += 1
        token = _token(live_worker, method, path, username)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = case.call_and_validate(base_url=live_worker, headers=headers, checks=checks)
        if mode is GenerationMode.POSITIVE:
            assert answer.status_code != 400, (method, path, answer.text[:300])

    run()
    return calls


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_every_operation_keeps_to_the_document(mode, api_doc, api_schema, live_worker, api_user):
    """Each operation of the document gets up to 30 positive / 20 negative generated requests
    (negative ones only where it takes input: parameters, a body or a token); failures of all
    operations are reported together."""
    failures, calls = {}, {}
    for result in api_schema.get_all_operations():
        operation = result.ok()
        label = f"{operation.method.upper()} {operation.path}"
        declared = api_doc["paths"][operation.path][operation.method.lower()]
        takes_input = {"parameters", "requestBody"} & set(declared) or declared["security"]
        if mode is GenerationMode.NEGATIVE and not takes_input:
            continue
        try:
            calls[label] = _run(operation, mode, live_worker, api_user)
        except Exception as exc:  # collect every operation's failure, then report them all
            failures[label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    assert not failures, "\n\n".join(f"{k}\n{v}" for k, v in failures.items())
    assert len(calls) >= 20, calls  # every operation of the document was driven
    assert sum(calls.values()) >= 150, calls
