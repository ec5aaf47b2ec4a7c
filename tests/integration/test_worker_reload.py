"""Blend as the default model, and hot reload of new model versions without a restart.

Real parts: a tiny blend fitted on the contract's two-taste-groups data (40 people, 22 movies)
and saved with ``BlendRecommender.save`` + the ``latest`` pointer as ``scripts/fit_blend.py``
writes it (:mod:`recommender.artifacts`); tiny ``embed`` models (TensorFlow, 8 dimensions,
1-2 epochs) trained on a slice of ml-latest-small and saved with
``recommender.neural.artifacts.save_artifact``; the session's redis-server; the Flask app
answering from several threads while versions change.
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")  # sklearn's trees: threads only fight here

import shutil  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from tests.recommender_contract import taste_groups  # noqa: E402

API = "/api/v1"
ACTION_LOVER = [(1, 5.0), (2, 5.0), (3, 4.5), (11, 1.0), (12, 1.5)]


def write_blend(model, artifacts_dir: Path, version: str) -> None:
    """Save ``model`` as blend ``version`` and point ``latest`` at it (atomically)."""
    from recommender.artifacts import set_latest

    model.save(artifacts_dir / "blend" / version)
    set_latest(artifacts_dir / "blend", version)


@pytest.fixture(scope="module")
def tiny_blend():
    from recommender.blend import BlendRecommender

    ratings, movies = taste_groups()
    params = dict(neural=None, use_content=False, blend_users=0.5, folds=2, sizes=(3,), seed=1)
    return BlendRecommender(**params).fit(ratings, movies)


@pytest.fixture(scope="module")
def embed_models(data_dir, content_artifacts):
    """Two tiny embed models (different seeds) on ratings of the content-vector movies."""
    import numpy as np

    from recommender.neural.runtime import limit_threads

    limit_threads(2)
    from recommender.models import make_model
    from recommender.movielens import load_movielens

    ml = load_movielens(data_dir / "ml-latest-small")
    movies = np.load(content_artifacts / "sbert" / "movie_ids.npy")
    ratings = ml.ratings[ml.ratings["movieId"].isin(movies) & (ml.ratings["userId"] <= 200)]
    models = []
    for seed, epochs in ((1, 2), (2, 1)):
        params = dict(dim=8, epochs=epochs, batch_size=512, seed=seed, patience=1)
        models.append(make_model("embed", **params).fit(ratings))
    return models


@pytest.fixture()
def artifacts_dir(tmp_path, content_artifacts) -> Path:
    """A fresh ARTIFACTS_DIR with the session's SBERT vectors and nothing else."""
    shutil.copytree(content_artifacts / "sbert", tmp_path / "sbert")
    return tmp_path


def test_without_a_blend_auto_serves_pearson_and_says_why(make_worker_app):
    body = make_worker_app(RECOMMENDER_MODEL="auto").test_client().get("/readyz").get_json()
    assert body["status"] == "ready" and body["model"] == "pearson"
    assert body["model_version"] == "pearson@ml-latest-small"
    assert "no blend artifact" in body["model_reason"]


def test_a_blend_saved_in_an_older_format_is_refused_with_a_clear_reason(
    make_worker_app, tiny_blend, artifacts_dir
):
    """A blend pickled before the blend was split into components cannot be loaded: the
    worker serves Pearson and says why (``make run`` rebuilds it, scripts/build_models.py)."""
    write_blend(tiny_blend, artifacts_dir, "old")
    manifest = artifacts_dir / "blend" / "old" / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format": 2', '"format": 1'))
    app = make_worker_app(RECOMMENDER_MODEL="auto", ARTIFACTS_DIR=str(artifacts_dir))
    body = app.test_client().get("/readyz").get_json()
    assert body["status"] == "ready" and body["model"] == "pearson"
    assert "IncompatibleArtifact" in body["model_reason"]
    assert "python -m scripts.fit_blend" in body["model_reason"]


def test_blend_is_the_default_with_its_reasons_and_app_users_as_neighbours(
    make_worker_app, worker_login, tiny_blend, artifacts_dir, list_neighbours
):
    write_blend(tiny_blend, artifacts_dir, "v1")
    app = make_worker_app(RECOMMENDER_MODEL="auto", ARTIFACTS_DIR=str(artifacts_dir))
    client = app.test_client()
    ready = client.get("/readyz").get_json()
    assert ready["model"] == "blend" and ready["model_version"] == "blend@v1"
    assert "blend artifact v1" in ready["model_reason"]

    me, twin = worker_login(client, "blend_me"), worker_login(client, "blend_twin")
    for headers in (me, twin):
        for movie_id, stars in ACTION_LOVER:
            client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
    answer = client.get(f"{API}/me/recommendations", headers=me)
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["model"] == "blend" and body["model_version"] == "blend@v1"
    ids = [item["movie"]["id"] for item in body["items"]]
    assert ids and set(ids) <= set(range(1, 23)) - {m for m, _ in ACTION_LOVER}
    assert set(ids[:3]) <= {4, 5, 6, 7, 8, 9, 10}  # the other action movies come first
    for item in body["items"]:
        assert item["reasons"] and item["reason"] == item["reasons"][0]
        assert "components" in item["evidence"] and "reasons" not in item["evidence"]
    # the blend's Pearson component holds both app users as neighbours
    pearson = app.extensions["models"].loaded.model.component("pearson").model
    store = app.extensions["store"]
    keys = {f"app:{store.user_id_for(name)}" for name in ("blend_me", "blend_twin")}
    assert keys <= set(pearson.app_users)
    me_id = store.user_id_for("blend_me")
    neighbours = list_neighbours(app, "blend_me")
    twin_key = f"app:{store.user_id_for('blend_twin')}"
    assert any(n["user"] == twin_key and n["similarity"] > 0.99 for n in neighbours)
    assert not any(n["user"] == f"app:{me_id}" for n in neighbours)  # never one's own


def test_later_pages_are_explained_when_first_shown_and_then_stay_explained(
    make_worker_app, worker_login, tiny_blend, artifacts_dir
):
    """A fresh list explains the first page shown, RECS_EXPLAIN_FIRST movies, from the
    scoring pass that ranked it (explaining costs about as much as ranking); a later page is
    explained the first time it is asked for, and the cached list keeps that evidence, which
    is what explaining the whole list at once gives. The list is the model's, best match first
    (``discover=0``, familiar: the model's own order; re-ranking is tested in
    test_worker_discover.py)."""
    write_blend(tiny_blend, artifacts_dir, "v1")
    app = make_worker_app(
        RECOMMENDER_MODEL="auto", ARTIFACTS_DIR=str(artifacts_dir), RECS_EXPLAIN_FIRST=4
    )
    client = app.test_client()
    me = worker_login(client, "lazy_me")
    for movie_id, stars in ACTION_LOVER:
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=me)
    store = app.extensions["store"]
    my_id = store.user_id_for("lazy_me")
    version = store.ratings_version(my_id)

    def explained() -> list[bool]:
        cached = store.cached_recs(my_id, version, "blend@v1")
        return [item["evidence"] is not None for item in cached["items"]]

    first = client.get(f"{API}/me/recommendations?page_size=4&discover=0", headers=me).get_json()
    assert first["cached"] is False and len(first["items"]) == 4
    size = first["total"]
    assert size == 22 - len(ACTION_LOVER)
    before = explained()
    assert before == [True] * 4 + [False] * (size - 4)  # page 1 only

    third = client.get(f"{API}/me/recommendations?page=3&page_size=4&discover=0", headers=me)
    third = third.get_json()
    assert third["cached"] is True  # the same list, explained further
    for item in third["items"]:
        assert item["reasons"] and item["reason"] == item["reasons"][0]
        assert "components" in item["evidence"]
    after = explained()
    assert after[8:12] == [True] * 4
    assert [a for i, a in enumerate(after) if not 8 <= i < 12] == [
        b for i, b in enumerate(before) if not 8 <= i < 12
    ]

    model = app.extensions["models"].loaded.model
    at_once = model.recommend(dict(ACTION_LOVER), k=size, user=f"app:{my_id}")
    ranked = sorted(  # best match, then predicted stars, then the model's order
        range(size),
        key=lambda i: (-round(at_once.match[i]), -round(at_once.predicted[i], 2)),
    )
    ids = [item["movie"]["id"] for item in third["items"]]
    assert ids == [int(at_once.movie_ids[i]) for i in ranked[8:12]]
    assert [item["reasons"] for item in third["items"]] == [
        at_once.evidence[i]["reasons"] for i in ranked[8:12]
    ]
    again = client.get(f"{API}/me/recommendations?page=3&page_size=4&discover=0", headers=me)
    assert again.get_json()["items"] == third["items"]


def test_a_page_explained_by_one_process_is_not_explained_again_by_another(
    make_worker_app, worker_login, tiny_blend, artifacts_dir
):
    """Two apps on one Redis stand for two gunicorn processes, each with its own in-memory
    copy of the list: what one explains, the other reads from Redis instead of redoing."""
    write_blend(tiny_blend, artifacts_dir, "v1")
    settings = dict(RECOMMENDER_MODEL="auto", ARTIFACTS_DIR=str(artifacts_dir))
    one = make_worker_app(**settings, RECS_EXPLAIN_FIRST=4).test_client()
    other = make_worker_app(**settings, RECS_EXPLAIN_FIRST=4).test_client()
    me = worker_login(one, "two_processes")
    for movie_id, stars in ACTION_LOVER:
        one.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=me)
    url = f"{API}/me/recommendations?page_size=4"
    for client in (one, other):  # both now hold the list with page 1 explained
        assert client.get(url, headers=me).status_code == 200
    first = one.get(url + "&page=2", headers=me)
    # page 2 holds movies not explained yet (a fresh list explains the page shown first)
    assert 'explain;desc="' in first.headers["Server-Timing"]
    second = other.get(url + "&page=2", headers=me)
    assert "explain" not in second.headers["Server-Timing"]
    assert second.get_json()["items"] == first.get_json()["items"]


def wait_for(client, predicate, timeout: float = 90.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/readyz").get_json()
        if predicate(body):
            return body
        time.sleep(0.2)
    raise AssertionError(f"not reached within {timeout}s: {body}")


def test_new_versions_are_swapped_in_without_restart_or_failed_requests(
    make_worker_app, worker_login, tiny_blend, embed_models, artifacts_dir
):
    from recommender.neural.artifacts import save_artifact

    embed_v1 = save_artifact(embed_models[0], artifacts_dir).name
    app = make_worker_app(
        RECOMMENDER_MODEL="auto", ARTIFACTS_DIR=str(artifacts_dir), RELOAD_CHECK_SECONDS=0.2
    )
    client = app.test_client()
    ready = client.get("/readyz").get_json()
    assert ready["model"] == "pearson" and ready["versions"]["embed"] == embed_v1
    headers = worker_login(client, "reload_user")
    for movie_id, stars in ACTION_LOVER:
        client.put(f"{API}/me/ratings/{movie_id}", json={"rating": stars}, headers=headers)
    similar = client.get(f"{API}/movies/1/similar?k=10").get_json()
    assert similar["source"] == "embed"

    seen: list[tuple[str, int, str | None]] = []
    stop = threading.Event()

    def hammer():
        own = app.test_client()
        while not stop.is_set():
            recs = own.get(f"{API}/me/recommendations", headers=headers)
            seen.append(("recs", recs.status_code, recs.get_json().get("model_version")))
            sim = own.get(f"{API}/movies/1/similar?k=10")
            seen.append(("similar", sim.status_code, sim.get_json().get("source")))

    thread = threading.Thread(target=hammer, daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        write_blend(tiny_blend, artifacts_dir, "v1")
        body = wait_for(client, lambda b: b["model_version"] == "blend@v1")
        assert body["model"] == "blend" and body["reloaded_at"]
        time.sleep(0.5)
        write_blend(tiny_blend, artifacts_dir, "v2")
        embed_v2 = save_artifact(embed_models[1], artifacts_dir).name
        assert embed_v2 != embed_v1
        body = wait_for(
            client,
            lambda b: b["model_version"] == "blend@v2" and b["versions"]["embed"] == embed_v2,
        )
        time.sleep(0.5)
    finally:
        stop.set()
        thread.join(60)
    assert body["status"] == "ready" and "reload_error" not in body
    assert seen and all(status == 200 for _, status, _ in seen), seen[-5:]
    versions = [v for kind, _, v in seen if kind == "recs"]
    order = [v for i, v in enumerate(versions) if i == 0 or versions[i - 1] != v]
    assert order == ["pearson@ml-latest-small", "blend@v1", "blend@v2"], order
    assert {v for kind, _, v in seen if kind == "similar"} == {"embed"}
    after = client.get(f"{API}/movies/1/similar?k=10").get_json()
    assert [i["movie"]["id"] for i in after["items"]] != [
        i["movie"]["id"] for i in similar["items"]
    ]


def test_a_broken_new_version_is_not_served_and_is_reported(
    make_worker_app, tiny_blend, artifacts_dir
):
    write_blend(tiny_blend, artifacts_dir, "good")
    app = make_worker_app(
        RECOMMENDER_MODEL="auto", ARTIFACTS_DIR=str(artifacts_dir), RELOAD_CHECK_SECONDS=0.1
    )
    client = app.test_client()
    assert client.get("/readyz").get_json()["model_version"] == "blend@good"
    broken = artifacts_dir / "blend" / "broken"
    broken.mkdir()
    (broken / "blend.pkl").write_bytes(b"not a pickle")
    (artifacts_dir / "blend" / "latest").write_text("broken\n")
    body = wait_for(client, lambda b: "reload_error" in b)
    assert body["status"] == "ready" and body["model_version"] == "blend@good"
    assert "broken" in body["reload_error"]
