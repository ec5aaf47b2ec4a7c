"""Sign-up, log-in, log-out and ``GET /me``."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, g, jsonify, request

from worker import auth, validation
from worker.errors import ApiError
from worker.routes import API, account, store
from worker.services import MIN_RATINGS

bp = Blueprint("auth", __name__, url_prefix=API)


@bp.post("/auth/signup")
def signup():
    """201 ``{"user": {"id", "username", "guest"}}``; 409 ``username_taken``; 422 on bad input.
    Sent with a guest's token, turns that guest into the account (see routes.account)."""
    body = validation.json_body(request, {"username", "password"})
    fields = {}
    try:
        username = validation.username(body.get("username"))
    except ApiError as exc:
        fields.update(exc.fields or {})
    try:
        password = validation.password(body.get("password"))
    except ApiError as exc:
        fields.update(exc.fields or {})
    if fields:
        raise validation.validation_error(fields)
    reservation = auth.reserve_signup()  # 429 past the per-address limit
    password_hash = auth.hash_password(password, current_app.config["BCRYPT_ROUNDS"])
    created = datetime.now(UTC).isoformat(timespec="seconds")
    try:
        user = account.signup_from_guest(username, password_hash)
    except ApiError:
        auth.release_signup(reservation)  # a refused sign-up does not count
        raise
    if user is not None:
        return jsonify({"user": user.public()}), 201
    user = store().create_user(username, password_hash, created)
    if user is None:
        auth.release_signup(reservation)
        raise ApiError(
            409,
            "username_taken",
            "That username is taken; choose another.",
            fields={"username": "already taken"},
        )
    return jsonify({"user": user.public()}), 201


@bp.post("/auth/login")
def login():
    """200 ``{"token", "expires_in", "user"}``; 401 ``invalid_credentials``; 429 throttled."""
    body = validation.json_body(request, {"username", "password"})
    username = validation.username(body.get("username"))
    password = body.get("password")
    if not isinstance(password, str) or not (1 <= len(password) <= validation.PASSWORD_MAX):
        raise validation.validation_error(
            {"password": f"must be a string of 1-{validation.PASSWORD_MAX} characters"}
        )
    user = auth.authenticate(username, password)
    account.merge_guest_session(user)  # from a guest session: its ratings join the account
    ttl = int(current_app.config["SESSION_TTL_SECONDS"])
    token = store().create_session(user.id, ttl)
    return jsonify({"token": token, "expires_in": ttl, "user": user.public()})


@bp.post("/auth/logout")
@auth.login_required
def logout():
    """204; the token is revoked at once."""
    store().revoke_session(g.token)
    return "", 204


@bp.get("/me")
@auth.login_required
def me():
    """The user, their genres, rating count and how many ratings they still need."""
    count = store().rating_count(g.user.id)
    return jsonify(
        {
            "user": g.user.public(),
            "genres": g.user.genres,
            "rating_count": count,
            "ratings_needed": max(0, MIN_RATINGS - count),
            "session_expires_in": account.session_expires_in(),
        }
    )
