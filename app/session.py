"""Per-visitor state in ``st.session_state`` and the actions shared by every view.

The session token lives in ``st.session_state["token"]`` and in a cookie (``app/cookies.py``),
never in a URL: a reload or a new tab starts a fresh Streamlit session, which signs the person
in again from the cookie (:func:`restore_from_cookie`) until the session expires. Log-out
revokes the token on the worker, clears the whole session state and deletes the cookie in the
same click; other tabs are signed out at their next action (the worker answers 401).

Keys used: ``token``, ``user``, ``nav`` (the view of the page being drawn, set from its URL by
``app/Home.py``), ``goto`` (a view to switch to at the start of the next run), ``flash``
(messages shown once),
``cookie_write`` (seconds: write the cookie on this run), ``cookie_clear``, ``cookie_dead`` (a
cookie token known to be revoked),
``ratings`` (this session's latest known ratings {movie_id: rating or None}),
``ratings_version`` (bumped on every saved change, so lists refetch), ``cache:*`` (fetched pages),
``details`` (id of the movie whose details dialog is open, else absent), ``changes`` (what this
interaction's callbacks noted, see :func:`apply_rating_changes`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import streamlit as st

from app import cookies
from app.client import ApiError, WorkerClient, WorkerUnavailable
from app.config import RATINGS_NEEDED, AppConfig

log = logging.getLogger(__name__)

VIEW_GENRES = "Genres"
VIEW_RATE = "Rate movies"
VIEW_HOME = "For you"
VIEW_RECS = "Recommendations"
VIEW_MINE = "My ratings"
VIEW_WATCHLIST = "Watchlist"
VIEW_DISCOVER = "Discover"
VIEW_INSIGHTS = "Insights"
VIEW_MODEL = "Model insights"
VIEW_ACCOUNT = "Account"
#: The views in the order of the navigation bar; each has its own URL path (``VIEW_PATHS``).
VIEWS = [
    VIEW_RATE,
    VIEW_HOME,
    VIEW_RECS,
    VIEW_DISCOVER,
    VIEW_MINE,
    VIEW_WATCHLIST,
    VIEW_GENRES,
    VIEW_INSIGHTS,
    VIEW_MODEL,
    VIEW_ACCOUNT,
]
#: URL path of each view (``http://host/recommendations``); the first view, "Rate movies",
#: is the app's home page and is served at ``/``.
VIEW_PATHS = {
    VIEW_RATE: "rate",
    VIEW_HOME: "for-you",
    VIEW_RECS: "recommendations",
    VIEW_DISCOVER: "discover",
    VIEW_MINE: "my-ratings",
    VIEW_WATCHLIST: "watchlist",
    VIEW_GENRES: "genres",
    VIEW_INSIGHTS: "insights",
    VIEW_MODEL: "model-insights",
    VIEW_ACCOUNT: "account",
}

#: At most this many addresses of an incoming ``X-Forwarded-For`` are passed on.
MAX_FORWARDED = 8


def forwarded_chain(incoming: str | None, peer: str | None) -> str | None:
    """The ``X-Forwarded-For`` value to send the worker: the chain the app received (from
    proxies in front of it, if any) plus the browser connection's own address ``peer``.

    Inputs: the incoming header (``"a, b"`` or None) and the peer address (None when unknown or
    local). Output: ``"a, b, peer"`` or None. Without a peer nothing is forwarded: a chain the
    app cannot vouch for would let a browser pick its own address. The worker, with
    ``TRUSTED_PROXIES`` = 1 + proxies in front of the app, reads the right entry.
    """
    if not peer:
        return None
    parts = [p.strip() for p in (incoming or "").split(",") if p.strip()]
    return ", ".join([*parts[-(MAX_FORWARDED - 1) :], peer.strip()])


def visitor_chain() -> str | None:
    """This visitor's address chain from ``st.context`` (None outside a browser session)."""
    try:
        peer = st.context.ip_address
        incoming = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no browser context (bare mode, tests): send nothing
        return None
    if not isinstance(peer, str) or not isinstance(incoming, str | None):
        return None  # AppTest hands out stand-ins, not addresses
    return forwarded_chain(incoming, peer)


def client() -> WorkerClient:
    """A client for the configured worker, carrying this visitor's token if logged in and the
    visitor's address in ``X-Forwarded-For``."""
    return WorkerClient.from_config(
        AppConfig.from_env(), token=st.session_state.get("token"), forwarded_for=visitor_chain()
    )


def logged_in() -> bool:
    return bool(st.session_state.get("token"))


def flash(kind: str, message: str) -> None:
    """Queue a message (``success``/``info``/``warning``/``error``) for the next page draw."""
    st.session_state.setdefault("flash", []).append((kind, message))


def show_flashes() -> None:
    """Show and forget the queued messages."""
    for kind, message in st.session_state.pop("flash", []):
        getattr(st, kind)(message)


def start_session(token: str, user: dict[str, Any], expires_in: int | None = None) -> None:
    """Remember a fresh login (or guest session); the cookie is written on the next draw and
    lives ``expires_in`` seconds. Older per-visitor state is dropped first."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["token"] = token
    st.session_state["user"] = user
    if expires_in:
        st.session_state["cookie_write"] = int(expires_in)


def is_guest() -> bool:
    return bool((st.session_state.get("user") or {}).get("guest"))


def end_session(message: str | None = None, kind: str = "info") -> None:
    """Forget everything about the visitor (token, caches, widgets) and queue ``message``."""
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.session_state["cookie_clear"] = True
    st.session_state["cookie_dead"] = cookies.read_token()
    # They have an account: show the log-in form first (app.views.auth.MODE_LOGIN).
    st.session_state["auth_mode"] = "I have an account"
    if message:
        flash(kind, message)


def restore_from_cookie() -> bool:
    """Sign the visitor in from the session cookie (reload, new tab, next day): True when the
    cookie's token is still valid. A revoked or expired token's cookie is deleted."""
    token = cookies.read_token()
    if not token or token == st.session_state.get("cookie_dead"):
        return False
    visitor = WorkerClient.from_config(
        AppConfig.from_env(), token=token, forwarded_for=visitor_chain()
    )
    try:
        me = visitor.me()
    except WorkerUnavailable:
        return False  # the sign-in page says the service is down; Retry tries the cookie again
    except ApiError as err:
        if err.status != 401:
            raise
        st.session_state["cookie_clear"] = True
        st.session_state["cookie_dead"] = token
        return False
    start_session(token, me["user"], me.get("session_expires_in"))
    return True


def draw_cookie() -> None:
    """Write or delete the session cookie when a log-in, log-out or restore asked for it."""
    if st.session_state.pop("cookie_clear", False):
        cookies.clear()
    max_age = st.session_state.pop("cookie_write", None)
    if max_age and st.session_state.get("token"):
        cookies.write(st.session_state["token"], max_age)


def log_out() -> None:
    """Button callback: revoke the token on the worker, then clear the session state.

    Local state is cleared even if the worker cannot be reached, so the person is logged out of
    this browser tab either way; they are told when the server-side revoke did not happen.
    """
    try:
        client().logout()
        end_session("You are logged out. See you soon!", "success")
    except ApiError as err:
        if err.status == 401:  # already expired: logged out anyway
            end_session("You are logged out.", "success")
        else:
            end_session("You are logged out of this page.", "success")
    except WorkerUnavailable:
        end_session(
            "You are logged out of this page. The service could not be reached to close the "
            "session on the server; it expires on its own.",
            "warning",
        )


def go_to(view: str) -> None:
    """Button callback (or a step of an action): switch to ``view``'s page, and so its URL, at
    the start of the next run (``app/Home.py`` does it with ``st.switch_page``)."""
    st.session_state["goto"] = view


def current_view() -> str | None:
    """The view whose page is being drawn (from the URL), None before navigation."""
    return st.session_state.get("nav")


def open_details(movie_id: int, why: dict[str, Any] | None = None) -> None:
    """Button callback: open the details dialog of ``movie_id`` (replaces an open one).
    ``why``: the recommendation item (match, predicted stars, reasons, evidence) when the
    card was a recommendation; the dialog then shows why the movie is there."""
    note_click("open_details")
    st.session_state["details"] = int(movie_id)
    if why is None:
        st.session_state.pop("details_why", None)
    else:
        st.session_state["details_why"] = why


def close_details() -> None:
    """Button / dismiss callback: close the details dialog."""
    note_click("close_details")
    st.session_state.pop("details", None)
    st.session_state.pop("details_why", None)


def known_rating(movie: dict[str, Any]) -> float | None:
    """The movie's rating as this session last saved it, else the worker's ``my_rating``."""
    overlay: dict[int, float | None] = st.session_state.get("ratings", {})
    movie_id = int(movie["id"])
    if movie_id in overlay:
        return overlay[movie_id]
    return movie.get("my_rating")


def ratings_version() -> int:
    return int(st.session_state.get("ratings_version", 0))


def list_version() -> int:
    """Bumped when a rating is added or removed, not when one is edited: lists ordered by
    rating time refetch on this, so an edited card does not jump under the cursor."""
    return int(st.session_state.get("list_version", 0))


#: Session key of the changes this interaction's callbacks noted (:func:`save_rating`,
#: :func:`safe_callback`), judged and applied by :func:`apply_rating_changes`.
CHANGES = "changes"


def save_rating(movie_id: int, widget_key: str, title: str, previous: float | None) -> None:
    """Widget callback of a star control: note the change; :func:`apply_rating_changes` saves
    it at the start of the run that follows (page or details dialog).

    Streamlit calls ``on_change`` for every control whose value the browser reports different
    from the server's, all before that run. A click changes exactly one control, on the page
    being shown. Under load a click can land while the page is still being drawn, and the
    browser then also reports controls it has not finished drawing, at their first drawn
    value ("Not seen") or an older one, so several "change" at once; each, applied, deleted or
    overwrote a rating nobody touched. So the changes are gathered, not applied here.
    ``previous`` is the rating this control was drawn with.
    """
    value = float(st.session_state.get(widget_key) or 0.0)
    st.session_state.setdefault(CHANGES, []).append(
        {
            "movie_id": movie_id,
            "widget_key": widget_key,
            "title": title,
            "previous": previous,
            "value": value,
            "view": current_view(),
        }
    )


def note_click(what: str) -> None:
    """Button callbacks call this: a star change reported with a click is not the person's
    (one interaction, one change), so :func:`apply_rating_changes` drops it."""
    st.session_state.setdefault(CHANGES, []).append({"click": what})


def apply_rating_changes() -> None:
    """Save the star change of this interaction, when it is one a person can have made: the
    only change (no other control "changed", no button was clicked with it), on the view that
    is still being shown, and different from what that control was drawn with (so a stale
    "Not seen" of an unrated movie, or the drawn value sent back, does nothing). Any other
    noted change is dropped and its control goes back to the rating it was drawn with:
    nothing the person did not act on is ever saved or removed. Call first in every run that
    may draw a star control (the page, the details dialog's own reruns)."""
    changes = st.session_state.pop(CHANGES, None) or []
    stars = [change for change in changes if "widget_key" in change]
    if not stars:
        return
    if len(changes) == 1 and stars[0]["view"] == current_view():
        _save(**stars[0])
        return
    for change in stars:
        st.session_state[change["widget_key"]] = float(change["previous"] or 0.0)
    if len(stars) > 1 and all(change["view"] == current_view() for change in stars):
        titles = ", ".join(change["title"] for change in stars)
        log.warning("%d star controls changed in one interaction, none saved", len(stars))
        flash(
            "warning",
            f"Your ratings were not changed: several stars ({titles}) changed at once while "
            "the page was still loading. Please click the one you meant again.",
        )


def _save(
    movie_id: int, widget_key: str, title: str, previous: float | None, value: float, view: Any
) -> None:
    """Save ``value`` for the movie (0 removes the rating) and report it.

    On success the new value goes to the session's overlay and every list refetches; on failure
    the control goes back to ``previous`` (the last saved value) and the person sees why.
    """
    if value == float(previous or 0.0):
        return  # the control's drawn value sent back: nothing to do
    before = st.session_state.get("rating_count")
    try:
        if value > 0:
            result = client().rate(movie_id, value)
            count = result.get("rating_count")
            st.toast(f"Saved {value:g}★ for {title}")
        else:
            client().unrate(movie_id)
            count = None
            st.toast(f"Removed your rating of {title}")
    except WorkerUnavailable as err:
        st.session_state[widget_key] = float(previous or 0.0)
        flash(
            "error",
            f"Your rating of {title} was not saved: the recommendation service is "
            f"not answering ({err.message}) Please try again.",
        )
        return
    except ApiError as err:
        st.session_state[widget_key] = float(previous or 0.0)
        if err.status == 401:
            end_session("Your session has ended. Please log in again.", "warning")
            return
        flash("error", f"Your rating of {title} was not saved: {err.message}")
        return
    st.session_state.setdefault("ratings", {})[movie_id] = value or None
    st.session_state["ratings_version"] = ratings_version() + 1
    if not previous or not value:  # a movie joined or left the list; an edit keeps its place
        st.session_state["list_version"] = list_version() + 1
    if count is not None and before is not None and before < RATINGS_NEEDED <= count:
        flash("success", "That's 5 ratings — your recommendations are ready!")


def safe_callback(action: Callable[..., None]) -> Callable[..., None]:
    """Wrap a widget callback so a worker failure becomes a message, never a traceback."""

    @functools.wraps(action)
    def wrapper(*args: Any, **kwargs: Any) -> None:
        note_click(action.__name__)
        try:
            action(*args, **kwargs)
        except WorkerUnavailable as err:
            flash(
                "error",
                "That did not work: the recommendation service is not answering "
                f"({err.message}) Please try again.",
            )
        except ApiError as err:
            if err.status == 401:
                end_session("Your session has ended. Please log in again.", "warning")
            else:
                flash("error", err.message)

    return wrapper


def remember(name: str, key: Any, fetch: Callable[[], Any]) -> Any:
    """``fetch()`` once per ``key`` for this visitor; later runs with the same key reuse it."""
    slot = f"cache:{name}"
    cached = st.session_state.get(slot)
    if cached is not None and cached[0] == key:
        return cached[1]
    value = fetch()
    st.session_state[slot] = (key, value)
    return value


def forget(name: str) -> None:
    st.session_state.pop(f"cache:{name}", None)


def show_unavailable(err: WorkerUnavailable) -> None:
    """The plain 'service down' message with a Retry button (a click reruns the page)."""
    show_flashes()
    what = "is too slow to answer" if err.slow else "is not available"
    st.error(
        f"**The recommendation service {what} right now.** {err.message} "
        "Nothing you saved is lost. Please try again in a moment."
    )
    st.button("Retry", key="retry", type="primary")


def guarded(draw: Callable[[], None]) -> None:
    """Run ``draw`` and turn every failure into a plain message (never a traceback)."""
    try:
        draw()
    except WorkerUnavailable as err:
        show_unavailable(err)
    except ApiError as err:
        if err.status == 401:
            end_session("Your session has ended. Please log in again.", "warning")
            st.rerun()
        st.error(f"Something went wrong: {err.message}")
        st.button("Retry", key="retry", type="primary")
    except Exception:  # noqa: BLE001 - last line of defence: log it, show a calm message
        log.exception("page failed")
        st.error("Something went wrong on this page. Please try again.")
        st.button("Retry", key="retry", type="primary")
