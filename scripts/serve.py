"""Run the whole product locally: Redis (embedded), the worker and the Streamlit app.

Usage (from the project root)::

    python -m scripts.serve [--host 127.0.0.1] [--worker-port 8000] [--app-port 8501]
                            [--redis-dir var/redis] [--ready-timeout 600] [--no-build]

Starts, in order, waiting for each to be ready:

0. when the model artifacts are not current for the data (``scripts.build_models --check``,
   run while the worker loads; a fresh clone, new data), the model build in the background:
   ``python -m scripts.build_models --background``, ``nice``'d so the product stays
   responsive. It writes its progress to ``ARTIFACTS_DIR/build-status.json`` (shown by the
   worker's ``GET /api/v1/status`` and the app) and its steps' output to
   ``ARTIFACTS_DIR/build.log``; meanwhile the worker serves Pearson (it needs only the
   ratings) and swaps in each model the build finishes by its hot reload (checked every
   ``RELOAD_CHECK_SECONDS``, 10 s here). A failed build is reported here and in the status;
   the product keeps serving. ``--no-build`` skips it (``make models`` builds in the
   foreground);
1. ``redis-server`` with its data in ``--redis-dir`` (env ``WORKER_DATA_DIR``, default
   ``var/redis``), unless ``REDIS_URL`` is set, in which case that Redis is used;
2. the worker, ``python -m worker`` on ``--worker-port`` (env ``WORKER_PORT``), until its
   ``/readyz`` says ready (models loaded);
3. the app, ``streamlit run app/Home.py`` on ``--app-port`` (env ``APP_PORT``), until
   ``/_stcore/health`` answers, with ``WORKER_URL`` pointing at the worker.

Then prints one line ``App ready at http://HOST:PORT`` and runs until Ctrl-C / SIGTERM or until
the worker or the app stops; everything it started (a build still running too) is stopped on
the way out (the next start builds again, re-using the SBERT vectors already encoded). Other
settings (``DATA_DIR``, ``WORKER_TIMEOUT_SECONDS``, ...) pass through the environment unchanged.
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def wait_http(url: str, process: subprocess.Popen, timeout: float, what: str) -> None:
    """Poll ``url`` until it answers 200; fail early when ``process`` exits."""
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} while starting")
        try:
            response = requests.get(url, timeout=2)
            if response.status_code == 200:
                return
            last = f"HTTP {response.status_code}"
        except requests.RequestException as exc:
            last = type(exc).__name__
        time.sleep(0.5)
    raise RuntimeError(f"{what} not ready at {url} within {timeout:.0f}s (last: {last})")


def stop(process: subprocess.Popen | None, name: str) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        print(f"{name} did not stop in 10 s; killing it", file=sys.stderr)
        process.kill()
        process.wait()


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM (from make, a test, a container runtime) ends the run like Ctrl-C does."""
    raise KeyboardInterrupt


def start_build(env: dict[str, str]) -> subprocess.Popen | None:
    """Start ``scripts.build_models --background`` (it lowers its own priority by 10) unless
    the models are current (then ``None``). Its lines (one per step) go to this terminal."""
    check = subprocess.run(
        [sys.executable, "-m", "scripts.build_models", "--check"], cwd=ROOT, env=env, check=False
    )
    if check.returncode == 0:
        print("Models are up to date; no build needed.", flush=True)
        return None
    if check.returncode != 1:
        print("serve: cannot check the models (see above); not building", file=sys.stderr)
        return None
    return subprocess.Popen(
        [sys.executable, "-m", "scripts.build_models", "--background"],
        cwd=ROOT,
        env=env,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default=env.get("WORKER_HOST", "127.0.0.1"))
    parser.add_argument("--worker-port", type=int, default=int(env.get("WORKER_PORT", 8000)))
    parser.add_argument("--app-port", type=int, default=int(env.get("APP_PORT", 8501)))
    parser.add_argument(
        "--redis-dir", type=Path, default=Path(env.get("WORKER_DATA_DIR", "var/redis"))
    )
    parser.add_argument(
        "--no-build",
        action="store_true",
        help="do not build missing or stale models in the background",
    )
    parser.add_argument(
        "--ready-timeout",
        type=float,
        default=600.0,
        help="seconds to wait for the worker to load its models",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    redis_server = None
    worker = app = build = None
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        env = dict(os.environ)
        if not env.get("REDIS_URL"):
            from worker.embedded_redis import start_embedded_redis

            # a generated password keeps other local users out; restarted if it ever dies
            password = secrets.token_urlsafe(24)
            redis_server = start_embedded_redis(args.redis_dir, password=password).supervise()
            env["REDIS_URL"] = redis_server.url
            print(
                f"Redis started on 127.0.0.1:{redis_server.port} (data in {args.redis_dir})",
                flush=True,
            )
        env.update(WORKER_HOST=args.host, WORKER_PORT=str(args.worker_port))
        # checked every 10 s here (30 s in production): a model the build finishes is served
        # soon after
        env.setdefault("RELOAD_CHECK_SECONDS", "10")
        worker_url = f"http://{args.host}:{args.worker_port}"
        worker = subprocess.Popen([sys.executable, "-m", "worker"], cwd=ROOT, env=env)
        print(f"Worker starting at {worker_url} (loading models) ...", flush=True)
        if not args.no_build:  # checked while the worker loads
            build = start_build(env)
        if build is not None:
            from recommender import settings

            print(
                "Building the models in the background (progress: "
                f"{settings.artifacts_dir() / 'build-status.json'}); Pearson is served "
                "meanwhile and each model is swapped in when it is ready.",
                flush=True,
            )
        wait_http(f"{worker_url}/readyz", worker, args.ready_timeout, "worker")
        print(f"Worker ready at {worker_url}", flush=True)

        env["WORKER_URL"] = worker_url
        env["APP_PORT"] = str(args.app_port)
        app = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(ROOT / "app" / "Home.py"),
                "--server.address",
                args.host,
                "--server.port",
                str(args.app_port),
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
                "--client.showErrorDetails",
                "none",
                "--client.toolbarMode",
                "minimal",
            ],
            cwd=ROOT,
            env=env,
        )
        app_url = f"http://{args.host}:{args.app_port}"
        wait_http(f"{app_url}/_stcore/health", app, 120, "app")
        print(f"App ready at {app_url}", flush=True)
        while worker.poll() is None and app.poll() is None:
            if build is not None and build.poll() is not None:
                if build.returncode == 0:
                    print("Models built; the worker serves the full blend now.", flush=True)
                else:
                    print(
                        f"serve: the background build failed (exit {build.returncode}); the "
                        "worker keeps serving what it has. Details: GET /api/v1/status "
                        "and ARTIFACTS_DIR/build.log",
                        file=sys.stderr,
                        flush=True,
                    )
                build = None
            time.sleep(0.5)
        print("A process stopped; shutting down", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"serve: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        stop(build, "model build")
        stop(app, "app")
        stop(worker, "worker")
        if redis_server is not None:
            redis_server.stop()


if __name__ == "__main__":
    sys.exit(main())
