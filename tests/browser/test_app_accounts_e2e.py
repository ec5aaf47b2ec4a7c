"""Accounts in a real browser (Chromium via Playwright), on the stack ``python -m
scripts.serve`` starts: a guest rates five movies, gets recommendations and signs up keeping
everything; reloads and new tabs stay signed in through the session cookie (guest and
account); log-out then reload shows the sign-in page (and another tab is signed out at its
next action); a guest logging in to an account brings its rating along; the Account view
downloads the CSV, changes the password and deletes the account, which then cannot log in.

The session cookie's attributes as the browser holds them are printed (``-s`` shows them) and
written to ``artifacts/screenshots/session-cookie.json`` for the record.
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path

import pytest

from tests.browser import test_app_e2e as e2e
from tests.browser.test_app_e2e import GENRES, SHOTS, STARS, WAIT_MS, click_star, save_shot
from tests.helpers import PASSWORD

# The browser and the served stack, as the journey test starts them (one stack per module).
served_stack = e2e.served_stack
served_app = e2e.served_app
browser = e2e.browser

pytestmark = pytest.mark.e2e

COOKIE = "movie_matcher_session"


def session_cookie(context) -> dict | None:
    found = [c for c in context.cookies() if c["name"] == COOKIE]
    return found[0] if found else None


def settled_cookie(page, context, *, present: bool) -> dict | None:
    """The session cookie once it is there (``present``) or gone, polled every 100 ms for up
    to ``WAIT_MS``: the page's script sets or clears it after the page is drawn, later on a
    busy machine. Returns what the browser holds at the end (the test asserts on it)."""
    for _ in range(WAIT_MS // 100):
        if (session_cookie(context) is not None) == present:
            break
        page.wait_for_timeout(100)
    return session_cookie(context)


def pick_genres(page) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_text("Which genres do you enjoy?")).to_be_visible(timeout=WAIT_MS)
    for genre in GENRES:
        page.get_by_role("button", name=genre, exact=True).click()
        page.wait_for_timeout(300)
    save_button = page.get_by_role("button", name="Save genres")
    from playwright.sync_api import expect as _expect

    _expect(save_button).to_be_enabled(timeout=WAIT_MS)
    save_button.click()


def signed_in_as(page, name: str) -> None:
    from playwright.sync_api import expect

    expect(page.get_by_role("button", name="Log out")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text(f"Hi {name}")).to_be_visible(timeout=WAIT_MS)


def recommended_titles(page) -> list[str]:
    from playwright.sync_api import expect

    e2e.open_view(page, "Recommendations")
    expect(page.locator(".mr-badge")).to_have_count(24, timeout=WAIT_MS)
    return page.locator(".mr-title").all_inner_texts()


def rated_titles(page) -> list[str]:
    from playwright.sync_api import expect

    e2e.open_view(page, "My ratings")
    expect(page.get_by_role("button", name="Remove")).to_have_count(5, timeout=WAIT_MS)
    return sorted(page.locator(".mr-title").all_inner_texts())


def test_a_guest_rates_gets_recommendations_and_signs_up_keeping_everything(served_app, browser):
    from playwright.sync_api import expect

    username = f"guest{uuid.uuid4().hex[:8]}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(served_app)
    assert "token" not in page.url
    expect(page.get_by_role("button", name="Try it without an account")).to_be_visible(
        timeout=WAIT_MS
    )
    save_shot(page, "first-page")

    # A guest, straight from the first page.
    page.get_by_role("button", name="Try it without an account").click()
    pick_genres(page)
    expect(page.locator(STARS)).to_have_count(24, timeout=WAIT_MS)
    for done in range(1, 6):
        counter = f"Rated {done} of 5" if done < 5 else "recommendations are ready"
        click_star(page, done - 1, "5★", counter, [])
    titles = recommended_titles(page)
    ratings = rated_titles(page)
    cookie = settled_cookie(page, context, present=True)
    assert cookie is not None and cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert 29 * 86400 < cookie["expires"] - time.time() <= 30 * 86400 + 60  # the guest's session

    # Reload and a new tab: still the same guest.
    page.reload()
    signed_in_as(page, "guest")
    assert recommended_titles(page) == titles
    second_tab = context.new_page()
    second_tab.goto(served_app)
    signed_in_as(second_tab, "guest")
    second_tab.close()
    assert "token" not in page.url

    # Sign up from the guest session: the same ratings and the same list.
    page.get_by_role("button", name="Create an account to keep your ratings").click()
    expect(page.get_by_role("button", name="Create my account")).to_be_visible(timeout=WAIT_MS)
    save_shot(page, "account-guest")
    page.get_by_label("Choose a username").fill(username)
    page.get_by_label("Choose a password (at least 8 characters)").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create my account").click()
    signed_in_as(page, username)
    expect(page.get_by_text("keeps everything you did as a guest")).to_be_visible()
    assert rated_titles(page) == ratings
    assert recommended_titles(page) == titles
    save_shot(page, "guest-signed-up")

    # Reload: still signed in to the account.
    page.reload()
    signed_in_as(page, username)
    assert rated_titles(page) == ratings

    # Download my ratings: a MovieLens CSV of the same five movies.
    e2e.open_view(page, "Account")
    with page.expect_download(timeout=WAIT_MS) as download:
        page.get_by_role("button", name="Download my ratings (CSV)").click()
    lines = Path(download.value.path()).read_text().splitlines()
    assert lines[0] == "movieId,title,rating,timestamp,list" and len(lines) == 6
    assert all(line.split(",")[-3:-2] == ["5"] for line in lines[1:])  # all rated 5 stars

    # Log out, then reload: the sign-in page, and no cookie left; another open tab is signed
    # out at its next action.
    other_tab = context.new_page()
    other_tab.goto(served_app)
    signed_in_as(other_tab, username)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=WAIT_MS)
    assert settled_cookie(page, context, present=False) is None
    e2e.open_view(other_tab, "Genres")
    expect(other_tab.get_by_role("button", name="Log in")).to_be_visible(timeout=WAIT_MS)
    expect(other_tab.get_by_text("Your session has ended")).to_be_visible()
    other_tab.close()
    page.reload()
    expect(page.get_by_role("button", name="Create account")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    context.close()


def test_account_session_cookie_reload_and_deletion(served_app, browser):
    from playwright.sync_api import expect

    username = f"acct{uuid.uuid4().hex[:8]}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.goto(served_app)
    page.get_by_label("Choose a username").fill(username)
    page.get_by_label("Choose a password (at least 8 characters)").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    signed_in_as(page, username)
    cookie = settled_cookie(page, context, present=True)
    assert cookie is not None
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / "session-cookie.json").write_text(json.dumps(cookie, indent=2, default=str))
    print("session cookie as the browser holds it:", {**cookie, "value": "<token>"})
    assert cookie["path"] == "/" and cookie["sameSite"] == "Strict"
    assert cookie["secure"] is False  # served over plain http here; https adds Secure
    assert 7 * 86400 - 120 < cookie["expires"] - time.time() <= 7 * 86400 + 60
    assert cookie["value"] not in page.url

    # Reload: still signed in.
    page.reload()
    signed_in_as(page, username)

    # Elsewhere, a guest rates a movie and then logs in to this account: the rating joins it.
    elsewhere = browser.new_context(viewport={"width": 1280, "height": 900})
    guest_page = elsewhere.new_page()
    guest_page.goto(served_app)
    guest_page.get_by_role("button", name="Try it without an account").click()
    signed_in_as(guest_page, "guest")
    pick_genres(guest_page)
    expect(guest_page.locator(STARS)).to_have_count(24, timeout=WAIT_MS)
    click_star(guest_page, 0, "5★", "Rated 1 of 5", [])
    e2e.open_view(guest_page, "Account")
    guest_page.get_by_label("Username", exact=True).fill(username)
    guest_page.get_by_label("Password", exact=True).fill(PASSWORD)
    guest_page.get_by_role("button", name="Log in to my account").click()
    signed_in_as(guest_page, username)
    expect(guest_page.get_by_text("Your guest ratings are in your account now.")).to_be_visible()
    elsewhere.close()
    e2e.open_view(page, "My ratings")
    expect(page.get_by_role("button", name="Remove")).to_have_count(1, timeout=WAIT_MS)

    # The Account view: wrong password refused, then the account is deleted.
    e2e.open_view(page, "Account")
    expect(page.get_by_role("button", name="Download my ratings (CSV)")).to_be_visible(
        timeout=WAIT_MS
    )
    save_shot(page, "account")

    # Change the password: the old one is required.
    new_password = PASSWORD + " 2"
    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password (at least 8 characters)").fill(new_password)
    page.get_by_label("Repeat the new password").fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("That is not your current password.")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password (at least 8 characters)").fill(new_password)
    page.get_by_label("Repeat the new password").fill(new_password)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_text("Your password is changed.")).to_be_visible(timeout=WAIT_MS)
    signed_in_as(page, username)  # this session stays

    page.get_by_label("Your password, to confirm").fill("not my password")
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_text("That is not your current password.")).to_be_visible(timeout=WAIT_MS)
    page.get_by_label("Your password, to confirm").fill(new_password)
    page.get_by_role("button", name="Delete my account for good").click()
    expect(page.get_by_text("Your account and all its data are deleted.")).to_be_visible(
        timeout=WAIT_MS
    )
    assert settled_cookie(page, context, present=False) is None

    # Reload: not signed in; logging in afterwards fails.
    page.reload()
    expect(page.get_by_role("button", name="Create account")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("radio", name="I have an account").click()
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill(new_password)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Wrong username or password.")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    context.close()


@pytest.mark.parametrize(("scheme", "secure"), [("https", True), ("http", False)])
def test_the_cookie_is_secure_exactly_when_the_page_is_https(browser, scheme, secure):
    """The script ``app/cookies.py`` sends, run by Chromium in a page served over ``scheme``.

    No HTTPS server runs here: Playwright answers the page's URL itself (a local stand-in for a
    TLS-terminating Ingress), so the browser applies its real cookie rules for that origin."""
    from app import cookies

    context = browser.new_context()
    page = context.new_page()
    html = f"<html><body>{cookies._script('abc-DEF_123', 3600)}</body></html>"
    url = f"{scheme}://movies.example/"
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    page.goto(url)
    cookie = session_cookie(context)
    assert cookie is not None and cookie["value"] == "abc-DEF_123"
    assert cookie["secure"] is secure
    assert cookie["sameSite"] == "Strict" and cookie["path"] == "/"
    assert 3500 < cookie["expires"] - time.time() <= 3601
    # the deleting script (log-out), without its <script> tags
    page.add_script_tag(
        content=cookies._script("", 0).removeprefix("<script>")[: -len("</script>")]
    )
    assert session_cookie(context) is None
    context.close()
