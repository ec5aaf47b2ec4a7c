"""Fixtures shared by every test: the data folder, a seeded RNG and a real Redis server."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from worker.embedded_redis import start_embedded_redis


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The local data folder from ``DATA_DIR`` (``ml-latest-small/`` and ``overviews/``)."""
    value = os.environ.get("DATA_DIR")
    if not value or not (Path(value) / "ml-latest-small" / "ratings.csv").exists():
        pytest.fail("set DATA_DIR to a folder holding ml-latest-small/ (see README)")
    return Path(value)


@pytest.fixture()
def rng() -> np.random.Generator:
    """A seeded random generator, so every test is repeatable."""
    return np.random.default_rng(42)


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory):
    """A real ``redis-server`` on a free port, with AOF persistence, for the whole session."""
    server = start_embedded_redis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()
