"""Step ``build``: the Debian base image, the wheelhouse and ``podman build`` of each image.

``make_base`` runs ``scripts/make_base_image.sh``; ``fill_wheelhouse`` fills
``var/containers/wheels`` from the host's pip, then pip inside the base image, so image builds
install without any index; ``build`` runs a niced, layer-cached ``podman build`` and skips it
entirely when ``build_inputs`` (Containerfile, ``.dockerignore``, requirements, wheelhouse stamp,
base image ID and every file COPYed) did not change; ``build_all`` does all of it in order.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import time

from scripts.containers.podman import (
    BASE_IMAGE,
    IMAGES,
    LOCKS,
    ROOT,
    TORCH_CPU_INDEX,
    TORCH_LOCK,
    WHEELS,
    WORK,
    CheckError,
    Image,
    podman,
    podman_env,
)


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
