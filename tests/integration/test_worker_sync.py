"""Each worker process keeps its Pearson pool of app users in step with Redis.

Two model services with separately fitted models stand in for two gunicorn processes: a
rating stored through one is seen by the other at its next sync (one XREAD of the change
stream), and a removed profile leaves the other's pool.
"""

from __future__ import annotations

import pytest

from worker.services import ModelLoader, ModelService, user_model_key
from worker.store import now_ms


@pytest.fixture()
def two_processes(worker_app):
    """(store, service of this app, a second service with its own fitted model)."""
    from recommender import settings
    from recommender.models import make_model
    from recommender.movielens import load_movielens

    store = worker_app.extensions["store"]
    mine = worker_app.extensions["models"]
    ml = load_movielens(settings.movielens_dir())
    other_model = make_model("pearson").fit(ml.ratings, ml.movies)
    other = ModelService(
        store, worker_app.config, ModelLoader.serving(mine.catalog, other_model, "pearson")
    )
    other.start(background=False)
    return store, mine, other


def test_a_rating_made_elsewhere_reaches_the_pool_at_the_next_sync(two_processes):
    store, mine, other = two_processes
    user = store.create_user("elsewhere", "x", "2026-01-01T00:00:00+00:00")
    key = user_model_key(user.id)
    store.set_rating(user.id, 1, 5.0, now_ms())
    assert key not in other.loaded.model.app_users
    assert other.sync() == 1
    assert key in other.loaded.model.app_users
    assert other.sync() == 0  # nothing new: no work
    store.delete_rating(user.id, 1)
    other.sync()
    assert key not in other.loaded.model.app_users
    mine.sync()
    assert key not in mine.loaded.model.app_users


def test_a_trimmed_stream_triggers_a_full_reload(two_processes):
    store, _, other = two_processes
    lost = store.create_user("lost_entry", "x", "2026-01-01T00:00:00+00:00")
    later = store.create_user("later_entry", "x", "2026-01-01T00:00:00+00:00")
    store.set_rating(later.id, 1, 4.0, now_ms())
    other.sync()
    store.set_rating(lost.id, 2, 4.0, now_ms())
    store.r.xtrim("rating_changes", maxlen=0)  # an entry this process never read is gone
    store.set_rating(later.id, 3, 4.0, now_ms())
    other.sync()
    assert user_model_key(lost.id) in other.loaded.model.app_users
