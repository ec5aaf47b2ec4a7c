"""Guests and the account's own data: ``POST /auth/guest``, ``PUT /me/password``,
``GET /me/ratings/export`` (ratings, watchlist and not-interested movies), ``DELETE /me``, plus
the guest parts of sign-up and log-in (called from :mod:`worker.routes.auth`) and the periodic
removal of unused guests."""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from datetime import UTC, datetime

from flask import Blueprint, Response, current_app, g

from api import answers, inputs, rules
from worker import accounts, auth
from worker.endpoint import endpoint
from worker.errors import ApiError, validation_error
from worker.limits import too_many
from worker.routes import API, models, store
from worker.store import User, keys
from worker.store.feedback import LISTS

bp = Blueprint("account", __name__, url_prefix=API)
log = logging.getLogger("worker.accounts")


def _setting(name: str) -> int:
    return int(current_app.config.get(name, accounts.DEFAULTS[name]))


def _accounts() -> accounts.Accounts:
    found = current_app.extensions.get("accounts")
    if found is None:
        found = current_app.extensions["accounts"] = accounts.Accounts(store())
    return found


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _drop_from_pool() -> None:
    """Apply the change stream to this process's neighbour pool now (others do it before
    their next scoring), so a removed user is nobody's neighbour from here on."""
    if models().ready:
        models().sync()


# --- guests -----------------------------------------------------------------------------------


@bp.post("/auth/guest")
@endpoint(
    "Start as a guest: returns a bearer token of a new guest user",
    tag="auth",
    answers={201: answers.Session},
    errors=(429,),
)
def create_guest():
    """201 ``{"token", "expires_in", "user": {"id", "username": null, "guest": true}}``;
    429 ``too_many_guests`` (with Retry-After) past the per-address limit."""
    key = accounts.guest_creations_key(auth.client_address())
    limit = [(key, _setting("GUEST_MAX_PER_ADDRESS"))]
    wait = auth.limits().reserve(limit, _setting("GUEST_WINDOW_SECONDS"))
    if wait:
        raise too_many("too_many_guests", "Too many guest sessions from your address.", wait)
    ttl = _setting("GUEST_TTL_SECONDS")
    guest = _accounts().create_guest(_now_iso(), ttl)
    user = {"id": guest.user_id, "username": None, "guest": True}
    return {"token": guest.token, "expires_in": ttl, "user": user}, 201


def note_guest_use(user: User, token: str) -> None:
    """Called for every request of a guest: renews "last used" and the session (at most once
    per ``GUEST_TOUCH_SECONDS``)."""
    if accounts.now_ms() - user.last_seen_ms >= _setting("GUEST_TOUCH_SECONDS") * 1000:
        _accounts().touch_guest(user.id, token, _setting("GUEST_TTL_SECONDS"))


_sweep_lock = threading.Lock()


@bp.before_app_request
def _remove_unused_guests() -> None:
    """At most every ``GUEST_SWEEP_SECONDS`` per process: remove guests unused for
    ``GUEST_TTL_SECONDS`` (all their keys, and from every neighbour pool)."""
    due = current_app.extensions.get("guest_sweep_due", 0.0)
    if time.monotonic() < due or not _sweep_lock.acquire(blocking=False):
        return
    try:
        current_app.extensions["guest_sweep_due"] = time.monotonic() + _setting(
            "GUEST_SWEEP_SECONDS"
        )
        removed = _accounts().expire_guests(_setting("GUEST_TTL_SECONDS"))
        if removed:
            log.info("removed %d unused guests", removed)
            _drop_from_pool()
    except Exception:  # never fail a person's request over housekeeping
        log.exception("removing unused guests failed")
    finally:
        _sweep_lock.release()


def signup_from_guest(username: str, password_hash: str) -> User | None:
    """When sign-up carries a token: turn that guest into the account (same id and data;
    the guest's token keeps working) and return it. ``None`` without a token.

    401 for an invalid token, 409 ``not_a_guest`` when the token is already an account's
    (e.g. another tab converted the guest first), 409 ``username_taken``."""
    user = auth.current_user(required=False)
    if user is None:
        return None
    if not user.guest:
        raise ApiError(
            409,
            "not_a_guest",
            "You are already signed in to an account; log out to create another one.",
        )
    ttl = int(current_app.config["SESSION_TTL_SECONDS"])
    done = _accounts().convert_guest(user.id, g.token, username, password_hash, _now_iso(), ttl)
    if done == 0:
        raise ApiError(
            409,
            "username_taken",
            "That username is taken; choose another.",
            fields={"username": "already taken"},
        )
    if done < 0:
        raise ApiError(409, "not_a_guest", "This guest has already been turned into an account.")
    return User(user.id, username, password_hash, user.created_at, user.genres, guest=False)


def merge_guest_session(account: User) -> int:
    """At log-in: when the request carries a guest's token, move the guest's ratings into
    ``account`` (newer rating wins) and remove the guest. Returns ratings taken (0 when there
    is no guest token, it is an account's, or another tab merged the guest first)."""
    token = auth.bearer_token()
    guest = store().session_user(token) if token else None
    if guest is None or not guest.guest or guest.id == account.id:
        return 0
    taken = _accounts().merge_guest(guest.id, account.id)
    if taken >= 0:
        _drop_from_pool()
    return max(taken, 0)


def session_expires_in() -> int:
    """Seconds the request's session still lives (the app keeps its cookie that long)."""
    return _accounts().session_ttl(g.token)


# --- the account's own data -------------------------------------------------------------------


def _check_password(user: User, password: str, field: str) -> None:
    """403 ``wrong_password`` (counted; 429 after LOGIN_MAX_FAILURES_PER_USER per window).

    The attempt is reserved atomically before bcrypt runs, as at log-in
    (:func:`worker.auth.authenticate`), so a burst of simultaneous attempts gets no more
    password checks than the limit."""
    key = keys.password_failures(user.id)
    cfg = current_app.config
    wait = auth.limits().reserve(
        [(key, int(cfg["LOGIN_MAX_FAILURES_PER_USER"]))], int(cfg["LOGIN_WINDOW_SECONDS"])
    )
    if wait:
        raise too_many("too_many_attempts", "Too many wrong passwords.", wait)
    if not auth.check_password(password, user.password_hash):
        raise ApiError(
            403, "wrong_password", "That is not your current password.", fields={field: "wrong"}
        )
    store().clear_failures(key)


def _require_account(what: str) -> User:
    user = g.user
    if user.guest:
        raise ApiError(409, "guest_account", f"Create an account first: guests cannot {what}.")
    return user


@bp.put("/me/password")
@endpoint(
    "Change the password; every other session of the user is revoked",
    tag="auth",
    auth="required",
    body=inputs.ChangePassword,
    answers={204: None},
    errors=(403, 409, 429),
)
def change_password(body: inputs.ChangePassword):
    """``{"old_password", "new_password"}`` → 204; every other session of the user is revoked.
    403 ``wrong_password``, 409 ``guest_account``, 422 bad input, 429 too many wrong tries."""
    user = _require_account("change a password")
    _check_password(user, body.old_password, "old_password")
    new_hash = auth.hash_password(body.new_password, current_app.config["BCRYPT_ROUNDS"])
    if _accounts().change_password(user.id, user.password_hash, new_hash, g.token) < 0:
        raise ApiError(409, "conflict", "Your password was changed meanwhile; try again.")
    return "", 204


def _movielens_title(catalog, movie_id: int) -> str:
    """The title as MovieLens writes it: ``Toy Story (1995)``."""
    movie = catalog.movie(movie_id) or {}
    title, year = movie.get("title", ""), movie.get("year")
    return f"{title} ({year})" if year else title


@bp.get("/me/ratings/export")
@endpoint(
    "My ratings, watchlist and not-interested movies as CSV: "
    "movieId,title,rating,timestamp,list (oldest first)",
    tag="ratings",
    auth="required",
    answers={200: "text/csv"},
)
def export_my_ratings():
    """text/csv ``movieId,title,rating,timestamp,list`` (MovieLens columns: title with its
    year, stars 0.5-5, Unix seconds; then ``list``): first the ratings (``list`` "rating"),
    then the watchlist ("watchlist") and the not-interested movies ("not_interested") with an
    empty rating and the time they were added; each part oldest first."""
    rows, _ = store().ratings_page(g.user.id, 0, 10**9)
    catalog = models().require().catalog
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["movieId", "title", "rating", "timestamp", "list"])
    for movie_id, stars, rated_ms in reversed(rows):
        title = _movielens_title(catalog, movie_id)
        writer.writerow([movie_id, title, f"{stars:g}", rated_ms // 1000, "rating"])
    for which in LISTS:
        listed, _ = store().movie_list_page(g.user.id, which, 0, rules.MOVIE_LIST_MAX)
        for movie_id, added_ms in reversed(listed):
            title = _movielens_title(catalog, movie_id)
            writer.writerow([movie_id, title, "", added_ms // 1000, which])
    name = f"ratings-{g.user.username or 'guest'}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.delete("/me")
@endpoint(
    "Delete my account and every piece of its data (a guest sends {})",
    tag="auth",
    auth="required",
    body=inputs.DeleteAccount,
    answers={204: None},
    errors=(403, 409, 429),
    description="An account must send its password (422 without it); a guest sends {}.",
)
def delete_me(body: inputs.DeleteAccount):
    """``{"password"}`` (accounts; a guest sends ``{}``) → 204: every key of the user removed
    in one transaction and the user dropped from this process's neighbour pool (every other
    process drops it before its next scoring). 403 ``wrong_password``, 422 bad input."""
    user = g.user
    if not user.guest:
        if body.password is None:
            raise validation_error({"password": "required"})
        _check_password(user, body.password, "password")
    if _accounts().delete_user(user.id, user.password_hash) < 0:
        raise ApiError(409, "conflict", "Your password was changed meanwhile; try again.")
    _drop_from_pool()
    return "", 204
