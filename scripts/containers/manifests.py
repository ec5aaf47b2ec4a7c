"""The rendered local overlay as the checks read it, and the manifests' probes run by hand.

``render_local`` renders ``k8s/overlays/local`` with the tool venv of ``scripts/check_deploy.py``;
``workload``, ``configmaps``, ``container_env`` and ``expand`` give a pod template, its ConfigMaps
and the environment Kubernetes would give a container (with ``$(VAR)`` expansion);
``size_bytes`` and ``cpus`` turn Kubernetes quantities into podman's; ``wait_ready`` runs the
startup, readiness and liveness probes through ``podman exec`` the way the kubelet does.
"""

from __future__ import annotations

import re
import subprocess
import time

from scripts.containers.podman import CheckError, logs, podman


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
