"""The home view of rows in a real browser (Chromium via Playwright), on the stack ``python -m
scripts.serve`` starts (one per module, as the journey test starts it), at desktop and phone
sizes: the rows show with their reasons in their titles, no movie twice, a strip scrolls
sideways while the page does not, and clicking a card opens its details; each card's own "Not
interested" takes the movie off every row (Undo brings it back) and its "Want to watch" puts it
on the Watchlist view. Screenshots: ``artifacts/screenshots/home*.png`` (``docs/`` with
``UPDATE_DOCS_SCREENSHOTS=1``)."""

from __future__ import annotations

import re

import pytest

from tests.browser import test_app_e2e as e2e
from tests.browser.test_app_e2e import (
    STARS,
    TASTE,
    WAIT_MS,
    overlaps,
    rated_user,
    save_shot,
    settle,
)
from tests.helpers import SCREEN_SIZES, browser_log_in

served_stack = e2e.served_stack
served_app = e2e.served_app
browser = e2e.browser

pytestmark = pytest.mark.e2e

STRIP = '[class*="st-key-strip_"]'
CARD = '[class*="st-key-rowcard_"]'
PHONE = SCREEN_SIZES[1].values[0]


def card_ids(page) -> list[str]:
    """The movie ids of the row cards on the page, top row first, left to right."""
    return [
        key.split("rowcard_")[1].split()[0]
        for key in page.locator(CARD).evaluate_all("cs => cs.map(c => c.className)")
    ]


def rows_drawn(page) -> None:
    """Wait until the whole screen of rows is drawn: "Something different", the last row,
    shows and the app is idle (a phone's page has no "running" indicator to wait for)."""
    from playwright.sync_api import expect

    expect(page.locator("h4", has_text="Something different")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(STRIP).last.locator(CARD).last).to_be_visible(timeout=WAIT_MS)
    settle(page)


def luminance(css_color: str) -> float:
    """Relative luminance 0 (black) .. 1 (white) of a computed ``rgb(...)``/``rgba(...)``."""
    red, green, blue = (int(v) / 255 for v in re.findall(r"[\d.]+", css_color)[:3])
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def row_card(page, movie_id: str):
    """The row card of the movie ``movie_id``."""
    return page.locator(f".st-key-rowcard_{movie_id}")


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
    rows_drawn(page)

    # The rows, each with its reason in its title; a movie appears on one row only.
    headings = page.locator("h4").all_inner_texts()
    assert headings[0] == "Top picks for you", headings
    assert any(h.startswith("Because you liked ") for h in headings), headings
    assert any(h.endswith(" for you") and h != headings[0] for h in headings), headings
    assert "Something different" in headings, headings
    strips = page.locator(STRIP)
    assert strips.count() == len(headings) >= 4
    ids = card_ids(page)
    assert len(ids) == len(set(ids)) and len(ids) >= 4 * 4

    # A card: poster, match badge, title and reason, all visible; under them its two feedback
    # buttons, inside the card, one under the other, covering none of its text.
    first = page.locator(CARD).first
    for part in (".mr-poster", ".mr-badge", ".mr-title", ".mr-reason"):
        expect(first.locator(part)).to_be_visible()
    assert re.fullmatch(r"\d{1,3}% match", first.locator(".mr-badge").inner_text())
    card_box = first.bounding_box()
    reason = first.locator(".mr-reason").bounding_box()
    boxes = []
    for label in ("Want to watch", "Not interested"):
        action = first.get_by_role("button", name=label, exact=True)
        expect(action).to_be_visible()
        box = action.bounding_box()
        assert (
            card_box["x"] <= box["x"]
            and box["x"] + box["width"] <= card_box["x"] + card_box["width"] + 1
        ), (label, box, card_box)
        assert box["y"] >= reason["y"] + reason["height"] and box["height"] < 48, (label, box)
        boxes.append(box)
    assert not overlaps(*boxes), boxes
    # details, want, hide: no hidden copies (a tooltip makes Streamlit draw a button twice)
    assert first.locator("button").count() == 3
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
    # the star control is drawn once its code has loaded (a grey placeholder until then)
    expect(dialog.locator(STARS).first).to_be_visible(timeout=WAIT_MS)
    settle(page)
    save_shot(page, "home-details-phone" if phone else "home-details")
    dialog.locator("button", has_text="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=WAIT_MS)

    # "See all" opens the paged recommendations.
    page.get_by_role("button", name="See all recommendations →").click()
    expect(page.locator(".mr-badge")).to_have_count(24, timeout=WAIT_MS)
    assert page.url.endswith("/recommendations")
    context.close()


def test_row_cards_not_interested_undo_and_want_to_watch_on_a_phone(served_stack, browser):
    """On a phone (the tightest screen), in dark mode: a card's "Not interested" takes its
    movie off every row at once, with a readable Undo bar in view wherever the card was; Undo
    brings it back. "Want to watch" turns into "On watchlist", the movie is in the Watchlist
    view, and the card still says so back on the rows, where a second click takes it off."""
    from playwright.sync_api import expect

    name = rated_user(served_stack["worker"], TASTE)
    context = browser.new_context(**PHONE, color_scheme="dark")
    page = context.new_page()
    browser_log_in(page, served_stack["app"], name, timeout_ms=WAIT_MS)
    rows_drawn(page)
    before = card_ids(page)

    # The third card of the third row: off screen both down and sideways.
    target = page.locator(STRIP).nth(2).locator(CARD).nth(2)
    movie_id = target.evaluate("c => c.className").split("rowcard_")[1].split()[0]
    title = target.locator(".mr-title").inner_text().strip()
    target.get_by_role("button", name="Not interested", exact=True).click()
    undo = page.get_by_role("button", name="Undo", exact=True)
    expect(undo).to_be_in_viewport(timeout=WAIT_MS)  # the bar shows where the person is
    message = page.get_by_text(f"{title} will not be recommended to you again.")
    expect(message).to_be_in_viewport()
    bar, text = page.locator(".st-key-undo_bar_page").bounding_box(), message.bounding_box()
    assert bar["y"] <= text["y"] and text["y"] + text["height"] <= bar["y"] + bar["height"]
    assert not overlaps(text, undo.bounding_box())
    colours = message.evaluate(
        "m => [getComputedStyle(m).color, getComputedStyle(m.closest("
        "'.st-key-undo_bar_page')).backgroundColor]"
    )
    assert luminance(colours[0]) > 0.7 and luminance(colours[1]) < 0.3, colours  # dark theme
    expect(row_card(page, movie_id)).to_have_count(0, timeout=WAIT_MS)
    rows_drawn(page)
    assert movie_id not in card_ids(page)  # on no row: the rows were made again without it
    assert page.locator(STRIP).nth(2).locator(CARD).count() >= 4
    save_shot(page, "home-not-interested-phone")

    undo.click()
    expect(row_card(page, movie_id)).to_have_count(1, timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Undo", exact=True)).to_have_count(0, timeout=WAIT_MS)
    rows_drawn(page)
    assert card_ids(page) == before

    # Want to watch: the card says it is on the watchlist, and the Watchlist view lists it.
    pick = row_card(page, before[1])
    pick_title = pick.locator(".mr-title").inner_text().strip()
    pick.get_by_role("button", name="Want to watch", exact=True).click()
    on_list = pick.get_by_role("button", name="✓ On watchlist", exact=True)
    expect(on_list).to_be_visible(timeout=WAIT_MS)
    settle(page)
    e2e.open_view(page, "Watchlist")
    expect(page.get_by_text("1 movie you want to watch")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".mr-title", has_text=pick_title.split(" (")[0])).to_be_visible()
    e2e.open_view(page, "For you")
    expect(on_list).to_be_visible(timeout=WAIT_MS)
    settle(page)
    on_list.click()
    expect(pick.get_by_role("button", name="Want to watch", exact=True)).to_be_visible(
        timeout=WAIT_MS
    )
    settle(page)
    e2e.open_view(page, "Watchlist")
    expect(page.get_by_text("Your watchlist is empty.")).to_be_visible(timeout=WAIT_MS)
    context.close()
