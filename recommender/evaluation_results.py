"""Saved results of the evaluation report, one file per (protocol, seed, model), and the rule
for reusing them — so a long run can be stopped and resumed, and one changed model re-measured
without refitting every other.

**The reuse rule.** A result is reused when a file for its *key* exists in the results folder,
holds exactly that key, and its model was not named in ``refit``. The key is:

- the protocol (``"rating"`` / ``"newuser"``), the seed, the model's registry name and the
  protocol's own settings (test fraction; held-out share, profile sizes and list length);
- the **data**: :func:`data_fingerprint` of the ratings and the movie table;
- the model's **settings**: :func:`describe` of the unfitted model as the registry builds it with
  the run's ``--param`` values — every constructor setting, defaults included, so changing a
  default in the code (say, the blend's component list) changes the key.

What the key cannot see: a change of a model's *code* that keeps its settings (a bug fix, a new
training trick), or of the defaults of models it builds inside itself (``rating-blend``'s
components, the blend's neural model). Re-measure those with ``refit`` (``scripts.report
--refit NAME``).

File name: ``<protocol>-seed<seed>-<model>-<12 hex digits of the key's hash>.json``, so results
of other settings stay beside each other; written atomically (a stopped run leaves no half file).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender.models import make_model


def describe(value: Any, depth: int = 0) -> Any:
    """A JSON-able description of a model's settings: numbers, strings, lists and dicts as they
    are; classes and functions by their qualified name; other objects by their type and (to a
    depth of 3) their public attributes. Private attributes (``_name``) are left out."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (np.integer, np.floating, np.bool_)):
        return value.item()
    if isinstance(value, Mapping):
        return {
            str(k): describe(v, depth) for k, v in sorted(value.items(), key=lambda x: str(x[0]))
        }
    if isinstance(value, (list, tuple)):
        return [describe(v, depth) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(describe(v, depth) for v in value)
    if isinstance(value, type) or callable(value) and hasattr(value, "__qualname__"):
        return f"{value.__module__}.{value.__qualname__}"
    kind = f"{type(value).__module__}.{type(value).__qualname__}"
    attributes = getattr(value, "__dict__", None)
    if attributes is None or depth >= 3:
        return kind
    public = {k: v for k, v in attributes.items() if not k.startswith("_")}
    return {"type": kind, **describe(public, depth + 1)}


def model_settings(name: str, params: Mapping[str, Any]) -> Any:
    """:func:`describe` of ``make_model(name, **params)`` (unfitted)."""
    return describe(make_model(name, **dict(params)))


def data_fingerprint(ratings: pd.DataFrame, movies: pd.DataFrame | None) -> str:
    """SHA-256 (16 hex digits) of every rating row (userId, movieId, rating, timestamp, in file
    order) and of the movie table's ids, titles and genres."""
    digest = hashlib.sha256()
    columns = [c for c in ("userId", "movieId", "rating", "timestamp") if c in ratings]
    digest.update(pd.util.hash_pandas_object(ratings[columns], index=False).to_numpy().tobytes())
    if movies is not None:
        table = movies[[c for c in ("movieId", "title", "genres") if c in movies]].astype(str)
        digest.update(pd.util.hash_pandas_object(table, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


class SavedResults:
    """The results folder of one report run.

    ``folder``: where the files live (created on first save; ``None``: nothing saved or
    reused); ``data``: :func:`data_fingerprint` of the run's data; ``settings``: model name ->
    its settings (:func:`model_settings`, plus anything else its fit depends on); ``refit``:
    model names whose saved results are ignored (and overwritten); ``measure``: ``False`` to
    only read saved results (the protocols then skip what is missing).
    """

    def __init__(
        self,
        folder: Path | None,
        *,
        data: str,
        settings: Mapping[str, Any],
        refit: Collection[str] = (),
        measure: bool = True,
    ):
        self.folder = Path(folder) if folder is not None else None
        self.data = data
        self.settings = dict(settings)
        self.refit = set(refit)
        self.measure = measure

    def key(self, protocol: str, seed: int, model: str, **protocol_settings: Any) -> dict:
        """Everything a result depends on (see the module docstring), JSON-able."""
        return {
            "protocol": protocol,
            "seed": int(seed),
            "model": model,
            "protocol_settings": describe(protocol_settings),
            "data": self.data,
            "settings": self.settings.get(model),
        }

    def path(self, key: Mapping[str, Any]) -> Path:
        digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]
        name = f"{key['protocol']}-seed{key['seed']}-{key['model']}-{digest}.json"
        return (self.folder or Path(".")) / name

    def get(self, key: Mapping[str, Any]) -> dict | None:
        """The saved record of ``key``, or ``None`` (none saved, unreadable, another key, or
        the model is to be refitted)."""
        if self.folder is None or key["model"] in self.refit:
            return None
        try:
            record = json.loads(self.path(key).read_text(encoding="utf8"))
        except (OSError, ValueError):
            return None
        if json.dumps(record.get("key"), sort_keys=True) != json.dumps(key, sort_keys=True):
            return None
        return record

    def put(self, key: Mapping[str, Any], record: Mapping[str, Any]) -> Path | None:
        """Save ``record`` (JSON-able) under ``key``, atomically; its path."""
        if self.folder is None:
            return None
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.path(key)
        full = {"key": dict(key), **record}
        partial = path.with_suffix(f".{os.getpid()}.part")
        partial.write_text(json.dumps(describe(full), indent=1), encoding="utf8")
        os.replace(partial, path)
        return path
