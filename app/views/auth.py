"""Sign up and log in: two short forms with plain messages for every refusal."""

from __future__ import annotations

import streamlit as st

from api import rules
from app.client import ApiError
from app.session import (
    VIEW_GENRES,
    VIEW_HOME,
    VIEW_RATE,
    client,
    current_view,
    flash,
    go_to,
    start_session,
)

#: Wrong passwords in a row after which the worker pauses logins to an account (the worker's
#: ``LOGIN_MAX_FAILURES_PER_USER``), and for how long (``LOGIN_WINDOW_SECONDS``). The app uses
#: them only to warn before the pause; the worker enforces it.
LOGIN_TRIES = 5
LOGIN_PAUSE_SECONDS = 900
#: Warn when this many tries (or fewer) are left.
WARN_WHEN_LEFT = 2
MODE_SIGNUP = "New here"
MODE_LOGIN = "I have an account"


def username_problem(username: str) -> str | None:
    """Why ``username`` would be refused (the worker's rule, :mod:`api.rules`), or None."""
    if not rules.username_ok(username):
        return (
            f"Usernames are {rules.USERNAME_MIN}–{rules.USERNAME_MAX} characters: letters, "
            "digits, dot, dash or underscore."
        )
    return None


def password_problem(password: str) -> str | None:
    """Why ``password`` would be refused as a new password (:mod:`api.rules`), or None."""
    if len(password) < rules.PASSWORD_MIN:
        return f"Your password is too short: use at least {rules.PASSWORD_MIN} characters."
    if len(password) > rules.PASSWORD_MAX:
        return f"Your password is too long: use at most {rules.PASSWORD_MAX} characters."
    if not rules.password_ok(password):
        return "Your password cannot contain a NUL character."
    return None


def new_account_problem(username: str, password: str, confirm: str) -> str | None:
    """Why a sign-up form (username, password, the password repeated) would be refused, or
    None when it is fine."""
    problem = username_problem(username) or password_problem(password)
    if problem is None and password != confirm:
        problem = "The two passwords are different. Please type the same password twice."
    return problem


def human_wait(seconds: float) -> str:
    """``"15 minutes"``, ``"1 minute"``, ``"40 seconds"``: a wait a person can read (rounded
    up to whole minutes from one minute on)."""
    seconds = max(1, int(round(float(seconds))))
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def tries_left_warning(failures: int) -> str | None:
    """The warning shown after ``failures`` wrong passwords in a row for one username in this
    browser session, or None while there is no need to warn yet."""
    left = LOGIN_TRIES - failures
    if left <= 0 or left > WARN_WHEN_LEFT:
        return None
    return (
        f"{left} more wrong {'try' if left == 1 else 'tries'} and logging in to this account "
        f"pauses for {human_wait(LOGIN_PAUSE_SECONDS)}. Check Caps Lock, or create a new account."
    )


def api_message(err: ApiError) -> str:
    if err.code == "username_taken" or err.status == 409:
        return "That username is already taken. Please choose another one."
    if err.code == "too_many_attempts" or err.status == 429:
        return (
            "Too many attempts: logging in to this account is paused. "
            f"Please try again in {human_wait(err.retry_after or LOGIN_PAUSE_SECONDS)}."
        )
    if err.code == "invalid_credentials" or err.status == 401:
        return "Wrong username or password."
    details = " ".join(f"{name}: {text}" for name, text in err.fields.items() if text)
    return f"{err.message} {details}".strip()


def _log_in(username: str, password: str) -> None:
    """Log in. On the home page, go on to the first useful view (genres, then rating, then
    the "For you" rows); on another page's URL (a link, a bookmark) stay there."""
    answer = client().login(username, password)
    came_to = current_view()
    start_session(
        answer["token"], answer.get("user") or {"username": username}, answer.get("expires_in")
    )
    me = client().me()
    if len(me.get("genres") or []) == 0:
        go_to(VIEW_GENRES)
    elif came_to not in (None, VIEW_RATE):
        go_to(came_to)
    elif me.get("ratings_needed", 0) > 0:
        go_to(VIEW_RATE)
    else:
        go_to(VIEW_HOME)


def render() -> None:
    """Draw the welcome text and the two forms; on success, store the session and rerun."""
    st.title("Movie matcher")
    st.write("Rate a few movies you know and get recommendations picked by people with your taste.")
    client().health()  # a dead worker is reported before anyone types a password
    from app.views import account  # account uses this module's checks

    account.try_as_guest()
    # A keyed control, not st.tabs: it keeps the chosen form across reruns (a tab bar jumps
    # back to its first tab when the page above it changes, hiding the message).
    if st.session_state.get("auth_mode") not in (MODE_SIGNUP, MODE_LOGIN):
        st.session_state["auth_mode"] = MODE_SIGNUP
    mode = st.segmented_control(
        "Account",
        [MODE_SIGNUP, MODE_LOGIN],
        key="auth_mode",
        required=True,
        label_visibility="collapsed",
    )
    if mode == MODE_SIGNUP:
        with st.form("signup", clear_on_submit=False):
            username = st.text_input(
                "Choose a username",
                key="signup_username",
                max_chars=rules.USERNAME_MAX,
                autocomplete="username",
            )
            password = st.text_input(
                f"Choose a password (at least {rules.PASSWORD_MIN} characters)",
                type="password",
                key="signup_password",
                autocomplete="new-password",
            )
            confirm = st.text_input(
                "Repeat the password",
                type="password",
                key="signup_confirm",
                autocomplete="new-password",
            )
            submitted = st.form_submit_button("Create account", type="primary")
        if submitted:
            _sign_up(username.strip(), password, confirm)
    else:
        with st.form("login"):
            username = st.text_input("Username", key="login_username", autocomplete="username")
            password = st.text_input(
                "Password", type="password", key="login_password", autocomplete="current-password"
            )
            submitted = st.form_submit_button("Log in", type="primary")
        if submitted:
            _submit_login(username.strip(), password)


def _sign_up(username: str, password: str, confirm: str) -> None:
    problem = new_account_problem(username, password, confirm)
    if problem:
        st.error(problem)
        return
    try:
        client().signup(username, password)
        _log_in(username, password)
    except ApiError as err:
        st.error(api_message(err))
        return
    flash("success", f"Welcome, {username}! Start by picking the genres you enjoy.")
    st.rerun()


def _submit_login(username: str, password: str) -> None:
    """Log in, or show why not right under the button, with a warning before the pause."""
    if not username or not password:
        st.error("Please enter your username and password.")
        return
    try:
        _log_in(username, password)
    except ApiError as err:
        st.error(api_message(err))
        if err.code == "invalid_credentials" or err.status == 401:
            failures = st.session_state.setdefault("login_failures", {})
            failures[username.lower()] = failures.get(username.lower(), 0) + 1
            warning = tries_left_warning(failures[username.lower()])
            if warning:
                st.warning(warning)
        return
    st.rerun()
