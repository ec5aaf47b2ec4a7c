"""What every container check shares: paths, the images it builds and podman itself.

The repository root and the work folder (``var/containers``), the base image and lock files the
images install, the ``Image`` records (``IMAGES``) and the order the stack starts them in
(``STACK``), ``CheckError`` (a failed step, naming what broke and carrying its log), and the
``podman`` runner with our ``containers.conf`` (``available`` says whether podman can run here,
``logs`` fetches a container's log).
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PODMAN_CONF = ROOT / "k8s" / "podman" / "containers.conf"
WORK = ROOT / "var" / "containers"
WHEELS = WORK / "wheels"
BASE_IMAGE = "localhost/recommender-base:bookworm-py311"
LOCKS = ("requirements/worker.txt", "requirements/app.txt")  # what the images install
TORCH_LOCK = "requirements/torch-cpu.txt"  # the same torch pin, fetched first on its own
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
NETWORK = "recommender-check"
PREFIX = "recommender-check"  # container, pod and volume names start with this


@dataclass(frozen=True)
class Image:
    """One image the checks build: its Containerfile, local tag and the name the manifests use."""

    name: str
    containerfile: str
    tag: str
    manifest_image: str
    context: str = "."
    base_arg: str = "PYTHON_IMAGE"  # the build argument that names the base image
    wheels: bool = True  # installs Python packages from the wheelhouse (WHEELS=/wheels)


# manifest_image: what `kubectl kustomize k8s/overlays/local` renders in `image:`.
IMAGES = {
    "worker": Image(
        "worker",
        "Dockerfile.worker",
        "localhost/movie-recommender-worker:dev",
        "localhost:5001/movie-recommender-worker:dev",
    ),
    "app": Image(
        "app",
        "Dockerfile.app",
        "localhost/movie-recommender-app:dev",
        "localhost:5001/movie-recommender-app:dev",
    ),
    "redis": Image(
        "redis",
        "k8s/podman/Containerfile.redis",
        "localhost/recommender-redis:bookworm",
        "redis:7.4.2-bookworm",
        context="k8s/podman",
        base_arg="BASE_IMAGE",
        wheels=False,
    ),
}
# Pod templates started by `stack`, in order (each waits for the one before to be ready).
STACK = ("redis", "worker", "app")


class CheckError(RuntimeError):
    """A step failed; the message names the image, container or pod and carries its log."""


# ---- podman ------------------------------------------------------------------------------------


def podman_env() -> dict[str, str]:
    """Environment for podman: our containers.conf unless CONTAINERS_CONF is already set."""
    return {"CONTAINERS_CONF": str(PODMAN_CONF), **os.environ}


def podman(*args: str, check: bool = True, timeout: float | None = None, **kw):
    """Run ``podman ARGS``; return the CompletedProcess (text, captured output)."""
    proc = subprocess.run(
        ["podman", *args],
        env=podman_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        **kw,
    )
    if check and proc.returncode != 0:
        raise CheckError(f"podman {shlex.join(args[:3])} ...: {proc.stderr.strip()[-3000:]}")
    return proc


def available() -> str | None:
    """None when podman can run containers here, else why not."""
    if shutil.which("podman") is None:
        return "podman is not installed (scripts/ensure_podman.sh installs it)"
    if os.geteuid() != 0:
        return "the checks use rootful podman: run them as root"
    proc = podman("info", "--format", "{{.Host.OCIRuntime.Name}}", check=False, timeout=120)
    if proc.returncode != 0:
        return f"podman info failed: {proc.stderr.strip()[-500:]}"
    return None


def logs(container: str, lines: int = 80) -> str:
    proc = podman("logs", "--tail", str(lines), container, check=False)
    return (proc.stdout + proc.stderr).strip()
