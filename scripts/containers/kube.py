"""Step ``kube``: the rendered local overlay played with ``podman kube play``.

Podman plays Pods, ConfigMaps, Secrets and volumes but has no Services, controllers or policy
objects, so ``kube_objects`` adapts the overlay first (``KUBE_ADAPTATIONS`` lists every change,
printed with the result); ``podman_secret`` creates the Redis password secret in the form podman
reads; ``Kube`` plays it on its own network, waits for each pod's probes and cleans up after.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from scripts.containers.manifests import (
    configmaps,
    container_env,
    expand,
    render_local,
    wait_ready,
    workload,
)
from scripts.containers.podman import IMAGES, PREFIX, STACK, podman

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
