"""The content features of the app, driven by ``AppTest`` against a real worker: movie details
with similar movies, the Discover loop, "describe what you want", the reasons of a
recommendation, the Insights page, and the visitor's address forwarded to the worker.

Nothing is replaced by a stand-in: the worker is real (``live_worker``: gunicorn + its own
redis-server).
Users are created through the REST API (quicker than the forms) and then log in through the
app's own form.
"""

from __future__ import annotations

import html
import shutil
import threading
import uuid
from pathlib import Path

import pytest
import requests
from streamlit.testing.v1 import AppTest

from app.client import ApiError, WorkerClient
from app.session import forwarded_chain
from tests.helpers import app_log_in, button, http_sign_up_and_log_in
from tests.integration.test_app_pages import texts
from tests.integration.test_worker_insights import tiny_png

HOME = str(Path(__file__).resolve().parents[2] / "app" / "Home.py")
GENRES = ["Action", "Adventure", "Comedy", "Drama", "Sci-Fi"]
TOY_STORY = 1
#: Five well-known movies rated by the "rated" users: Star Wars IV, V, Matrix, Pulp Fiction,
#: Forrest Gump.
FIVE = {260: 5.0, 1196: 4.5, 2571: 5.0, 296: 4.0, 356: 3.5}


def ids(at: AppTest, prefix: str) -> list[int]:
    """Movie ids of the rating controls whose key is ``prefix:<id>``, in page order."""
    return [int(s.key.split(":")[1]) for s in at.radio if str(s.key).startswith(prefix + ":")]


def ok(at: AppTest) -> AppTest:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    return at


def new_user(base: str, ratings: dict[int, float] | None = None) -> tuple[str, dict[str, str]]:
    """Sign up and log in through the API, pick five genres, rate ``ratings``."""
    name = f"c{uuid.uuid4().hex[:12]}"
    auth = http_sign_up_and_log_in(base, name)
    put = requests.put(
        f"{base}/api/v1/me/genres", json={"genres": GENRES}, headers=auth, timeout=60
    )
    assert put.status_code == 200
    for movie_id, stars in (ratings or {}).items():
        answer = requests.put(
            f"{base}/api/v1/me/ratings/{movie_id}", json={"rating": stars}, headers=auth, timeout=60
        )
        assert answer.status_code == 200
    return name, auth


@pytest.fixture()
def app(live_worker, monkeypatch, tmp_path) -> AppTest:
    monkeypatch.setenv("WORKER_URL", live_worker)
    monkeypatch.setenv("WORKER_TIMEOUT_SECONDS", "120")
    at = AppTest.from_file(HOME, default_timeout=180)
    return ok(at.run())


def log_in(at: AppTest, username: str) -> AppTest:
    """Log in through the app's form (:func:`tests.helpers.app_log_in`); no error shown."""
    return ok(app_log_in(at, username))


def tick(at: AppTest, movie_id: int) -> None:
    """Tick "I like this" on the discover card of ``movie_id``."""
    boxes = [c for c in at.checkbox if str(c.key).endswith(f":{movie_id}")]
    assert len(boxes) == 1 and boxes[0].label == "I like this"
    boxes[0].check()


def go(at: AppTest, view: str) -> AppTest:
    """Open ``view``'s page, as its navigation link does (``st.switch_page``, app/Home.py)."""
    at.session_state["goto"] = view
    return ok(at.run())


def test_details_dialog_shows_similar_movies(app: AppTest, live_worker):
    at = app
    name, auth = new_user(live_worker)
    log_in(at, name)
    at.text_input(key="grid_query").input("toy story").run()
    ok(at.button(key=f"rate:more:{TOY_STORY}").click().run())
    # The dialog: overview, tagline/genres, the person's rating control, 12 similar movies.
    assert ids(at, "details") == [TOY_STORY]
    assert "Toy Story (1995)" in texts(at)
    assert "toys" in texts(at).lower()  # the overview
    similar = ids(at, "similar")
    assert len(similar) == 12 and TOY_STORY not in similar
    expected = requests.get(
        f"{live_worker}/api/v1/movies/{TOY_STORY}/similar?k=12", timeout=60
    ).json()
    assert similar == [item["movie"]["id"] for item in expected["items"]]
    badges = [m.value for m in at.markdown if "% similar" in m.value]
    assert len(badges) == 12
    top = round(100 * expected["items"][0]["similarity"])
    assert f"{top}% similar" in badges[0]
    # Rating from the dialog saves it on the worker and the card in the grid follows.
    ok(at.radio(key=f"details:{TOY_STORY}").set_value(4.5).run())
    mine = requests.get(f"{live_worker}/api/v1/me/ratings", headers=auth, timeout=60).json()
    assert [(i["movie"]["id"], i["rating"]) for i in mine["items"]] == [(TOY_STORY, 4.5)]
    assert at.radio(key=f"rate:{TOY_STORY}").value == 4.5
    # "More like this" on a similar movie moves the dialog to it; Close closes it.
    ok(at.button(key=f"similar:more:{similar[0]}").click().run())
    assert ids(at, "details") == [similar[0]]
    ok(button(at, "Close").click().run())
    assert ids(at, "details") == [] and ids(at, "similar") == []


def test_discover_two_rounds_with_top_genres(app: AppTest, live_worker):
    at = app
    name, auth = new_user(live_worker)
    log_in(at, name)
    go(at, "Discover")
    assert "not ratings" in texts(at)
    first = [int(c.key.split(":")[2]) for c in at.checkbox]
    assert len(first) == 5 and ids(at, "discover") == first
    assert "Your top genres so far" not in texts(at)
    # Round 1: tick two movies; the next five are new and the top genres are theirs.
    for movie_id in first[:2]:
        tick(at, movie_id)
    ok(button(at, "Next 5").click().run())
    second = [int(c.key.split(":")[2]) for c in at.checkbox]
    assert len(second) == 5 and not set(second) & set(first)
    state = requests.get(f"{live_worker}/api/v1/me/discover", headers=auth, timeout=60).json()
    assert sorted(state["liked"]) == sorted(first[:2])
    top = [g["genre"] for g in state["top_genres"]][:5]
    assert top and f"**Your top genres so far:** {top[0]} (" in texts(at)
    # Round 2: one more tick; three liked in all.
    tick(at, second[0])
    ok(button(at, "Next 5").click().run())
    third = [int(c.key.split(":")[2]) for c in at.checkbox]
    assert len(third) == 5 and not set(third) & (set(first) | set(second))
    state = requests.get(f"{live_worker}/api/v1/me/discover", headers=auth, timeout=60).json()
    assert sorted(state["liked"]) == sorted([*first[:2], second[0]])
    assert "3 movies ticked so far" in texts(at)
    # Ticks are not ratings; the stars on a discover card are.
    me = requests.get(f"{live_worker}/api/v1/me", headers=auth, timeout=60).json()
    assert me["rating_count"] == 0
    ok(at.radio(key=f"discover:{third[0]}").set_value(4.0).run())
    me = requests.get(f"{live_worker}/api/v1/me", headers=auth, timeout=60).json()
    assert me["rating_count"] == 1
    # Start over: no ticks, no top genres.
    ok(button(at, "Start over").click().run())
    assert "Your top genres so far" not in texts(at)
    assert "0 movies ticked so far" in texts(at)
    state = requests.get(f"{live_worker}/api/v1/me/discover", headers=auth, timeout=60).json()
    assert state["liked"] == []


def test_describe_what_you_want(app: AppTest, live_worker):
    at = app
    name, _ = new_user(live_worker)  # no ratings: describing works all the same
    log_in(at, name)
    go(at, "Recommendations")
    assert "Rate 5 more movies" in texts(at)
    query = "toys that come to life when nobody is watching"
    ok(at.text_input(key="recs_query").input(query).run())
    found = ids(at, "recs")
    assert len(found) == 24
    assert TOY_STORY in found[:12]  # the description matches Toy Story's overview
    assert f"Movies matching “{query}”, best fit for the description first" in texts(at)
    # every card says which part of its story matches (or how close it is, without one)
    lines = [m.value for m in at.markdown if 'class="mr-reason"' in m.value]
    assert len(lines) == 24 and all("Its story" in line for line in lines)
    toy = next(line for line in lines if "toys" in line.lower())
    assert "Its story: “" in toy
    # Clearing the box goes back to the normal page.
    ok(button(at, "Clear the description").click().run())
    assert ids(at, "recs") == []
    assert "Rate 5 more movies" in texts(at)


def test_reasons_under_every_recommendation(app: AppTest, live_worker):
    at = app
    name, auth = new_user(live_worker, FIVE)
    log_in(at, name)
    assert at.session_state["nav"] == "For you"  # a person with five ratings lands on the rows
    go(at, "Recommendations")
    recs = ids(at, "recs")
    assert len(recs) == 24
    expected = requests.get(
        f"{live_worker}/api/v1/me/recommendations", headers=auth, timeout=60
    ).json()["items"]
    assert [i["movie"]["id"] for i in expected] == recs
    # "Why?" is one click away: the details dialog of a recommendation lists every reason,
    # the match and the predicted stars in one sentence, and a bar per source.
    for item in expected[:3]:
        ok(at.button(key=f"recs:more:{item['movie']['id']}").click().run())
        listed = texts(at).replace("\\", "").lower()
        assert item["reasons"] and all(r.lower() in listed for r in item["reasons"])
        assert f"{round(item['match'])}% match" in listed
        assert f"about **{item['predicted_rating']:.1f}★**" in listed
        ok(button(at, "Close").click().run())
    lines = "\n".join(m.value for m in at.markdown if 'class="mr-reason"' in m.value).lower()
    first = html.escape(expected[0]["reason"]).lower()
    assert first in lines  # the one-line reason on the card


def test_insights_show_my_taste(app: AppTest, live_worker):
    """Insights is about the person: the genres they rate high and low (their own averages),
    their average next to everyone's for the same movies, where they differ most."""
    at = app
    # Loves Star Wars IV, V and The Matrix; dislikes Forrest Gump, Toy Story and A Bug's Life.
    ratings = {260: 5.0, 1196: 5.0, 2571: 4.5, 356: 1.5, 1: 1.0, 2355: 1.0}
    name, _ = new_user(live_worker, ratings)
    log_in(at, name)
    go(at, "Insights")
    page = texts(at)
    assert [s.value for s in at.subheader] == ["Your taste"] and len(at.get("image")) == 0
    high = next(m.value for m in at.markdown if m.value.startswith("You rate highest:"))
    low = next(m.value for m in at.markdown if m.value.startswith("You rate lowest:"))
    assert "**Sci-Fi** (4.8★ over 3)" in high and "Comedy" not in high
    assert "**Comedy** (1.2★ over 3)" in low or "**Children** (1.0★ over 2)" in low
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Movies you rated"] == "6" and metrics["Your average rating"] == "3.0★"
    assert "Forrest Gump: you 1.5★, everyone" in page  # liked less than most
    assert "You liked more than most" in page
    charts = [e for e in at.main if "vega" in e.type or "chart" in e.type]
    assert len(charts) == 1, {e.type for e in at.main}  # the genre chart


def test_insights_page_with_and_without_plots(app: AppTest, live_worker, content_artifacts):
    """Model insights shows what the worker lists: nothing built yet, then three plots written
    into the worker's ARTIFACTS_DIR (the app itself reads no files)."""
    at = app
    name, _ = new_user(live_worker)
    log_in(at, name)
    go(at, "Model insights")
    assert "Not built yet" in texts(at)
    assert len(at.get("image")) == 0
    root = content_artifacts
    written = [root / "plots", root / "models"]
    try:
        (root / "plots").mkdir()
        (root / "plots" / "embeddings.png").write_bytes(tiny_png())
        (root / "plots" / "reliability.png").write_bytes(tiny_png())
        version = root / "models" / "embed" / "20261123T000000Z-abc"
        version.mkdir(parents=True)
        (version / "training_curves.png").write_bytes(tiny_png())
        (root / "models" / "embed" / "latest").write_text(version.name)
        ok(at.run())
        assert "Not built yet" not in texts(at)
        assert len(at.get("image")) == 3
        page = texts(at)
        for title in ("Map of the movies", "trust the match percentage", "Training curves: embed"):
            assert title in page
        assert "t-SNE" in page and "diagonal" in page
    finally:
        for folder in written:
            shutil.rmtree(folder, ignore_errors=True)


def test_forwarded_chain():
    assert forwarded_chain(None, None) is None
    assert forwarded_chain("198.51.100.1", None) is None  # nothing the app can vouch for
    assert forwarded_chain(None, "203.0.113.9") == "203.0.113.9"
    assert forwarded_chain("198.51.100.1, 10.0.0.2", "10.0.0.3") == (
        "198.51.100.1, 10.0.0.2, 10.0.0.3"
    )
    assert forwarded_chain(",".join(["1.1.1.1"] * 50), "2.2.2.2").count(",") == 7


def test_login_limit_counts_forwarded_addresses(make_worker_app):
    """A real worker (in-process, served over real HTTP) trusting one proxy — the app — counts
    failed logins per forwarded address: one person's failures do not lock out another."""
    from werkzeug.serving import make_server

    worker = make_worker_app(TRUSTED_PROXIES=1, LOGIN_MAX_FAILURES_PER_ADDRESS=3)
    server = make_server("127.0.0.1", 0, worker, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        alice = WorkerClient(base, 30, forwarded_for="203.0.113.7")
        bob = WorkerClient(base, 30, forwarded_for="203.0.113.8")
        for _ in range(3):  # three different unknown usernames: only the address limit counts
            with pytest.raises(ApiError) as err:
                alice.login(f"x{uuid.uuid4().hex[:8]}", "wrong password")
            assert err.value.status == 401
        with pytest.raises(ApiError) as err:
            alice.login(f"x{uuid.uuid4().hex[:8]}", "wrong password")
        assert err.value.status == 429
        with pytest.raises(ApiError) as err:
            bob.login(f"x{uuid.uuid4().hex[:8]}", "wrong password")
        assert err.value.status == 401  # another person behind the same app is not blocked
    finally:
        server.shutdown()
        thread.join(timeout=10)
