"""The familiar ↔ discover control on the app's recommendations page, driven by ``AppTest``
against a real worker (``live_worker``: gunicorn + its own redis-server, serving Pearson on
ml-latest-small)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from app.views.recommendations import DISCOVER_LABEL, DISCOVER_START, DISCOVER_STOPS
from tests.integration.test_app_content import HOME, ids, log_in, new_user, ok
from tests.integration.test_worker_discover import CHILDRENS_ANIMATIONS


@pytest.fixture()
def app(live_worker, monkeypatch) -> AppTest:
    monkeypatch.setenv("WORKER_URL", live_worker)
    monkeypatch.setenv("WORKER_TIMEOUT_SECONDS", "120")
    return ok(AppTest.from_file(HOME, default_timeout=180).run())


def test_moving_the_control_to_discover_changes_the_list(app: AppTest, live_worker, data_dir):
    from recommender.movielens import load_movielens

    ml = load_movielens(data_dir / "ml-latest-small")
    head = set(ml.ratings["movieId"].value_counts().index[:100].tolist())
    at = app
    name, _ = new_user(live_worker, CHILDRENS_ANIMATIONS)
    log_in(at, name)
    at.session_state["goto"] = "Recommendations"
    ok(at.run())
    control = at.select_slider(key="recs_discover")
    assert control.label == DISCOVER_LABEL and control.value == DISCOVER_START
    assert list(control.options) == list(DISCOVER_STOPS)
    shown = {}
    for stop in ("Familiar", "Discover"):
        ok(at.select_slider(key="recs_discover").set_value(stop).run())
        shown[stop] = ids(at, "recs")
        assert len(shown[stop]) == 24
    assert shown["Familiar"] != shown["Discover"]
    in_head = {stop: len(head & set(movies)) for stop, movies in shown.items()}
    assert in_head["Discover"] <= in_head["Familiar"] - 8, in_head
    assert 296 in shown["Familiar"] and 296 not in shown["Discover"]  # Pulp Fiction
