"""Sign up and log in: two short forms with plain messages for every refusal."""

from __future__ import annotations

import re

import streamlit as st

from app.client import ApiError
from app.session import VIEW_GENRES, VIEW_RATE, VIEW_RECS, client, flash, start_session

USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,32}$")
PASSWORD_MIN = 8
PASSWORD_MAX = 1024


def username_problem(username: str) -> str | None:
    """Why ``username`` would be refused (the worker's rule), or None when it is fine."""
    if not USERNAME_RE.match(username):
        return "Usernames are 3–32 characters: letters, digits, dot, dash or underscore."
    return None


def password_problem(password: str) -> str | None:
    """Why ``password`` is too weak or too long, or None when it is fine."""
    if len(password) < PASSWORD_MIN:
        return f"Your password is too short: use at least {PASSWORD_MIN} characters."
    if len(password) > PASSWORD_MAX:
        return f"Your password is too long: use at most {PASSWORD_MAX} characters."
    return None


def _api_message(err: ApiError) -> str:
    if err.code == "username_taken" or err.status == 409:
        return "That username is already taken. Please choose another one."
    if err.code == "too_many_attempts" or err.status == 429:
        wait = f" Please wait {int(err.retry_after)} seconds" if err.retry_after else " Please wait"
        return f"Too many attempts.{wait} and try again."
    if err.code == "invalid_credentials" or err.status == 401:
        return "Wrong username or password."
    details = " ".join(f"{name}: {text}" for name, text in err.fields.items() if text)
    return f"{err.message} {details}".strip()


def _log_in(username: str, password: str) -> None:
    """Log in and pick the first useful view (genres, then rating, then recommendations)."""
    answer = client().login(username, password)
    start_session(
        answer["token"], answer.get("user") or {"username": username}, answer.get("expires_in")
    )
    me = client().me()
    if len(me.get("genres") or []) == 0:
        st.session_state["nav"] = VIEW_GENRES
    elif me.get("ratings_needed", 0) > 0:
        st.session_state["nav"] = VIEW_RATE
    else:
        st.session_state["nav"] = VIEW_RECS


def render() -> None:
    """Draw the welcome text and the two forms; on success, store the session and rerun."""
    st.title("Movie matcher")
    st.write("Rate a few movies you know and get recommendations picked by people with your taste.")
    client().health()  # a dead worker is reported before anyone types a password
    from app.views import account  # account uses this module's checks

    account.try_as_guest()
    signup_tab, login_tab = st.tabs(["Create an account", "Log in"])
    with signup_tab:
        with st.form("signup", clear_on_submit=False):
            username = st.text_input(
                "Choose a username", key="signup_username", max_chars=32, autocomplete="username"
            )
            password = st.text_input(
                "Choose a password (at least 8 characters)",
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
    with login_tab:
        with st.form("login"):
            username = st.text_input("Username", key="login_username", autocomplete="username")
            password = st.text_input(
                "Password", type="password", key="login_password", autocomplete="current-password"
            )
            submitted = st.form_submit_button("Log in", type="primary")
        if submitted:
            _submit_login(username.strip(), password)


def _sign_up(username: str, password: str, confirm: str) -> None:
    problem = username_problem(username) or password_problem(password)
    if problem is None and password != confirm:
        problem = "The two passwords are different. Please type the same password twice."
    if problem:
        st.error(problem)
        return
    try:
        client().signup(username, password)
        _log_in(username, password)
    except ApiError as err:
        st.error(_api_message(err))
        return
    flash("success", f"Welcome, {username}! Start by picking the genres you enjoy.")
    st.rerun()


def _submit_login(username: str, password: str) -> None:
    if not username or not password:
        st.error("Please enter your username and password.")
        return
    try:
        _log_in(username, password)
    except ApiError as err:
        st.error(_api_message(err))
        return
    st.rerun()
