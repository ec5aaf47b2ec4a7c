"""``scripts.retrain``: app users' ratings reach what the worker serves, and a worse version is
not promoted.

Real parts only: the session's real ``redis-server``, the worker app (its own store, HTTP API
through Flask's client, hot reload of ``blend/latest`` and ``models/embed/latest``), real
training of the blend (Pearson, co-liked, popularity, the neural ``embed-implicit`` component
in TensorFlow, the tree models) and of the ``embed`` model on the small "two taste groups"
data (40 MovieLens-style people, 22 movies; tests/recommender_contract.py). SBERT content is
switched off to keep each retrain to seconds (tests/unit/test_blend.py covers it).
"""

from __future__ import annotations

import json
import os
import shutil
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")  # sklearn's trees: threads only fight here

import pytest  # noqa: E402
import redis  # noqa: E402

from recommender.neural.runtime import limit_threads  # noqa: E402

limit_threads(2)

from tests.recommender_contract import taste_groups  # noqa: E402
from tests.unit.test_neural import _write_movielens  # noqa: E402

API = "/api/v1"
SMALL = [
    "--check-share",
    "0.15",
    "--blend-param",
    "use_content=False",
    "--blend-param",
    "blend_users=0.6",
    "--blend-param",
    "folds=2",
    "--blend-param",
    "sizes=(3, 5)",
    "--embed-param",
    "dim=8",
    "--embed-param",
    "batch_size=64",
]
PROBE = {1: 5.0, 2: 4.5, 3: 5.0, 11: 1.0, 12: 1.5}
"""A person of the app with the Action group's taste."""
HIDDEN_GEM = 21
"""A movie nobody in MovieLens rated (tests/recommender_contract.py: UNRATED)."""


def retrain(data, artifacts, redis_url, monkeypatch, *more: str) -> dict:
    """Run the retrain command; return the new blend version's ``retrain`` manifest entry."""
    from scripts.retrain import main

    monkeypatch.setenv("REDIS_URL", redis_url)
    before = set((artifacts / "blend").iterdir()) if (artifacts / "blend").exists() else set()
    assert main(["--data", str(data), "--artifacts-dir", str(artifacts), *SMALL, *more]) == 0
    (folder,) = {p for p in (artifacts / "blend").iterdir() if p.is_dir()} - before
    return json.loads((folder / "manifest.json").read_text())["retrain"]


def latest(artifacts) -> tuple[str, str]:
    return (
        (artifacts / "blend" / "latest").read_text().strip(),
        (artifacts / "models" / "embed" / "latest").read_text().strip(),
    )


@pytest.fixture(scope="module")
def served(tmp_path_factory, redis_server):
    """MovieLens data and a first retrain (no app ratings yet): what the workers serve."""
    folder = tmp_path_factory.mktemp("retrain")
    ratings, movies = taste_groups()
    _write_movielens(folder / "ml", ratings, movies)
    redis.Redis.from_url(redis_server.url).flushdb()
    artifacts = folder / "artifacts"
    with pytest.MonkeyPatch.context() as monkeypatch:
        first = retrain(folder / "ml", artifacts, redis_server.url, monkeypatch)
    assert first["decision"]["blend"] == {"promoted": True, "why": "nothing is served yet"}
    assert first["check"]["blend"]["served"] is None
    assert first["data"]["app_ratings"] == 0
    assert latest(artifacts) == (first["versions"]["blend"], first["versions"]["embed"])
    return folder / "ml", artifacts


@pytest.fixture()
def artifacts_dir(tmp_path, served):
    """A copy of the served artifacts, so each test changes its own."""
    shutil.copytree(served[1], tmp_path / "artifacts")
    return tmp_path / "artifacts"


def wait_for_version(client, version: str, timeout: float = 120.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get("/readyz").get_json()
        if body.get("model_version") == f"blend@{version}":
            return body
        time.sleep(0.2)
    raise AssertionError(f"blend@{version} not served within {timeout}s: {body}")


def gem_prediction(client, headers) -> dict:
    body = client.get(f"{API}/me/recommendations?page_size=24", headers=headers).get_json()
    (item,) = [i for i in body["items"] if i["movie"]["id"] == HIDDEN_GEM]
    evidence = item["evidence"] or {}
    return {
        "version": body["model_version"],
        **{k: item[k] for k in ("predicted_rating", "match")},
        **{k: evidence.get(k) for k in ("ratings", "liked")},  # people in the model's data
    }


def test_app_ratings_move_a_served_prediction_after_retrain(
    served, artifacts_dir, make_worker_app, worker_login, redis_server, monkeypatch
):
    data = served[0]
    app = make_worker_app(
        RECOMMENDER_MODEL="auto", ARTIFACTS_DIR=str(artifacts_dir), RELOAD_CHECK_SECONDS=0.1
    )
    client = app.test_client()
    v1, embed_v1 = latest(artifacts_dir)
    assert wait_for_version(client, v1)["versions"]["embed"] == embed_v1
    probe = worker_login(client, "probe")
    for movie, stars in PROBE.items():
        client.put(f"{API}/me/ratings/{movie}", json={"rating": stars}, headers=probe)
    # Twelve people of the app love the Action movies and the hidden gem nobody rated before.
    for n in range(12):
        fan = worker_login(client, f"gem_fan_{n}")
        profile = {m: 5.0 - 0.5 * ((n + m) % 2) for m in range(1, 11)}
        profile.update({HIDDEN_GEM: 5.0, 11: 1.0, 12: 1.5, 13: 1.0})
        for movie, stars in profile.items():
            answer = client.put(f"{API}/me/ratings/{movie}", json={"rating": stars}, headers=fan)
            assert answer.status_code in (200, 201), answer.get_json()
    before = gem_prediction(client, probe)
    # The served blend was fitted before anybody rated the gem: it has no evidence for it (its
    # figures for it are the trees' guess for a movie every component is silent about).
    assert before["ratings"] == 0 and before["liked"] == 0, before
    assert before["version"] == f"blend@{v1}"

    # On 40 people the 7-person check moves by up to ~0.3 stars between any two retrains (seen:
    # 0.30 -> 0.43-0.55), so the gate gets that much slack here; the next test shows a truly
    # worse version stopped with no slack.
    second = retrain(data, artifacts_dir, redis_server.url, monkeypatch, "--tolerance", "0.5")

    assert second["data"]["app_users"] == 13 and second["data"]["app_ratings"] == 5 + 12 * 14
    for name in ("blend", "embed"):
        figures = second["check"][name]
        assert figures["served"]["version"] == (v1 if name == "blend" else embed_v1)
        assert figures["candidate"]["people"] == figures["served"]["people"] > 0
        assert second["decision"][name]["promoted"], second["decision"]
    v2 = second["versions"]["blend"]
    assert latest(artifacts_dir) == (v2, second["versions"]["embed"])
    ready = wait_for_version(client, v2)  # hot reload, no restart
    assert ready["versions"]["embed"] == second["versions"]["embed"]
    after = gem_prediction(client, probe)
    assert after["version"] == f"blend@{v2}"
    # The retrained blend learned the gem from the twelve fans' app ratings, and serves it to a
    # person of their taste as a strong match (seen: 4.7-4.8 stars, match 88-99 between runs).
    assert after["ratings"] == 12 and after["liked"] == 12, after
    assert after["predicted_rating"] >= 4.5 and after["match"] >= 75, (before, after)


def test_a_version_worse_on_the_check_people_is_not_promoted(
    served, artifacts_dir, redis_server, monkeypatch
):
    """Three hundred accounts that start like Action fans and then pan every other Action
    movie (a coordinated attack, or a broken export) make the candidate worse on the held-out
    MovieLens people (0.61 vs 0.30 stars RMSE when written): it is written, with both
    figures, but the workers keep the old one. (On 40 people the check is noisy — benign
    retrains moved it by up to 0.25 stars — so this shows the gate, not the size of harm.)"""
    from worker.store import Store

    data = served[0]
    served_versions = latest(artifacts_dir)
    client = redis.Redis.from_url(redis_server.url, decode_responses=True)
    client.flushdb()
    store = Store(client)
    for n in range(300):
        user = store.create_user(f"troll_{n}", "not-a-real-bcrypt-hash", "2026-11-29T00:00:00Z")
        ratings = [(1, 5.0), (2, 5.0), (3, 5.0)] + [(m, 0.5) for m in range(4, 11)]
        ratings += [(m, 5.0) for m in range(11, 21)]
        for i, (movie, stars) in enumerate(ratings):
            store.set_rating(user.id, movie, stars, 1_700_000_000_000 + 1000 * (100 * n + i))

    worse = retrain(data, artifacts_dir, redis_server.url, monkeypatch)

    blend = worse["check"]["blend"]
    assert worse["data"]["app_users"] == 300
    assert blend["served"]["version"] == served_versions[0]
    assert blend["candidate"]["rmse"] > blend["served"]["rmse"]  # 0.61 vs 0.30 stars when run
    assert worse["decision"]["blend"]["promoted"] is False
    assert "worse than the served" in worse["decision"]["blend"]["why"]
    assert latest(artifacts_dir)[0] == served_versions[0]  # LATEST did not move
    assert (artifacts_dir / "blend" / worse["versions"]["blend"] / "blend.pkl").is_file()
    client.flushdb()


def test_check_people_are_a_stable_share_of_movielens_people_only():
    import numpy as np

    from scripts.retrain import EXPORT_USER_OFFSET, is_check_person

    movielens = np.arange(1, 20_001)
    chosen = is_check_person(movielens, 0.05)
    assert 0.045 < chosen.mean() < 0.055
    assert (is_check_person(movielens[::-1], 0.05) == chosen[::-1]).all()  # per id, not order
    assert (chosen <= is_check_person(movielens, 0.10)).all()  # a larger share adds people
    app = EXPORT_USER_OFFSET + np.arange(1, 5001)
    assert not is_check_person(app, 0.5).any()  # app users always train
