"""Loading the catalogue and the models, once per process: :class:`ModelLoader`.

A loader reads the configured data (``DATA_DIR``) and the saved artifacts (``ARTIFACTS_DIR``)
and keeps what it loaded: one catalogue per data folder, one fitted model per registry name and
data folder, one blend and one ``embed`` version per artifacts folder, SBERT vectors per file
version, and the SBERT encoder's state and story matcher. Every app made with the same loader
shares them (the tests make many apps from one loader; gunicorn makes one per process).

A loader can also be handed a catalogue and a fitted model (:meth:`ModelLoader.serving`): it
then serves that model under its name and never reads the dataset, so a test can run the worker
on a small model fitted in a second.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from recommender import settings
from worker import artifacts

log = logging.getLogger("worker.models")


@dataclass
class Loaded:
    """The catalogue and the recommender one app serves, with its neighbour-pool bookkeeping.

    ``artifact`` is the blend version it came from (``None`` for a model fitted at start);
    ``pool`` the app users' keys in the model's neighbour pool, ``last_change`` the last change
    stream id applied to it, ``waiting`` users (id -> Unix time) who may join it later
    (:mod:`worker.services.pool`)."""

    catalog: Any
    model: Any
    model_name: str
    model_version: str
    load_seconds: float
    artifact: str | None = None
    lock: threading.RLock = field(default_factory=threading.RLock)
    pool: set[str] = field(default_factory=set)
    last_change: str = "0-0"
    waiting: dict[str, float] = field(default_factory=dict)


def warm_up(model: Any, catalog: Any) -> None:
    """Answer two made-up profiles (5 and 40 of the most-rated movies) before serving.

    The first calls of a TensorFlow-backed model trace and compile its functions (seconds);
    doing it here, before the model is marked ready or swapped in, keeps that out of the
    first people's requests."""
    movie_ids = catalog.ids[np.argsort(-catalog.rating_counts, kind="stable")[:40]].tolist()
    for size in (5, 40):
        model.recommend({movie_id: 4.0 for movie_id in movie_ids[:size]}, k=24)


class ModelLoader:
    """Loads and keeps the catalogue and models of one process (see the module docstring)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._catalogs: dict[tuple, Any] = {}
        self._fitted: dict[tuple, Loaded] = {}
        self._blends: dict[tuple, Loaded] = {}
        self._embeds: dict[tuple, Any] = {}
        self._sbert: dict[tuple, Any] = {}
        self._encoder: str | None = None
        self._story: Any = None
        self._given: Loaded | None = None
        self._everyone: tuple[Any, Any] | None = None
        self._first_grid: tuple[Any, Any] | None = None

    @classmethod
    def serving(
        cls, catalog: Any, model: Any, name: str, version: str | None = None
    ) -> ModelLoader:
        """A loader whose catalogue is ``catalog`` and whose model ``name`` is the fitted
        ``model`` (version ``version``, default ``"<name>@given"``). Apps made with it serve
        that model when ``RECOMMENDER_MODEL`` is ``name`` (or, for ``auto`` with no blend
        artifact, when ``name`` is ``"pearson"``); the dataset is read only when the taste
        summary (:meth:`everyone`) or the newcomer's grid (:meth:`first_grid`) is first used."""
        loader = cls()
        loader._given = Loaded(catalog, model, name, version or f"{name}@given", 0.0)
        return loader

    def catalog(self) -> Any:
        """The catalogue of the configured data (:class:`recommender.catalog.Catalog`)."""
        if self._given is not None:
            return self._given.catalog
        return self._catalog_and_ratings()[0]

    def everyone(self) -> Any:
        """Per movie of the configured ratings: everyone's ``mean`` stars and ``count``
        (:func:`recommender.taste.everyone`), computed once per loader."""
        from recommender.taste import everyone

        ratings = self._catalog_and_ratings()[1].ratings
        with self._lock:
            if self._everyone is None or self._everyone[0] is not ratings:
                self._everyone = (ratings, everyone(ratings))
            return self._everyone[1]

    def first_grid(self, catalog: Any) -> Any:
        """The newcomer's grid order over ``catalog`` (:class:`recommender.onboarding.FirstGrid`,
        rating entropies and who rated what from the configured ratings: 8 bytes per rating
        plus a copy for the well-known movies, about 0.3 GB on ml-25m by that count, not
        measured), built once per catalogue (by
        :meth:`fitted` and :meth:`blend` before the model is served, else on first use)."""
        from recommender.onboarding import FirstGrid

        ratings = self._catalog_and_ratings()[1].ratings
        with self._lock:
            if self._first_grid is None or self._first_grid[0] is not catalog:
                self._first_grid = (catalog, FirstGrid.from_ratings(catalog, ratings))
            return self._first_grid[1]

    def _catalog_and_ratings(self) -> tuple[Any, Any]:
        from recommender.catalog import Catalog
        from recommender.movielens import load_movielens

        key = (str(settings.movielens_dir()), str(settings.overviews_path()))
        with self._lock:
            if key not in self._catalogs:
                ml = load_movielens(settings.movielens_dir())
                catalog = Catalog.from_movielens(ml, settings.overviews_path())
                self._catalogs[key] = (catalog, ml)
            return self._catalogs[key]

    def fitted(self, model_name: str) -> Loaded:
        """Registry model ``model_name`` fitted on the ratings (fitted once per loader)."""
        from recommender.models import make_model

        if self._given is not None:
            if model_name != self._given.model_name:
                raise LookupError(
                    f"this worker was given model {self._given.model_name!r}, not {model_name!r}"
                )
            return self._given
        key = (model_name, str(settings.movielens_dir()), str(settings.overviews_path()))
        started = time.perf_counter()
        catalog, ml = self._catalog_and_ratings()
        with self._lock:
            if key in self._fitted:
                return self._fitted[key]
            model = make_model(model_name)
            model.fit(ml.ratings, ml.movies)
            seconds = time.perf_counter() - started
            loaded = Loaded(catalog, model, model_name, f"{model_name}@{ml.name}", seconds)
            self._fitted[key] = loaded
            log.info("fitted %s in %.1fs", loaded.model_version, seconds)
        self.first_grid(catalog)  # built before serving: seconds on 25M ratings
        return loaded

    def blend(self, artifacts_dir: Path, version: str) -> Loaded:
        """Blend ``version`` from ``artifacts_dir``, warmed up (loaded once per version; the
        loader keeps one version per folder, apps hold the ones they serve)."""
        from recommender.blend import BlendRecommender

        key = (str(artifacts_dir), version)
        started = time.perf_counter()
        catalog = self.catalog()
        with self._lock:
            if key not in self._blends:
                model = BlendRecommender.load(artifacts.blend_folder(artifacts_dir, version))
                warm_up(model, catalog)
                seconds = time.perf_counter() - started
                for old in [k for k in self._blends if k[0] == key[0]]:
                    del self._blends[old]
                loaded = Loaded(catalog, model, "blend", f"blend@{version}", seconds, version)
                self._blends[key] = loaded
                log.info("loaded blend %s in %.1fs", version, seconds)
            loaded = self._blends[key]
        self.first_grid(catalog)  # built before serving: seconds on 25M ratings
        return loaded

    def embed(self, artifacts_dir: Path, version: str, min_ratings: int) -> Any:
        """The ``embed`` model's movie vectors (:class:`recommender.similar.MovieVectors`)."""
        from recommender.neural.artifacts import load_artifact, model_dir
        from recommender.similar import MovieVectors

        key = (str(artifacts_dir), version, min_ratings)
        with self._lock:
            if key not in self._embeds:
                folder = model_dir(artifacts.SIMILAR_MODEL, artifacts_dir) / version
                model = load_artifact(folder)
                for old in [k for k in self._embeds if k[0] == key[0]]:
                    del self._embeds[old]
                self._embeds[key] = MovieVectors.from_model(model, min_ratings)
                log.info("loaded embed vectors %s", version)
            return self._embeds[key]

    def sbert(self, folder: Path) -> tuple[Any, str]:
        """Saved SBERT content vectors (:class:`recommender.content.MovieVectors`) and a
        version label (``sbert@<modification time of the vectors file>``)."""
        from recommender.content import MovieVectors

        version = artifacts.sbert_version(folder)
        key = (str(folder), version)
        with self._lock:
            if key not in self._sbert:
                self._sbert[key] = MovieVectors.load(folder)
            return self._sbert[key], version

    def encoder(self) -> str:
        """Load the SBERT encoder for free-text queries once: ``"loaded"`` or ``"failed"``."""
        with self._lock:
            if self._encoder is None:
                try:
                    from recommender.content import default_encoder

                    default_encoder()(["warm up"])
                    self._encoder = "loaded"
                except Exception:
                    log.exception("the SBERT encoder failed to load; free-text queries are off")
                    self._encoder = "failed"
            return self._encoder

    def story_matcher(self) -> Any:
        """The SBERT encoder's :class:`recommender.describe.StoryMatcher` (finds the sentence
        of a story that matches a description; built once, its sentence cache shared by every
        app), or ``None`` when the encoder did not load or the matcher failed to build."""
        if self.encoder() != "loaded":
            return None
        with self._lock:
            if self._story is None:
                try:
                    from recommender.content import default_encoder
                    from recommender.describe import StoryMatcher

                    self._story = StoryMatcher.from_encoder(default_encoder())
                except Exception:
                    log.exception("the story matcher failed to build; no story sentences")
                    self._story = False
            return self._story or None
