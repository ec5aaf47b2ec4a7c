"""Guest use and the Account view.

- First page: "Try it without an account" starts a guest session (:func:`try_as_guest`).
- Guests see a banner under the header and, in the Account view, "Create an account to keep
  your ratings" (sign-up sent with the guest's token: same user, everything kept) and "Log in
  to my account" (the guest's ratings join the account; the newer rating of a movie wins).
- Accounts: change the password (every other session is signed out), download my ratings as
  CSV (MovieLens columns), delete my account (password required).
"""

from __future__ import annotations

import streamlit as st

from api import rules
from app.client import ApiError
from app.session import (
    VIEW_ACCOUNT,
    VIEW_GENRES,
    client,
    end_session,
    flash,
    go_to,
    is_guest,
    start_session,
)
from app.views import auth as forms


def try_as_guest() -> None:
    """The first page's "Try it without an account" button."""
    st.button(
        "Try it without an account",
        key="try_guest",
        on_click=_start_guest,
        help="Rate movies and get recommendations right away; create an account later to "
        "keep everything.",
    )


def _start_guest() -> None:
    try:
        answer = client().guest()
    except ApiError as err:
        flash("error", forms.api_message(err))
        return
    start_session(answer["token"], answer["user"], answer.get("expires_in"))
    st.session_state["nav"] = VIEW_GENRES
    flash("success", "Welcome! You are trying Movie matcher as a guest. Start with some genres.")


def guest_banner() -> None:
    """Under the header, for guests: the way to keep their ratings."""
    if not is_guest() or st.session_state.get("nav") == VIEW_ACCOUNT:
        return
    left, right = st.columns([3, 2], vertical_alignment="center")
    with left:
        st.caption("You are a guest: your ratings live in this browser's session.")
    with right:
        st.button(
            "Create an account to keep your ratings",
            key="guest_to_account",
            on_click=go_to,
            args=(VIEW_ACCOUNT,),
            width="stretch",
        )


def render(me: dict) -> None:
    """The Account view (``me``: the worker's ``/me`` answer)."""
    if me["user"].get("guest"):
        _guest_view()
    else:
        _account_view(me)


def _guest_view() -> None:
    st.subheader("Create an account to keep your ratings")
    st.write(
        "Your ratings, genres and recommendations move into the new account as they are. "
        "Guest sessions unused for 30 days are removed."
    )
    with st.form("guest_signup"):
        username = st.text_input(
            "Choose a username", key="guest_username", max_chars=rules.USERNAME_MAX
        )
        password = st.text_input(
            f"Choose a password (at least {rules.PASSWORD_MIN} characters)",
            type="password",
            key="guest_password",
            autocomplete="new-password",
        )
        confirm = st.text_input(
            "Repeat the password", type="password", key="guest_confirm", autocomplete="new-password"
        )
        submitted = st.form_submit_button("Create my account", type="primary")
    if submitted:
        _convert(username.strip(), password, confirm)
    st.subheader("Already have an account?")
    st.write(
        "Log in and the ratings you made as a guest join it (for a movie rated in both, "
        "your newer rating counts)."
    )
    with st.form("guest_login"):
        username = st.text_input("Username", key="guest_login_username", autocomplete="username")
        password = st.text_input(
            "Password", type="password", key="guest_login_password", autocomplete="current-password"
        )
        submitted = st.form_submit_button("Log in to my account")
    if submitted:
        _merge_into(username.strip(), password)


def _convert(username: str, password: str, confirm: str) -> None:
    problem = forms.new_account_problem(username, password, confirm)
    if problem:
        st.error(problem)
        return
    try:
        answer = client().signup(username, password)  # sent with the guest's token
    except ApiError as err:
        st.error(_account_error(err))
        return
    st.session_state["user"] = answer["user"]
    # same token, now an account's session: the cookie follows its (shorter) life
    st.session_state["cookie_write"] = client().me().get("session_expires_in")
    flash("success", f"Welcome, {username}! Your account keeps everything you did as a guest.")
    st.rerun()


def _merge_into(username: str, password: str) -> None:
    if not username or not password:
        st.error("Please enter your username and password.")
        return
    try:
        answer = client().login(username, password)  # sent with the guest's token: merged
    except ApiError as err:
        st.error(forms.api_message(err))
        return
    start_session(answer["token"], answer["user"], answer.get("expires_in"))
    st.session_state["nav"] = VIEW_ACCOUNT
    flash("success", f"Welcome back, {username}! Your guest ratings are in your account now.")
    st.rerun()


def _account_view(me: dict) -> None:
    st.subheader(f"Your account: {me['user'].get('username')}")

    st.markdown("#### Download my ratings")
    st.download_button(
        "Download my ratings (CSV)",
        data=client().export_ratings(),
        file_name="my-ratings.csv",
        mime="text/csv",
        key="export",
        help="MovieLens columns: movieId, title, rating, timestamp",
    )

    st.markdown("#### Change my password")
    with st.form("change_password", clear_on_submit=True):
        old = st.text_input(
            "Current password", type="password", key="old_password", autocomplete="current-password"
        )
        new = st.text_input(
            f"New password (at least {rules.PASSWORD_MIN} characters)",
            type="password",
            key="new_password",
            autocomplete="new-password",
        )
        confirm = st.text_input(
            "Repeat the new password",
            type="password",
            key="new_confirm",
            autocomplete="new-password",
        )
        submitted = st.form_submit_button("Change password")
    if submitted:
        _change_password(old, new, confirm)

    st.markdown("#### Delete my account")
    st.write("This removes your account, your ratings and everything else about you, at once.")
    with st.form("delete_account"):
        password = st.text_input(
            "Your password, to confirm", type="password", key="delete_password"
        )
        submitted = st.form_submit_button("Delete my account for good")
    if submitted:
        _delete(password)


def _change_password(old: str, new: str, confirm: str) -> None:
    problem = forms.password_problem(new)
    if problem is None and new != confirm:
        problem = "The two new passwords are different. Please type the same password twice."
    if not old:
        problem = "Please type your current password."
    if problem:
        st.error(problem)
        return
    try:
        client().change_password(old, new)
    except ApiError as err:
        st.error(_account_error(err))
        return
    st.success("Your password is changed. Every other place you were signed in is signed out.")


def _delete(password: str) -> None:
    if not password:
        st.error("Please type your password to confirm.")
        return
    try:
        client().delete_account(password)
    except ApiError as err:
        st.error(_account_error(err))
        return
    end_session("Your account and all its data are deleted.", "success")
    st.rerun()


def _account_error(err: ApiError) -> str:
    if err.code == "wrong_password":
        return "That is not your current password."
    if err.code == "not_a_guest":
        return "This session already belongs to an account. Reload the page to see it."
    return forms.api_message(err)
