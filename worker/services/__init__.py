"""The worker's model services, one job per module, put together per app by :class:`ModelService`.

- :mod:`~worker.services.loader`: loads and keeps the catalogue and models of a process
  (:class:`ModelLoader`; give ``create_app`` one to share or to inject a fitted model);
- :mod:`~worker.services.registry`: which model and movie vectors an app serves, start-up,
  ``/readyz`` status and hot reload (:class:`ModelRegistry`);
- :mod:`~worker.services.pool`: the app's users in the model's neighbour pool, in step with
  Redis (:class:`NeighbourPool`);
- :mod:`~worker.services.lists`: a person's list, cached, and its pages, explained when shown
  (:class:`RecommendationLists`);
- :mod:`~worker.services.describe`: movies matching a description (:class:`DescribeRanking`);
- :mod:`~worker.services.rows`: the home view's rows, built on the lists (:class:`HomeRows`);
- :mod:`~worker.services.similar`: movies like a given one (:func:`similar_movies`).

Lists are :class:`recommender.document.RecommendationList` s; every sentence in them comes from
:mod:`recommender.reasons`.
"""

from __future__ import annotations

from typing import Any

from recommender.document import Recommendation, RecommendationList
from worker import trust
from worker.services.describe import DescribeRanking
from worker.services.lists import MIN_RATINGS, RecommendationLists
from worker.services.loader import Loaded, ModelLoader
from worker.services.pool import NeighbourPool, user_model_key
from worker.services.registry import Content, ModelRegistry
from worker.services.rows import HomeRows, HomeScreen
from worker.services.similar import similar_movies
from worker.store import Store

__all__ = [
    "MIN_RATINGS",
    "Content",
    "DescribeRanking",
    "HomeRows",
    "HomeScreen",
    "Loaded",
    "ModelLoader",
    "ModelRegistry",
    "ModelService",
    "NeighbourPool",
    "RecommendationLists",
    "user_model_key",
]


class ModelService:
    """The model services of one app: what the routes call.

    ``store``: the app's Redis store; ``config``: its settings; ``loader``: where models come
    from (a new :class:`ModelLoader` when not given)."""

    def __init__(
        self, store: Store, config: dict[str, Any], loader: ModelLoader | None = None
    ) -> None:
        self.store = store
        self.loader = loader if loader is not None else ModelLoader()
        self.pool = NeighbourPool(store, trust.NeighbourPolicy.from_config(config))
        self.registry = ModelRegistry(self.loader, self.pool, config)
        self.describe = DescribeRanking(store, self.registry, self.pool, config)
        self.lists = RecommendationLists(store, self.registry, self.pool, self.describe, config)
        self.rows = HomeRows(store, self.registry, self.lists, config)

    # --- the served models (ModelRegistry) --------------------------------------------------

    def start(self, background: bool = True) -> None:
        self.registry.start(background)

    def wait_ready(self, timeout: float | None = None) -> bool:
        return self.registry.wait_ready(timeout)

    @property
    def ready(self) -> bool:
        return self.registry.ready

    @property
    def error(self) -> str | None:
        return self.registry.error

    @property
    def loaded(self) -> Loaded | None:
        return self.registry.loaded

    @property
    def content(self) -> Content | None:
        return self.registry.content

    @property
    def artifacts_dir(self):
        return self.registry.artifacts_dir

    @property
    def catalog(self) -> Any:
        return self.registry.require().catalog

    def first_grid(self) -> Any:
        """The newcomer's grid order over the served catalogue (:mod:`recommender.onboarding`)."""
        return self.loader.first_grid(self.catalog)

    def status(self) -> dict[str, Any]:
        return self.registry.status()

    def require(self) -> Loaded:
        return self.registry.require()

    def require_content(self, *, vectors: bool = True, encoder: bool = False) -> Content:
        return self.registry.require_content(vectors=vectors, encoder=encoder)

    # --- neighbour pool, lists, similar -----------------------------------------------------

    def sync(self) -> int:
        """Apply rating changes made by any process to the served model's neighbour pool."""
        return self.pool.sync(self.registry.require())

    def recommendations(self, user_id: str) -> RecommendationList:
        return self.lists.recommendations(user_id)

    def page(
        self,
        user_id: str,
        start: int,
        size: int,
        query: str | None = None,
        subset: dict[str, Any] | None = None,
        discover: float | None = None,
    ) -> tuple[RecommendationList, list[Recommendation]]:
        return self.lists.page(user_id, start, size, query, subset, discover)

    def home_rows(self, user_id: str) -> HomeScreen:
        return self.rows.rows(user_id)

    def similar(
        self, movie_id: int, k: int, user_id: str | None = None
    ) -> tuple[list[int], list[float], str]:
        """The ``k`` movies most like ``movie_id`` (:func:`similar_movies`); for a user,
        without the movies they marked not interested."""
        hidden = self.lists.hidden(user_id) if user_id is not None else set()
        ids, sims, source = similar_movies(self.registry, movie_id, k + len(hidden))
        kept = [(m, s) for m, s in zip(ids, sims, strict=True) if m not in hidden][:k]
        return [m for m, _ in kept], [s for _, s in kept], source
