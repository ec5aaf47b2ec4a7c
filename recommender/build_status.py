"""The progress file of a model build: ``ARTIFACTS_DIR/build-status.json``.

``scripts/build_models.py`` writes it while it builds (at every step change and every few
seconds within a step); the worker reads it for ``GET /api/v1/status`` and the app shows it.
One JSON object::

    {"state": "running",            # running | done | failed | stopped
     "step": 2, "of": 4,            # the step being built (1-based; the failed one on failure)
     "percent": 40,                 # the whole build, 0-100 (steps weighted by their usual time)
     "steps": [{"name": "movie text embeddings (SBERT)", "state": "done",
                "progress": 1.0, "seconds": 95.2}, ...],   # waiting | running | done | failed
     "started_at": "...", "updated_at": "...", "finished_at": null,  # UTC, ISO 8601
     "log": "/abs/path/artifacts/build.log",                           # the steps' output
     "error": null,                 # what failed, in a sentence
     "pid": 1234, "host": "laptop"} # the building process (a dead one means "stopped")

It is replaced atomically (write + rename), so a reader never sees half of it. Reading it is
one small file read (:func:`read`); no file means no build was ever run from this folder
(``state`` ``"none"``; a deployment ships built artifacts).
"""

from __future__ import annotations

import json
import os
import socket
import time
from pathlib import Path
from typing import Any

FILE = "build-status.json"
LOG = "build.log"
STATES = ("none", "running", "done", "failed", "stopped")


def now() -> str:
    """The current UTC time, ISO 8601 to the second (``2026-11-29T12:00:00Z``)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def path(artifacts_dir: Path) -> Path:
    return Path(artifacts_dir) / FILE


def write(artifacts_dir: Path, status: dict[str, Any]) -> None:
    """Replace the progress file with ``status`` (plus ``updated_at``, ``pid``, ``host``)."""
    folder = Path(artifacts_dir)
    folder.mkdir(parents=True, exist_ok=True)
    body = {**status, "updated_at": now(), "pid": os.getpid(), "host": socket.gethostname()}
    temporary = folder / f".{FILE}.{os.getpid()}"
    temporary.write_text(json.dumps(body, indent=2) + "\n")
    os.replace(temporary, folder / FILE)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


def read(artifacts_dir: Path) -> dict[str, Any]:
    """The progress file's object, or ``{"state": "none", "steps": []}`` without one (or with
    one that cannot be read). A ``running`` build whose process is gone on this host (killed,
    machine restarted) is reported as ``stopped``."""
    try:
        status = json.loads(path(artifacts_dir).read_text())
    except (OSError, ValueError):
        return {"state": "none", "steps": []}
    if not isinstance(status, dict) or status.get("state") not in STATES:
        return {"state": "none", "steps": []}
    pid = status.get("pid")
    if (
        status["state"] == "running"
        and isinstance(pid, int)
        and status.get("host") == socket.gethostname()
        and not _alive(pid)
    ):
        status = {**status, "state": "stopped", "error": "the build process is gone"}
    status.setdefault("steps", [])
    return status
