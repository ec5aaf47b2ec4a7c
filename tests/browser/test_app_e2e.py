"""End to end in a real browser: Debian's Chromium driven by Playwright.

The product is started the way ``make run`` starts it, ``python -m scripts.serve`` (embedded
redis-server + ``python -m worker`` + ``streamlit run app/Home.py``), on free ports. The browser
then walks the whole journey a new visitor takes, on a desktop and on a phone-width window, and
saves screenshots of the recommendations, details and discover pages to
``artifacts/screenshots/`` (and to ``docs/screenshot-*.png``, the README's pictures, when
``UPDATE_DOCS_SCREENSHOTS=1``).

Posters: their URLs point at image.tmdb.org, which this machine cannot reach. That is the real
"no network" case; the test checks the placeholder shows and no broken image is drawn.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest

from tests.helpers import PASSWORD, SCREEN_SIZES, browser_log_in
from worker.embedded_redis import free_port

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
GENRES = ["Action", "Adventure", "Comedy", "Drama", "Thriller"]
STARS = '[role="radiogroup"][aria-label^="Your rating"]'  # the star controls
WAIT_MS = 90_000  # two shared cores: a page rerun can take several seconds


@pytest.fixture(scope="module")
def served_stack(tmp_path_factory, data_dir, content_artifacts):
    """``{"app": URL, "worker": URL}`` of the stack started by ``python -m scripts.serve``;
    everything stops afterwards.

    The worker reads its movie vectors from ``content_artifacts`` (real SBERT vectors of the
    most-rated movies), so the test does not depend on what the developer built locally."""
    folder = tmp_path_factory.mktemp("serve")
    worker_port = free_port()
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "ARTIFACTS_DIR": str(content_artifacts),
        "WORKER_PROCESSES": "1",
        "WORKER_TIMEOUT_SECONDS": "60",
    }
    env.pop("REDIS_URL", None)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scripts.serve",
            "--worker-port",
            str(worker_port),
            "--app-port",
            str(free_port()),
            "--redis-dir",
            str(folder / "redis"),
            "--no-build",  # the session's content vectors are all it serves; nothing to build
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        with (folder / "serve.log").open("w") as log:
            for line in process.stdout:
                log.write(line)
                log.flush()
                lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    url = None
    try:
        while url is None:
            line = lines.get(timeout=600)
            found = re.search(r"App ready at (http://\S+)", line)
            url = found.group(1) if found else None
        yield {"app": url, "worker": f"http://127.0.0.1:{worker_port}", "pid": process.pid}
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    assert process.returncode == 0, f"serve did not stop cleanly; see {folder / 'serve.log'}"


@pytest.fixture(scope="module")
def served_app(served_stack):
    """URL of the app of :func:`served_stack`."""
    return served_stack["app"]


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def star(page, index: int, value: str):
    """The ``value`` choice ("4.5★", "Not seen") of the ``index``-th star control."""
    group = page.locator(STARS).nth(index)
    return group.locator('[data-testid="stRadioOption"]').filter(
        has_text=re.compile(f"^{re.escape(value)}$")
    )


def settle(page) -> None:
    """Wait until the app is idle: no script run in progress, nothing drawn stale."""
    page.wait_for_function(
        "!document.querySelector('[data-testid=\"stStatusWidget\"]') && "
        "!document.querySelector('[data-stale=\"true\"]')",
        timeout=WAIT_MS,
    )


def click_star(page, index: int, value: str, then: str, timings: list[float]) -> None:
    """Click the ``value`` star of the ``index``-th control and wait for the text ``then``."""
    from playwright.sync_api import expect

    settle(page)
    choice = star(page, index, value)
    choice.scroll_into_view_if_needed()
    expect(choice).to_be_visible()
    started = time.monotonic()
    choice.click()
    expect(page.get_by_text(then).first).to_be_visible(timeout=WAIT_MS)
    timings.append(time.monotonic() - started)


def overlaps(a: dict, b: dict) -> bool:
    """True when two bounding boxes share any area."""
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def broken_images(page) -> int:
    """Images the browser tried and failed to draw (a broken-image icon)."""
    return page.evaluate(
        "Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).length"
    )


def save_shot(page, name: str) -> None:
    """Screenshot to artifacts/screenshots; also to docs/ (the README's pictures) when
    ``UPDATE_DOCS_SCREENSHOTS=1``, so an ordinary test run leaves the checkout unchanged."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))
    if os.environ.get("UPDATE_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(SHOTS / f"{name}.png", DOCS / f"screenshot-{name}.png")


def open_view(page, name: str) -> None:
    """Click the link of the view ``name`` in the navigation bar."""
    page.get_by_role("link", name=name, exact=True).click()


def journey_to_recommendations(
    page, url: str, username: str, timings: list[float] | None = None
) -> None:
    """A new visitor's way to recommendations: sign up at ``url``, pick five genres (leaving
    and coming back half way), rate movies with clicks on the stars and the keyboard, open
    the recommendations and see 24 cards, each with a match percentage and a reason. Appends
    click-to-screen seconds to ``timings``. Also run against the app container
    (tests/deployment/test_containers.py)."""
    from playwright.sync_api import expect

    timings = [] if timings is None else timings
    page.goto(url)

    # Sign up: lands on the genre chooser; no ratings counter yet.
    page.get_by_label("Choose a username").fill(username)
    page.get_by_label("Choose a password (at least 8 characters)").fill(PASSWORD)
    page.get_by_label("Repeat the password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("Which genres do you enjoy?")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("Rated 0 of 5")).to_have_count(0)
    save_button = page.get_by_role("button", name="Save genres")
    for genre in GENRES[:2]:
        page.get_by_role("button", name=genre, exact=True).click()
        page.wait_for_timeout(300)
    # Skipping ahead keeps the two picks and guides back.
    open_view(page, "Rate movies")
    expect(page.get_by_text("You have picked 2 so far")).to_be_visible(timeout=WAIT_MS)
    page.get_by_role("button", name="Pick my genres").click()
    expect(page.get_by_text("2 chosen — pick 3 more.")).to_be_visible(timeout=WAIT_MS)
    chosen = page.locator('button[data-variant="pills"][aria-pressed="true"]')
    expect(chosen).to_have_count(2)
    for genre in GENRES[2:]:
        expect(save_button).to_be_disabled()
        page.get_by_role("button", name=genre, exact=True).click()
        page.wait_for_timeout(300)
    expect(save_button).to_be_enabled(timeout=WAIT_MS)
    # A chosen genre looks different from the others (filled green, not white).
    background = chosen.first.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(14, 122, 70)", background
    save_button.click()

    # Rate: click stars on three movies of page one, the keyboard on another, two on page two.
    expect(page.get_by_text("Rate movies you have seen", exact=True)).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(STARS)).to_have_count(24, timeout=WAIT_MS)
    expect(page.locator(".mr-placeholder")).to_have_count(24)
    assert page.locator(".mr-poster-img").count() > 0  # poster layers exist (and fail here)
    before = page.locator(".mr-title").all_inner_texts()
    click_star(page, 0, "5★", "Rated 1 of 5", timings)
    # The newcomer's grid adapts: the rated card stays first, the cards after it are chosen
    # again from that rating (the same 24 places).
    settle(page)
    after = page.locator(".mr-title").all_inner_texts()
    assert len(after) == len(before) == 24 and after[0] == before[0] and after[1:] != before[1:]
    save_shot(page, "rate-grid-adapted")
    click_star(page, 1, "4.5★", "Rated 2 of 5", timings)
    expect(page.get_by_text("✓ Saved: 4.5★")).to_be_visible()
    # Toasts sit at the bottom: they cover neither the title nor Log out.
    toast = page.get_by_test_id("stToast").first
    expect(toast).to_be_visible(timeout=WAIT_MS)
    for control in (page.get_by_role("button", name="Log out"), page.get_by_text("Movie matcher")):
        assert not overlaps(toast.bounding_box(), control.first.bounding_box())
    click_star(page, 2, "3★", "Rated 3 of 5", timings)
    # "Not seen" clears a rating; the keyboard reaches the stars and the arrows move along.
    click_star(page, 2, "Not seen", "Rated 2 of 5", timings)
    page.locator(STARS).nth(2).locator("input:checked").focus()
    page.keyboard.press("ArrowRight")  # Not seen -> 0.5★
    expect(page.get_by_text("Rated 3 of 5")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("✓ Saved: 0.5★")).to_be_visible()
    # The stars show the rating: 5★ lights all ten halves gold, 4.5★ nine.
    gold = "rgb(240, 165, 0)"

    def lit(index: int) -> int:
        colours = (
            page.locator(STARS)
            .nth(index)
            .locator("p")
            .evaluate_all("ps => ps.slice(1).map(p => getComputedStyle(p, '::before').color)")
        )
        return sum(colour == gold for colour in colours)

    page.mouse.move(0, 0)
    assert (lit(0), lit(1)) == (10, 9)
    page.get_by_role("button", name="Show more movies").click()
    expect(page.locator(STARS)).to_have_count(48, timeout=WAIT_MS)
    click_star(page, 24, "4★", "Rated 4 of 5", timings)
    click_star(page, 25, "5★", "recommendations are ready", timings)

    # Recommendations: the rows first ("For you"), then all of them: 24 cards with match
    # percentages and reasons.
    page.get_by_role("button", name="See my recommendations →").click()
    page.get_by_role("button", name="See all recommendations →").click()
    badges = page.locator(".mr-badge")
    expect(badges).to_have_count(24, timeout=WAIT_MS)
    assert all(re.fullmatch(r"\d{1,3}% match", text) for text in badges.all_inner_texts())
    reasons = page.locator(".mr-reason").all_inner_texts()
    assert len(reasons) == 24 and all(reason.strip() for reason in reasons)


def test_journey_in_a_real_browser(served_stack, served_app, browser):
    from playwright.sync_api import expect

    timings: list[float] = []  # seconds from a click until its result is on screen
    username = f"e2e{uuid.uuid4().hex[:10]}"
    desktop = browser.new_context(viewport={"width": 1280, "height": 900})
    page = desktop.new_page()
    journey_to_recommendations(page, served_app, username, timings)
    badges = page.locator(".mr-badge")
    page.wait_for_timeout(1500)  # let the failed poster requests settle
    assert broken_images(page) == 0
    page.get_by_text("Recommended for you").scroll_into_view_if_needed()
    save_shot(page, "recommendations")
    page.get_by_role("button", name="Show more recommendations").click()
    expect(badges).to_have_count(48, timeout=WAIT_MS)

    # Rating a recommended movie takes it off the list.
    first_title = page.locator(".mr-title").first.inner_text()
    click_star(page, 0, "5★", "Saved 5★ for", timings)
    expect(page.locator(".mr-title").first).not_to_have_text(first_title, timeout=WAIT_MS)
    expect(badges).to_have_count(48, timeout=WAIT_MS)

    # My ratings: six, newest (the recommended one) first.
    open_view(page, "My ratings")
    expect(page.get_by_role("button", name="Remove")).to_have_count(6, timeout=WAIT_MS)
    expect(page.locator(".mr-title").first).to_have_text(first_title)
    # Editing a rating keeps the card where it is.
    titles = page.locator(".mr-title").all_inner_texts()
    click_star(page, 3, "2★", "✓ Saved: 2★", timings)
    assert page.locator(".mr-title").all_inner_texts() == titles

    # More like this: a dialog with the movie and its 12 most similar movies.
    page.get_by_role("button", name="More like this").first.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.locator(".mr-badge")).to_have_count(12, timeout=WAIT_MS)
    similar = dialog.locator(".mr-badge").all_inner_texts()
    assert all(re.fullmatch(r"\d{1,3}% similar", text) for text in similar)
    expect(dialog.get_by_text(first_title).first).to_be_visible()
    save_shot(page, "details")
    # "More like this" on a similar movie moves the dialog to that movie.
    next_title = dialog.locator(".mr-card .mr-title").first.inner_text()
    started = time.monotonic()
    dialog.get_by_role("button", name="More like this").first.click()
    expect(dialog.locator(".mr-title").first).to_have_text(next_title, timeout=WAIT_MS)
    timings.append(time.monotonic() - started)
    expect(dialog.locator(".mr-badge")).to_have_count(12, timeout=WAIT_MS)
    # Close closes it.
    started = time.monotonic()
    dialog.locator("button", has_text="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=WAIT_MS)
    timings.append(time.monotonic() - started)
    page.get_by_role("button", name="More like this").first.click()
    expect(page.get_by_role("dialog")).to_be_visible(timeout=WAIT_MS)
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_have_count(0, timeout=WAIT_MS)

    # Discover: five movies; tick one, "Next 5", and the top genres show.
    open_view(page, "Discover")
    expect(page.get_by_role("checkbox", name="I like this")).to_have_count(5, timeout=WAIT_MS)
    page.locator('[data-testid="stCheckbox"] label').first.click()
    page.wait_for_timeout(1000)
    page.get_by_role("button", name="Next 5").click()
    expect(page.get_by_text("Your top genres so far:")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_text("1 movie ticked so far")).to_be_visible(timeout=WAIT_MS)
    page.get_by_text("Discover movies you like").scroll_into_view_if_needed()
    save_shot(page, "discover")

    # A phone-width window: the grid stacks into one column.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=2,
    )
    mobile = phone.new_page()
    browser_log_in(mobile, f"{served_app}/recommendations", username, timeout_ms=WAIT_MS)
    expect(mobile.locator(".mr-badge")).to_have_count(24, timeout=WAIT_MS)
    first, second = (mobile.locator(".mr-poster").nth(i).bounding_box() for i in (0, 1))
    assert second["y"] > first["y"] + first["height"]  # stacked, not side by side
    assert abs(second["x"] - first["x"]) < 2
    assert first["width"] <= 390
    # A compact list: the poster is a thumbnail beside the text, not a full-width picture.
    assert first["width"] < 130, first
    height = mobile.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    print(f"\nphone page with 24 recommendations: {height} px tall (was 11,655 px)")
    assert height < 11_655
    settle(mobile)
    mobile.wait_for_timeout(1000)  # the stars and links finish drawing
    mobile.get_by_text("Recommended for you").scroll_into_view_if_needed()
    save_shot(mobile, "recommendations-phone")
    # The details dialog on a phone: the poster is a thumbnail, the title and stars show.
    mobile.get_by_role("button", name="More like this").first.click()
    sheet = mobile.get_by_role("dialog")
    expect(sheet.locator(".mr-badge")).to_have_count(12, timeout=WAIT_MS)
    assert sheet.locator(".mr-poster").first.bounding_box()["width"] <= 111
    expect(sheet.locator(STARS).first).to_be_in_viewport()
    save_shot(mobile, "details-phone")
    sheet.locator("button", has_text="Close").click()
    expect(mobile.get_by_role("dialog")).to_have_count(0, timeout=WAIT_MS)
    # A refresh keeps the person signed in (the session cookie, app/cookies.py).
    mobile.reload()
    expect(mobile.get_by_role("button", name="Log out")).to_be_visible(timeout=WAIT_MS)
    phone.close()

    # Removing ratings below five keeps the last list, with a note.
    open_view(page, "My ratings")
    for left in (5, 4):  # clicked as soon as the button shows, the page maybe still drawing
        page.get_by_role("button", name="Remove").first.click()
        expect(page.get_by_role("button", name="Remove")).to_have_count(left, timeout=WAIT_MS)
        assert len(worker_ratings(served_stack["worker"], username)) == left
    open_view(page, "Recommendations")
    expect(page.get_by_text("this is your last list")).to_be_visible(timeout=WAIT_MS)
    expect(badges).to_have_count(48, timeout=WAIT_MS)

    # Log out: one click, back to the log-in form (they have an account).
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_text("You are logged out")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)
    # A wrong password: the error shows on screen, under the form just used.
    page.get_by_label("Username", exact=True).fill(username)
    page.get_by_label("Password", exact=True).fill("not my password")
    page.get_by_role("button", name="Log in").click()
    error = page.get_by_text("Wrong username or password.")
    expect(error).to_be_visible(timeout=WAIT_MS)
    expect(error).to_be_in_viewport()
    expect(page.get_by_role("button", name="Log in")).to_be_visible()
    for _ in range(2):  # one click at a time: each waits for the answer to the previous one
        page.wait_for_timeout(300)
        settle(page)
        page.get_by_role("button", name="Log in").click()
    warning = page.get_by_text("2 more wrong tries")
    expect(warning).to_be_visible(timeout=WAIT_MS)
    expect(warning).to_be_in_viewport()
    expect(page.get_by_text("pauses for 15 minutes")).to_be_visible()
    desktop.close()
    print(
        f"\nclick-to-screen over {len(timings)} steps: median "
        f"{statistics.median(timings):.2f} s, max {max(timings):.2f} s"
    )


def test_poster_shows_when_it_loads_and_placeholder_when_it_fails(browser):
    """The card's two layers in Chromium: a loading poster covers the placeholder; a failing
    one (404 here, or no network) leaves the placeholder, never a broken-image icon.

    The public internet (image.tmdb.org) is mocked with Playwright routes: one path answers a
    plain red PNG, the other 404. No app server is needed: the card HTML and CSS come straight
    from ``app.components``.
    """
    import io

    from PIL import Image

    from app import components

    buffer = io.BytesIO()
    Image.new("RGB", (20, 30), (255, 0, 0)).save(buffer, format="PNG")
    red_png = buffer.getvalue()
    base = "https://image.tmdb.org/t/p/w342"
    movies = [
        {
            "id": 1,
            "title": "Loads",
            "year": 1995,
            "genres": ["Drama"],
            "poster_url": f"{base}/ok.png",
        },
        {
            "id": 2,
            "title": "Missing",
            "year": 1996,
            "genres": ["Drama"],
            "poster_url": f"{base}/missing.jpg",
        },
        {"id": 3, "title": "No poster", "year": None, "genres": [], "poster_url": None},
    ]
    context = browser.new_context(viewport={"width": 800, "height": 600})
    page = context.new_page()

    def answer(route):
        if route.request.url.endswith("/ok.png"):
            route.fulfill(status=200, content_type="image/png", body=red_png)
        else:
            route.fulfill(status=404, body="not found")

    page.route("https://image.tmdb.org/**", answer)
    cards = "".join(
        f'<div style="width:180px;display:inline-block;margin:8px">'
        f"{components.card_html(movie)}</div>"
        for movie in movies
    )
    style = components._CSS.replace("<style>", "").replace("</style>", "")
    page.set_content(f"<html><head><style>{style}</style></head><body>{cards}</body></html>")
    page.wait_for_load_state("networkidle")
    assert broken_images(page) == 0

    def centre(index: int) -> tuple[int, int, int]:
        shot = page.locator(".mr-poster").nth(index).screenshot()
        image = Image.open(io.BytesIO(shot)).convert("RGB")
        return image.getpixel((image.width // 2, image.height // 4))

    red, green, blue = centre(0)
    assert red > 200 and green < 60 and blue < 60  # the poster covers the placeholder
    for index in (1, 2):
        red, green, blue = centre(index)
        assert blue > red and blue > 40  # the dark-blue placeholder shows
    # The title is printed once, under the poster, never again inside the placeholder.
    assert page.locator(".mr-placeholder").all_inner_texts() == ["", "", ""]
    assert [t.split(" (")[0] for t in page.locator(".mr-title").all_inner_texts()] == [
        "Loads",
        "Missing",
        "No poster",
    ]
    context.close()


def rated_user(worker: str, ratings: dict[int, float]) -> str:
    """A new account with five genres and ``ratings``, made through the worker's API (the
    journey test covers doing it by hand); returns its username."""
    import requests

    name = f"url{uuid.uuid4().hex[:10]}"
    body = {"username": name, "password": PASSWORD}
    assert requests.post(f"{worker}/api/v1/auth/signup", json=body, timeout=60).status_code == 201
    token = requests.post(f"{worker}/api/v1/auth/login", json=body, timeout=60).json()["token"]
    auth = {"Authorization": f"Bearer {token}"}
    put = requests.put(f"{worker}/api/v1/me/genres", json={"genres": GENRES}, headers=auth)
    assert put.status_code == 200
    for movie_id, stars in ratings.items():
        answer = requests.put(
            f"{worker}/api/v1/me/ratings/{movie_id}", json={"rating": stars}, headers=auth
        )
        assert answer.status_code == 200
    return name


def visible_matches(page, count: int = 24) -> list[int]:
    """The match percentages of the ``count`` recommendation cards, top to bottom and left to
    right, each asserted visible (not only in the DOM)."""
    from playwright.sync_api import expect

    badges = page.locator(".mr-badge")
    expect(badges).to_have_count(count, timeout=WAIT_MS)
    settle(page)
    values = []
    for index in range(badges.count()):
        badge = badges.nth(index)
        badge.scroll_into_view_if_needed()
        expect(badge).to_be_visible()
        values.append(int(re.fullmatch(r"(\d{1,3})% match", badge.inner_text()).group(1)))
    return values


#: Loves Star Wars IV, V and The Matrix; dislikes Forrest Gump, Toy Story and A Bug's Life.
TASTE = {260: 5.0, 1196: 5.0, 2571: 4.5, 356: 1.5, 1: 1.0, 2355: 1.0}


@pytest.mark.parametrize("size", SCREEN_SIZES)
def test_every_view_has_its_own_url(served_stack, browser, size, request):
    """Links, reload and the back button, signed out and signed in; the recommendations are in
    the order the page says (best match first, read off the visible cards); Insights shows
    the person's own genres. Each navigation's click-to-screen time is printed."""
    from playwright.sync_api import expect

    app = served_stack["app"]
    phone = request.node.callspec.id == "phone"
    name = rated_user(served_stack["worker"], TASTE)
    context = browser.new_context(**size)
    page = context.new_page()
    timings: list[float] = []

    def timed(action, then) -> None:
        started = time.monotonic()
        action()
        expect(then).to_be_visible(timeout=WAIT_MS)
        settle(page)
        timings.append(time.monotonic() - started)

    # Signed out, a link to a view: the sign-in form at that URL, no navigation bar ...
    page.goto(f"{app}/recommendations")
    page.get_by_role("radio", name="I have an account").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=WAIT_MS)
    expect(page.get_by_role("link", name="My ratings")).to_have_count(0)
    assert page.url == f"{app}/recommendations"
    # ... and once signed in, that view.
    page.get_by_label("Username", exact=True).fill(name)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_text("Recommended for you")).to_be_visible(timeout=WAIT_MS)
    assert page.url == f"{app}/recommendations"
    expect(page.get_by_text("Best match first within each dozen.")).to_be_visible(timeout=WAIT_MS)
    matches = visible_matches(page)
    assert len(matches) == 24 and matches == sorted(matches, reverse=True), matches

    # Another view by its link in the navigation bar (a row that wraps on a phone).
    link = page.get_by_role("link", name="My ratings", exact=True)
    link.scroll_into_view_if_needed()
    expect(link).to_be_visible()
    timed(link.click, page.get_by_role("button", name="Remove").first)
    assert page.url == f"{app}/my-ratings"
    expect(page.get_by_role("button", name="Remove")).to_have_count(len(TASTE), timeout=WAIT_MS)
    # Reload: still signed in, same view.
    timed(page.reload, page.get_by_role("button", name="Remove").first)
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    assert page.url == f"{app}/my-ratings"
    # Back: the recommendations again, still best match first.
    timed(page.go_back, page.get_by_text("Recommended for you"))
    assert page.url == f"{app}/recommendations"
    assert visible_matches(page) == matches

    # Insights: the person's own taste, their genres on screen.
    timed(lambda: page.goto(f"{app}/insights"), page.get_by_text("Your taste", exact=True))
    highest = page.get_by_text("You rate highest:")
    expect(highest).to_be_visible(timeout=WAIT_MS)
    expect(highest).to_contain_text("Sci-Fi")
    lowest = page.get_by_text("You rate lowest:")
    expect(lowest).to_be_visible()
    expect(lowest).to_contain_text("Comedy")
    expect(page.get_by_text("Your average rating", exact=True)).to_be_visible()
    expect(page.get_by_text("Forrest Gump").first).to_be_visible()
    chart = page.locator('[data-testid="stVegaLiteChart"]').first
    chart.scroll_into_view_if_needed()
    expect(chart).to_be_visible()
    page.get_by_text("Your taste", exact=True).scroll_into_view_if_needed()
    save_shot(page, "insights" + ("-phone" if phone else ""))
    # The model's plots are a page of their own.
    page.get_by_role("link", name="Model insights", exact=True).scroll_into_view_if_needed()
    timed(lambda: open_view(page, "Model insights"), page.get_by_text("Model insights:"))
    assert page.url == f"{app}/model-insights"
    expect(page.get_by_text("Your taste", exact=True)).to_have_count(0)
    timed(page.go_back, page.get_by_text("Your taste", exact=True))
    assert page.url == f"{app}/insights"

    # Log out keeps the URL and shows the sign-in form; the home page is Rate movies.
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("button", name="Log in")).to_be_visible(timeout=WAIT_MS)
    assert page.url == f"{app}/insights"
    context.close()
    print(
        f"\n{request.node.callspec.id}: {len(timings)} navigations, click-to-screen median "
        f"{statistics.median(timings):.2f} s, max {max(timings):.2f} s"
    )


def app_pid(serve_pid: int) -> int:
    """The process id of ``streamlit run`` among the children of ``scripts.serve``."""
    children = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(serve_pid)], capture_output=True, text=True, check=True
    ).stdout.split()
    for pid in map(int, children):
        if b"streamlit" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    raise AssertionError(f"no streamlit process under {serve_pid}: {children}")


class Starved:
    """A heavily loaded machine, for one process: while active, ``pid`` runs 10 ms out of
    every 60 (SIGSTOP / SIGCONT), so every script run of the app takes about six times as
    long and clicks land while a page is still being drawn."""

    def __init__(self, pid: int, run_s: float = 0.01, stop_s: float = 0.05) -> None:
        self.pid, self.run_s, self.stop_s = pid, run_s, stop_s
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        try:
            while not self.done.is_set():
                os.kill(self.pid, signal.SIGSTOP)
                self.done.wait(self.stop_s)
                os.kill(self.pid, signal.SIGCONT)
                self.done.wait(self.run_s)
        finally:
            os.kill(self.pid, signal.SIGCONT)

    def __enter__(self) -> Starved:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.done.set()
        self.thread.join()


def worker_ratings(worker: str, username: str) -> dict[int, float]:
    """The person's ratings as the worker holds them: ``{movie id: stars}``."""
    import requests

    body = {"username": username, "password": PASSWORD}
    token = requests.post(f"{worker}/api/v1/auth/login", json=body, timeout=60).json()["token"]
    answer = requests.get(
        f"{worker}/api/v1/me/ratings",
        params={"page_size": 100},
        headers={"Authorization": f"Bearer {token}"},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text
    return {int(item["movie"]["id"]): float(item["rating"]) for item in answer.json()["items"]}


def test_quick_clicks_after_a_navigation_change_only_what_was_clicked(served_stack, browser):
    """Nothing acknowledged is ever lost: on a loaded machine (the app process starved, the
    browser's CPU throttled 4x) Remove and star clicks land while My ratings is still being
    drawn after a navigation; after each, the worker holds exactly the ratings the person
    did not act on. (Under load one Remove once deleted four ratings: the browser sent star
    controls it was still drawing back at "Not seen", and each was saved as a change;
    the deterministic form is tests/integration/test_app_trust.py::
    test_stars_sent_back_with_a_click_change_nothing.)"""
    from playwright.sync_api import expect

    worker = served_stack["worker"]
    name = rated_user(worker, TASTE)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    browser_log_in(page, f"{served_stack['app']}/recommendations", name, timeout_ms=WAIT_MS)
    expected = dict(TASTE)
    removes = page.get_by_role("button", name="Remove")
    page.context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": 4})
    with Starved(app_pid(served_stack["pid"])):
        for step in range(2):
            open_view(page, "Recommendations" if step else "Discover")
            open_view(page, "My ratings")
            for _ in range(2):  # at once: the page is still being drawn
                removes.first.click()
                expect(removes).to_have_count(len(expected) - 1, timeout=WAIT_MS)
                held = worker_ratings(worker, name)
                assert len(held) == len(expected) - 1 and set(held) < set(expected), held
                expected = {movie: expected[movie] for movie in held}
            settle(page)
            assert worker_ratings(worker, name) == expected
        # A star clicked at once after a navigation changes that movie only.
        open_view(page, "Recommendations")
        open_view(page, "My ratings")
        expect(removes.first).to_be_visible(timeout=WAIT_MS)  # My ratings, maybe still drawing
        star(page, 0, "3★").click()
        expect(page.get_by_text("✓ Saved: 3★")).to_be_visible(timeout=WAIT_MS)
        settle(page)
    held = worker_ratings(worker, name)
    changed = {movie for movie in held if held[movie] != expected.get(movie)}
    assert set(held) == set(expected) and len(changed) == 1, (expected, held)
    assert held[changed.pop()] == 3.0
    context.close()
