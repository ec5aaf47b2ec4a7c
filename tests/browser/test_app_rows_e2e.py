"""The home view of rows in a real browser (Chromium via Playwright), on the stack ``python -m
scripts.serve`` starts (one per module, as the journey test starts it), at desktop and phone
sizes: the rows show with their reasons in their titles, no movie twice, a strip scrolls
sideways while the page does not, and clicking a card opens its details. Screenshots:
``artifacts/screenshots/home*.png`` (``docs/`` with ``UPDATE_DOCS_SCREENSHOTS=1``)."""

from __future__ import annotations

import re

import pytest

from tests.browser import test_app_e2e as e2e
from tests.browser.test_app_e2e import TASTE, WAIT_MS, rated_user, save_shot, settle
from tests.helpers import SCREEN_SIZES, browser_log_in

served_stack = e2e.served_stack
served_app = e2e.served_app
browser = e2e.browser

pytestmark = pytest.mark.e2e

STRIP = '[class*="st-key-strip_"]'
CARD = '[class*="st-key-rowcard_"]'


@pytest.mark.parametrize("size", SCREEN_SIZES)
def test_home_rows_scroll_sideways_and_open_details(served_stack, browser, size, request):
    from playwright.sync_api import expect

    phone = request.node.callspec.id == "phone"
    name = rated_user(served_stack["worker"], TASTE)
    context = browser.new_context(**size)
    page = context.new_page()
    # A person with five ratings lands on the rows after logging in at the app's address.
    browser_log_in(page, served_stack["app"], name, timeout_ms=WAIT_MS)
    expect(page.get_by_text("Top picks for you")).to_be_visible(timeout=WAIT_MS)
    assert page.url.endswith("/for-you")
    settle(page)

    # The rows, each with its reason in its title; a movie appears on one row only.
    headings = page.locator("h4").all_inner_texts()
    assert headings[0] == "Top picks for you", headings
    assert any(h.startswith("Because you liked ") for h in headings), headings
    assert any(h.endswith(" for you") and h != headings[0] for h in headings), headings
    assert "Something different" in headings, headings
    strips = page.locator(STRIP)
    assert strips.count() == len(headings) >= 4
    ids = [
        key.split("rowcard_")[1].split()[0]
        for key in page.locator(CARD).evaluate_all("cs => cs.map(c => c.className)")
    ]
    assert len(ids) == len(set(ids)) and len(ids) >= 4 * 4

    # A card: poster, match badge, title and reason, all visible.
    first = page.locator(CARD).first
    for part in (".mr-poster", ".mr-badge", ".mr-title", ".mr-reason"):
        expect(first.locator(part)).to_be_visible()
    assert re.fullmatch(r"\d{1,3}% match", first.locator(".mr-badge").inner_text())
    page.mouse.move(0, 0)  # no card under the pointer (hover outlines it)
    save_shot(page, "home-phone" if phone else "home")

    # A strip scrolls sideways; the page does not.
    strip = strips.first
    width = strip.evaluate("s => [s.scrollWidth, s.clientWidth]")
    assert width[0] > width[1] + 100, width  # more cards than fit
    strip.evaluate("s => s.scrollBy(400, 0)")
    page.wait_for_timeout(300)
    assert strip.evaluate("s => s.scrollLeft") > 100
    page_width = page.evaluate(
        "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
    )
    assert page_width[0] <= page_width[1], page_width
    if phone:
        box = first.bounding_box()
        assert box["height"] > box["width"], box  # upright cards, not a compact line
        strip_box = strip.bounding_box()
        assert strip_box["x"] >= 0 and strip_box["x"] + strip_box["width"] <= 390

    # Clicking a card (anywhere on it) opens its details, with why it is on the list.
    card = page.locator(CARD).nth(1)
    card.scroll_into_view_if_needed()
    title = card.locator(".mr-title").inner_text()
    card.click()  # the middle of the card: the poster
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=WAIT_MS)
    expect(dialog.get_by_text(title.split(" (")[0]).first).to_be_visible()
    expect(dialog.get_by_text("Why it is on your list")).to_be_visible(timeout=WAIT_MS)
    settle(page)
    save_shot(page, "home-details-phone" if phone else "home-details")
    dialog.locator("button", has_text="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=WAIT_MS)

    # "See all" opens the paged recommendations.
    page.get_by_role("button", name="See all recommendations →").click()
    expect(page.locator(".mr-badge")).to_have_count(24, timeout=WAIT_MS)
    assert page.url.endswith("/recommendations")
    context.close()
