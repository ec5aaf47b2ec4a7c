"""Which models one app serves, from start-up to hot reload: :class:`ModelRegistry`.

**Which model** (``RECOMMENDER_MODEL``, default ``auto``): ``auto`` and ``blend`` serve the saved
blend (``ARTIFACTS_DIR/blend/latest``, :class:`recommender.blend.BlendRecommender`) when there
is one, else Pearson fitted at start from the ratings; any other registry name is fitted at
start. ``/readyz`` says which model and version are served and why (``model_reason``).

**Movie vectors** (similar movies, discover, describe what you want): SBERT content vectors
from ``ARTIFACTS_DIR/sbert`` (``scripts/embed.py``), else the content vectors inside the blend;
similar movies combine them with the genres and, when an ``embed`` artifact exists, the
``embed`` neural model's movie embeddings (:class:`recommender.similar.MoreLikeThis`). The
SBERT encoder (for free-text queries) and its story matcher are loaded at start when there are
content vectors. Missing vectors only disable those routes (503 ``not_ready``).

**Start-up**: :meth:`ModelRegistry.start` loads everything in a background thread, so
``/healthz`` answers at once and ``/readyz`` says 503 until loading is done. What is loaded
comes from the :class:`worker.services.loader.ModelLoader` the registry is given (shared by
every app made with it).

**Hot reload**: at most every ``RELOAD_CHECK_SECONDS`` (30) per registry, a request (or a
``/readyz`` probe) reads the blend and ``embed`` ``latest`` pointers and the SBERT vectors'
modification time (small file reads and a ``stat``).
When one names another version, a background thread loads it, re-adds the app users to its
neighbour pool and then swaps the reference in one assignment: requests already running finish
with the old model, later ones get the new one, none waits. A version that fails to load is
not retried until the pointer changes again (``/readyz`` shows ``reload_error``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from recommender import settings
from worker import artifacts
from worker.errors import ApiError
from worker.services.loader import Loaded, ModelLoader
from worker.services.pool import NeighbourPool

log = logging.getLogger("worker.models")


@dataclass
class Content:
    """Movie vectors for similar movies, discover and free-text queries.

    ``vectors``: SBERT :class:`recommender.content.MovieVectors` (``source`` "sbert" or "blend",
    ``version`` says which); ``embed``: :class:`recommender.similar.MovieVectors` of the embed
    model (``embed_version``); ``popular``: ids with a content vector, most rated first;
    ``allowed``: those with at least ``DISCOVER_MIN_RATINGS`` ratings; ``genres_of``: genres by
    id; ``encoder``: "loaded", "failed" or "none" (the SBERT encoder for queries);
    ``more_like_this``: :class:`recommender.similar.MoreLikeThis` over the catalogue (story,
    genres and audience), ``None`` without vectors; ``story``: the encoder's
    :class:`recommender.describe.StoryMatcher` (``None`` without the encoder)."""

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
    more_like_this: Any = None
    story: Any = None


class ModelRegistry:
    """The models one app serves (see the module docstring).

    ``loader`` loads (and keeps) catalogue and models; ``pool`` fills each model's neighbour
    pool before it is served; ``config`` is the app's settings."""

    def __init__(self, loader: ModelLoader, pool: NeighbourPool, config: dict[str, Any]) -> None:
        self.loader = loader
        self.pool = pool
        self.requested = config["RECOMMENDER_MODEL"]
        self.artifacts_dir = Path(config.get("ARTIFACTS_DIR") or settings.artifacts_dir())
        self.reload_every = float(config.get("RELOAD_CHECK_SECONDS", 30.0))
        self.similar_min_ratings = int(config.get("SIMILAR_MIN_RATINGS", 5))
        self.discover_min_ratings = int(config.get("DISCOVER_MIN_RATINGS", 10))
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
            self.pool.resync(loaded)
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
            return self.loader.fitted(self.requested), f"RECOMMENDER_MODEL={self.requested}"
        version = artifacts.blend_version(self.artifacts_dir)
        if version is not None:
            try:
                loaded = self.loader.blend(self.artifacts_dir, version)
                return loaded, f"blend artifact {version} (ARTIFACTS_DIR/blend/latest)"
            except Exception as exc:
                log.exception("blend %s failed to load; falling back to pearson", version)
                self._failed.add(("blend", version))
                why = f"blend {version} failed to load ({type(exc).__name__}: {exc})"
        else:
            why = "no blend artifact in ARTIFACTS_DIR/blend"
        loaded = self.loader.fitted("pearson")
        return loaded, f"{why}; serving pearson fitted at start on the ratings"

    def _load_content(self, loaded: Loaded, previous: Content | None = None) -> Content:
        """Content vectors (SBERT file, else the blend's), embed vectors and the encoder."""
        content = Content()
        folder = artifacts.sbert_folder(self.artifacts_dir)
        if folder is not None:
            try:
                content.vectors, content.version = self.loader.sbert(folder)
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
            content.encoder = self.loader.encoder()
            if content.encoder == "loaded":
                content.story = self.loader.story_matcher()
        self._similar_into(content, loaded.catalog)
        return content

    def _similar_into(self, content: Content, catalog: Any) -> None:
        """Build "more like this" (story, genres and audience; :mod:`recommender.similar`)
        from the vectors ``content`` holds."""
        from recommender.similar import MoreLikeThis

        content.more_like_this = None
        if content.vectors is not None or content.embed is not None:
            content.more_like_this = MoreLikeThis.build(
                catalog,
                content=content.vectors,
                embed=content.embed,
                min_ratings=self.similar_min_ratings,
            )

    def _load_embed_into(self, content: Content, version: str) -> bool:
        try:
            content.embed = self.loader.embed(self.artifacts_dir, version, self.similar_min_ratings)
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
        """The served model (after a due reload check), or 503 ``not_ready`` while loading."""
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
        folder = artifacts.sbert_folder(self.artifacts_dir)
        if folder is not None and content is not None:
            try:
                label = artifacts.sbert_version(folder)
            except FileNotFoundError:  # replaced just now: the next check sees the new one
                label = None
            loaded = content.source == "sbert" and content.version == label
            if label and not loaded and ("sbert", label) not in self._failed:
                changes["sbert"] = label
        return changes

    def _reload(self, changes: dict[str, str]) -> None:
        """Load what changed, then swap the references (runs in the reloader thread)."""
        loaded, content = self.loaded, self.content
        try:
            if "blend" in changes:
                try:
                    new = self.loader.blend(self.artifacts_dir, changes["blend"])
                    self.pool.resync(new)
                    loaded = new
                    self.reason = f"blend artifact {changes['blend']} (reloaded)"
                except Exception as exc:
                    log.exception("reloading blend %s failed; keeping the current model", changes)
                    self._failed.add(("blend", changes["blend"]))
                    self.reload_error = f"blend {changes['blend']}: {type(exc).__name__}: {exc}"
            new_content = self._load_content(loaded, previous=content)
            if "sbert" in changes and new_content.version != changes["sbert"]:
                self._failed.add(("sbert", changes["sbert"]))  # not retried until replaced
                self.reload_error = f"SBERT vectors {changes['sbert']} failed to load"
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
