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
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
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
# What `kube` changes before `podman kube play`, and why (printed with the result).
KUBE_ADAPTATIONS = (
    "Deployment/StatefulSet -> one Pod named like its Service (podman plays 1 replica, has no "
    "Services; the pod name is the DNS name on the podman network)",
    "images -> the locally built ones, imagePullPolicy IfNotPresent (no registry here)",
    "PVC recommender-files subPaths -> hostPath: movielens = DATA_DIR (read-only), artifacts = "
    "an empty folder; Redis's volumeClaimTemplate -> a hostPath folder owned by uid 10001",
    "Secret redis-auth -> `podman secret create` with a random password (podman 4.3 cannot read "
    "back a played kind: Secret)",
    "$(VAR) in command, args and env values -> expanded before playing, as the kubelet does "
    "(podman 4.3 passes them on literally)",
    "probes -> run by this script through `podman exec`, as the kubelet would (podman 4.3 "
    "ignores startup/readiness probes)",
    "emptyDir volumes -> named per pod (podman 4.3 makes an emptyDir a named volume that every "
    "pod using the same volume name would share) and removed afterwards",
)
STATIC_ONLY = (
    "Service",
    "HorizontalPodAutoscaler",
    "PodDisruptionBudget",
    "NetworkPolicy",
    "Namespace",
    "ServiceAccount",
    "CronJob",
    "Job",
    "Ingress",
    "ManagedCertificate",
    "BackendConfig",
    "FrontendConfig",
)


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


# ---- build -------------------------------------------------------------------------------------


def fill_wheelhouse() -> float:
    """Fill ``var/containers/wheels`` with every wheel the images install; return seconds taken.

    Two passes over the images' lock files (``requirements/worker.txt``, ``requirements/app.txt``,
    pinned with hashes). The host's pip first (its cache, find-links and local indexes make this
    fast; the CPU build of torch, ``torch==X+cpu``, from the host's own wheel when pip finds one,
    else PyTorch's CPU index). Then pip inside the base image, with the host's network and CA
    bundle, checks the same files for the image's own Python and fetches only what the first
    pass lacks."""
    start = time.monotonic()
    WHEELS.mkdir(parents=True, exist_ok=True)
    requirements = LOCKS
    stamp = WHEELS / ".requirements.sha256"
    digest = hashlib.sha256(b"".join((ROOT / name).read_bytes() for name in requirements))
    if stamp.exists() and stamp.read_text() == digest.hexdigest():
        return time.monotonic() - start  # filled for these very requirements
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "download", "--quiet"]
    pip += ["--only-binary=:all:", "--dest", str(WHEELS)]
    torch = ["--no-deps", "--extra-index-url", TORCH_CPU_INDEX, "-r", TORCH_LOCK]
    subprocess.run([*pip, *torch], check=True, cwd=ROOT)  # the only use of PyTorch's index
    reqs = [arg for name in requirements for arg in ("-r", name)]
    subprocess.run([*pip, "--find-links", str(WHEELS), *reqs], check=True, cwd=ROOT)
    ca_bundle = os.environ.get("PIP_CERT") or os.environ.get("SSL_CERT_FILE")
    ca_bundle = ca_bundle or "/etc/ssl/certs/ca-certificates.crt"
    inside = (
        "python3 -m venv /tmp/pip && /tmp/pip/bin/pip --disable-pip-version-check download "
        "--quiet --only-binary=:all: --find-links /wheels --dest /wheels "
        + " ".join(f"-r /src/{name}" for name in requirements)
    )
    proc = podman(
        "run",
        "--rm",
        "--network",
        "host",
        "--env",
        "PIP_CERT=/etc/ssl/certs/host-ca.crt",
        "--volume",
        f"{WHEELS}:/wheels",
        "--volume",
        f"{ROOT}:/src:ro",
        "--volume",
        f"{ca_bundle}:/etc/ssl/certs/host-ca.crt:ro",
        BASE_IMAGE,
        "sh",
        "-c",
        inside,
        check=False,
    )
    if proc.returncode != 0:
        raise CheckError(f"wheelhouse for {BASE_IMAGE}'s Python failed:\n{proc.stderr[-3000:]}")
    stamp.write_text(digest.hexdigest())
    return time.monotonic() - start


def make_base() -> float:
    """Create the Debian base image unless it exists; return seconds taken."""
    start = time.monotonic()
    proc = subprocess.run(
        [str(ROOT / "scripts" / "make_base_image.sh"), BASE_IMAGE],
        env=podman_env(),
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise CheckError(f"base image {BASE_IMAGE} failed:\n{proc.stderr[-4000:]}")
    return time.monotonic() - start


def ignored(relative: str, patterns: list[str]) -> bool:
    """True when ``.dockerignore`` keeps ``relative`` out of the build context (its patterns,
    read with fnmatch; ``**/`` matches at any depth)."""
    from fnmatch import fnmatch

    for pattern in patterns:
        for candidate in {pattern, pattern.removeprefix("**/")}:
            if fnmatch(relative, candidate) or fnmatch(relative, candidate + "/*"):
                return True
    return False


def build_inputs(image: Image) -> str:
    """Digest of everything a build of ``image`` reads: its Containerfile, .dockerignore, the
    requirements, the wheelhouse stamp, the base image's ID and every file under the folders it
    COPYs from the context (caches and bytecode aside)."""
    digest = hashlib.sha256()
    containerfile = ROOT / image.containerfile
    context = ROOT / image.context
    dockerignore = (ROOT / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in dockerignore if line.strip() and line[0] != "#"]
    files = [containerfile, ROOT / ".dockerignore", *[ROOT / n for n in (*LOCKS, TORCH_LOCK)]]
    files.append(WHEELS / ".requirements.sha256")
    for line in containerfile.read_text().splitlines():
        words = line.split()
        if words[:1] == ["COPY"] and not any(w.startswith("--from") for w in words):
            for src in (w for w in words[1:-1] if not w.startswith("--")):
                path = context / src
                for found in sorted(path.rglob("*")) if path.is_dir() else [path]:
                    if not ignored(str(found.relative_to(context)), patterns):
                        files.append(found)
    for path in files:
        if path.is_file():
            digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    base = podman("image", "inspect", "--format", "{{.Id}}", BASE_IMAGE, check=False).stdout
    digest.update(base.encode())
    return digest.hexdigest()


def build(image: Image) -> float:
    """``podman build`` one image (cached layers reused); return seconds taken. Builds run niced:
    the machine is shared. Pip sees only the wheelhouse (WHEELS, mounted read-only)."""
    start = time.monotonic()
    log = WORK / f"build-{image.name}.log"
    # podman re-hashes the worker's 3 GB virtualenv to validate even a fully cached
    # `COPY --from=build` (about 2 minutes here): skip the build when no input changed.
    stamp = WORK / f"build-{image.name}.inputs"
    inputs = build_inputs(image)
    image_id = podman("image", "inspect", "--format", "{{.Id}}", image.tag, check=False).stdout
    if image_id and stamp.exists() and stamp.read_text() == f"{inputs} {image_id.strip()}":
        podman("tag", image.tag, image.manifest_image)
        return time.monotonic() - start
    cmd = [
        "nice",
        "-n",
        "10",
        "podman",
        "build",
        "--format",
        "docker",  # keeps HEALTHCHECK (the OCI format drops it)
        "--layers",
        "--network",
        "host",
        "--build-arg",
        f"{image.base_arg}={BASE_IMAGE}",
    ]
    if image.wheels:
        cmd += ["--build-arg", "WHEELS=/wheels", "--volume", f"{WHEELS}:/wheels:ro"]
    cmd += [
        "-f",
        str(ROOT / image.containerfile),
        "-t",
        image.tag,
        str(ROOT / image.context),
    ]
    with log.open("w") as out:
        proc = subprocess.run(cmd, env=podman_env(), stdout=out, stderr=subprocess.STDOUT)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text().splitlines()[-60:])
        raise CheckError(f"image {image.name} ({image.containerfile}) did not build:\n{tail}")
    podman("tag", image.tag, image.manifest_image)
    image_id = podman("image", "inspect", "--format", "{{.Id}}", image.tag).stdout.strip()
    stamp.write_text(f"{inputs} {image_id}")
    return time.monotonic() - start


def image_size_mb(tag: str) -> float:
    out = podman("image", "inspect", "--format", "{{.Size}}", tag).stdout.strip()
    return int(out) / 1e6


def build_all() -> dict[str, float]:
    """Base, wheelhouse and the three images; {step: seconds}."""
    WORK.mkdir(parents=True, exist_ok=True)
    timings = {"base": make_base(), "wheels": fill_wheelhouse()}
    for image in IMAGES.values():
        timings[image.name] = build(image)
    return timings


# ---- rendered manifests --------------------------------------------------------------------------


def render_local() -> list[dict]:
    """Objects of ``kubectl kustomize k8s/overlays/local`` (kubectl from .venv-deploy)."""
    from scripts import check_deploy

    check_deploy.ensure_tools(quiet=True)
    return check_deploy.render("overlays/local")


def workload(objects: list[dict], name: str) -> dict:
    """The Deployment or StatefulSet called ``name``."""
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet") and obj["metadata"]["name"] == name:
            return obj
    raise CheckError(f"no Deployment or StatefulSet {name} in the rendered overlay")


def configmaps(objects: list[dict]) -> dict[str, dict[str, str]]:
    """{rendered ConfigMap name (with kustomize's hash): data}."""
    return {o["metadata"]["name"]: o.get("data", {}) for o in objects if o["kind"] == "ConfigMap"}


_VAR = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def expand(value: str, env: dict[str, str]) -> str:
    """Kubernetes' ``$(VAR)`` expansion: a defined VAR is replaced, anything else stays."""
    return _VAR.sub(lambda m: env.get(m.group(1), m.group(0)), value)


def container_env(container: dict, maps: dict[str, dict], secret: dict[str, dict]) -> dict:
    """The environment Kubernetes gives ``container``: envFrom first, then env in order."""
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        env.update(maps[source["configMapRef"]["name"]])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = expand(item["value"], env)
        else:
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = secret[ref["name"]][ref["key"]]
    return env


def size_bytes(quantity: str) -> int:
    """A Kubernetes quantity (``64Mi``, ``1Gi``, ``512M``) in bytes."""
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 10**3, "M": 10**6, "G": 10**9}
    for unit, factor in units.items():
        if quantity.endswith(unit):
            return int(float(quantity[: -len(unit)]) * factor)
    return int(quantity)


def cpus(quantity: str) -> str:
    return str(int(quantity[:-1]) / 1000) if quantity.endswith("m") else quantity


# ---- probes --------------------------------------------------------------------------------------


def probe_command(probe: dict, ports: dict[str, int]) -> list[str]:
    """The command that runs ``probe`` inside the container (every image has Python)."""
    if "exec" in probe:
        return probe["exec"]["command"]
    if "httpGet" in probe:
        get = probe["httpGet"]
        port = ports.get(get["port"], get["port"])
        url = f"http://127.0.0.1:{port}{get['path']}"
        code = (
            "import sys, urllib.request\n"
            f"sys.exit(0 if urllib.request.urlopen({url!r}, timeout=4).status < 400 else 1)"
        )
        return ["python", "-c", code]
    if "tcpSocket" in probe:
        port = ports.get(probe["tcpSocket"]["port"], probe["tcpSocket"]["port"])
        return [
            "python",
            "-c",
            f"import socket; socket.create_connection(('127.0.0.1', {port}), 3)",
        ]
    raise CheckError(f"unknown probe {probe}")


def run_probe(container: str, probe: dict, ports: dict[str, int]) -> bool:
    timeout = probe.get("timeoutSeconds", 1) + 5
    try:
        proc = podman("exec", container, *probe_command(probe, ports), check=False, timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return proc.returncode == 0


def running(container: str) -> bool:
    proc = podman("inspect", "--format", "{{.State.Running}}", container, check=False)
    return proc.stdout.strip() == "true"


def wait_ready(container: str, spec: dict, what: str) -> float:
    """Run the startup probe until it passes (its failureThreshold x periodSeconds budget), then
    the readiness probe, then the liveness probe once, like the kubelet; return seconds taken.
    Raises CheckError naming ``what`` with the container's log when a budget runs out or the
    container exits."""
    start = time.monotonic()
    ports = {p["name"]: p["containerPort"] for p in spec.get("ports", []) if "name" in p}
    for kind in ("startupProbe", "readinessProbe", "livenessProbe"):
        probe = spec.get(kind)
        if not probe:
            continue
        period = probe.get("periodSeconds", 10)
        budget = probe.get("failureThreshold", 3) * period
        if kind == "readinessProbe" and "startupProbe" not in spec:
            budget += probe.get("initialDelaySeconds", 0)
        deadline = time.monotonic() + budget
        while not run_probe(container, probe, ports):
            if not running(container):
                raise CheckError(f"{what} exited before its {kind} passed:\n{logs(container)}")
            if time.monotonic() > deadline:
                raise CheckError(
                    f"{what}: {kind} still failing after {budget}s:\n{logs(container)}"
                )
            time.sleep(min(period, 2))
    return time.monotonic() - start


# ---- stack: podman run from the pod templates ----------------------------------------------------


@dataclass
class Stack:
    """Redis, worker and app started from the rendered overlay's pod templates.

    ``data_dir`` is mounted read-only where the PVC's ``movielens`` subPath goes and
    ``artifacts_dir`` where ``artifacts`` goes; ``state`` holds Redis's data and the ConfigMap
    files. ``ports`` maps container name to the host port of its first containerPort
    (127.0.0.1 only).
    """

    data_dir: Path
    artifacts_dir: Path
    state: Path
    objects: list[dict] = field(default_factory=list)
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    ports: dict[str, int] = field(default_factory=dict)
    ready_seconds: dict[str, float] = field(default_factory=dict)

    def name(self, component: str) -> str:
        return f"{PREFIX}-{component}"

    def url(self, component: str) -> str:
        return f"http://127.0.0.1:{self.ports[component]}"

    def volume_flags(self, pod: dict, container: dict, component: str) -> list[str]:
        """podman mount flags for the container's volumeMounts (emptyDir -> tmpfs with the
        sizeLimit, configMap -> read-only files, PVC subPaths -> host folders)."""
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        maps = configmaps(self.objects)
        flags: list[str] = []
        for mount in container.get("volumeMounts", []):
            path, read_only = mount["mountPath"], mount.get("readOnly", False)
            volume = volumes.get(mount["name"])
            if volume is None:  # a StatefulSet volumeClaimTemplate: Redis's /data
                source = self.state / f"{component}-{mount['name']}"
                source.mkdir(parents=True, exist_ok=True)
                os.chown(source, 10001, 10001)
            elif "emptyDir" in volume:
                size = size_bytes(volume["emptyDir"].get("sizeLimit", "64Mi"))
                flags += ["--mount", f"type=tmpfs,destination={path},tmpfs-size={size}"]
                continue
            elif "configMap" in volume:
                source = self.state / f"{component}-{mount['name']}"
                source.mkdir(parents=True, exist_ok=True)
                for key, text in maps[volume["configMap"]["name"]].items():
                    (source / key).write_text(text)
                read_only = True
            elif "persistentVolumeClaim" in volume:
                sub = mount.get("subPath", "")
                source = {"movielens": self.data_dir, "artifacts": self.artifacts_dir}[sub]
            else:
                raise CheckError(f"{component}: volume kind of {volume} is not handled")
            flags += ["--volume", f"{source}:{path}:{'ro' if read_only else 'rw'}"]
        return flags

    def run_flags(self, component: str) -> tuple[list[str], dict, dict]:
        """(podman run flags, container spec, env) for ``component`` from its pod template."""
        pod = workload(self.objects, component)["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        secret = {"redis-auth": {"password": self.password}}
        env = container_env(container, configmaps(self.objects), secret)
        context = {**pod.get("securityContext", {}), **container.get("securityContext", {})}
        if not context.get("runAsNonRoot") or not context.get("runAsUser"):
            raise CheckError(f"{component}: the manifest does not run it as a non-root user")
        flags = [
            "--name",
            self.name(component),
            "--network",
            NETWORK,
            "--network-alias",
            component,
            "--user",
            f"{context['runAsUser']}:{context.get('runAsGroup', context['runAsUser'])}",
            "--no-healthcheck",  # the manifests' probes are run by wait_ready
        ]
        if "fsGroup" in pod.get("securityContext", {}):
            flags += ["--group-add", str(pod["securityContext"]["fsGroup"])]
        if context.get("readOnlyRootFilesystem"):
            # podman would add writable tmpfs at /tmp, /run...; Kubernetes does not.
            flags += ["--read-only", "--read-only-tmpfs=false"]
        if context.get("allowPrivilegeEscalation") is False:
            flags += ["--security-opt", "no-new-privileges"]
        for cap in context.get("capabilities", {}).get("drop", []):
            flags += ["--cap-drop", cap]
        limits = container.get("resources", {}).get("limits", {})
        if "memory" in limits:
            flags += ["--memory", str(size_bytes(limits["memory"]))]
        if "cpu" in limits:
            flags += ["--cpus", cpus(limits["cpu"])]
        flags += self.volume_flags(pod, container, component)
        port = container["ports"][0]["containerPort"]
        self.ports[component] = free_port()
        flags += ["--publish", f"127.0.0.1:{self.ports[component]}:{port}"]
        env_file = self.state / f"{component}.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in env.items()))
        env_file.chmod(0o600)
        flags += ["--env-file", str(env_file)]
        return flags, container, env

    def start(self, component: str) -> float:
        """``podman run`` one component and wait for its probes; return seconds to ready."""
        flags, container, env = self.run_flags(component)
        image = IMAGES[component].tag
        command = [expand(arg, env) for arg in container.get("command", [])]
        command += [expand(arg, env) for arg in container.get("args", [])]
        start = time.monotonic()
        podman("run", "--detach", *flags, image, *command)
        what = f"container {self.name(component)} (image {image})"
        wait_ready(self.name(component), container, what)
        self.ready_seconds[component] = time.monotonic() - start
        return self.ready_seconds[component]

    def up(self) -> Stack:
        self.down()
        self.state.mkdir(parents=True, exist_ok=True)
        if not self.objects:
            self.objects = render_local()
        podman("network", "create", NETWORK)
        for component in STACK:
            self.start(component)
        return self

    def down(self) -> None:
        for component in reversed(STACK):
            podman("rm", "--force", "--time", "10", self.name(component), check=False)
        podman("network", "rm", "--force", NETWORK, check=False)


def free_port() -> int:
    from worker.embedded_redis import free_port as pick

    return pick()


def get_json(url: str, timeout: float = 10) -> tuple[int, dict]:
    """(status, JSON body) of a GET; HTTP errors return their status and body too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}")


# ---- kube: podman kube play ----------------------------------------------------------------------


def kube_objects(
    objects: list[dict], data_dir: Path, artifacts_dir: Path, state: Path, secret: dict
):
    """The rendered overlay adapted for ``podman kube play`` (``KUBE_ADAPTATIONS``).

    Returns (ConfigMaps and one Pod per Deployment/StatefulSet, "Kind/name" of everything left
    to the static checks). ``secret`` is {Secret name: {key: value}}, used for the ``$(VAR)``
    expansion that podman 4.3 does not do itself."""
    import copy

    images = {image.manifest_image: image.tag for image in IMAGES.values()}
    maps = configmaps(objects)
    played: list[dict] = []
    left_out: list[str] = []
    for obj in objects:
        kind, name = obj["kind"], obj["metadata"]["name"]
        if kind == "ConfigMap":
            meta = {"name": name}
            played.append({"apiVersion": "v1", "kind": kind, "metadata": meta, "data": obj["data"]})
            continue
        if kind == "PersistentVolumeClaim":
            continue  # played as hostPath folders (KUBE_ADAPTATIONS)
        if kind not in ("Deployment", "StatefulSet"):
            left_out.append(f"{kind}/{name}")
            continue
        template = copy.deepcopy(obj["spec"]["template"])
        spec = template["spec"]
        volumes = spec.setdefault("volumes", [])
        for claim in obj["spec"].get("volumeClaimTemplates", []):
            folder = state / f"kube-{name}-{claim['metadata']['name']}"
            folder.mkdir(parents=True, exist_ok=True)
            os.chown(folder, 10001, 10001)
            host = {"path": str(folder), "type": "Directory"}
            volumes.append({"name": claim["metadata"]["name"], "hostPath": host})
        for container in spec["containers"]:
            container["image"] = images.get(container["image"], container["image"])
            container["imagePullPolicy"] = "IfNotPresent"
            env = container_env(container, maps, secret)
            for key in ("command", "args"):
                if key in container:
                    container[key] = [expand(arg, env) for arg in container[key]]
            for item in container.get("env", []):
                if "value" in item:
                    item["value"] = env[item["name"]]
            for mount in container.get("volumeMounts", []):
                volume = next(v for v in volumes if v["name"] == mount["name"])
                if "persistentVolumeClaim" in volume:
                    sub = mount.pop("subPath")
                    source = {"movielens": data_dir, "artifacts": artifacts_dir}[sub]
                    mount["name"] = f"{mount['name']}-{sub}"
                    if not any(v["name"] == mount["name"] for v in volumes):
                        host = {"path": str(source), "type": "Directory"}
                        volumes.append({"name": mount["name"], "hostPath": host})
        renamed = {}
        for volume in volumes:
            if "emptyDir" in volume:  # podman 4.3: a named volume, shared by every pod using
                renamed[volume["name"]] = f"{PREFIX}-{name}-{volume['name']}"  # that name
                volume["name"] = renamed[volume["name"]]
        for container in spec["containers"]:
            for mount in container.get("volumeMounts", []):
                mount["name"] = renamed.get(mount["name"], mount["name"])
        spec["volumes"] = [v for v in volumes if "persistentVolumeClaim" not in v]
        metadata = {"name": name, "labels": template["metadata"].get("labels", {})}
        played.append({"apiVersion": "v1", "kind": "Pod", "metadata": metadata, "spec": spec})
    return played, left_out


def podman_secret(name: str, data: dict[str, str]) -> None:
    """Create the podman secret that a kube play ``secretKeyRef`` reads (podman 4.3 wants a JSON
    object of base64 values; a played ``kind: Secret`` is stored in a form it cannot read)."""
    import base64

    podman("secret", "rm", name, check=False)
    body = {key: base64.b64encode(value.encode()).decode() for key, value in data.items()}
    podman("secret", "create", name, "-", input=json.dumps(body))


@dataclass
class Kube:
    """The local overlay played with ``podman kube play`` on its own network."""

    data_dir: Path
    artifacts_dir: Path
    state: Path
    objects: list[dict] = field(default_factory=list)
    password: str = field(default_factory=lambda: secrets.token_hex(16))
    left_out: list[str] = field(default_factory=list)
    ready_seconds: dict[str, float] = field(default_factory=dict)
    network: str = f"{PREFIX}-kube"

    @property
    def manifest(self) -> Path:
        return self.state / "kube-play.yaml"

    def container(self, pod: str) -> str:
        """podman's name for the (single) container of ``pod``: <pod>-<container>."""
        spec = self.pod_spec(pod)
        return f"{pod}-{spec['containers'][0]['name']}"

    def pod_spec(self, pod: str) -> dict:
        return workload(self.objects, pod)["spec"]["template"]["spec"]

    def up(self) -> Kube:
        import yaml

        self.down()
        self.state.mkdir(parents=True, exist_ok=True)
        if not self.objects:
            self.objects = render_local()
        secret = {"redis-auth": {"password": self.password}}
        played, self.left_out = kube_objects(
            self.objects, self.data_dir, self.artifacts_dir, self.state, secret
        )
        self.manifest.write_text(yaml.safe_dump_all(played, sort_keys=False))
        self.manifest.chmod(0o600)  # holds the expanded (throwaway) password
        podman_secret("redis-auth", secret["redis-auth"])
        podman("network", "create", self.network)
        start = time.monotonic()
        podman("kube", "play", "--network", self.network, str(self.manifest))
        for pod in STACK:
            spec = self.pod_spec(pod)["containers"][0]
            wait_ready(self.container(pod), spec, f"pod {pod} (container {self.container(pod)})")
            self.ready_seconds[pod] = time.monotonic() - start
        return self

    def down(self) -> None:
        for pod in reversed(STACK):
            podman("pod", "rm", "--force", pod, check=False)
        podman("network", "rm", "--force", self.network, check=False)
        podman("secret", "rm", "redis-auth", check=False)
        for obj in self.objects:
            if obj["kind"] in ("Deployment", "StatefulSet"):
                name = obj["metadata"]["name"]
                for volume in obj["spec"]["template"]["spec"].get("volumes", []):
                    if "emptyDir" in volume or "configMap" in volume:
                        cm = volume.get("configMap", {}).get("name")
                        vol = cm or f"{PREFIX}-{name}-{volume['name']}"
                        podman("volume", "rm", "--force", vol, check=False)
        if self.manifest.exists():
            self.manifest.unlink()


# ---- command line --------------------------------------------------------------------------------


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
