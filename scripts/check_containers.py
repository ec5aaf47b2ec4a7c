"""Build both images with podman and run them the way Kubernetes runs them.

The static checks (``scripts/check_deploy.py``) lint the Dockerfiles and manifests; this runs
them. Steps, each of which names the image, container or pod that broke and prints its log:

1. ``build``: a Debian bookworm base with Python 3.11 (``scripts/make_base_image.sh``; Docker
   Hub, and so the official ``python`` image, is out of reach here), a wheelhouse filled by the
   host's pip (``var/containers/wheels``: the CPU build of torch and every pinned requirement,
   so the image builds install without any index and a second build downloads nothing), then
   ``podman build`` of the worker, the app and a Debian Redis image. Layers are cached: a
   rebuild with unchanged requirements only re-copies the code, and an image whose inputs
   (``build_inputs``) did not change since its last build is not rebuilt at all.
2. ``stack``: Redis, the worker and the app as containers on one podman network, each started
   from its pod template in the rendered local overlay (``kubectl kustomize k8s/overlays/local``):
   the same command, environment (ConfigMaps, the Secret, ``$(VAR)`` expansion), user, read-only
   root filesystem with only the manifests' volumes writable, dropped capabilities, no privilege
   escalation, memory and CPU limits, and the manifests' startup/readiness/liveness probes,
   run the way the kubelet runs them. ``DATA_DIR`` is mounted read-only where the PVC's
   ``movielens`` folder goes. Time from ``podman run`` to ready is printed.
3. ``kube``: the same rendered overlay played with ``podman kube play``. Podman plays Pods,
   ConfigMaps, Secrets and volumes but has no Services, controllers or policy objects, so the
   objects are adapted first and every adaptation is printed (``KUBE_ADAPTATIONS``); the
   worker pod must become ready and answer ``/readyz`` with 200.

Usage (from the repository root, as root, with podman installed)::

    python -m scripts.check_containers                 # build, stack, kube
    python -m scripts.check_containers --only build
    python -m scripts.check_containers --only stack --keep   # leave the stack running

Environment: ``DATA_DIR`` (MovieLens folder, required for ``stack``/``kube``),
``CONTAINERS_CONF`` (default ``k8s/podman/containers.conf``).
The browser journey against the app container is ``tests/deployment/test_containers.py``.
The steps live in ``scripts/containers/`` (``podman``, ``images``, ``manifests``, ``stack``,
``kube``); this module is the command line and re-exports their public names.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from pathlib import Path

from scripts.containers.images import (
    build,
    build_all,
    build_inputs,
    fill_wheelhouse,
    ignored,
    image_size_mb,
    make_base,
)
from scripts.containers.kube import (
    KUBE_ADAPTATIONS,
    STATIC_ONLY,
    Kube,
    kube_objects,
    podman_secret,
)
from scripts.containers.manifests import (
    configmaps,
    container_env,
    cpus,
    expand,
    probe_command,
    render_local,
    run_probe,
    running,
    size_bytes,
    wait_ready,
    workload,
)
from scripts.containers.podman import (
    BASE_IMAGE,
    IMAGES,
    LOCKS,
    NETWORK,
    PODMAN_CONF,
    PREFIX,
    ROOT,
    STACK,
    TORCH_CPU_INDEX,
    TORCH_LOCK,
    WHEELS,
    WORK,
    CheckError,
    Image,
    available,
    logs,
    podman,
    podman_env,
)
from scripts.containers.stack import Stack, free_port, get_json

__all__ = [
    "BASE_IMAGE",
    "IMAGES",
    "KUBE_ADAPTATIONS",
    "LOCKS",
    "NETWORK",
    "PODMAN_CONF",
    "PREFIX",
    "ROOT",
    "STACK",
    "STATIC_ONLY",
    "TORCH_CPU_INDEX",
    "TORCH_LOCK",
    "WHEELS",
    "WORK",
    "CheckError",
    "Image",
    "Kube",
    "Stack",
    "available",
    "build",
    "build_all",
    "build_inputs",
    "configmaps",
    "container_env",
    "cpus",
    "expand",
    "fill_wheelhouse",
    "free_port",
    "get_json",
    "ignored",
    "image_size_mb",
    "kube_objects",
    "logs",
    "main",
    "make_base",
    "podman",
    "podman_env",
    "podman_secret",
    "probe_command",
    "render_local",
    "run_probe",
    "running",
    "size_bytes",
    "wait_ready",
    "workload",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="build,stack,kube", help="comma-separated steps")
    parser.add_argument("--keep", action="store_true", help="leave the stack/pods running")
    args = parser.parse_args(argv)
    steps = args.only.split(",")
    problem = available()
    if problem:
        print(f"container checks skipped: {problem}")
        return 1
    data_dir = Path(os.environ.get("DATA_DIR", "")).resolve()
    if {"stack", "kube"} & set(steps) and not (data_dir / "ml-latest-small").is_dir():
        print("DATA_DIR must point at the MovieLens folder (with ml-latest-small/)")
        return 1
    WORK.mkdir(parents=True, exist_ok=True)
    state = Path(tempfile.mkdtemp(prefix="check-", dir=WORK))
    artifacts = state / "artifacts"
    artifacts.mkdir()
    try:
        if "build" in steps:
            for step, seconds in build_all().items():
                size = f", {image_size_mb(IMAGES[step].tag):,.0f} MB" if step in IMAGES else ""
                print(f"build {step:8s} {seconds:7.1f} s{size}")
        if "stack" in steps:
            stack = Stack(data_dir, artifacts, state / "stack").up()
            for component, seconds in stack.ready_seconds.items():
                print(f"stack {component:8s} ready {seconds:6.1f} s after podman run")
            status, body = get_json(stack.url("worker") + "/readyz")
            print(f"stack worker /readyz {status} {body.get('status')} model={body.get('model')}")
            print(f"stack app at {stack.url('app')}")
            if not args.keep:
                stack.down()
        if "kube" in steps:
            kube = Kube(data_dir, artifacts, state / "kube").up()
            for pod, seconds in kube.ready_seconds.items():
                print(f"kube  pod {pod:6s} ready {seconds:6.1f} s after podman kube play")
            readyz = "import urllib.request; print(urllib.request.urlopen('{}').read().decode())"
            url = "http://worker:8000/readyz"  # from the app pod, through the pod's DNS name
            body = podman("exec", kube.container("app"), "python", "-c", readyz.format(url))
            print(f"kube  {url} from the app pod: {body.stdout.strip()}")
            for line in KUBE_ADAPTATIONS:
                print(f"kube  adapted: {line}")
            print("kube  left to the static checks: " + ", ".join(kube.left_out))
            print(
                "      (the gke overlay's Ingress, ManagedCertificate, BackendConfig and "
                "FrontendConfig too: scripts/check_deploy.py)"
            )
            if not args.keep:
                kube.down()
    except CheckError as err:
        print(f"FAILED: {err}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(state, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
