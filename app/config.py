"""App settings, read from the environment on every script run (so tests can change them).

Environment variables:

- ``WORKER_URL``: base URL of the worker's REST API, default ``http://127.0.0.1:8000``.
- ``WORKER_TIMEOUT_SECONDS``: seconds to wait for one worker request (connect and read),
  default ``10``. Must be a positive number; a bad value falls back to the default.
- ``APP_PORT``: the port ``scripts/serve.py`` serves the app on (Streamlit reads its own flag).

Everything else (data, models, plots) the app gets from the worker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DEFAULT_WORKER_URL = "http://127.0.0.1:8000"
DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_APP_PORT = 8501

#: Movies and recommendations per page, as the product asks (a grid of 4 x 6 cards).
PAGE_SIZE = 24
#: Ratings a user needs before recommendations open (the reference system's rule).
RATINGS_NEEDED = 5
#: Genres a user picks at least (the reference system asks for five).
GENRES_NEEDED = 5


@dataclass(frozen=True)
class AppConfig:
    """Where the worker lives and how long the app waits for it."""

    worker_url: str = DEFAULT_WORKER_URL
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    @classmethod
    def from_env(cls) -> AppConfig:
        """Read ``WORKER_URL`` and ``WORKER_TIMEOUT_SECONDS``."""
        url = os.environ.get("WORKER_URL", "").strip() or DEFAULT_WORKER_URL
        try:
            timeout = float(os.environ.get("WORKER_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))
        except ValueError:
            timeout = DEFAULT_TIMEOUT_SECONDS
        if not timeout > 0:
            timeout = DEFAULT_TIMEOUT_SECONDS
        return cls(worker_url=url.rstrip("/"), timeout_seconds=timeout)
