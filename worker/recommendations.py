"""The model service: loads the catalogue, the recommender and the movie vectors once per
process, keeps the model's pool of app users current, swaps in new model versions without a
restart, and computes or serves cached recommendation lists.

**Which model** (``RECOMMENDER_MODEL``, default ``auto``): ``auto`` and ``blend`` serve the saved
blend (``ARTIFACTS_DIR/blend/LATEST``, :class:`recommender.blend.BlendRecommender`) when there
is one, else Pearson fitted at start from the ratings; any other registry name is fitted at
start. ``/readyz`` says which model and version are served and why (``model_reason``).

**Movie vectors** (similar movies, discover, describe what you want): SBERT content vectors
from ``ARTIFACTS_DIR/sbert`` (``scripts/embed.py``), else the content vectors inside the blend;
similar movies combine them with the genres and, when an ``embed`` artifact exists, the
``embed`` neural model's movie embeddings (:class:`recommender.similar.MoreLikeThis`). The
SBERT encoder (for free-text queries) is loaded at start when there are content vectors.
Missing vectors only disable those routes (503 ``not_ready``).

**Start-up**: :meth:`ModelService.start` loads everything in a background thread, so
``/healthz`` answers at once and ``/readyz`` says 503 until loading is done. Loaded objects
are shared by every app created in the same process (tests create many).

**Hot reload**: at most every ``RELOAD_CHECK_SECONDS`` (30) per service, a request (or a
``/readyz`` probe) reads the blend and ``embed`` ``latest`` pointers (two small file reads).
When one names another version, a background thread loads it, re-adds the app users to its
neighbour pool and then swaps the reference in one assignment: requests already running finish
with the old model, later ones get the new one, none waits. A version that fails to load is
not retried until the pointer changes again (``/readyz`` shows ``reload_error``).

**Neighbour pool**: a neighbourhood model (Pearson, or the blend's Pearson component) also uses
the app's users as neighbours, through ``upsert_user(key, profile)``. Each process first loads
every app user, then, before each fresh scoring, reads the Redis change stream from where it
stopped and re-reads only the users whose ratings changed. Only accounts old enough and with
enough ratings join, and at most a few per list (:mod:`worker.trust`, against shilling).

**Cache**: a computed list (top ``RECS_CACHE_SIZE`` = 240) and its neighbours are stored under
the user's ratings version *and* the model version (``recs:{id}:{version}`` hash field
``model_version``): a rating change or a new model version means a fresh list.

**Explained when shown**: working out the evidence and reasons of a movie costs about as much as
ranking it, so a fresh list explains only its first page (``RECS_EXPLAIN_FIRST`` = 24); a
later page is explained the first time it is asked for (:meth:`ModelService.page`) and the
cached list is updated, so it is explained once. An item whose ``evidence`` is ``None`` has not
been explained yet.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from recommender import settings
from recommender.describe import description_match, story_reason
from worker import artifacts, trust
from worker.errors import ApiError
from worker.store import Store

log = logging.getLogger("worker.models")

MIN_RATINGS = 5
MEMO_SIZE = 1024
QUERY_CANDIDATES = 200


def user_model_key(user_id: str) -> str:
    """The key an app user has in a model's neighbour pool (never a MovieLens userId)."""
    return f"app:{user_id}"


def neighbour_pool(model: Any) -> Any | None:
    """The object whose ``upsert_user`` keeps app users as neighbours: the model itself
    (Pearson, or the blend, which passes it to its Pearson component), or ``None`` when the
    model has no such pool."""
    return model if callable(getattr(model, "upsert_user", None)) else None


@dataclass
class Loaded:
    """The catalogue and the recommender one process serves, with the pool bookkeeping.

    ``artifact`` is the blend version it came from (``None`` for a model fitted at start)."""

    catalog: Any
    model: Any
    model_name: str
    model_version: str
    load_seconds: float
    artifact: str | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    pool: set[str] = field(default_factory=set)
    last_change: str = "0-0"
    waiting: dict[str, float] = field(default_factory=dict)  # user id -> when they may join


@dataclass
class Content:
    """Movie vectors for similar movies, discover and free-text queries.

    ``vectors``: SBERT :class:`recommender.content.MovieVectors` (``source`` "sbert" or "blend",
    ``version`` says which); ``embed``: :class:`recommender.similar.MovieVectors` of the embed
    model (``embed_version``); ``popular``: ids with a content vector, most rated first;
    ``allowed``: those with at least ``DISCOVER_MIN_RATINGS`` ratings; ``genres_of``: genres by
    id; ``encoder``: "loaded", "failed" or "none" (the SBERT encoder for queries)."""

    vectors: Any = None
    source: str | None = None
    version: str | None = None
    embed: Any = None
    embed_version: str | None = None
    embed_error: str | None = None
    popular: list[int] = field(default_factory=list)
    allowed: list[int] = field(default_factory=list)
    genres_of: dict[int, list[str]] = field(default_factory=dict)
    encoder: str = "none"
    more_like_this: Any = None  # recommender.similar.MoreLikeThis over the catalogue
    story: Any = None  # recommender.describe.StoryMatcher (with the encoder)


# Process-wide caches: one catalogue per data folder, one fitted model per name and data folder,
# one blend / embed / SBERT load per file version.
_CATALOGS: dict[tuple, tuple[Any, Any]] = {}
_FITTED: dict[tuple, Loaded] = {}
_BLENDS: dict[tuple, Loaded] = {}
_EMBEDS: dict[tuple, Any] = {}
_SBERT: dict[tuple, Any] = {}
_LOADING = threading.Lock()
_ENCODER_STATE: dict[str, str] = {}


def load_catalog() -> tuple[Any, Any]:
    """``(catalog, MovieLens)`` of the configured data, loaded once per process."""
    from recommender.catalog import Catalog
    from recommender.movielens import load_movielens

    key = (str(settings.movielens_dir()), str(settings.overviews_path()))
    with _LOADING:
        if key not in _CATALOGS:
            ml = load_movielens(settings.movielens_dir())
            _CATALOGS[key] = (Catalog.from_movielens(ml, settings.overviews_path()), ml)
        return _CATALOGS[key]


def load(model_name: str) -> Loaded:
    """Fit (or reuse, within this process) registry model ``model_name`` on the ratings."""
    from recommender.models import make_model

    key = (model_name, str(settings.movielens_dir()), str(settings.overviews_path()))
    started = time.perf_counter()
    catalog, ml = load_catalog()
    with _LOADING:
        if key in _FITTED:
            return _FITTED[key]
        model = make_model(model_name)
        model.fit(ml.ratings, ml.movies)
        seconds = time.perf_counter() - started
        loaded = Loaded(catalog, model, model_name, f"{model_name}@{ml.name}", seconds)
        _FITTED[key] = loaded
        log.info("fitted %s in %.1fs", loaded.model_version, seconds)
        return loaded


def warm_up(model: Any, catalog: Any) -> None:
    """Answer two made-up profiles (5 and 40 of the most-rated movies) before serving.

    The first calls of a TensorFlow-backed model trace and compile its functions (seconds);
    doing it here, before the model is marked ready or swapped in, keeps that out of the
    first people's requests."""
    movie_ids = catalog.ids[np.argsort(-catalog.rating_counts, kind="stable")[:40]].tolist()
    for size in (5, 40):
        model.recommend({movie_id: 4.0 for movie_id in movie_ids[:size]}, k=24)


def load_blend(artifacts_dir: Path, version: str) -> Loaded:
    """Load blend ``version`` from ``artifacts_dir`` (once per process and version)."""
    from recommender.blend import BlendRecommender

    key = (str(artifacts_dir), version)
    started = time.perf_counter()
    catalog, _ = load_catalog()
    with _LOADING:
        if key not in _BLENDS:
            model = BlendRecommender.load(artifacts.blend_folder(artifacts_dir, version))
            warm_up(model, catalog)
            seconds = time.perf_counter() - started
            for old in [k for k in _BLENDS if k[0] == key[0]]:
                del _BLENDS[old]  # keep one version per folder; services hold their own
            _BLENDS[key] = Loaded(catalog, model, "blend", f"blend@{version}", seconds, version)
            log.info("loaded blend %s in %.1fs", version, seconds)
        return _BLENDS[key]


def load_embed(artifacts_dir: Path, version: str, min_ratings: int) -> Any:
    """The ``embed`` model's movie vectors (:class:`recommender.similar.MovieVectors`)."""
    from recommender.neural.artifacts import load_artifact, model_dir
    from recommender.similar import MovieVectors

    key = (str(artifacts_dir), version, min_ratings)
    with _LOADING:
        if key not in _EMBEDS:
            folder = model_dir(artifacts.SIMILAR_MODEL, artifacts_dir) / version
            model = load_artifact(folder)
            for old in [k for k in _EMBEDS if k[0] == key[0]]:
                del _EMBEDS[old]
            _EMBEDS[key] = MovieVectors.from_model(model, min_ratings)
            log.info("loaded embed vectors %s", version)
        return _EMBEDS[key]


def load_sbert(folder: Path) -> tuple[Any, str]:
    """Saved SBERT content vectors and a version label (the files' modification time)."""
    from recommender.content import MovieVectors

    stamp = (folder / "vectors.npy").stat().st_mtime_ns
    key = (str(folder), stamp)
    with _LOADING:
        if key not in _SBERT:
            _SBERT[key] = MovieVectors.load(folder)
        version = datetime.fromtimestamp(stamp / 1e9, UTC).strftime("%Y%m%dT%H%M%SZ")
        return _SBERT[key], f"sbert@{version}"


def warm_encoder() -> str:
    """Load the SBERT encoder once per process ("loaded" or "failed")."""
    with _LOADING:
        if "state" not in _ENCODER_STATE:
            try:
                from recommender.content import default_encoder

                default_encoder()(["warm up"])
                _ENCODER_STATE["state"] = "loaded"
            except Exception:
                log.exception("the SBERT encoder failed to load; free-text queries are off")
                _ENCODER_STATE["state"] = "failed"
        return _ENCODER_STATE["state"]


class ModelService:
    """Per-app access to the loaded models (see the module docstring)."""

    def __init__(self, store: Store, config: dict[str, Any]) -> None:
        self.store = store
        self.requested = config["RECOMMENDER_MODEL"]
        self.artifacts_dir = Path(config.get("ARTIFACTS_DIR") or settings.artifacts_dir())
        self.reload_every = float(config.get("RELOAD_CHECK_SECONDS", 30.0))
        self.similar_min_ratings = int(config.get("SIMILAR_MIN_RATINGS", 5))
        self.discover_min_ratings = int(config.get("DISCOVER_MIN_RATINGS", 10))
        self.cache_size = config["RECS_CACHE_SIZE"]
        self.explain_first = int(config.get("RECS_EXPLAIN_FIRST", 24))
        self.cache_ttl = config["RECS_CACHE_TTL_SECONDS"]
        self.query_ttl = int(config.get("QUERY_CACHE_TTL_SECONDS", 600))
        self.policy = trust.NeighbourPolicy.from_config(config)
        self.loaded: Loaded | None = None
        self.content: Content | None = None
        self.reason: str | None = None
        self.error: str | None = None
        self.reload_error: str | None = None
        self.reloaded_at: str | None = None
        self._failed: set[tuple[str, str]] = set()
        self._next_check = 0.0
        self._check_lock = threading.Lock()
        self._reloader: threading.Thread | None = None
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
            loaded, reason = self._load_model()
            self._resync(loaded)
            self.content = self._load_content(loaded)
            self.reason = reason
            self.loaded = loaded
            self._next_check = time.monotonic() + self.reload_every
        except Exception as exc:  # reported by /readyz and logged; the process stays up
            log.exception("loading models failed")
            self.error = f"{type(exc).__name__}: {exc}"

    def _watches_blend(self) -> bool:
        return self.requested in ("auto", "blend")

    def _load_model(self) -> tuple[Loaded, str]:
        """The model to serve and why (see the module docstring)."""
        if not self._watches_blend():
            return load(self.requested), f"RECOMMENDER_MODEL={self.requested}"
        version = artifacts.blend_version(self.artifacts_dir)
        if version is not None:
            try:
                loaded = load_blend(self.artifacts_dir, version)
                return loaded, f"blend artifact {version} (ARTIFACTS_DIR/blend/LATEST)"
            except Exception as exc:
                log.exception("blend %s failed to load; falling back to pearson", version)
                self._failed.add(("blend", version))
                why = f"blend {version} failed to load ({type(exc).__name__}: {exc})"
        else:
            why = "no blend artifact in ARTIFACTS_DIR/blend"
        loaded = load("pearson")
        return loaded, f"{why}; serving pearson fitted at start on the ratings"

    def _load_content(self, loaded: Loaded, previous: Content | None = None) -> Content:
        """Content vectors (SBERT file, else the blend's), embed vectors and the encoder."""
        content = Content()
        folder = artifacts.sbert_folder(self.artifacts_dir)
        if folder is not None:
            try:
                content.vectors, content.version = load_sbert(folder)
                content.source = "sbert"
            except Exception:
                log.exception("SBERT vectors in %s failed to load", folder)
        if content.vectors is None and getattr(loaded.model, "vectors", None) is not None:
            content.vectors, content.source = loaded.model.vectors, "blend"
            content.version = loaded.model_version
        if previous is not None and previous.embed_version is not None:
            content.embed, content.embed_version = previous.embed, previous.embed_version
        else:
            version = artifacts.embed_version(self.artifacts_dir)
            if version is not None:
                self._load_embed_into(content, version)
        if content.vectors is not None:
            catalog = loaded.catalog
            with_vector = np.isin(catalog.ids, content.vectors.movie_ids)
            order = np.lexsort((catalog.ids, -catalog.rating_counts))
            order = order[with_vector[order]]
            content.popular = [int(m) for m in catalog.ids[order]]
            enough = catalog.rating_counts[order] >= self.discover_min_ratings
            content.allowed = [int(m) for m in catalog.ids[order][enough]]
            content.genres_of = {
                int(catalog.ids[p]): list(catalog.genre_lists[p]) for p in order.tolist()
            }
            content.encoder = warm_encoder()
        self._similar_into(content, loaded.catalog)
        return content

    def _similar_into(self, content: Content, catalog: Any) -> None:
        """Build "more like this" (story, genres and audience; :mod:`recommender.similar`)
        and the story matcher of described movies from what ``content`` holds."""
        from recommender.describe import StoryMatcher
        from recommender.similar import MoreLikeThis

        if content.vectors is not None or content.embed is not None:
            content.more_like_this = MoreLikeThis.build(
                catalog,
                content=content.vectors,
                embed=content.embed,
                min_ratings=self.similar_min_ratings,
            )
        if content.encoder == "loaded":
            from recommender.content import default_encoder

            content.story = StoryMatcher.from_encoder(default_encoder())

    def _load_embed_into(self, content: Content, version: str) -> bool:
        try:
            content.embed = load_embed(self.artifacts_dir, version, self.similar_min_ratings)
            content.embed_version = version
            return True
        except Exception as exc:
            log.exception("embed %s failed to load; similar movies use SBERT vectors", version)
            self._failed.add(("embed", version))
            content.embed_error = f"{type(exc).__name__}: {exc}"
            return False

    def wait_ready(self, timeout: float | None = None) -> bool:
        if self._thread is not None:
            self._thread.join(timeout)
        return self.loaded is not None

    @property
    def ready(self) -> bool:
        return self.loaded is not None

    def status(self) -> dict[str, Any]:
        """For /readyz: which models are loaded, which version is served and why."""
        self.maybe_reload()
        loaded, content = self.loaded, self.content
        if loaded is None:
            state = "failed" if self.error else "loading"
            name = self.requested if not self._watches_blend() else "model"
            return {"models": {name: state}, "model": None, "model_version": None}
        models = {loaded.model_name: "loaded", "catalog": "loaded"}
        versions: dict[str, str | None] = {}
        if content is not None:
            models["content_vectors"] = "loaded" if content.vectors is not None else "missing"
            versions["content_vectors"] = content.version
            if content.embed is not None:
                models["embed"] = "loaded"
            else:
                models["embed"] = "failed" if content.embed_error else "missing"
            versions["embed"] = content.embed_version
            models["sbert_encoder"] = content.encoder if content.vectors is not None else "none"
        body: dict[str, Any] = {
            "models": models,
            "model": loaded.model_name,
            "model_version": loaded.model_version,
            "model_reason": self.reason or "",
            "versions": versions,
            "load_seconds": round(loaded.load_seconds, 2),
        }
        if self.reloaded_at:
            body["reloaded_at"] = self.reloaded_at
        if self.reload_error:
            body["reload_error"] = self.reload_error
        return body

    def require(self) -> Loaded:
        if self.loaded is None:
            raise ApiError(
                503,
                "not_ready",
                "The worker is still loading its models.",
                headers={"Retry-After": "5"},
            )
        self.maybe_reload()
        return self.loaded

    def require_content(self, *, vectors: bool = True, encoder: bool = False) -> Content:
        """The movie vectors, or 503 ``not_ready`` when none are loaded."""
        self.require()
        content = self.content
        if content is None:
            missing = True
        elif vectors:
            missing = content.vectors is None
        else:
            missing = content.vectors is None and content.embed is None
        if not missing and encoder and content.encoder != "loaded":
            missing = True
        if missing:
            raise ApiError(
                503,
                "not_ready",
                "Movie vectors are not available on this worker yet "
                "(python -m scripts.embed writes them).",
                headers={"Retry-After": "30"},
            )
        return content

    @property
    def catalog(self):
        return self.require().catalog

    # --- hot reload ------------------------------------------------------------------------

    def maybe_reload(self) -> None:
        """Cheap check of the artifact pointers, at most every ``RELOAD_CHECK_SECONDS``; a new
        version is loaded in a background thread and swapped in when ready."""
        if self.loaded is None or self.reload_every < 0:
            return
        now = time.monotonic()
        if now < self._next_check:
            return
        with self._check_lock:
            if now < self._next_check or (self._reloader and self._reloader.is_alive()):
                return
            self._next_check = now + self.reload_every
            changes = self._pending_changes()
            if not changes:
                return
            self._reloader = threading.Thread(
                target=self._reload, args=(changes,), name="model-reloader", daemon=True
            )
            self._reloader.start()

    def _pending_changes(self) -> dict[str, str]:
        changes: dict[str, str] = {}
        if self._watches_blend():
            version = artifacts.blend_version(self.artifacts_dir)
            known = version == self.loaded.artifact or ("blend", version) in self._failed
            if version and not known:
                changes["blend"] = version
        content = self.content
        version = artifacts.embed_version(self.artifacts_dir)
        current = content.embed_version if content else None
        if version and version != current and ("embed", version) not in self._failed:
            changes["embed"] = version
        return changes

    def _reload(self, changes: dict[str, str]) -> None:
        """Load what changed, then swap the references (runs in the reloader thread)."""
        loaded, content = self.loaded, self.content
        try:
            if "blend" in changes:
                try:
                    new = load_blend(self.artifacts_dir, changes["blend"])
                    self._resync(new)
                    loaded = new
                    self.reason = f"blend artifact {changes['blend']} (reloaded)"
                except Exception as exc:
                    log.exception("reloading blend %s failed; keeping the current model", changes)
                    self._failed.add(("blend", changes["blend"]))
                    self.reload_error = f"blend {changes['blend']}: {type(exc).__name__}: {exc}"
            new_content = self._load_content(loaded, previous=content)
            if "embed" in changes:
                fresh = replace(new_content, embed=None, embed_version=None, embed_error=None)
                if self._load_embed_into(fresh, changes["embed"]):
                    self._similar_into(fresh, loaded.catalog)
                    new_content = fresh
                else:
                    self.reload_error = f"embed {changes['embed']}: {fresh.embed_error}"
            # The swap: two reference assignments; running requests keep what they hold.
            self.content = new_content
            self.loaded = loaded
            self.reloaded_at = datetime.now(UTC).isoformat(timespec="seconds")
            log.info("serving %s (embed %s)", loaded.model_version, new_content.embed_version)
        except Exception as exc:
            log.exception("reload failed")
            self.reload_error = f"{type(exc).__name__}: {exc}"

    # --- neighbour pool --------------------------------------------------------------------

    def _upsert(self, loaded: Loaded, user_id: str, profile: dict[int, float] | None) -> None:
        pool = neighbour_pool(loaded.model)
        if pool is None:
            return
        key = user_model_key(user_id)
        pool.upsert_user(key, profile or None)
        if profile:
            loaded.pool.add(key)
        else:
            loaded.pool.discard(key)

    def _resync(self, loaded: Loaded) -> None:
        """Rebuild the pool from Redis: every user's ratings, dropping users Redis lacks."""
        pool = neighbour_pool(loaded.model)
        if pool is None:
            return
        with loaded.lock:
            loaded.last_change = self.store.last_change_id()
            wanted = {user_model_key(u): u for u in self.store.all_user_ids()}
            for key in list(loaded.pool - set(wanted)):
                pool.upsert_user(key, None)
                loaded.pool.discard(key)
            trust.apply_cap(loaded.model, self.policy)
            self._admit(loaded, self.store.profiles(list(wanted.values())))

    def _admit(self, loaded: Loaded, profiles: dict[str, dict[int, float]]) -> None:
        """Put each user in the pool with their profile if the neighbour policy lets them in
        now (:mod:`worker.trust`); otherwise out of it, and remembered in ``waiting`` until the
        time they may join."""
        created = self.store.created_at_of(list(profiles))
        now = time.time()
        for user_id, profile in profiles.items():
            due = self.policy.eligible_at(created.get(user_id), len(profile))
            admitted = bool(profile) and due is not None and due <= now
            if profile and due is not None and due > now:
                loaded.waiting[user_id] = due
            else:
                loaded.waiting.pop(user_id, None)
            self._upsert(loaded, user_id, profile if admitted else None)

    def sync(self, loaded: Loaded | None = None) -> int:
        """Apply rating changes made by any process since the last sync; returns users updated."""
        loaded = loaded or self.require()
        if neighbour_pool(loaded.model) is None:
            return 0
        with loaded.lock:
            now = time.time()
            due = sorted(u for u, when in loaded.waiting.items() if when <= now)
            if due:  # accounts old enough now to count as neighbours
                self._admit(loaded, self.store.profiles(due))
            changes = self.store.changes_since(loaded.last_change)
            if not changes:
                return len(due)
            oldest = self.store.oldest_change_id()
            if loaded.last_change != "0-0" and oldest and _id_after(oldest, loaded.last_change):
                self._resync(loaded)  # the stream was trimmed past us: reload everyone
                return len(loaded.pool)
            users = {user for _, user in changes}
            self._admit(loaded, self.store.profiles(sorted(users)))
            loaded.last_change = changes[-1][0]
            return len(users)

    # --- recommendations -------------------------------------------------------------------

    def recommendations(self, user_id: str) -> dict[str, Any]:
        """The user's cached list, or a fresh one computed and cached now.

        Returns ``{"model", "model_version", "computed_at", "ratings_version",
        "neighbour_count", "items", "cached"}``; items hold movie_id, predicted_rating (0.5–5),
        match (0–100) and evidence (``None`` beyond the pages explained so far: use
        :meth:`page`; see :func:`explain` for the reasons). 422 ``not_enough_ratings`` below
        five ratings.
        """
        loaded = self.require()
        held = self._memo.get(user_id)
        if held is not None and held.get("model_version") != loaded.model_version:
            held = None
        held_version = held["ratings_version"] if held else -1
        count, version, cached = self.store.recs_state(user_id, held_version, loaded.model_version)
        if version == held_version and held is not None:
            cached = held
        if count < MIN_RATINGS:
            raise not_enough_ratings(count)
        if cached is not None and cached.get("model_version") == loaded.model_version:
            self._remember(user_id, cached)
            return {**cached, "cached": True}
        profile, version = self.store.profile_and_version(user_id)  # one consistent snapshot
        if len(profile) < MIN_RATINGS:  # a rating was removed meanwhile
            return self.recommendations(user_id)
        self.sync(loaded)  # the model scores on a snapshot of its pool: no lock needed to score
        recs = loaded.model.recommend(
            profile,
            k=self.cache_size,
            user=user_model_key(user_id),
            explain_first=self.explain_first,
        )
        doc = {
            "model": loaded.model_name,
            "model_version": loaded.model_version,
            "computed_at": _now(),
            "ratings_version": version,
            "neighbour_count": recs.context.get("neighbour_count"),
            "items": _items(recs, profile),
        }
        neighbours = [
            {k: _clean(v) for k, v in n.items()} for n in recs.context.get("neighbours", [])
        ]
        if self.store.save_recs(
            user_id, version, doc, neighbours, self.cache_ttl, loaded.model_version
        ):
            self._remember(user_id, doc)
        return {**doc, "cached": False}

    def query_recommendations(self, user_id: str, query: str) -> dict[str, Any]:
        """Movies matching a free-text description, ranked for the user.

        The query is encoded with SBERT and its ``QUERY_CANDIDATES`` (200) nearest movies are
        the candidates, ranked by meaning first (:mod:`recommender.describe`: closeness to the
        description and of the best sentence of the story, then how many rated it). With >= 5
        ratings the model's match for the user is the taste that reorders movies of similar
        meaning (``ranked_by`` "model"; items keep the model's match and stars); with fewer,
        there is no taste (``ranked_by`` "description", ``match`` =
        :func:`recommender.describe.description_match`, falling in the list's order). Every
        item's first reason is the sentence of its story that matches (``story_match``).
        Items ranked by the model carry ``query_similarity`` and are explained a page at a
        time, as in :meth:`recommendations`. Cached per (user, ratings version, model
        version, query) for ``QUERY_CACHE_TTL_SECONDS``; the doc's ``digest`` names that
        cache entry.
        """
        from recommender.content import describe as encode_query

        loaded = self.require()
        content = self.require_content(encoder=True)
        text = " ".join(query.split())
        profile, version = self.store.profile_and_version(user_id)
        digest = hashlib.sha256(
            f"{loaded.model_version}\n{content.version}\n{version}\n{text.casefold()}".encode()
        ).hexdigest()[:32]
        cached = self.store.query_recs(user_id, digest)
        if cached is not None:
            return {**cached, "cached": True}
        ids, cosines = encode_query(text, content.vectors, QUERY_CANDIDATES)
        similarity = {int(m): float(c) for m, c in zip(ids.tolist(), cosines.tolist(), strict=True)}
        catalog = loaded.catalog
        candidates = [m for m in similarity if m not in profile and m in catalog]
        key = user_model_key(user_id)
        doc: dict[str, Any] = {
            "model": loaded.model_name,
            "model_version": loaded.model_version,
            "computed_at": _now(),
            "ratings_version": version,
            "query": text,
            "digest": digest,
        }
        if len(profile) >= MIN_RATINGS and candidates:
            self.sync(loaded)
            recs = loaded.model.recommend(
                profile,
                k=len(candidates),
                candidates=candidates,
                user=key,
                explain_first=self.explain_first,
            )
            items = _items(recs, profile)
            taste = [float(item["match"]) for item in items]
            ids = [item["movie_id"] for item in items]
            order, _, stories = _rank_query(content, catalog, text, ids, similarity, taste)
            for item, story in zip(items, stories, strict=True):
                item["query_similarity"] = round(similarity[item["movie_id"]], 3)
                item["story_match"] = story
            items = [items[i] for i in order]
            doc.update(ranked_by="model", neighbour_count=recs.context.get("neighbour_count"))
            doc["items"] = items
        else:
            predicted = _safe_predict(loaded.model, profile, candidates, key)
            needed = max(0, MIN_RATINGS - len(profile))
            items = []
            order, fit, stories = _rank_query(content, catalog, text, candidates, similarity)
            for position, score in zip(order, fit, strict=True):
                movie_id, stars = candidates[position], predicted[position]
                cosine = similarity[movie_id]
                reason = story_reason(stories[position], cosine)
                reasons = [reason]
                if needed:
                    plural = "s" if needed != 1 else ""
                    reasons.append(f"Rate {needed} more movie{plural} to rank these for you")
                items.append(
                    {
                        "movie_id": movie_id,
                        "predicted_rating": round(float(stars), 2),
                        "match": description_match(score),
                        "reason": reason,
                        "reasons": reasons,
                        "evidence": {
                            "query_similarity": round(cosine, 3),
                            "story_match": stories[position],
                        },
                    }
                )
            doc.update(ranked_by="description", items=items)
        self.store.save_query_recs(user_id, digest, doc, self.query_ttl)
        return {**doc, "cached": False}

    def page(
        self, user_id: str, start: int, size: int, query: str | None = None
    ) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """``(doc, items)``: the user's list (:meth:`recommendations`, or
        :meth:`query_recommendations` with ``query``) and its items ``start:start + size``,
        every one of them explained.

        Items not explained yet are explained now with one call of the model's ``explain`` and
        the cached list is updated (unless the ratings or the model changed meanwhile); the
        doc's ``explained_now`` says how many (0 when the page was explained already).
        """
        if query is None:
            doc = self.recommendations(user_id)
        else:
            doc = self.query_recommendations(user_id, query)
        items = doc["items"][start : start + size]
        unexplained = [item["movie_id"] for item in items if item["evidence"] is None]
        if unexplained and query is None and doc["cached"]:
            # another process may have explained this page already: its copy is in Redis
            saved = self.store.cached_recs(user_id, doc["ratings_version"], doc["model_version"])
            if saved is not None:
                doc = {**saved, "cached": True}
                items = doc["items"][start : start + size]
                unexplained = [item["movie_id"] for item in items if item["evidence"] is None]
                self._remember(user_id, saved)
        if unexplained:
            doc = self._explain(user_id, doc, unexplained)
            items = doc["items"][start : start + size]
        return {**doc, "explained_now": len(unexplained)}, items

    def _explain(self, user_id: str, doc: dict[str, Any], movie_ids: list[int]) -> dict[str, Any]:
        """``doc`` with the evidence of ``movie_ids`` filled in, saved back to the cache."""
        loaded = self.require()
        profile, version = self.store.profile_and_version(user_id)
        self.sync(loaded)
        evidence = loaded.model.explain(profile, movie_ids, user=user_model_key(user_id))
        found = {m: _clean(e) for m, e in zip(movie_ids, evidence, strict=True)}
        items = [
            {**item, "evidence": found[item["movie_id"]]} if item["movie_id"] in found else item
            for item in doc["items"]
        ]
        cached = doc["cached"]
        updated = {k: v for k, v in doc.items() if k != "cached"} | {"items": items}
        current = version == doc["ratings_version"] and loaded.model_version == doc["model_version"]
        if current and "query" in doc:
            self.store.save_query_recs(user_id, doc["digest"], updated, self.query_ttl)
        elif current and self.store.update_recs(user_id, version, updated, doc["model_version"]):
            self._remember(user_id, updated)
        return {**updated, "cached": cached}

    def similar(self, movie_id: int, k: int) -> tuple[list[int], list[float], str]:
        """The ``k`` movies most like ``movie_id`` in the catalogue: ``(ids, scores, source)``.

        Story, genres and audience together (:class:`recommender.similar.MoreLikeThis`; the
        scores are its :meth:`~recommender.similar.MoreLikeThis.closeness`, -1..1, best
        first); source "embed" when the embed model's vectors took part, else "sbert". Empty
        lists when no vector covers the movie."""
        self.require()
        content = self.require_content(vectors=False)
        if content.more_like_this is None:
            return [], [], "sbert"
        ids, scores, parts = content.more_like_this.similar(movie_id, k)
        source = "embed" if "embed" in parts else "sbert"
        closeness = content.more_like_this.closeness(scores)
        return [int(m) for m in ids], [float(x) for x in closeness], source

    def _remember(self, user_id: str, doc: dict[str, Any]) -> None:
        """Keep the parsed list of recently served users in process memory (saves moving and
        parsing the JSON again); valid exactly while Redis holds the same ratings version."""
        with self._memo_lock:
            self._memo[user_id] = doc
            self._memo.move_to_end(user_id)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)


def not_enough_ratings(count: int) -> ApiError:
    needed = MIN_RATINGS - count
    return ApiError(
        422,
        "not_enough_ratings",
        f"Rate {needed} more movie{'s' if needed != 1 else ''} to get recommendations.",
        fields={"ratings_needed": needed},
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _items(recs: Any, profile: dict[int, float]) -> list[dict[str, Any]]:
    """Cacheable items (movie_id, predicted_rating, match, evidence) of a model's list."""
    items = []
    for i, movie_id in enumerate(recs.movie_ids.tolist()):
        if movie_id in profile:
            continue
        items.append(
            {
                "movie_id": movie_id,
                "predicted_rating": round(float(recs.predicted[i]), 2),
                "match": round(float(recs.match[i])),
                "evidence": None if recs.evidence[i] is None else _clean(recs.evidence[i]),
            }
        )
    return items


def _safe_predict(model: Any, profile: dict[int, float], movie_ids: list[int], key: str):
    """The model's predicted stars for ``movie_ids`` (its default rating if it cannot say)."""
    if not movie_ids:
        return []
    try:
        predicted = np.asarray(model.predict(profile, movie_ids, user=key), dtype=np.float64)
    except Exception:
        log.exception("predict failed for a small profile; using the default rating")
        predicted = np.full(len(movie_ids), float(getattr(model, "default_rating", 3.5)))
    predicted = np.where(np.isfinite(predicted), predicted, getattr(model, "default_rating", 3.5))
    return np.clip(predicted, 0.5, 5.0).tolist()


def explain(item: dict[str, Any], neighbour_count: int | None) -> dict[str, Any]:
    """A cached item as the API shows it (without the movie): ``reason`` (one line) and
    ``reasons`` (all). The model's own reasons (the blend's ``evidence["reasons"]``) are used
    when it gives them; otherwise the Pearson sentence and the predicted rating."""
    if "reason" in item and "reasons" in item:  # explained when computed (query lists)
        return {k: item[k] for k in ("predicted_rating", "match", "reason", "reasons", "evidence")}
    predicted = item["predicted_rating"]
    evidence = dict(item["evidence"])
    reasons = [str(r) for r in evidence.pop("reasons", None) or [] if r]
    reason = evidence.pop("reason", None) or (reasons[0] if reasons else None)
    if not reason:
        reason = describe(evidence, predicted, neighbour_count)
        reasons = [reason, f"Predicted rating for you: {predicted:.1f}★"]
    if "query_similarity" in item:  # a movie found by describing what you want: its story first
        evidence["query_similarity"] = item["query_similarity"]
        evidence["story_match"] = item.get("story_match")
        reason = story_reason(item.get("story_match"), item["query_similarity"])
        reasons = [reason, *reasons]
    return {
        "predicted_rating": predicted,
        "match": item["match"],
        "reason": reason,
        "reasons": reasons,
        "evidence": evidence,
    }


def _rank_query(
    content: Content,
    catalog: Any,
    query: str,
    movie_ids: list[int],
    similarity: dict[int, float],
    taste: list[float] | None = None,
) -> tuple[list[int], list[float], list[str | None]]:
    """:func:`recommender.describe.rank_matches` of ``movie_ids`` with the catalogue's rating
    counts and overviews: ``(positions best first, scores, best sentence of each)``."""
    from recommender.describe import rank_matches

    if not movie_ids:
        return [], [], []
    rows = catalog.positions(movie_ids)
    order, scores, stories = rank_matches(
        query,
        np.array([similarity[m] for m in movie_ids]),
        catalog.rating_counts[rows],
        catalog.overviews[rows].tolist(),
        content.story,
        None if taste is None else np.array(taste, dtype=np.float64),
    )
    return order.tolist(), scores.tolist(), stories


def describe(evidence: dict[str, Any], predicted: float, neighbour_count: int | None) -> str:
    """One line a person understands, from a recommendation's evidence."""
    rated, liked = evidence.get("neighbours_rated"), evidence.get("neighbours_liked")
    if rated is not None and neighbour_count:
        liked_part = f", {liked} gave it 4★+" if liked is not None else ""
        return f"{rated} of {neighbour_count} people with your taste rated it{liked_part}"
    return f"We predict you would rate it {predicted:.1f}★"


def _clean(value: Any) -> Any:
    """JSON-safe: numpy scalars to Python, NaN/inf to None (also inside dicts and lists)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
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
