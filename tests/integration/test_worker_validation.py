"""Every class of bad input gets a 4xx in the one error shape, and Redis is left unchanged.

"Unchanged" is checked on a full snapshot of the database: every key with its type and
value, read with the type's own command, before and after each bad request.
"""

from __future__ import annotations

import json

import pytest
import redis

API = "/api/v1"
BIG = "x" * (70 * 1024)


def snapshot(db: redis.Redis) -> dict[str, object]:
    """Every key -> (type, value) with values read by type (TTLs left out: they tick)."""
    readers = {
        "string": db.get,
        "hash": db.hgetall,
        "set": lambda k: sorted(db.smembers(k)),
        "zset": lambda k: db.zrange(k, 0, -1, withscores=True),
        "list": lambda k: db.lrange(k, 0, -1),
        "stream": lambda k: db.xrange(k),
    }
    state = {}
    for key in db.scan_iter(count=1000):
        kind = db.type(key)
        state[key] = (kind, readers[kind](key))
    return state


@pytest.fixture()
def seeded(worker_client, worker_login, redis_server):
    """A user with two ratings, genres and a cached recommendation list; returns headers."""
    headers = worker_login(worker_client, "validator")
    for movie_id, stars in [(1, 4.0), (2, 3.5), (3, 5.0), (5, 2.0), (6, 4.5)]:
        worker_client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
    worker_client.put(f"{API}/me/genres", json={"genres": ["Comedy"]}, headers=headers)
    assert worker_client.get(f"{API}/me/recommendations", headers=headers).status_code == 200
    return headers


def _raw(method, path, body, content_type="application/json"):
    return {"method": method, "path": path, "data": body, "content_type": content_type}


def _json(method, path, value):
    return _raw(method, path, json.dumps(value))


RATE = f"{API}/me/ratings/1"
BAD_REQUESTS = {
    # ratings: types, ranges, steps, unknown fields, unknown movies
    "rating as string": (_json("PUT", RATE, {"rating": "4.5"}), 422),
    "rating as boolean": (_json("PUT", RATE, {"rating": True}), 422),
    "rating null": (_json("PUT", RATE, {"rating": None}), 422),
    "rating missing": (_json("PUT", RATE, {}), 422),
    "rating zero": (_json("PUT", RATE, {"rating": 0}), 422),
    "rating negative": (_json("PUT", RATE, {"rating": -1}), 422),
    "rating above 5": (_json("PUT", RATE, {"rating": 5.5}), 422),
    "rating off step": (_json("PUT", RATE, {"rating": 4.3}), 422),
    "rating huge": (_json("PUT", RATE, {"rating": 1e308}), 422),
    "rating NaN literal": (_raw("PUT", RATE, '{"rating": NaN}'), 400),
    "rating Infinity literal": (_raw("PUT", RATE, '{"rating": Infinity}'), 400),
    "rating as list": (_json("PUT", RATE, {"rating": [4]}), 422),
    "unknown field": (_json("PUT", RATE, {"rating": 4, "user_id": "x"}), 422),
    "body is a list": (_json("PUT", RATE, [4]), 422),
    "unknown movie": (_json("PUT", f"{API}/me/ratings/999999999", {"rating": 4}), 404),
    "huge movie id": (_json("PUT", f"{API}/me/ratings/{10**30}", {"rating": 4}), 404),
    "negative movie id": (_json("PUT", f"{API}/me/ratings/-1", {"rating": 4}), 404),
    "movie id not a number": (_json("PUT", f"{API}/me/ratings/abc", {"rating": 4}), 404),
    "malformed JSON": (_raw("PUT", RATE, '{"rating": 4'), 400),
    "invalid UTF-8": (_raw("PUT", RATE, b'{"rating": "\xff"}'), 400),
    "text/plain body": (_raw("PUT", RATE, '{"rating": 4}', "text/plain"), 415),
    "form body": (_raw("PUT", RATE, "rating=4", "application/x-www-form-urlencoded"), 415),
    "no body": (_raw("PUT", RATE, None, None), 415),
    "oversized body": (_json("PUT", RATE, {"rating": 4, "pad": BIG}), 413),
    "delete unrated movie": (_raw("DELETE", f"{API}/me/ratings/4", None, None), 404),
    "delete unknown movie": (_raw("DELETE", f"{API}/me/ratings/999999999", None, None), 404),
    # paging
    "page zero": (_raw("GET", f"{API}/me/ratings?page=0", None, None), 422),
    "page negative": (_raw("GET", f"{API}/me/ratings?page=-1", None, None), 422),
    "page huge": (_raw("GET", f"{API}/me/ratings?page=99999999999", None, None), 422),
    "page not a number": (_raw("GET", f"{API}/movies?page=two", None, None), 422),
    "page_size zero": (_raw("GET", f"{API}/movies?page_size=0", None, None), 422),
    "page_size 101": (_raw("GET", f"{API}/me/recommendations?page_size=101", None, None), 422),
    "page given twice": (_raw("GET", f"{API}/me/ratings?page=1&page=2", None, None), 422),
    "page float": (_raw("GET", f"{API}/movies?page=1.5", None, None), 422),
    # grid filters
    "unknown genre filter": (_raw("GET", f"{API}/movies?genres=Comedy,Nope", None, None), 422),
    "search too long": (_raw("GET", f"{API}/movies?q={'a' * 201}", None, None), 422),
    "search with control char": (_raw("GET", f"{API}/movies?q=a%00b", None, None), 422),
    # genres
    "no genres": (_json("PUT", f"{API}/me/genres", {"genres": []}), 422),
    "unknown genre": (_json("PUT", f"{API}/me/genres", {"genres": ["Nope"]}), 422),
    "repeated genre": (_json("PUT", f"{API}/me/genres", {"genres": ["Drama", "Drama"]}), 422),
    "genres as string": (_json("PUT", f"{API}/me/genres", {"genres": "Drama"}), 422),
    "genre not a string": (_json("PUT", f"{API}/me/genres", {"genres": [1]}), 422),
    # sign-up and log-in
    "username too short": (
        _json("POST", f"{API}/auth/signup", {"username": "ab", "password": "long enough"}),
        422,
    ),
    "username too long": (
        _json("POST", f"{API}/auth/signup", {"username": "a" * 33, "password": "long enough"}),
        422,
    ),
    "username unicode": (
        _json("POST", f"{API}/auth/signup", {"username": "zoë_user", "password": "long enough"}),
        422,
    ),
    "username fullwidth": (
        _json("POST", f"{API}/auth/signup", {"username": "ａｂｃｄ", "password": "long enough"}),
        422,
    ),
    "username control char": (
        _json("POST", f"{API}/auth/signup", {"username": "abc\n", "password": "long enough"}),
        422,
    ),
    "username with space": (
        _json("POST", f"{API}/auth/signup", {"username": "a b c", "password": "long enough"}),
        422,
    ),
    "username not a string": (
        _json("POST", f"{API}/auth/signup", {"username": 12345, "password": "long enough"}),
        422,
    ),
    "password too short": (
        _json("POST", f"{API}/auth/signup", {"username": "newbie", "password": "short"}),
        422,
    ),
    "password too long": (
        _json("POST", f"{API}/auth/signup", {"username": "newbie", "password": "p" * 1025}),
        422,
    ),
    "password with NUL": (
        _json("POST", f"{API}/auth/signup", {"username": "newbie", "password": "abc\x00defgh"}),
        422,
    ),
    "password not a string": (
        _json("POST", f"{API}/auth/signup", {"username": "newbie", "password": 12345678}),
        422,
    ),
    "username taken": (
        _json("POST", f"{API}/auth/signup", {"username": "VALIDATOR", "password": "long enough"}),
        409,
    ),
    "login username unicode": (
        _json("POST", f"{API}/auth/login", {"username": "zoë", "password": "whatever"}),
        422,
    ),
    "login missing password": (_json("POST", f"{API}/auth/login", {"username": "validator"}), 422),
    # routes and methods
    "unknown route": (_raw("GET", f"{API}/nope", None, None), 404),
    "wrong method": (_raw("POST", f"{API}/me", None, None), 405),
    "recommendations by user id": (_raw("GET", f"{API}/users/x/recommendations", None, None), 404),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_input_is_refused_and_changes_nothing(name, seeded, worker_client, redis_server):
    request, status = BAD_REQUESTS[name]
    db = redis.Redis.from_url(redis_server.url, decode_responses=True)
    before = snapshot(db)
    assert any(key.startswith("ratings:") for key in before)
    answer = worker_client.open(
        request["path"],
        method=request["method"],
        data=request["data"],
        content_type=request["content_type"],
        headers=seeded,
    )
    assert answer.status_code == status, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["status"] == status and error["code"] and error["message"]
    assert "Traceback" not in answer.get_data(as_text=True)
    assert snapshot(db) == before


def test_validation_errors_name_the_wrong_field(seeded, worker_client):
    answer = worker_client.put(RATE, json={"rating": 4.3}, headers=seeded)
    assert "rating" in answer.get_json()["error"]["fields"]
    answer = worker_client.post(f"{API}/auth/signup", json={"username": "a", "password": "b"})
    assert set(answer.get_json()["error"]["fields"]) == {"username", "password"}


def test_server_errors_use_the_same_shape_without_details(make_worker_app):
    app = make_worker_app()

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret detail")

    answer = app.test_client().get("/boom")
    assert answer.status_code == 500
    assert answer.get_json() == {
        "error": {
            "status": 500,
            "code": "internal_error",
            "message": "Something went wrong on our side.",
        }
    }


# --------------------------------------------------------------------------- one source of rules


def _accepted(model, body) -> bool:
    from pydantic import ValidationError

    try:
        model.model_validate(body)
    except ValidationError:
        return False
    return True


USERNAMES = ["abc", "ab", "a" * 32, "a" * 33, "zoë_user", "ａｂｃｄ", "abc\n", "a b c", "x.y-Z_1"]
PASSWORDS = ["p" * 7, "p" * 8, "p" * 1024, "p" * 1025, "abc\x00defgh", "ünïcödé ok"]


@pytest.mark.parametrize("username", USERNAMES)
def test_the_app_checks_usernames_as_the_worker_does(username):
    from api.inputs import SignUp
    from app.views.auth import username_problem

    worker_ok = _accepted(SignUp, {"username": username, "password": "long enough"})
    assert (username_problem(username) is None) == worker_ok
    assert worker_ok == (username in ("abc", "a" * 32, "x.y-Z_1"))


@pytest.mark.parametrize("password", PASSWORDS)
def test_the_app_checks_new_passwords_as_the_worker_does(password):
    from api.inputs import SignUp
    from app.views.auth import password_problem

    worker_ok = _accepted(SignUp, {"username": "someone", "password": password})
    assert (password_problem(password) is None) == worker_ok
    assert worker_ok == (password in ("p" * 8, "p" * 1024, "ünïcödé ok"))


def test_the_app_offers_exactly_the_ratings_the_worker_takes():
    from api.inputs import RateMovie
    from app.components import RATING_CHOICES

    offered = RATING_CHOICES[1:]  # 0 is "not rated"
    assert offered == [x / 2 for x in range(1, 11)]
    assert all(_accepted(RateMovie, {"rating": stars}) for stars in offered)
    between = [0.0, 0.25, 4.3, 5.5, 2.5000000001]
    assert not any(_accepted(RateMovie, {"rating": stars}) for stars in between)
