"""The model service: loads the catalogue and the model once per process, keeps the model's
pool of app users current, and computes or serves cached recommendation lists.

Start-up: :meth:`ModelService.start` loads MovieLens, the :class:`~recommender.catalog.Catalog`
and the model (``RECOMMENDER_MODEL``, built by ``recommender.models.make_model``) in a
background thread, so ``/healthz`` answers at once and ``/readyz`` says 503 until loading is
done. Loaded objects are shared by every app created in the same process (tests create many).

Neighbour pool: a neighbourhood model (Pearson) also uses the app's own users as neighbours,
through ``model.upsert_user(key, profile)``. Each process first loads every app user, then,
before each fresh scoring, reads the Redis change stream from where it stopped and re-reads
only the users whose ratings changed (one XREAD round trip when nothing changed).

Cache: a computed list (top ``RECS_CACHE_SIZE`` = 240) and its neighbours are stored under the
user's ratings version (``recs:{id}:{version}``); any rating change bumps the version, so the
next request computes a fresh list. Lists computed by another model are recomputed too.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from recommender import settings
from worker.errors import ApiError
from worker.store import Store

log = logging.getLogger("worker.models")

MIN_RATINGS = 5
MEMO_SIZE = 1024


def user_model_key(user_id: str) -> str:
    """The key an app user has in a model's neighbour pool (never a MovieLens userId)."""
    return f"app:{user_id}"


@dataclass
class Loaded:
    """What one process loads once: the catalogue, the model and the pool bookkeeping."""

    catalog: Any
    model: Any
    model_name: str
    model_version: str
    load_seconds: float
    lock: threading.RLock = field(default_factory=threading.RLock)
    pool: set[str] = field(default_factory=set)
    last_change: str = "0-0"


_LOADED: dict[tuple, Loaded] = {}
_LOADING = threading.Lock()


def load(model_name: str) -> Loaded:
    """Load (or reuse, within this process) the catalogue and the fitted model."""
    from recommender.catalog import Catalog
    from recommender.models import make_model
    from recommender.movielens import load_movielens

    key = (model_name, str(settings.movielens_dir()), str(settings.overviews_path()))
    with _LOADING:
        if key in _LOADED:
            return _LOADED[key]
        started = time.perf_counter()
        ml = load_movielens(settings.movielens_dir())
        catalog = Catalog.from_movielens(ml, settings.overviews_path())
        model = make_model(model_name)
        model.fit(ml.ratings, ml.movies)
        seconds = time.perf_counter() - started
        version = f"{model_name}@{ml.name}"
        _LOADED[key] = Loaded(catalog, model, model_name, version, seconds)
        log.info("loaded %s in %.1fs", version, seconds)
        return _LOADED[key]


class ModelService:
    """Per-app access to the loaded models (see the module docstring)."""

    def __init__(self, store: Store, config: dict[str, Any]) -> None:
        self.store = store
        self.model_name = config["RECOMMENDER_MODEL"]
        self.cache_size = config["RECS_CACHE_SIZE"]
        self.cache_ttl = config["RECS_CACHE_TTL_SECONDS"]
        self.loaded: Loaded | None = None
        self.error: str | None = None
        self._thread: threading.Thread | None = None
        self._memo: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._memo_lock = threading.Lock()

    # --- start-up --------------------------------------------------------------------------

    def start(self, background: bool = True) -> None:
        """Load models (in a daemon thread when ``background``), then sync the user pool."""
        if background:
            self._thread = threading.Thread(target=self._load, name="model-loader", daemon=True)
            self._thread.start()
        else:
            self._load()

    def _load(self) -> None:
        try:
            loaded = load(self.model_name)
            self._resync(loaded)
            self.loaded = loaded
        except Exception as exc:  # reported by /readyz and logged; the process stays up
            log.exception("loading models failed")
            self.error = f"{type(exc).__name__}: {exc}"

    def wait_ready(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.loaded is not None

    @property
    def ready(self) -> bool:
        return self.loaded is not None

    def status(self) -> dict[str, Any]:
        """For /readyz: which models are loaded and how long loading took."""
        if self.loaded is None:
            state = "failed" if self.error else "loading"
            return {"models": {self.model_name: state}, "model_version": None}
        return {
            "models": {self.model_name: "loaded", "catalog": "loaded"},
            "model_version": self.loaded.model_version,
            "load_seconds": round(self.loaded.load_seconds, 2),
        }

    def require(self) -> Loaded:
        if self.loaded is None:
            raise ApiError(
                503,
                "not_ready",
                "The worker is still loading its models.",
                headers={"Retry-After": "5"},
            )
        return self.loaded

    @property
    def catalog(self):
        return self.require().catalog

    # --- neighbour pool --------------------------------------------------------------------

    def _upsert(self, loaded: Loaded, user_id: str, profile: dict[int, float] | None) -> None:
        upsert = getattr(loaded.model, "upsert_user", None)
        if upsert is None:
            return
        key = user_model_key(user_id)
        upsert(key, profile or None)
        if profile:
            loaded.pool.add(key)
        else:
            loaded.pool.discard(key)

    def _resync(self, loaded: Loaded) -> None:
        """Rebuild the pool from Redis: every user's ratings, dropping users Redis lacks."""
        with loaded.lock:
            loaded.last_change = self.store.last_change_id()
            wanted = {user_model_key(u): u for u in self.store.all_user_ids()}
            for key in list(loaded.pool - set(wanted)):
                loaded.model.upsert_user(key, None)
                loaded.pool.discard(key)
            profiles = self.store.profiles(list(wanted.values()))
            for user_id, profile in profiles.items():
                self._upsert(loaded, user_id, profile)

    def sync(self) -> int:
        """Apply rating changes made by any process since the last sync; returns users updated."""
        loaded = self.require()
        if getattr(loaded.model, "upsert_user", None) is None:
            return 0
        with loaded.lock:
            changes = self.store.changes_since(loaded.last_change)
            if not changes:
                return 0
            oldest = self.store.oldest_change_id()
            if loaded.last_change != "0-0" and oldest and _id_after(oldest, loaded.last_change):
                self._resync(loaded)  # the stream was trimmed past us: reload everyone
                return len(loaded.pool)
            users = {user for _, user in changes}
            for user_id, profile in self.store.profiles(sorted(users)).items():
                self._upsert(loaded, user_id, profile)
            loaded.last_change = changes[-1][0]
            return len(users)

    # --- recommendations -------------------------------------------------------------------

    def recommendations(self, user_id: str) -> dict[str, Any]:
        """The user's cached list, or a fresh one computed and cached now.

        Returns ``{"model", "model_version", "computed_at", "ratings_version",
        "neighbour_count", "items", "cached"}``; items hold movie_id, predicted_rating (0.5–5),
        match (0–100) and evidence (see :func:`explain` for the reasons). 422
        ``not_enough_ratings`` below five ratings.
        """
        loaded = self.require()
        held = self._memo.get(user_id)
        held_version = held["ratings_version"] if held else -1
        count, version, cached = self.store.recs_state(user_id, held_version)
        if version == held_version and held is not None:
            cached = held
        if count < MIN_RATINGS:
            needed = MIN_RATINGS - count
            raise ApiError(
                422,
                "not_enough_ratings",
                f"Rate {needed} more movie{'s' if needed != 1 else ''} to get recommendations.",
                fields={"ratings_needed": needed},
            )
        if cached is not None and cached.get("model_version") == loaded.model_version:
            self._remember(user_id, cached)
            return {**cached, "cached": True}
        profile, version = self.store.profile_and_version(user_id)  # one consistent snapshot
        if len(profile) < MIN_RATINGS:  # a rating was removed meanwhile
            return self.recommendations(user_id)
        self.sync()  # the model scores on a snapshot of its pool: no lock needed to score
        recs = loaded.model.recommend(profile, k=self.cache_size, user=user_model_key(user_id))
        items = []
        for i, movie_id in enumerate(recs.movie_ids.tolist()):
            if movie_id in profile:
                continue
            items.append(
                {
                    "movie_id": movie_id,
                    "predicted_rating": round(float(recs.predicted[i]), 2),
                    "match": round(float(recs.match[i])),
                    "evidence": {k: _clean(v) for k, v in recs.evidence[i].items()},
                }
            )
        doc = {
            "model": loaded.model_name,
            "model_version": loaded.model_version,
            "computed_at": datetime.now(UTC).isoformat(timespec="microseconds"),
            "ratings_version": version,
            "neighbour_count": recs.context.get("neighbour_count"),
            "items": items,
        }
        neighbours = [
            {k: _clean(v) for k, v in n.items()} for n in recs.context.get("neighbours", [])
        ]
        if self.store.save_recs(user_id, version, doc, neighbours, self.cache_ttl):
            self._remember(user_id, doc)
        return {**doc, "cached": False}

    def _remember(self, user_id: str, doc: dict[str, Any]) -> None:
        """Keep the parsed list of recently served users in process memory (saves moving and
        parsing the JSON again); valid exactly while Redis holds the same ratings version."""
        with self._memo_lock:
            self._memo[user_id] = doc
            self._memo.move_to_end(user_id)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)


def explain(item: dict[str, Any], neighbour_count: int | None) -> dict[str, Any]:
    """A cached item as the API shows it (without the movie): adds ``reason`` and ``reasons``.

    Reasons are written when a page is served, so the cache holds numbers only."""
    predicted = item["predicted_rating"]
    reason = describe(item["evidence"], predicted, neighbour_count)
    return {
        "predicted_rating": predicted,
        "match": item["match"],
        "reason": reason,
        "reasons": [reason, f"Predicted rating for you: {predicted:.1f}★"],
        "evidence": item["evidence"],
    }


def describe(evidence: dict[str, Any], predicted: float, neighbour_count: int | None) -> str:
    """One line a person understands, from a recommendation's evidence."""
    rated, liked = evidence.get("neighbours_rated"), evidence.get("neighbours_liked")
    if rated is not None and neighbour_count:
        liked_part = f", {liked} gave it 4★+" if liked is not None else ""
        return f"{rated} of your {neighbour_count} taste neighbours rated it{liked_part}"
    return f"We predict you would rate it {predicted:.1f}★"


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None."""
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _id_after(a: str, b: str) -> bool:
    """Whether stream id ``a`` is later than stream id ``b`` (ids are 'ms-seq')."""
    a_ms, a_seq = (int(x) for x in a.split("-"))
    b_ms, b_seq = (int(x) for x in b.split("-"))
    return (a_ms, a_seq) > (b_ms, b_seq)
