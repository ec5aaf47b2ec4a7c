"""Helpers shared by the tests: the one test password and the ways a test logs in.

- :func:`log_in`: POST /auth/login through a Flask test client; returns the response.
- :func:`sign_up_and_log_in`: sign up and log in through a Flask test client; returns the
  ``Authorization`` header (the ``worker_login`` fixture).
- :func:`http_sign_up_and_log_in`: the same over real HTTP against a running worker.
- :func:`app_sign_up`, :func:`app_log_in`, :func:`button`: the app's forms in Streamlit's
  ``AppTest``.
- :func:`browser_log_in`: the app's log-in form in a real browser (Playwright page).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:  # imported by the tests that use them, not by every test
    from streamlit.testing.v1 import AppTest

API = "/api/v1"
PASSWORD = "correct horse battery"
"""The password every test account uses unless a test is about passwords."""


def log_in(client, username: str, password: str = PASSWORD):
    """``POST /api/v1/auth/login`` through the Flask test client ``client``; the response."""
    return client.post(f"{API}/auth/login", json={"username": username, "password": password})


def sign_up_and_log_in(client, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Sign up and log in through the Flask test client; the ``Authorization`` header."""
    body = {"username": username, "password": password}
    assert client.post(f"{API}/auth/signup", json=body).status_code == 201
    answer = log_in(client, username, password)
    assert answer.status_code == 200, answer.get_json()
    return {"Authorization": f"Bearer {answer.get_json()['token']}"}


def http_sign_up_and_log_in(
    base_url: str, username: str, password: str = PASSWORD
) -> dict[str, str]:
    """Sign up and log in over HTTP at ``base_url`` (a running worker); the auth header."""
    import requests

    body = {"username": username, "password": password}
    signup = requests.post(f"{base_url}{API}/auth/signup", json=body, timeout=60)
    assert signup.status_code == 201, signup.text
    answer = requests.post(f"{base_url}{API}/auth/login", json=body, timeout=60)
    assert answer.status_code == 200, answer.text
    return {"Authorization": f"Bearer {answer.json()['token']}"}


def button(at: AppTest, label: str):
    """The button (or form submit button) with this label in an ``AppTest`` page."""
    matches = [b for b in at.button if b.label == label]
    assert matches, f"no button {label!r}; buttons: {[b.label for b in at.button]}"
    return matches[0]


def app_sign_up(
    at: AppTest, username: str, password: str = PASSWORD, confirm: str | None = None
) -> AppTest:
    """Fill and send the app's sign-up form (``confirm``: the repeated password)."""
    at.segmented_control(key="auth_mode").set_value("New here").run()
    at.text_input(key="signup_username").input(username)
    at.text_input(key="signup_password").input(password)
    at.text_input(key="signup_confirm").input(password if confirm is None else confirm)
    button(at, "Create account").click().run()
    assert not at.exception, at.exception
    return at


def app_log_in(at: AppTest, username: str, password: str = PASSWORD) -> AppTest:
    """Fill and send the app's log-in form."""
    at.segmented_control(key="auth_mode").set_value("I have an account").run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    button(at, "Log in").click().run()
    assert not at.exception, at.exception
    return at


def browser_log_in(
    page, url: str, username: str, password: str = PASSWORD, timeout_ms: int = 90_000
) -> None:
    """Log in through the app's form at ``url`` in a Playwright ``page``; waits until the
    "Log out" button shows (``timeout_ms``)."""
    from playwright.sync_api import expect

    page.goto(url)
    page.get_by_role("radio", name="I have an account").click()
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible(timeout=timeout_ms)


#: Browser contexts of the two screens every browser test of a view runs on: a 1280x900
#: desktop and a 390x844 phone (pytest ids "desktop" and "phone").
SCREEN_SIZES = [
    pytest.param({"viewport": {"width": 1280, "height": 900}}, id="desktop"),
    pytest.param(
        {
            "viewport": {"width": 390, "height": 844},
            "is_mobile": True,
            "has_touch": True,
            "device_scale_factor": 2,
        },
        id="phone",
    ),
]
