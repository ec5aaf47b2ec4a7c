"""The Insights plots the worker serves: which files are listed, under which names, and that
nothing else can be fetched. Real parts: the session's redis-server and a worker app whose
ARTIFACTS_DIR is a temporary folder the tests fill with real PNG files."""

from __future__ import annotations

import io

import pytest

from worker.plots import find_plots

API = "/api/v1"


def tiny_png(colour: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), colour).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture()
def artifacts(tmp_path):
    return tmp_path / "artifacts"


@pytest.fixture()
def client(make_worker_app, artifacts):
    artifacts.mkdir()
    return make_worker_app(ARTIFACTS_DIR=str(artifacts)).test_client()


def test_plots_are_listed_in_page_order_and_served_as_png(client, artifacts, worker_login):
    headers = worker_login(client, "insights_viewer")
    assert client.get(f"{API}/insights/plots", headers=headers).get_json() == {"items": []}
    (artifacts / "plots").mkdir()
    (artifacts / "plots" / "reliability.png").write_bytes(tiny_png((1, 2, 3)))
    version = artifacts / "models" / "neumf" / "v1"
    version.mkdir(parents=True)
    (version / "training_curves.png").write_bytes(tiny_png((4, 5, 6)))
    (version.parent / "latest").write_text("v1\n")  # the current version (recommender.artifacts)
    (artifacts / "secret.png").write_bytes(tiny_png())  # not a plot location: never served

    items = client.get(f"{API}/insights/plots", headers=headers).get_json()["items"]
    assert [item["name"] for item in items] == ["reliability", "training_neumf"]
    assert items[0]["title"] == "Can you trust the match percentage?"
    assert items[1]["url"] == f"{API}/insights/plots/training_neumf"
    image = client.get(items[1]["url"], headers=headers)
    assert image.status_code == 200 and image.mimetype == "image/png"
    assert image.data == (version / "training_curves.png").read_bytes()


def test_a_relative_artifacts_dir_means_the_working_directory(
    make_worker_app, worker_login, tmp_path, monkeypatch
):
    """ARTIFACTS_DIR=artifacts (the default) is relative to where the worker was started, as
    for the scripts that write the plots; Flask alone would look for it inside worker/."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "artifacts" / "plots").mkdir(parents=True)
    (tmp_path / "artifacts" / "plots" / "embeddings.png").write_bytes(tiny_png((7, 8, 9)))
    client = make_worker_app(ARTIFACTS_DIR="artifacts").test_client()
    headers = worker_login(client, "relative_viewer")
    image = client.get(f"{API}/insights/plots/embeddings", headers=headers)
    assert image.status_code == 200
    assert image.data == (tmp_path / "artifacts" / "plots" / "embeddings.png").read_bytes()


@pytest.mark.parametrize("name", ["secret", "..%2Fsecret.png", "reliability.png", "nope"])
def test_only_listed_plots_can_be_fetched(client, artifacts, worker_login, name):
    headers = worker_login(client, "insights_prober")
    (artifacts / "plots").mkdir()
    (artifacts / "plots" / "reliability.png").write_bytes(tiny_png())
    (artifacts / "secret.png").write_bytes(tiny_png())
    answer = client.get(f"{API}/insights/plots/{name}", headers=headers)
    assert answer.status_code == 404
    assert answer.get_json()["error"]["code"] in ("plot_not_found", "not_found")


def test_plots_need_a_login(client):
    assert client.get(f"{API}/insights/plots").status_code == 401
    assert client.get(f"{API}/insights/plots/reliability").status_code == 401


def test_find_plots_prefers_the_plots_copy_of_training_curves(tmp_path):
    png = tiny_png()
    for path in (
        "plots/training_embed.png",
        "plots/reliability.png",
        "plots/extra_thing.png",
        "models/embed/v2/training_curves.png",
        "models/neumf/v1/training_curves.png",
        "models/neumf/v2/training_curves.png",
    ):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_bytes(png)
    (tmp_path / "models" / "neumf" / "latest").write_text("v1\n")
    plots = find_plots(tmp_path)
    assert [p.path.relative_to(tmp_path).as_posix() for p in plots] == [
        "plots/reliability.png",
        "plots/training_embed.png",
        "models/neumf/v1/training_curves.png",  # the version `latest` names, not the newest
        "plots/extra_thing.png",
    ]
    assert [p.name for p in plots] == [
        "reliability",
        "training_embed",
        "training_neumf",
        "extra_thing",
    ]
    assert find_plots(tmp_path / "missing") == []
