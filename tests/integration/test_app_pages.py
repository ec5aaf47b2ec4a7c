"""The Streamlit pages, driven by ``streamlit.testing.v1.AppTest`` against a real worker.

Nothing is replaced by a stand-in: the worker (``live_worker`` fixture) is a real gunicorn
process with its own real Redis. Posters point at the public internet, which this machine cannot
reach; the app never fetches them itself (the browser does), so nothing needs mocking.
"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import requests
from streamlit.testing.v1 import AppTest

from tests.helpers import PASSWORD, button
from tests.helpers import app_log_in as log_in
from tests.helpers import app_sign_up as sign_up

HOME = str(Path(__file__).resolve().parents[2] / "app" / "Home.py")
GENRES = ["Action", "Adventure", "Comedy", "Drama", "Thriller"]


def new_username() -> str:
    return f"u{uuid.uuid4().hex[:12]}"


def texts(at: AppTest) -> str:
    """Every message, markdown, caption and progress text on the page, joined."""
    parts = [e.value for e in (*at.error, *at.warning, *at.info, *at.success)]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [getattr(p, "text", "") or "" for p in at.get("progress")]
    return "\n".join(str(p) for p in parts)


def sliders(at: AppTest, prefix: str):
    return [s for s in at.radio if str(s.key).startswith(prefix + ":")]


def badges(at: AppTest) -> int:
    return sum('class="mr-badge"' in m.value for m in at.markdown)


@pytest.fixture()
def app(live_worker, monkeypatch) -> AppTest:
    """A fresh app session talking to the live worker."""
    monkeypatch.setenv("WORKER_URL", live_worker)
    monkeypatch.setenv("WORKER_TIMEOUT_SECONDS", "60")
    at = AppTest.from_file(HOME, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def go(at: AppTest, view: str) -> AppTest:
    """Open ``view``'s page, as its navigation link does (``st.switch_page``, app/Home.py)."""
    at.session_state["goto"] = view
    return at.run()


def test_full_journey(app: AppTest, live_worker):
    at = app
    username = new_username()
    sign_up(at, username)
    token = at.session_state["token"]
    assert token
    # A new user lands on the genre chooser; saving needs five genres.
    assert at.session_state["nav"] == "Genres"
    assert "Welcome" in texts(at)
    pills = at.pills(key="genre_pick")
    assert set(GENRES) <= set(pills.options)
    pills.set_value(GENRES[:4]).run()
    assert button(at, "Save genres").disabled
    at.pills(key="genre_pick").set_value(GENRES).run()
    button(at, "Save genres").click().run()
    assert not at.exception, at.exception
    assert at.session_state["nav"] == "Rate movies"
    me = requests.get(
        f"{live_worker}/api/v1/me", timeout=30, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert sorted(me["genres"]) == sorted(GENRES)

    # Rate: 24 cards, rate three on page one, "show more", rate two on page two. The grid
    # adapts: after each rating the cards up to it stay and the ones after it are chosen
    # again from what was rated, so each rating reads the grid as it is then.
    assert len(sliders(at, "rate")) == 24
    assert "Rated 0 of 5" in texts(at)
    rated_keys = []

    def rate(index: int, stars: float) -> list[str]:
        before = [s.key for s in sliders(at, "rate")]
        at.radio(key=before[index]).set_value(stars).run()
        assert not at.exception, at.exception
        rated_keys.append(before[index])
        after = [s.key for s in sliders(at, "rate")]
        assert len(after) == len(before) and after[: index + 1] == before[: index + 1]
        return before

    first = rate(0, 5.0)
    assert [s.key for s in sliders(at, "rate")][1:] != first[1:]  # the rest was chosen again
    rate(1, 4.5)
    rate(2, 2.0)
    assert "Rated 3 of 5" in texts(at)
    assert "Saved: 4.5★" in texts(at)
    button(at, "Show more movies").click().run()
    grid = sliders(at, "rate")
    assert len(grid) == 48
    assert len({s.key for s in grid}) == 48  # page two brought new movies
    rate(24, 4.0)
    rate(25, 4.0)
    assert "recommendations are ready" in texts(at)
    assert len(set(rated_keys)) == 5
    rated_ids = {int(key.split(":")[1]) for key in rated_keys}
    me = requests.get(
        f"{live_worker}/api/v1/me", timeout=30, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert me["rating_count"] == 5
    # A newcomer's grid is in the onboarding order and keeps it after the fifth rating:
    # "show more" brings page three of that order, not of the most-rated-first grid.
    assert "they tell us most about your taste" in texts(at)
    button(at, "Show more movies").click().run()
    third = [int(s.key.split(":")[1]) for s in sliders(at, "rate")[48:]]
    auth = {"Authorization": f"Bearer {token}"}

    def page_three(order: str) -> list[int]:
        url = f"{live_worker}/api/v1/movies?page=3&order={order}&shown=48"
        return [m["id"] for m in requests.get(url, headers=auth, timeout=30).json()["items"]]

    assert third == page_three("onboarding") != page_three("popular")

    # Recommendations: 24 cards with match badges, then page two.
    button(at, "See my recommendations →").click().run()
    assert not at.exception, at.exception
    assert at.session_state["nav"] == "For you"  # the rows; "See all" opens the paged list
    assert "Top picks for you" in texts(at)
    button(at, "See all recommendations →").click().run()
    assert at.session_state["nav"] == "Recommendations"
    recs = sliders(at, "recs")
    assert len(recs) == 24
    assert badges(at) == 24
    assert "% match" in texts(at)
    rec_ids = {int(s.key.split(":")[1]) for s in recs}
    assert not rec_ids & rated_ids  # never recommends what the user rated
    button(at, "Show more recommendations").click().run()
    assert len(sliders(at, "recs")) == 48
    assert badges(at) == 48

    # Rating a recommended movie saves it and takes it off the list.
    first = sliders(at, "recs")[0]
    at.radio(key=first.key).set_value(3.5).run()
    assert not at.exception, at.exception
    assert first.key not in {s.key for s in sliders(at, "recs")}
    assert len(sliders(at, "recs")) == 48  # the list refilled
    rated_rec = int(first.key.split(":")[1])

    # My ratings: newest first, editable, removable.
    go(at, "My ratings")
    assert not at.exception, at.exception
    mine = sliders(at, "mine")
    assert len(mine) == 6
    assert int(mine[0].key.split(":")[1]) == rated_rec
    assert mine[0].value == 3.5
    button(at, "Remove").click().run()  # the first card's button: the newest rating
    assert not at.exception, at.exception
    mine = sliders(at, "mine")
    assert len(mine) == 5
    assert rated_rec not in {int(s.key.split(":")[1]) for s in mine}
    at.radio(key=mine[1].key).set_value(1.0).run()
    assert not at.exception, at.exception
    assert "Saved: 1★" in texts(at)
    answer = requests.get(
        f"{live_worker}/api/v1/me/ratings", timeout=30, headers={"Authorization": f"Bearer {token}"}
    ).json()
    assert answer["total"] == 5
    assert 1.0 in {item["rating"] for item in answer["items"]}

    # Log out: one click, back to the forms, and the token is dead on the worker.
    button(at, "Log out").click().run()
    assert not at.exception, at.exception
    assert "token" not in at.session_state
    assert any(b.label == "Log in" for b in at.button)
    assert "logged out" in texts(at)
    gone = requests.get(
        f"{live_worker}/api/v1/me", timeout=30, headers={"Authorization": f"Bearer {token}"}
    )
    assert gone.status_code == 401


def test_auth_messages(app: AppTest):
    at = app
    username = new_username()
    sign_up(at, username, password="short")
    assert "too short" in texts(at)
    assert "token" not in at.session_state
    sign_up(at, username, confirm="something else")
    assert "different" in texts(at)
    sign_up(at, username)
    assert at.session_state["token"]
    button(at, "Log out").click().run()

    sign_up(at, username.upper())  # usernames are case-insensitive
    assert "already taken" in texts(at)
    log_in(at, username, "wrong password!")
    assert "Wrong username or password" in texts(at)
    log_in(at, new_username(), PASSWORD)  # unknown user: the same message
    assert "Wrong username or password" in texts(at)
    for _ in range(4):
        log_in(at, username, "wrong password!")
    log_in(at, username, PASSWORD)  # even the right password waits now
    assert "Too many attempts" in texts(at)
    assert "token" not in at.session_state


def test_search_and_genre_change(app: AppTest):
    at = app
    sign_up(at, new_username())
    at.pills(key="genre_pick").set_value(GENRES).run()
    button(at, "Save genres").click().run()
    at.text_input(key="grid_query").input("toy story").run()
    assert not at.exception, at.exception
    titles = "\n".join(m.value for m in at.markdown)
    assert "Toy Story" in titles
    assert 0 < len(sliders(at, "rate")) < 24
    # The overview is one click away, in the details dialog.
    first = sliders(at, "rate")[0].key.split(":")[1]
    at.button(key=f"rate:more:{first}").click().run()
    assert "toys" in texts(at).lower()
    button(at, "Close").click().run()
    # Genres can be changed later and the page keeps the current choice.
    go(at, "Genres")
    assert sorted(at.pills(key="genre_pick").value) == sorted(GENRES)
    at.pills(key="genre_pick").set_value(GENRES + ["Animation"]).run()
    button(at, "Save genres").click().run()
    assert at.session_state["nav"] == "Rate movies"


def test_recommendations_locked_below_five(app: AppTest):
    at = app
    sign_up(at, new_username())
    at.pills(key="genre_pick").set_value(GENRES).run()
    button(at, "Save genres").click().run()
    go(at, "Recommendations")
    assert not at.exception, at.exception
    assert "Rate 5 more movies" in texts(at)
    assert badges(at) == 0


def test_session_ended_elsewhere_goes_back_to_log_in(app: AppTest, live_worker):
    at = app
    sign_up(at, new_username())
    token = at.session_state["token"]
    revoked = requests.post(
        f"{live_worker}/api/v1/auth/logout",
        timeout=30,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert revoked.status_code == 204
    at.run()
    assert not at.exception, at.exception
    assert "token" not in at.session_state
    assert "session has ended" in texts(at)
    assert any(b.label == "Log in" for b in at.button)
    assert not any(b.label == "Log out" for b in at.button)
