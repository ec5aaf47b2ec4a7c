"""Sign-up, log-in, log-out and ``GET /me``."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, g

from api import answers, inputs
from worker import auth
from worker.endpoint import endpoint
from worker.errors import ApiError
from worker.routes import API, account, store
from worker.services import MIN_RATINGS

bp = Blueprint("auth", __name__, url_prefix=API)


@bp.post("/auth/signup")
@endpoint(
    "Create an account (with a guest's token: turn that guest into it)",
    tag="auth",
    auth="optional",
    body=inputs.SignUp,
    answers={201: answers.SignedUp},
    errors=(409, 429),
)
def signup(body: inputs.SignUp):
    """201 ``{"user": {"id", "username", "guest"}}``; 409 ``username_taken``; 422 on bad input.
    Sent with a guest's token, turns that guest into the account (see routes.account)."""
    username, password = body.username, body.password
    reservation = auth.reserve_signup()  # 429 past the per-address limit
    password_hash = auth.hash_password(password, current_app.config["BCRYPT_ROUNDS"])
    created = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        user = account.signup_from_guest(username, password_hash)
    except ApiError:
        auth.release_signup(reservation)  # a refused sign-up does not count
        raise
    if user is not None:
        return {"user": user.public()}, 201
    user = store().create_user(username, password_hash, created)
    if user is None:
        auth.release_signup(reservation)
        raise ApiError(
            409,
            "username_taken",
            "That username is taken; choose another.",
            fields={"username": "already taken"},
        )
    return {"user": user.public()}, 201


@bp.post("/auth/login")
@endpoint(
    "Log in: returns a bearer token (with a guest's token: merge that guest in)",
    tag="auth",
    auth="optional",
    body=inputs.LogIn,
    answers={200: answers.Session},
    errors=(429,),
)
def login(body: inputs.LogIn):
    """200 ``{"token", "expires_in", "user"}``; 401 ``invalid_credentials``; 429 throttled."""
    user = auth.authenticate(body.username, body.password)
    account.merge_guest_session(user)  # from a guest session: its ratings join the account
    ttl = int(current_app.config["SESSION_TTL_SECONDS"])
    token = store().create_session(user.id, ttl)
    return {"token": token, "expires_in": ttl, "user": user.public()}


@bp.post("/auth/logout")
@endpoint("Revoke the token", tag="auth", auth="required", answers={204: None})
def logout():
    """204; the token is revoked at once."""
    store().revoke_session(g.token)
    return "", 204


@bp.get("/me")
@endpoint(
    "The user, genres and rating count", tag="auth", auth="required", answers={200: answers.Me}
)
def me():
    """The user, their genres, rating count and how many ratings they still need."""
    count = store().rating_count(g.user.id)
    return {
        "user": g.user.public(),
        "genres": g.user.genres,
        "rating_count": count,
        "ratings_needed": max(0, MIN_RATINGS - count),
        "session_expires_in": account.session_expires_in(),
    }
