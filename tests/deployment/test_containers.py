"""The images built and run for real with podman: the stack from the images with the manifests'
settings, the browser journey against the app container, and the local overlay played with
``podman kube play`` (``scripts/check_containers.py`` does the work; this asserts on it).

Skipped when podman cannot run containers here (not installed, or not root); ``make test``
installs podman first (``scripts/ensure_podman.sh``), so on CI it runs. Cost on two shared
cores: a cold build of the three images takes minutes (the worker's virtualenv is ~3 GB), a
warm one reuses every layer but the code; the stack is ready in well under a minute.
"""

from __future__ import annotations

import re
import subprocess
import uuid

import pytest

from scripts import check_containers as cc
from tests.browser.test_app_e2e import browser, journey_to_recommendations  # noqa: F401 (fixture)

SKIP = cc.available()
pytestmark = [
    pytest.mark.containers,
    pytest.mark.skipif(SKIP is not None, reason=f"container checks: {SKIP}"),
]
# The first test pays for the image builds (module fixture): a cold build takes minutes.
BUILD_TIMEOUT = 3600


@pytest.fixture(scope="module")
def images():
    """Every image built (cached layers reused); {step: seconds}, sizes printed."""
    timings = cc.build_all()
    for step, seconds in timings.items():
        size = f", {cc.image_size_mb(cc.IMAGES[step].tag):,.0f} MB" if step in cc.IMAGES else ""
        print(f"build {step}: {seconds:.1f} s{size}")
    return timings


@pytest.fixture(scope="module")
def rendered():
    return cc.render_local()


@pytest.fixture(scope="module")
def stack(images, rendered, data_dir, tmp_path_factory):
    """Redis, worker and app running from the images with the manifests' settings."""
    folder = tmp_path_factory.mktemp("containers")
    (folder / "artifacts").mkdir()
    running = cc.Stack(data_dir, folder / "artifacts", folder / "state", objects=rendered)
    try:
        running.up()
        print(f"ready after podman run (s): {running.ready_seconds}")
        yield running
    finally:
        running.down()


def exec_in(container: str, *command: str) -> subprocess.CompletedProcess:
    return cc.podman("exec", container, *command, check=False)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_images_build_run_as_uid_10001_with_healthchecks(images):
    for image in cc.IMAGES.values():
        fields = "{{json .Config}} {{json .HealthCheck}}"
        config = cc.podman("image", "inspect", "--format", fields, image.tag).stdout
        if image.name in ("worker", "app"):
            assert '"User":"10001:10001"' in config, image.name
            assert "urllib.request" in config, f"{image.name}: HEALTHCHECK kept (docker format)"
    # The worker's virtualenv holds the CPU build of torch, not PyPI's CUDA one.
    version = cc.podman(
        "run",
        "--rm",
        cc.IMAGES["worker"].tag,
        "python",
        "-c",
        "import torch; print(torch.__version__, torch.version.cuda)",
    ).stdout.split()
    assert version == ["2.13.0+cpu", "None"]


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_a_container_that_dies_is_named_with_its_log(images):
    name = f"{cc.PREFIX}-broken"
    cc.podman("rm", "--force", name, check=False)
    crash = "echo fatal: cannot open config >&2; sleep 1; exit 3"
    cc.podman("run", "--detach", "--name", name, cc.IMAGES["redis"].tag, "sh", "-c", crash)
    spec = {"startupProbe": {"exec": {"command": ["redis-cli", "ping"]}, "periodSeconds": 1}}
    try:
        with pytest.raises(cc.CheckError) as failure:
            cc.wait_ready(name, spec, f"container {name}")
    finally:
        cc.podman("rm", "--force", name, check=False)
    assert f"container {name} exited before its startupProbe passed" in str(failure.value)
    assert "fatal: cannot open config" in str(failure.value)


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_stack_runs_with_the_manifests_settings(stack):
    status, body = cc.get_json(stack.url("worker") + "/readyz")
    assert status == 200 and body["status"] == "ready" and body["redis"] == "ok", body
    worker, app, redis = (stack.name(c) for c in ("worker", "app", "redis"))
    for container in (worker, app, redis):
        assert exec_in(container, "id", "-u").stdout.strip() == "10001"
        denied = exec_in(container, "touch", "/opt/written")
        assert denied.returncode != 0 and "Read-only file system" in denied.stderr, container
        assert exec_in(container, "touch", "/tmp/written").returncode == 0, container
        # capabilities dropped, no privilege escalation
        status_lines = exec_in(container, "cat", "/proc/1/status").stdout
        assert re.search(r"CapEff:\s+0+\n", status_lines), container
        assert re.search(r"NoNewPrivs:\s+1\n", status_lines), container
    # The data volume is read-only; the worker's cache volume is writable.
    assert exec_in(worker, "touch", "/data/written").returncode != 0
    assert exec_in(worker, "touch", "/home/app/.cache/written").returncode == 0
    assert exec_in(worker, "sh", "-c", "echo $REDIS_URL").stdout.startswith("redis://:")
    assert "$(" not in exec_in(worker, "sh", "-c", "echo $REDIS_URL").stdout
    # The app reaches the worker by its Service name, like in the cluster.
    check = (
        "import urllib.request; print(urllib.request.urlopen('http://worker:8000/readyz').status)"
    )
    assert exec_in(app, "python", "-c", check).stdout.strip() == "200"


@pytest.mark.e2e
@pytest.mark.timeout(BUILD_TIMEOUT)
def test_journey_against_the_app_container(stack, browser):  # noqa: F811 (fixture)
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    journey_to_recommendations(page, stack.url("app"), f"pod{uuid.uuid4().hex[:10]}")
    context.close()


@pytest.mark.timeout(BUILD_TIMEOUT)
def test_kube_play_of_the_local_overlay(images, rendered, data_dir, tmp_path_factory, stack):
    # `stack` first: both use the same images, and the stack's containers must be gone (its
    # module teardown runs last, so stop it here to free memory before the pods start).
    stack.down()
    folder = tmp_path_factory.mktemp("kube")
    (folder / "artifacts").mkdir()
    kube = cc.Kube(data_dir, folder / "artifacts", folder / "state", objects=rendered)
    try:
        kube.up()
        print(f"ready after podman kube play (s): {kube.ready_seconds}")
        worker = kube.container("worker")
        readyz = "import urllib.request; print(urllib.request.urlopen('{}/readyz').read().decode())"
        body = exec_in(worker, "python", "-c", readyz.format("http://127.0.0.1:8000")).stdout
        assert '"status":"ready"' in body.replace(" ", ""), body
        # The app pod reaches the worker pod by name; Redis needs the Secret's password.
        app = exec_in(kube.container("app"), "python", "-c", readyz.format("http://worker:8000"))
        assert '"redis":"ok"' in app.stdout.replace(" ", ""), app.stderr
        for pod in ("worker", "app", "redis"):
            container = kube.container(pod)
            assert exec_in(container, "id", "-u").stdout.strip() == "10001", pod
            assert exec_in(container, "touch", "/opt/written").returncode != 0, pod
        kinds = {entry.split("/")[0] for entry in kube.left_out}
        assert {"HorizontalPodAutoscaler", "NetworkPolicy", "Service"} <= kinds
    finally:
        kube.down()
