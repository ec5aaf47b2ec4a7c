"""Deployment matches the code: images, manifests, settings, ports and health paths.

What is compared (so that renaming a setting, a port or a route cannot silently break a
deployment):

- the two Dockerfiles (parsed here) and the Kubernetes objects rendered from every overlay by
  ``kubectl kustomize`` (the tool venv ``.venv-deploy``, created by ``scripts/check_deploy.py``
  on first use);
- the environment variable names the code reads (found by parsing ``worker/``, ``app/``,
  ``recommender/`` and ``scripts/``), the routes the Flask app registers, the health route a real
  Streamlit server answers, and the command-line flags the scripts accept.

The validators of ``scripts/check_deploy.py`` (strict Kubernetes schemas, our CRD schemas,
hadolint) run here too, including on broken manifests they must reject. checkov is left to
``scripts/check_deploy.py`` itself (the lead's ``make test`` runs it): it takes about half a
minute and would only repeat that run.
"""

from __future__ import annotations

import ast
import importlib
import json
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from scripts import check_deploy

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "k8s"

# Environment variables read by third-party code (Python, Hugging Face, matplotlib, TF, OpenMP,
# Streamlit), or used only for Kubernetes' $(VAR) expansion: they need no reader in our code.
THIRD_PARTY_ENV = {
    "PATH",
    "HOME",
    "VIRTUAL_ENV",
    "PYTHONUNBUFFERED",
    "PYTHONDONTWRITEBYTECODE",
    "PIP_DISABLE_PIP_VERSION_CHECK",
    "PIP_NO_CACHE_DIR",
    "HF_HUB_OFFLINE",
    "TRANSFORMERS_OFFLINE",
    "HF_HOME",
    "MPLCONFIGDIR",
    "TF_CPP_MIN_LOG_LEVEL",
    "OMP_NUM_THREADS",
    "STREAMLIT_SERVER_HEADLESS",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS",
    "REDIS_PASSWORD",
    "REDISCLI_AUTH",
}
WORKER_CODE = ("worker", "recommender", "scripts")
APP_CODE = ("app",)


# ---- helpers -----------------------------------------------------------------------------------


def parse_dockerfile(path: Path) -> list[list[tuple[str, str]]]:
    """Stages of a Dockerfile, each a list of (INSTRUCTION, arguments) with continuations joined."""
    lines, current = [], ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not current and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1] + " "
            continue
        lines.append(current + stripped)
        current = ""
    stages: list[list[tuple[str, str]]] = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "FROM":
            stages.append([])
        if stages:
            stages[-1].append((instruction, args.strip()))
    return stages


def dockerfile_arg_defaults(path: Path) -> dict[str, str]:
    """Defaults of the ARGs declared before the first FROM (usable in FROM lines)."""
    defaults = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if line.upper().startswith("FROM "):
            break
        if line.upper().startswith("ARG ") and "=" in line:
            key, _, value = line[4:].strip().partition("=")
            defaults[key] = value
    return defaults


def final_stage(name: str) -> list[tuple[str, str]]:
    return parse_dockerfile(ROOT / name)[-1]


def instruction(stage: list[tuple[str, str]], name: str) -> list[str]:
    return [args for inst, args in stage if inst == name]


def dockerfile_env(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for args in instruction(stage, "ENV"):
        for item in shlex.split(args):
            key, _, value = item.partition("=")
            env[key] = value
    return env


def dockerfile_cmd(stage: list[tuple[str, str]]) -> list[str]:
    (cmd,) = instruction(stage, "CMD")
    return json.loads(cmd)


def env_names_read(folders: tuple[str, ...]) -> set[str]:
    """Upper-case string constants in every module of ``folders`` that reads the environment.

    A module counts as reading the environment when it mentions ``os.environ`` or ``getenv``;
    its names may be read through a helper (``_int_env(name)``, ``_env_path("DATA_DIR")``), so
    every ALL_CAPS string literal of such a module is taken as a possible variable name.
    """
    names: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            source = path.read_text()
            if "environ" not in source and "getenv" not in source:
                continue
            for node in ast.walk(ast.parse(source)):
                if (
                    isinstance(node, ast.Constant)
                    and isinstance(node.value, str)
                    and re.fullmatch(r"[A-Z][A-Z0-9_]{2,}", node.value)
                ):
                    names.add(node.value)
    return names


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def deploy_python() -> Path:
    """Python of ``.venv-deploy`` (created from requirements-deploy.txt when missing)."""
    return check_deploy.ensure_tools(quiet=True)


@pytest.fixture(scope="session")
def rendered(deploy_python) -> dict[str, list[dict]]:
    """{kustomization: objects} for every overlay and overlay jobs folder."""
    return check_deploy.render_all()


def objects(rendered, kind: str, name: str | None = None, overlay: str | None = None):
    found = []
    for key, docs in rendered.items():
        if overlay and key != overlay:
            continue
        found += [d for d in docs if d["kind"] == kind and name in (None, d["metadata"]["name"])]
    return found


def pod_spec(obj: dict) -> dict:
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return obj["spec"]["template"]["spec"]


def container(obj: dict, name: str | None = None) -> dict:
    containers = pod_spec(obj)["containers"]
    return containers[0] if name is None else next(c for c in containers if c["name"] == name)


def workloads(rendered) -> list[tuple[str, dict]]:
    kinds = ("Deployment", "StatefulSet", "Job", "CronJob")
    return [(k, d) for k, docs in rendered.items() for d in docs if d["kind"] in kinds]


def container_env_names(rendered, obj: dict) -> set[str]:
    """Names a container gets: env entries, envFrom ConfigMaps of the same overlay."""
    spec = container(obj)
    names = {e["name"] for e in spec.get("env", [])}
    for source in spec.get("envFrom", []):
        cm_name = source["configMapRef"]["name"]
        for docs in rendered.values():
            for doc in docs:
                if doc["kind"] == "ConfigMap" and doc["metadata"]["name"] == cm_name:
                    names |= set(doc["data"])
    return names


# ---- images ------------------------------------------------------------------------------------


@pytest.mark.parametrize("dockerfile", ["Dockerfile.app", "Dockerfile.worker"])
def test_image_is_multistage_pinned_nonroot_with_whole_venv(dockerfile):
    stages = parse_dockerfile(ROOT / dockerfile)
    assert len(stages) >= 2, "build stage + runtime stage"
    for stage in stages:
        base = stage[0][1].split()[0]
        # The base is a build argument (a local stand-in where Docker Hub is out of reach,
        # scripts/make_base_image.sh) whose default is the pinned official image.
        assert base == "${PYTHON_IMAGE}", base
        default = dockerfile_arg_defaults(ROOT / dockerfile)["PYTHON_IMAGE"]
        assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm@sha256:[0-9a-f]{64}", default)
    final = stages[-1]
    assert "--from=build /opt/venv /opt/venv" in " ".join(instruction(final, "COPY"))
    (user,) = instruction(final, "USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) >= 10000, "numeric non-root uid (runAsNonRoot can check it)"
    env = dockerfile_env(final)
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["PATH"].startswith("/opt/venv/bin:"), "console scripts come from the venv"
    (healthcheck,) = instruction(final, "HEALTHCHECK")
    assert "urllib.request" in healthcheck and "curl" not in healthcheck


def test_dockerignore_keeps_data_and_state_out_but_not_the_sources():
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for needed in ("data", "artifacts", "var", ".venv", "tests", "**/__pycache__", "**/.env"):
        assert needed in patterns, needed
    copied = set()
    for dockerfile in ("Dockerfile.app", "Dockerfile.worker"):
        for stage in parse_dockerfile(ROOT / dockerfile):
            for args in instruction(stage, "COPY"):
                if "--from=" not in args:
                    copied.add(args.split()[-2].rstrip("/"))
    for source in copied:
        assert (ROOT / source).exists(), f"{source} is copied into an image but does not exist"
        assert source not in patterns and f"**/{source}" not in patterns, source


# ---- commands, ports, health paths ----------------------------------------------------------


def test_worker_command_matches_contract_and_factory(rendered):
    from worker import app as worker_app

    cmd = dockerfile_cmd(final_stage("Dockerfile.worker"))
    assert cmd == ["gunicorn", "-c", "worker/gunicorn.conf.py", "worker.app:create_app()"]
    assert callable(worker_app.create_app)
    for worker in objects(rendered, "Deployment", "worker"):
        assert container(worker)["command"] == cmd, "Deployment runs what the image runs"


def test_app_command_matches_image_and_entry_script(rendered):
    from app import config as app_config

    cmd = dockerfile_cmd(final_stage("Dockerfile.app"))
    assert cmd[:2] == ["streamlit", "run"]
    assert (ROOT / cmd[2]).is_file(), f"app entry {cmd[2]} is missing"
    assert f"--server.port={app_config.DEFAULT_APP_PORT}" in cmd
    for app in objects(rendered, "Deployment", "app"):
        assert container(app)["command"] == cmd


def test_ports_agree_everywhere(rendered, monkeypatch):
    """WORKER_PORT's default (worker.config) and the app's default port are the ports of the
    images, Deployments, Services, the app's WORKER_URL, the Ingress and its health check."""
    from app import config as app_config
    from worker import config as worker_config

    monkeypatch.delenv("WORKER_PORT", raising=False)
    worker_port = worker_config.server_settings()["port"]
    assert dockerfile_env(final_stage("Dockerfile.worker"))["WORKER_PORT"] == str(worker_port)
    assert urlsplit(app_config.DEFAULT_WORKER_URL).port == worker_port
    app_port = app_config.DEFAULT_APP_PORT
    assert instruction(final_stage("Dockerfile.worker"), "EXPOSE") == [str(worker_port)]
    assert instruction(final_stage("Dockerfile.app"), "EXPOSE") == [str(app_port)]
    for overlay in ("overlays/local", "overlays/gke"):
        worker = objects(rendered, "Deployment", "worker", overlay)[0]
        app = objects(rendered, "Deployment", "app", overlay)[0]
        assert container(worker)["ports"][0]["containerPort"] == worker_port
        assert container(app)["ports"][0]["containerPort"] == app_port
        (worker_svc,) = objects(rendered, "Service", "worker", overlay)
        (app_svc,) = objects(rendered, "Service", "app", overlay)
        assert worker_svc["spec"]["ports"][0]["port"] == worker_port
        assert app_svc["spec"]["ports"][0]["port"] == app_port
        (app_cm,) = [
            d
            for d in rendered[overlay]
            if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("app-config")
        ]
        url = urlsplit(app_cm["data"]["WORKER_URL"])
        assert (url.hostname, url.port) == ("worker", worker_port), "app reaches the Service"
    (ingress,) = objects(rendered, "Ingress", "app")
    assert ingress["spec"]["defaultBackend"]["service"]["port"]["number"] == app_port
    (backend,) = objects(rendered, "BackendConfig", "app")
    assert backend["spec"]["healthCheck"]["port"] == app_port


def test_worker_probe_paths_are_routes_the_worker_answers(rendered, make_worker_app):
    """Probes and HEALTHCHECK use routes the Flask app registers; both answer 200 on a real
    Redis with models loaded, and /readyz reports the model version."""
    app = make_worker_app()
    routes = {rule.rule for rule in app.url_map.iter_rules() if "GET" in rule.methods}
    assert {"/healthz", "/readyz"} <= routes
    for worker in objects(rendered, "Deployment", "worker"):
        spec = container(worker)
        assert spec["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert spec["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert spec["readinessProbe"]["httpGet"]["path"] == "/readyz"
    (healthcheck,) = instruction(final_stage("Dockerfile.worker"), "HEALTHCHECK")
    assert "http://127.0.0.1:8000/healthz" in healthcheck
    client = app.test_client()
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["model_version"]


def test_app_probe_path_is_the_one_streamlit_serves(rendered, tmp_path):
    """Run the image's command (on a free port) and GET the probe path the manifests use."""
    cmd = dockerfile_cmd(final_stage("Dockerfile.app"))
    port = free_port()
    cmd = [a if not a.startswith("--server.port=") else f"--server.port={port}" for a in cmd]
    cmd = [str(Path(sys.executable).parent / cmd[0]), *cmd[1:]]
    paths = set()
    for app in objects(rendered, "Deployment", "app"):
        spec = container(app)
        paths |= {
            spec[p]["httpGet"]["path"] for p in ("startupProbe", "livenessProbe", "readinessProbe")
        }
    (backend,) = objects(rendered, "BackendConfig", "app")
    paths.add(backend["spec"]["healthCheck"]["requestPath"])
    (healthcheck,) = instruction(final_stage("Dockerfile.app"), "HEALTHCHECK")
    paths.add(re.search(r"http://127\.0\.0\.1:\d+(/[\w/]+)", healthcheck).group(1))
    assert paths == {"/_stcore/health"}
    server = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/_stcore/health"
                with urllib.request.urlopen(url, timeout=2) as response:
                    assert response.status == 200
                    break
            except OSError:
                assert server.poll() is None, "streamlit exited"
                assert time.monotonic() < deadline, "streamlit health never answered"
                time.sleep(0.5)
    finally:
        server.terminate()
        server.wait(10)


# ---- settings ----------------------------------------------------------------------------------


def test_every_setting_deployment_sets_is_read_by_the_code(rendered):
    """A renamed variable in the code leaves the old name here without a reader: fail."""
    worker_reads = env_names_read(WORKER_CODE) | THIRD_PARTY_ENV
    app_reads = env_names_read(APP_CODE) | THIRD_PARTY_ENV
    image_env = {
        "Dockerfile.worker": set(dockerfile_env(final_stage("Dockerfile.worker"))),
        "Dockerfile.app": set(dockerfile_env(final_stage("Dockerfile.app"))),
    }
    assert not image_env["Dockerfile.worker"] - worker_reads
    assert not image_env["Dockerfile.app"] - app_reads
    for overlay, obj in workloads(rendered):
        if obj["metadata"]["name"] == "redis":
            continue
        reads = app_reads if obj["metadata"]["name"] == "app" else worker_reads
        unread = container_env_names(rendered, obj) - reads
        assert not unread, f"{overlay} {obj['kind']}/{obj['metadata']['name']} sets {unread}"


def test_settings_the_code_needs_are_provided(rendered):
    worker_reads = env_names_read(WORKER_CODE)
    assert {"REDIS_URL", "DATA_DIR", "ARTIFACTS_DIR", "BCRYPT_ROUNDS"} <= worker_reads
    assert {"WORKER_URL", "WORKER_TIMEOUT_SECONDS"} <= env_names_read(APP_CODE)
    for overlay in ("overlays/local", "overlays/gke"):
        (worker,) = objects(rendered, "Deployment", "worker", overlay)
        names = container_env_names(rendered, worker)
        assert {"REDIS_URL", "DATA_DIR", "ARTIFACTS_DIR", "HF_HUB_OFFLINE"} <= names
        env = container(worker)["env"]
        order = [e["name"] for e in env]
        assert order.index("REDIS_PASSWORD") < order.index("REDIS_URL"), "$(VAR) needs order"
        url = next(e["value"] for e in env if e["name"] == "REDIS_URL")
        assert url == "redis://:$(REDIS_PASSWORD)@redis:6379/0"
        assert objects(rendered, "Service", "redis", overlay), "REDIS_URL host is a Service"
        (app,) = objects(rendered, "Deployment", "app", overlay)
        assert {"WORKER_URL", "WORKER_TIMEOUT_SECONDS"} <= container_env_names(rendered, app)


def test_bcrypt_floor_holds_in_the_deployed_config(rendered, monkeypatch):
    """Each overlay's worker Deployment gets exactly one BCRYPT_ROUNDS from its ConfigMaps, the
    worker accepts it and it is at least the floor; a value below the floor is refused."""
    from worker import config as worker_config

    for overlay in ("overlays/local", "overlays/gke"):
        (worker,) = objects(rendered, "Deployment", "worker", overlay)
        maps = {s["configMapRef"]["name"] for s in container(worker).get("envFrom", [])}
        values = [
            d["data"]["BCRYPT_ROUNDS"]
            for d in objects(rendered, "ConfigMap", overlay=overlay)
            if d["metadata"]["name"] in maps and "BCRYPT_ROUNDS" in d.get("data", {})
        ]
        assert len(values) == 1, f"{overlay}: the worker's BCRYPT_ROUNDS values are {values}"
        monkeypatch.setenv("BCRYPT_ROUNDS", values[0])
        rounds = worker_config.from_environment()["BCRYPT_ROUNDS"]
        assert rounds >= worker_config.MIN_BCRYPT_ROUNDS == 12, overlay
    monkeypatch.setenv("BCRYPT_ROUNDS", str(worker_config.MIN_BCRYPT_ROUNDS - 1))
    with pytest.raises(RuntimeError, match="BCRYPT_ROUNDS"):
        worker_config.from_environment()


def test_job_settings_are_the_worker_settings():
    def pairs(path: Path) -> dict[str, str]:
        return dict(
            line.split("=", 1)
            for line in path.read_text().splitlines()
            if line.strip() and not line.startswith("#")
        )

    assert pairs(K8S / "jobs" / "job.env") == pairs(K8S / "base" / "worker.env")


def _script_args(obj: dict) -> tuple[str, list[str]]:
    command = container(obj)["command"]
    assert command[:2] == ["python", "-m"], command
    return command[2], command[3:]


def _parse(module_name: str, args: list[str]) -> None:
    module = importlib.import_module(module_name)
    parser = getattr(module, "parse_args", None) or module._parse_args
    parser(args)  # argparse exits (SystemExit) on an unknown or missing flag


@pytest.mark.parametrize("job", ["train", "train-distributed", "fetch-data"])
def test_job_commands_are_accepted_by_the_scripts(rendered, job):
    (obj,) = objects(rendered, "Job", job, "overlays/gke/jobs")
    module_name, args = _script_args(obj)
    _parse(module_name, args)


def test_retrain_cronjob_runs_the_retrain_command_with_app_ratings(rendered):
    """The CronJob rebuilds what the worker serves (scripts.retrain), on the app's ratings."""
    (obj,) = objects(rendered, "CronJob", "retrain", "overlays/gke")
    module_name, args = _script_args(obj)
    assert module_name == "scripts.retrain" and "--no-app-ratings" not in args
    assert "REDIS_URL" in container_env_names(rendered, obj)
    _parse(module_name, args)
    (first,) = objects(rendered, "Job", "train", "overlays/gke/jobs")
    assert _script_args(first)[0] == "scripts.retrain"


def test_distributed_training_job_is_indexed_behind_a_headless_service(rendered):
    """The Indexed Job's pods find each other where TF_CONFIG says (tf_config_from_job)."""
    from recommender.neural.distributed import tf_config_from_job

    (job,) = objects(rendered, "Job", "train-distributed", "overlays/gke/jobs")
    spec, pod = job["spec"], pod_spec(job)
    assert spec["completionMode"] == "Indexed"
    assert spec["completions"] == spec["parallelism"] >= 2
    env = {e["name"]: e.get("value") for e in container(job)["env"]}
    assert int(env["TRAINER_COUNT"]) == spec["completions"]
    assert env["TRAINER_JOB"] == job["metadata"]["name"]
    (service,) = objects(rendered, "Service", pod["subdomain"], "overlays/gke")
    assert env["TRAINER_SERVICE"] == service["metadata"]["name"]
    assert service["spec"]["clusterIP"] == "None"
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    port = int(env["TRAINER_PORT"])
    assert [p["port"] for p in service["spec"]["ports"]] == [port]
    assert [p["containerPort"] for p in container(job)["ports"]] == [port]
    config = json.loads(tf_config_from_job({**env, "JOB_COMPLETION_INDEX": "1"}))
    assert config["cluster"]["worker"][0] == f"train-distributed-0.trainers:{port}"
    (policy,) = objects(rendered, "NetworkPolicy", "trainers-to-each-other", "overlays/gke")
    for rule in policy["spec"]["ingress"] + policy["spec"]["egress"]:
        assert [p["port"] for p in rule["ports"]] == [port]


# ---- Kubernetes policy -------------------------------------------------------------------------


#: Workloads each kustomization must render (it may render more): {kustomization: {(kind, name)}}.
#: The jobs folders must render at least one Job whatever its name.
WORKLOADS = {
    "overlays/local": {("Deployment", "worker"), ("Deployment", "app"), ("StatefulSet", "redis")},
    "overlays/gke": {("Deployment", "worker"), ("Deployment", "app"), ("StatefulSet", "redis")},
    "overlays/local/jobs": set(),
    "overlays/gke/jobs": set(),
}


def test_every_pod_is_locked_down_and_sized(rendered):
    found: dict[str, set[tuple[str, str]]] = {name: set() for name in rendered}
    for overlay, obj in workloads(rendered):
        found[overlay].add((obj["kind"], obj["metadata"]["name"]))
    for overlay, expected in WORKLOADS.items():
        assert expected <= found[overlay], f"{overlay} renders {sorted(found[overlay])}"
        if overlay.endswith("/jobs"):
            assert any(kind == "Job" for kind, _ in found[overlay]), overlay
    for overlay, obj in workloads(rendered):
        spec = pod_spec(obj)
        where = f"{overlay} {obj['kind']}/{obj['metadata']['name']}"
        assert spec["containers"], where
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["serviceAccountName"] not in ("", "default"), where
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["capabilities"]["drop"] == ["ALL"], where
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c["resources"][kind]), where
            assert ":" in c["image"] and not c["image"].endswith(":latest"), where
            assert "/" in c["image"] or c["image"].startswith("redis:"), f"{where}: {c['image']}"


def test_replicas_autoscalers_and_disruption_budgets(rendered):
    for overlay in ("overlays/local", "overlays/gke"):
        for name in ("worker", "app"):
            (deploy,) = objects(rendered, "Deployment", name, overlay)
            assert deploy["spec"]["replicas"] >= 2
            (hpa,) = objects(rendered, "HorizontalPodAutoscaler", name, overlay)
            assert hpa["apiVersion"] == "autoscaling/v2" and hpa["spec"]["minReplicas"] >= 2
            assert hpa["spec"]["scaleTargetRef"]["name"] == name
            (pdb,) = objects(rendered, "PodDisruptionBudget", name, overlay)
            selector = deploy["spec"]["selector"]["matchLabels"]
            assert pdb["spec"]["selector"]["matchLabels"] == selector


def test_redis_is_durable_and_password_protected(rendered):
    (sts,) = objects(rendered, "StatefulSet", "redis", "overlays/gke")
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "premium-rwo"
    command = container(sts)["command"]
    assert command[command.index("--requirepass") + 1] == "$(REDIS_PASSWORD)"
    (conf_map,) = [
        d
        for d in rendered["overlays/gke"]
        if d["kind"] == "ConfigMap" and d["metadata"]["name"].startswith("redis-config")
    ]
    conf = conf_map["data"]["redis.conf"]
    assert re.search(r"^appendonly yes$", conf, re.M)
    assert re.search(r"^appendfsync always$", conf, re.M)
    assert re.search(r"^maxmemory-policy noeviction$", conf, re.M)
    assert "requirepass" not in re.sub(r"#.*", "", conf), "password never in the ConfigMap"


def test_network_policies_allow_only_the_product_paths(rendered):
    policies = {
        d["metadata"]["name"]: d for d in objects(rendered, "NetworkPolicy", overlay="overlays/gke")
    }
    deny = policies["default-deny-all"]
    assert deny["spec"]["podSelector"] == {} and set(deny["spec"]["policyTypes"]) == {
        "Ingress",
        "Egress",
    }

    def ingress_sources(target: str) -> list[dict]:
        sources = []
        for policy in policies.values():
            selector = policy["spec"]["podSelector"]
            if selector.get("matchLabels", {}).get("app.kubernetes.io/name") == target:
                for rule in policy["spec"].get("ingress", []):
                    sources += rule["from"]
        return sources

    redis_from = ingress_sources("redis")
    assert {s["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for s in redis_from} == {
        "worker",
        "trainer",
    }
    assert {s["ipBlock"]["cidr"] for s in ingress_sources("app")} == {
        "130.211.0.0/22",
        "35.191.0.0/16",
    }
    assert [s["podSelector"]["matchLabels"] for s in ingress_sources("worker")] == [
        {"app.kubernetes.io/name": "app"}
    ]


def test_gke_front_door_for_streamlit(rendered):
    gke = "overlays/gke"
    (ingress,) = objects(rendered, "Ingress", "app", gke)
    notes = ingress["metadata"]["annotations"]
    assert notes["kubernetes.io/ingress.class"] == "gce"
    assert objects(rendered, "ManagedCertificate", notes["networking.gke.io/managed-certificates"])
    frontend_name = notes["networking.gke.io/v1beta1.FrontendConfig"]
    (frontend,) = objects(rendered, "FrontendConfig", frontend_name)
    assert frontend["spec"]["redirectToHttps"]["enabled"] is True
    (svc,) = objects(rendered, "Service", "app", gke)
    backend_name = json.loads(svc["metadata"]["annotations"]["cloud.google.com/backend-config"])
    (backend,) = objects(rendered, "BackendConfig", backend_name["default"], gke)
    assert backend["spec"]["timeoutSec"] >= 3600, "websocket sessions outlive the timeout"
    assert backend["spec"]["sessionAffinity"]["affinityType"] == "GENERATED_COOKIE"
    assert json.loads(svc["metadata"]["annotations"]["cloud.google.com/neg"]) == {"ingress": True}


def test_no_secret_is_rendered_and_the_template_is_not_applied(rendered):
    assert not objects(rendered, "Secret")
    template = yaml.safe_load((K8S / "secret.example.yaml").read_text())
    assert template["metadata"]["name"] == "redis-auth"
    refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for _, obj in workloads(rendered)
        for c in pod_spec(obj)["containers"]
        for e in c.get("env", [])
        if "valueFrom" in e
    }
    assert refs == {"redis-auth"}


# ---- the check script's validators -------------------------------------------------------------

VALIDATOR_PROBE = r"""
import json, sys
sys.path.insert(0, "scripts")
import check_deploy
docs = json.load(sys.stdin)
print(json.dumps([check_deploy.schema_errors(doc) for doc in docs]))
"""


def _schema_errors(deploy_python, docs: list[dict]) -> list[list[str]]:
    proc = subprocess.run(
        [str(deploy_python), "-c", VALIDATOR_PROBE],
        input=json.dumps(docs),
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout)


def test_schema_validators_accept_ours_and_reject_broken_objects(rendered, deploy_python):
    (worker,) = objects(rendered, "Deployment", "worker", "overlays/gke")
    (backend,) = objects(rendered, "BackendConfig", "app", "overlays/gke")
    typo = json.loads(json.dumps(worker))
    container(typo)["readinessProbe"]["httpGett"] = container(typo)["readinessProbe"].pop("httpGet")
    wrong_type = json.loads(json.dumps(worker))
    wrong_type["spec"]["replicas"] = "two"
    bad_backend = json.loads(json.dumps(backend))
    bad_backend["spec"]["sessionAffinity"]["affinityType"] = "STICKY"
    unknown = {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}
    docs = [worker, backend, typo, wrong_type, bad_backend, unknown]
    errors = _schema_errors(deploy_python, docs)
    assert errors[0] == [] and errors[1] == []
    assert all(errors[2:]), errors


def test_check_script_render_schema_and_hadolint_pass(deploy_python):
    proc = subprocess.run(
        [sys.executable, "scripts/check_deploy.py", "--only", "render,schema,hadolint"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 checks failing" in proc.stdout
