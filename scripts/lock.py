"""Write the lock files under ``requirements/`` from ``pyproject.toml`` (``make lock``).

Each lock pins every package, transitive ones too, with the sha256 hashes of its files, for
CPython 3.11 on Linux x86_64 (the images and the development machines); ``make install`` and
both Dockerfiles install them with ``pip install --require-hashes``:

- ``requirements/dev.txt``: every extra (``make``: tests, lint, the local Redis, benchmarks);
- ``requirements/worker.txt``: ``[project] dependencies`` only (Dockerfile.worker);
- ``requirements/app.txt``: the ``app`` extra only (Dockerfile.app);
- ``requirements/torch-cpu.txt``: the torch entry of the others, installed first on its own
  with PyTorch's CPU index (the only step that needs it: pip asks an extra index about every
  package, and slowly gives up on each when it is unreachable).

The worker and app locks are solved under the dev lock's versions, so all three agree.
torch is locked as its CPU build, ``torch==<version>+cpu``, found on PyTorch's CPU index
(``TORCH_FIND_LINKS``, default https://download.pytorch.org/whl/cpu/torch/, or a folder holding
the wheel): PyPI has only the CUDA build, so an install without that index fails instead of
pulling several GB of GPU libraries.

Usage::

    python -m scripts.lock                       # all three, from PyPI + PyTorch's CPU index
    TORCH_FIND_LINKS=/opt/wheels python -m scripts.lock
    python -m scripts.lock --constraints freeze.txt   # keep the versions of an environment
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "requirements"
TORCH_FIND_LINKS = "https://download.pytorch.org/whl/cpu/torch/"


def torch_cpu_pin() -> str:
    """``torch==X.Y.Z+cpu`` from the ``torch~=X.Y.Z`` in ``[project] dependencies``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    (spec,) = [d for d in project["dependencies"] if d.startswith("torch")]
    version = spec.split("~=")[1].strip()
    return f"torch=={version}+cpu"


def compile_lock(
    inputs: list[str], output: Path, constraints: list[Path], extras: list[str]
) -> None:
    """``uv pip compile`` ``inputs`` into ``output`` with hashes."""
    uv = Path(sys.executable).with_name("uv")
    cmd = [
        str(uv) if uv.exists() else "uv",
        "pip",
        "compile",
        "--quiet",
        "--generate-hashes",
        "--python-version",
        "3.11",
        "--python-platform",
        "x86_64-manylinux_2_28",
        "--index-url",
        "https://pypi.org/simple",
        "--find-links",
        os.environ.get("TORCH_FIND_LINKS") or TORCH_FIND_LINKS,
        "--no-emit-find-links",
        "--custom-compile-command",
        "make lock",
        "--output-file",
        str(output.relative_to(ROOT)),
        *inputs,
    ]
    for extra in extras:
        cmd += ["--extra", extra]
    for path in constraints:
        cmd += ["--constraints", str(path)]
    subprocess.run(cmd, check=True, cwd=ROOT)
    output.write_text(_without_constraint_notes(output.read_text()))
    print(f"wrote {output.relative_to(ROOT)}")


def _without_constraint_notes(text: str) -> str:
    """Drop the ``# via -c <temporary file>`` notes (and a ``# via`` left with nothing); name
    the app extra instead of its temporary requirements file."""
    text = re.sub(r"-r \S+/app\.in", "movie-recommender[app] (pyproject.toml)", text)
    lines = [line for line in text.splitlines() if not line.startswith("    #   -c ")]
    kept = []
    for i, line in enumerate(lines):
        following = lines[i + 1] if i + 1 < len(lines) else ""
        if line.strip() == "# via" and not following.startswith("    #   "):
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.lock", description=__doc__)
    parser.add_argument("--constraints", type=Path, action="append", default=[])
    args = parser.parse_args(argv)
    OUT.mkdir(exist_ok=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = sorted(project["optional-dependencies"])
    with tempfile.TemporaryDirectory() as tmp:
        torch = Path(tmp) / "torch-cpu.txt"
        torch.write_text(torch_cpu_pin() + "\n")
        base = [torch, *[p.resolve() for p in args.constraints]]
        compile_lock(["pyproject.toml"], OUT / "dev.txt", base, extras)
        agreed = [torch, OUT / "dev.txt"]
        compile_lock(["pyproject.toml"], OUT / "worker.txt", agreed, [])
        app = Path(tmp) / "app.in"
        app.write_text("\n".join(project["optional-dependencies"]["app"]) + "\n")
        compile_lock([str(app)], OUT / "app.txt", agreed, [])
    write_torch_lock(OUT / "worker.txt", OUT / "torch-cpu.txt")
    return 0


def write_torch_lock(lock: Path, output: Path) -> None:
    """Copy the ``torch==...`` entry (pin and hashes) of ``lock`` into ``output``."""
    lines = lock.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("torch=="))
    end = start + 1
    while end < len(lines) and lines[end].startswith("    --hash="):
        end += 1
    header = (
        "# torch's CPU build, from PyTorch's CPU index: installed before the other locks\n"
        "# (Makefile, Dockerfile.worker). Written by `make lock` from requirements/worker.txt.\n"
    )
    output.write_text(header + "\n".join(lines[start:end]).rstrip(" \\") + "\n")
    print(f"wrote {output.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
