"""``python -m worker``: run the worker locally with one command.

Starts an embedded ``redis-server`` when ``REDIS_URL`` is unset (data in ``WORKER_DATA_DIR``,
default ``./var/redis``, kept across restarts, AOF with ``appendfsync always``, a generated
password, restarted by a supervisor thread if it dies), then serves
the app with gunicorn (settings: worker/gunicorn.conf.py; ``WORKER_PROCESSES`` processes,
default 2) on
``WORKER_HOST``:``WORKER_PORT`` (default 127.0.0.1:8000) and prints the URL. Ctrl-C stops
both. ``--dev`` uses Flask's single-process development server instead of gunicorn.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

from worker.config import server_settings
from worker.embedded_redis import start_embedded_redis


def _gunicorn(host: str, port: int, processes: int) -> None:
    from gunicorn.app.base import BaseApplication

    class _Server(BaseApplication):
        def load_config(self):
            from worker.launch import gunicorn_settings  # worker/gunicorn.conf.py, run as a file

            for name, value in gunicorn_settings().items():
                if name in self.cfg.settings:
                    self.cfg.set(name, value)
            self.cfg.set("bind", f"{host}:{port}")
            self.cfg.set("workers", processes)

        def load(self):
            from worker.app import create_app

            return create_app()

    _Server().run()


def main(argv: list[str] | None = None) -> int:
    settings = server_settings()
    parser = argparse.ArgumentParser(prog="python -m worker", description=__doc__)
    parser.add_argument("--host", default=settings["host"])
    parser.add_argument("--port", type=int, default=settings["port"])
    parser.add_argument("--processes", type=int, default=settings["processes"])
    parser.add_argument("--data-dir", default=settings["data_dir"], help="embedded Redis data")
    parser.add_argument("--dev", action="store_true", help="Flask dev server, one process")
    args = parser.parse_args(argv)

    redis = None
    if not os.environ.get("REDIS_URL", "").strip():
        # a generated password keeps other local users out; restarted if it ever dies
        password = secrets.token_urlsafe(24)
        redis = start_embedded_redis(Path(args.data_dir), password=password).supervise()
        os.environ["REDIS_URL"] = redis.url
        print(
            f"embedded redis-server on 127.0.0.1:{redis.port} (password in REDIS_URL of this "
            f"process), data in {Path(args.data_dir).resolve()}",
            flush=True,
        )
    print(f"worker: http://{args.host}:{args.port}  (ready when /readyz says 200)", flush=True)
    try:
        if args.dev:
            from worker.app import create_app

            create_app().run(host=args.host, port=args.port, threaded=True)
        else:
            _gunicorn(args.host, args.port, args.processes)
    finally:
        if redis is not None:
            redis.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
