"""Step ``stack``: Redis, the worker and the app as ``podman run`` containers on one network.

``Stack`` starts each component from its pod template in the rendered local overlay with the
manifests' command, environment, user, read-only root filesystem, volumes, dropped capabilities,
limits and probes, publishing its port on 127.0.0.1 (``url``) and timing it to ready;
``get_json`` is the small HTTP client the checks and the test use.
"""

from __future__ import annotations

import json
import os
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from scripts.containers.manifests import (
    configmaps,
    container_env,
    cpus,
    expand,
    render_local,
    size_bytes,
    wait_ready,
    workload,
)
from scripts.containers.podman import IMAGES, NETWORK, PREFIX, STACK, CheckError, podman


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
