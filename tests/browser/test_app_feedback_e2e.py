"""Feedback beyond stars and filters in a real browser (Chromium via Playwright), on the stack
``python -m scripts.serve`` starts: "Not interested" takes a card off the recommendations and
Undo brings it back; "Want to watch" puts a movie on the Watchlist view (its own URL), where
"Remove from watchlist" takes it off; the filters narrow the list and "Show more" keeps them.
Screenshots: ``artifacts/screenshots/feedback-*.png``.
"""

from __future__ import annotations

import pytest

from tests.browser import test_app_e2e as e2e
from tests.browser.test_app_e2e import TASTE, WAIT_MS, rated_user, save_shot, settle
from tests.helpers import browser_log_in

served_stack = e2e.served_stack
browser = e2e.browser

pytestmark = pytest.mark.e2e


def card_titles(page) -> list[str]:
    """The titles (with year) of the cards on the page, in order."""
    return [t.strip() for t in page.locator(".mr-title").all_inner_texts()]


def card_genres(page) -> list[str]:
    """The genre lines of the cards on the page, in order."""
    return page.locator(".mr-genres").all_inner_texts()


def card_button(where, title: str, label: str):
    """The button ``label`` of the card whose title is ``title`` (in a page or a dialog)."""
    page = getattr(where, "page", where)  # a `has=` locator is relative: built from the page
    card = where.locator('[data-testid="stColumn"]').filter(
        has=page.locator(".mr-title", has_text=title)
    )
    return card.get_by_role("button", name=label, exact=True).first


def test_not_interested_undo_and_watchlist_in_a_real_browser(served_stack, browser):
    from playwright.sync_api import expect

    app = served_stack["app"]
    name = rated_user(served_stack["worker"], TASTE)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    browser_log_in(page, f"{app}/recommendations", name)
    expect(page.get_by_text("Best match first within each dozen.")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".mr-badge")).to_have_count(24, timeout=WAIT_MS)
    settle(page)
    before = card_titles(page)
    first, second = before[0], before[1]

    # Not interested: the card leaves the list at once, and the Undo bar names it.
    hide = card_button(page, first, "Not interested")
    expect(hide).to_be_visible()
    hide.click()
    undo = page.get_by_role("button", name="Undo", exact=True)
    expect(undo).to_be_visible(timeout=WAIT_MS)
    settle(page)
    expect(page.get_by_text(f"{first} will not be recommended to you again.")).to_be_visible()
    expect(page.locator(".mr-title", has_text=first)).to_have_count(0, timeout=WAIT_MS)
    assert card_titles(page)[0] == second
    save_shot(page, "feedback-not-interested")

    # Undo: the movie is back where it was, and the bar is gone.
    undo.click()
    expect(page.get_by_role("button", name="Undo", exact=True)).to_have_count(0, timeout=WAIT_MS)
    expect(page.locator(".mr-title", has_text=first)).to_have_count(1, timeout=WAIT_MS)
    settle(page)
    assert card_titles(page)[:24] == before[:24]

    # In the details dialog: a similar movie marked not interested leaves the similar movies,
    # and the dialog's Undo brings it back.
    card_button(page, first, "More like this").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Similar movies")).to_be_visible(timeout=WAIT_MS)
    expect(dialog.locator(".mr-badge").first).to_be_visible(timeout=WAIT_MS)
    settle(page)
    similar = [t.strip() for t in dialog.locator(".mr-title").all_inner_texts()][1:]
    assert len(similar) >= 3, similar
    card_button(dialog, similar[0], "Not interested").click()
    expect(dialog.get_by_role("button", name="Undo", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(dialog.locator(".mr-title", has_text=similar[0])).to_have_count(0, timeout=WAIT_MS)
    settle(page)
    save_shot(page, "feedback-details-not-interested")
    dialog.get_by_role("button", name="Undo", exact=True).click()
    expect(dialog.locator(".mr-title", has_text=similar[0])).to_have_count(1, timeout=WAIT_MS)
    expect(dialog.get_by_role("button", name="Undo", exact=True)).to_have_count(0)
    dialog.locator(".st-key-details_close button").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=WAIT_MS)
    settle(page)

    # Want to watch: the button turns into "On watchlist" and the movie is on the Watchlist.
    want = card_button(page, second, "Want to watch")
    want.click()
    expect(card_button(page, second, "✓ On watchlist")).to_be_visible(timeout=WAIT_MS)
    settle(page)
    e2e.open_view(page, "Watchlist")
    expect(page.get_by_text("My watchlist")).to_be_visible(timeout=WAIT_MS)
    assert page.url == f"{app}/watchlist"
    expect(page.locator(".mr-title", has_text=second)).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("1 movie you want to watch")).to_be_visible()
    settle(page)
    save_shot(page, "feedback-watchlist")
    page.reload()  # its own URL: still the watchlist
    expect(page.locator(".mr-title", has_text=second)).to_be_visible(timeout=WAIT_MS)
    card_button(page, second, "Remove from watchlist").click()
    expect(page.get_by_text("Your watchlist is empty.")).to_be_visible(timeout=WAIT_MS)
    context.close()


def test_filters_narrow_the_recommendations_and_show_more_keeps_them(served_stack, browser):
    from playwright.sync_api import expect

    app = served_stack["app"]
    name = rated_user(served_stack["worker"], TASTE)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    browser_log_in(page, f"{app}/recommendations", name)
    expect(page.locator(".mr-badge")).to_have_count(24, timeout=WAIT_MS)
    settle(page)
    page.get_by_text("Filter: genres, title, years").click()
    genres = page.locator('[data-testid="stMultiSelect"]')
    expect(genres).to_be_visible(timeout=WAIT_MS)
    genres.click()
    page.keyboard.type("Animation")
    # the typed text narrows the open list; pick the option once it is shown (on a busy
    # machine the list opens late, and Enter before it did selected nothing)
    option = page.get_by_role("option", name="Animation", exact=True)
    expect(option).to_be_visible(timeout=WAIT_MS)
    option.click()
    page.keyboard.press("Escape")
    expect(page.get_by_text("Only movies matching your filters.")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".mr-badge")).to_have_count(24, timeout=WAIT_MS)
    settle(page)
    assert all("Animation" in g for g in card_genres(page)), card_genres(page)
    page.get_by_role("button", name="Show more recommendations").click()
    expect(page.locator(".mr-badge")).to_have_count(48, timeout=WAIT_MS)
    settle(page)
    assert len(set(card_titles(page))) == 48
    assert all("Animation" in g for g in card_genres(page))
    page.get_by_text("Filter: genres, title, years").scroll_into_view_if_needed()
    save_shot(page, "feedback-filters")
    # another view and back: the filter is still on
    e2e.open_view(page, "My ratings")
    expect(page.get_by_role("button", name="Remove").first).to_be_visible(timeout=WAIT_MS)
    e2e.open_view(page, "Recommendations")
    expect(page.get_by_text("Only movies matching your filters.")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Clear filters").click()
    expect(page.get_by_text("Only movies matching your filters.")).to_have_count(0, timeout=WAIT_MS)
    context.close()
