"""Time a first start: install end -> app usable -> full blend served, with the load average.

Usage, beside a ``make run`` on a fresh clone (see README, "First start")::

    python -m scripts.bench_first_start --worker http://127.0.0.1:8000 \\
        --app http://127.0.0.1:8501 --since CLONE/.venv/.installed [--timeout 1800]

Polls every 2 s. "App usable" is the first moment the app answers ``/_stcore/health`` and a
new person can sign up, rate five movies and get recommendations from the worker (the same
REST calls the app makes); "blend served" is when ``GET /api/v1/status`` says the final model
(the blend) is served. Times are seconds after ``--since``'s modification time (the install
stamp ``make`` touches when the install finishes); each event prints the 1-minute load
average, and the build's per-step times are printed at the end (from the status answer).
Exits 1 if the blend is not served within ``--timeout`` seconds or the build failed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path

import requests

PASSWORD = "first-start-" + secrets.token_hex(8)


def _get(url: str, **kwargs) -> requests.Response | None:
    try:
        return requests.get(url, timeout=10, **kwargs)
    except requests.RequestException:
        return None


def usable(worker: str, app: str) -> str | None:
    """Sign up, rate five movies, get recommendations; the model that answered, or None."""
    health = _get(f"{app}/_stcore/health")
    if health is None or health.status_code != 200:
        return None
    api = f"{worker}/api/v1"
    name = "fs" + secrets.token_hex(6)
    try:
        if (
            requests.post(
                f"{api}/auth/signup", json={"username": name, "password": PASSWORD}, timeout=30
            ).status_code
            != 201
        ):
            return None
        login = requests.post(
            f"{api}/auth/login", json={"username": name, "password": PASSWORD}, timeout=30
        )
        headers = {"Authorization": f"Bearer {login.json()['token']}"}
        movies = requests.get(f"{api}/movies", headers=headers, timeout=30).json()["items"][:5]
        for movie in movies:
            requests.put(
                f"{api}/me/ratings/{movie['id']}", json={"rating": 4.5}, headers=headers, timeout=30
            )
        recs = requests.get(f"{api}/me/recommendations", headers=headers, timeout=60)
    except (requests.RequestException, KeyError, ValueError):
        return None
    if recs.status_code != 200 or not recs.json().get("items"):
        return None
    return recs.json()["model_version"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--worker", required=True)
    parser.add_argument("--app", required=True)
    parser.add_argument("--since", type=Path, required=True, help="file touched at install end")
    parser.add_argument("--timeout", type=float, default=1800.0)
    args = parser.parse_args(argv)

    while not args.since.exists():
        time.sleep(1)
    zero = args.since.stat().st_mtime

    def event(what: str) -> None:
        load = os.getloadavg()[0]
        print(f"{time.time() - zero:7.0f} s  {what}  (load average {load:.2f})", flush=True)

    event("install finished")
    state, last_message, status = "waiting", None, {}
    while time.time() - zero < args.timeout:
        if state == "waiting":
            model = usable(args.worker, args.app)
            if model:
                event(f"app usable: signed up, rated 5, got recommendations from {model}")
                state = "usable"
        if state != "waiting":
            answer = _get(f"{args.worker}/api/v1/status")
            status = answer.json() if answer is not None and answer.status_code == 200 else {}
            if status.get("message") != last_message and status:
                last_message = status["message"]
                event(f"status: {last_message}")
            build = status.get("build") or {}
            if status.get("serving") == "final" and status.get("model") == "blend":
                event(f"blend served: {status['model_version']}")
                break
            if build.get("state") == "failed":
                event(f"build failed: {build.get('error')}")
                break
        time.sleep(2)
    else:
        event("timed out")
    for number, step in enumerate((status.get("build") or {}).get("steps", []), start=1):
        print(f"  step {number} {step['name']}: {step['state']}, {step.get('seconds')} s")
    return 0 if status.get("model") == "blend" else 1


if __name__ == "__main__":
    sys.exit(main())
