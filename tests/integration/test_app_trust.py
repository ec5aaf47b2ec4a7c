"""Nothing breaks on the way (issue 12): the steps where the app used to lose a person's trust,
driven by ``AppTest`` against a real worker (``live_worker``: gunicorn + its own redis-server).

What a real browser adds (the dialog's buttons, where messages land on screen, the star
control's clicks and keys) is in ``tests/browser/test_app_e2e.py``.
"""

from __future__ import annotations

import re

import pytest
import requests
from streamlit.testing.v1 import AppTest

from app.views.auth import human_wait, tries_left_warning
from recommender.rerank import BLOCK_SIZE
from tests.helpers import app_sign_up as sign_up
from tests.helpers import button
from tests.integration.test_app_content import FIVE, HOME, ids, log_in, new_user, ok
from tests.integration.test_app_pages import GENRES, new_username, texts


@pytest.fixture()
def app(live_worker, monkeypatch) -> AppTest:
    monkeypatch.setenv("WORKER_URL", live_worker)
    monkeypatch.setenv("WORKER_TIMEOUT_SECONDS", "120")
    at = AppTest.from_file(HOME, default_timeout=180)
    return ok(at.run())


def go(at: AppTest, view: str) -> AppTest:
    """Open ``view``'s page, as its navigation link does (``st.switch_page``, app/Home.py)."""
    at.session_state["goto"] = view
    return ok(at.run())


def warnings(at: AppTest) -> str:
    return "\n".join(str(w.value) for w in at.warning)


def test_human_wait_and_tries_left():
    assert human_wait(883) == "15 minutes"
    assert human_wait(900) == "15 minutes"
    assert human_wait(61) == "2 minutes"
    assert human_wait(60) == "1 minute"
    assert human_wait(40) == "40 seconds"
    assert human_wait(1) == "1 second"
    assert tries_left_warning(1) is None and tries_left_warning(2) is None
    assert tries_left_warning(3).startswith("2 more wrong tries")
    assert tries_left_warning(4).startswith("1 more wrong try")
    assert "15 minutes" in tries_left_warning(4)
    assert tries_left_warning(5) is None  # then the worker's own answer speaks


def test_wrong_password_after_log_out_warns_then_pauses_in_minutes(app: AppTest):
    at = app
    username = new_username()
    sign_up(at, username)
    button(at, "Log out").click().run()
    # Logged out: the log-in form is the one shown (they have an account).
    assert at.segmented_control(key="auth_mode").value == "I have an account"
    assert any(b.label == "Log in" for b in at.button)
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input("wrong password!")
    button(at, "Log in").click().run()
    # The error is on the log-in form the person just used, which is still the one shown.
    assert at.segmented_control(key="auth_mode").value == "I have an account"
    assert "Wrong username or password" in "\n".join(e.value for e in at.error)
    assert not at.warning
    button(at, "Log in").click().run()
    assert not at.warning  # two wrong tries: no need to worry anyone yet
    for left in (2, 1):
        button(at, "Log in").click().run()
        assert f"{left} more wrong tr" in warnings(at)
        assert "15 minutes" in warnings(at)
    button(at, "Log in").click().run()  # the fifth wrong password
    button(at, "Log in").click().run()
    errors = "\n".join(e.value for e in at.error)
    assert "try again in 15 minutes" in errors, errors
    assert "seconds" not in errors
    assert "token" not in at.session_state


def test_removing_ratings_below_five_keeps_the_last_list(app: AppTest, live_worker):
    at = app
    name, auth = new_user(live_worker, FIVE)
    log_in(at, name)
    go(at, "Recommendations")
    shown = ids(at, "recs")
    assert len(shown) == 24
    assert "Best match first within each dozen" in texts(at)  # says the order, and keeps to it:
    cards = "\n".join(m.value for m in at.markdown if 'class="mr-badge"' in m.value)
    matches = [int(m) for m in re.findall(r'class="mr-badge">(\d+)% match<', cards)]
    dozens = [matches[:BLOCK_SIZE], matches[BLOCK_SIZE:]]
    assert len(matches) == 24 and all(d == sorted(d, reverse=True) for d in dozens), matches
    go(at, "My ratings")
    assert len(ids(at, "mine")) == 5
    ok(button(at, "Remove").click().run())
    assert len(ids(at, "mine")) == 4
    go(at, "Recommendations")
    # Not an empty page: the last list stays, with a note saying why it no longer changes.
    assert ids(at, "recs") == shown
    assert "this is your last list" in warnings(at)
    assert "Rate 1 more movie" in warnings(at)
    assert not any(b.label == "Show more recommendations" for b in at.button)


def test_editing_a_rating_keeps_its_place_in_my_ratings(app: AppTest, live_worker):
    at = app
    name, auth = new_user(live_worker, FIVE)
    log_in(at, name)
    go(at, "My ratings")
    order = ids(at, "mine")
    assert sorted(order) == sorted(FIVE)
    last = order[-1]
    ok(at.radio(key=f"mine:{last}").set_value(1.5).run())
    assert ids(at, "mine") == order  # not moved to the front under the cursor
    assert at.radio(key=f"mine:{last}").value == 1.5
    assert "Saved: 1.5★" in texts(at)
    saved = requests.get(f"{live_worker}/api/v1/me/ratings", headers=auth, timeout=60).json()
    assert {i["movie"]["id"]: i["rating"] for i in saved["items"]}[last] == 1.5
    # "Not seen" clears the rating: the card leaves the list.
    ok(at.radio(key=f"mine:{last}").set_value(0.0).run())
    assert ids(at, "mine") == order[:-1]


def held_ratings(live_worker: str, auth: dict[str, str]) -> dict[int, float]:
    """The ratings the worker holds, ``{movie id: stars}``."""
    answer = requests.get(f"{live_worker}/api/v1/me/ratings", headers=auth, timeout=60).json()
    return {item["movie"]["id"]: item["rating"] for item in answer["items"]}


def test_stars_sent_back_with_a_click_change_nothing(app: AppTest, live_worker):
    """Nothing acknowledged is ever lost. A click on Remove while My ratings is still being
    drawn (a loaded machine) reaches the app with star controls the browser had not finished
    drawing, at "Not seen": each of them used to delete its rating (one Remove, 6 -> 2).
    Only the rating acted on may change; a single star click still saves."""
    at = app
    name, auth = new_user(live_worker, FIVE)
    log_in(at, name)
    go(at, "My ratings")
    order = ids(at, "mine")
    # The click, and two other controls reported at "Not seen": only the clicked one goes.
    at.radio(key=f"mine:{order[1]}").set_value(0.0)
    at.radio(key=f"mine:{order[2]}").set_value(0.0)
    ok(at.button(key=f"remove:{order[0]}").click().run())
    assert held_ratings(live_worker, auth) == {m: FIVE[m] for m in order[1:]}
    assert ids(at, "mine") == order[1:]
    assert [at.radio(key=f"mine:{m}").value for m in order[1:]] == [FIVE[m] for m in order[1:]]
    # Two controls "changed" in one interaction: neither is saved, both show their rating.
    at.radio(key=f"mine:{order[1]}").set_value(0.0)
    ok(at.radio(key=f"mine:{order[2]}").set_value(2.0).run())
    assert held_ratings(live_worker, auth) == {m: FIVE[m] for m in order[1:]}
    assert at.radio(key=f"mine:{order[1]}").value == FIVE[order[1]]
    assert at.radio(key=f"mine:{order[2]}").value == FIVE[order[2]]
    assert "Your ratings were not changed" in warnings(at)
    # A control reported with a navigation away is not a click on it.
    at.radio(key=f"mine:{order[3]}").set_value(0.0)
    go(at, "Recommendations")
    assert held_ratings(live_worker, auth) == {m: FIVE[m] for m in order[1:]}
    # One click on one control still saves at once: "Not seen" removes that rating only.
    go(at, "My ratings")
    ok(at.radio(key=f"mine:{order[3]}").set_value(0.0).run())
    assert held_ratings(live_worker, auth) == {m: FIVE[m] for m in order[1:] if m != order[3]}
    assert ids(at, "mine") == [m for m in order[1:] if m != order[3]]


def test_onboarding_keeps_partial_genres_and_guides_back(app: AppTest):
    at = app
    sign_up(at, new_username())
    assert at.session_state["nav"] == "Genres"
    assert "Rated 0 of 5" not in texts(at)  # no ratings counter during the genre step
    at.pills(key="genre_pick").set_value(GENRES[:2]).run()
    # Skipping ahead: the rating page says what is missing and offers the way back.
    go(at, "Rate movies")
    assert "First, pick at least 5 genres" in texts(at)
    assert "You have picked 2 so far" in texts(at)
    assert "Rated 0 of 5" not in texts(at)
    ok(button(at, "Pick my genres").click().run())
    assert at.session_state["nav"] == "Genres"
    assert sorted(at.pills(key="genre_pick").value) == sorted(GENRES[:2])  # kept
    at.pills(key="genre_pick").set_value(GENRES).run()
    ok(button(at, "Save genres").click().run())
    assert at.session_state["nav"] == "Rate movies"
    assert "Rated 0 of 5" in texts(at)
    assert "First, pick" not in texts(at)


def test_why_bars_in_plain_words():
    from app.views.details import contribution_bars

    bars = contribution_bars({"pearson": 30.0, "content": 10.0, "neural": -2.0, "popularity": 0})
    assert bars.index("people with your taste") < bars.index("its story")
    assert "width:100%" in bars and "width:33%" in bars
    assert ">75%<" in bars and ">25%<" in bars  # shares of what the sources weighed
    assert "pattern of your ratings" not in bars  # lowered the score: left out
    assert "neural" not in bars and "pearson" not in bars
    assert contribution_bars({}) == ""
