"""The home view's rows of one person: :class:`HomeRows`.

Built on the lists service (:class:`worker.services.lists.RecommendationLists`), so whatever
it leaves out of a person's lists is left out of the rows too: "Top picks" and "Something
different" start from the person's list (:meth:`RecommendationLists.recommendations`); the
other movies a row may show — the :data:`recommender.rows.SIMILAR_POOL` movies most like each
loved movie (:class:`recommender.similar.MoreLikeThis`: story, genres and audience; genres
alone without movie vectors), the :data:`GENRE_CANDIDATES` most-rated movies of each top
genre and of the genres outside the usual ones — are ranked for the person in one call of the
model (:meth:`RecommendationLists.ranked`). :func:`recommender.rows.plan` picks each row's
movies; only the movies shown are explained (:meth:`RecommendationLists.explained`).

**Cache**: the rows are cached beside the list they were built from (``recs:{<id>}`` field
``rows:<model version>``, :meth:`worker.store.Store.save_rows`) for its ratings version, so
every change that drops the list (a rating, a removed neighbour) drops the rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from recommender import rows as planner
from recommender.catalog import natural_title
from recommender.document import RecommendationList
from recommender.similar import MoreLikeThis
from worker.services.lists import RecommendationLists
from worker.services.registry import ModelRegistry
from worker.store import Store

GENRE_CANDIDATES = 200
"""Most-rated movies of a genre (or outside the usual genres) ranked as row candidates."""


@dataclass
class HomeScreen:
    """The rows of one person's home view, and the list they were built from (``model``,
    ``model_version``, ``computed_at``, ``ratings_version``); ``cached``: served from Redis."""

    model: str
    model_version: str
    computed_at: str
    ratings_version: int
    rows: list[planner.Row] = field(default_factory=list)
    cached: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "model_version": self.model_version,
            "computed_at": self.computed_at,
            "ratings_version": self.ratings_version,
            "rows": [row.to_json() for row in self.rows],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, cached: bool = False) -> HomeScreen:
        return cls(
            model=data["model"],
            model_version=data["model_version"],
            computed_at=data["computed_at"],
            ratings_version=int(data["ratings_version"]),
            rows=[planner.Row.from_json(row) for row in data["rows"]],
            cached=cached,
        )


def genre_lists(catalog: Any, movie_ids: list[int]) -> dict[int, list[str]]:
    """``{id: genres}`` of ``movie_ids`` in one catalogue lookup (unknown ids: no genres)."""
    rows = catalog.positions(movie_ids)
    return {
        m: list(catalog.genre_lists[p]) if p >= 0 else []
        for m, p in zip(movie_ids, rows.tolist(), strict=True)
    }


class HomeRows:
    """Builds and caches the home view's rows (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        registry: ModelRegistry,
        lists: RecommendationLists,
        config: dict[str, Any],
    ) -> None:
        self.store = store
        self.registry = registry
        self.lists = lists
        self.cache_ttl = config["RECS_CACHE_TTL_SECONDS"]
        self.similar_min_ratings = int(config.get("SIMILAR_MIN_RATINGS", 5))
        self._genres_only: tuple[Any, MoreLikeThis] | None = None

    def rows(self, user_id: str) -> HomeScreen:
        """The person's rows, cached or built now; 422 ``not_enough_ratings`` below five
        ratings (from the lists service)."""
        top = self.lists.recommendations(user_id)
        saved = self.store.cached_rows(user_id, top.ratings_version, top.model_version)
        if saved is not None:
            return HomeScreen.from_json(saved, cached=True)
        screen = self._build(user_id, top)
        self.store.save_rows(
            user_id, top.ratings_version, screen.to_json(), self.cache_ttl, top.model_version
        )
        return screen

    def _build(self, user_id: str, top: RecommendationList) -> HomeScreen:
        catalog = self.registry.require().catalog
        user = self.store.get_user(user_id)
        profile = self.store.profile(user_id)

        known: dict[int, list[str]] = {}

        def genres_of(movie_id: int) -> list[str]:
            if movie_id not in known:
                known.update(genre_lists(catalog, [movie_id]))
            return known[movie_id]

        def title_of(movie_id: int) -> str:
            movie = catalog.movie(movie_id)
            return natural_title(movie["title"]) if movie else str(movie_id)

        taste = planner.Taste(
            profile=profile,
            chosen=user.genres if user else [],
            genres_of=genres_of,
            title_of=title_of,
            rating_count=catalog.rating_count,
        )
        similar = {
            seed: self._similar(catalog, seed)
            for seed in planner.seeds(profile, catalog.rating_count)
        }
        wanted = [m for ids in similar.values() for m in ids]
        for genre, _, _ in planner.top_genres(profile, taste.chosen, genres_of):
            wanted += self._most_rated(catalog, catalog.genre_mask([genre]))
        usual = planner.usual_genres(profile, taste.chosen, genres_of)
        wanted += self._most_rated(catalog, ~catalog.genre_mask(usual) if usual else None)
        listed = {item.movie_id: item for item in top.items}
        extra = sorted({m for m in wanted if m not in listed and m not in profile})
        known.update(genre_lists(catalog, [*listed, *extra]))  # one lookup for all
        scored = dict(listed)
        for item in self.lists.ranked(user_id, extra).items:
            scored.setdefault(item.movie_id, item)
        # the top picks are the first movies of the recommendations page (its default order)
        shown_first = self.lists.reordered(user_id, top).items
        rows = planner.plan(taste, shown_first, scored, similar)
        shown = [item for row in rows for item in row.items]  # one explain call for them all
        explained = iter(self.lists.explained(user_id, shown, top.neighbour_count))
        for row in rows:
            row.items = [next(explained) for _ in row.items]
        return HomeScreen(
            model=top.model,
            model_version=top.model_version,
            computed_at=top.computed_at,
            ratings_version=top.ratings_version,
            rows=rows,
        )

    def _similar(self, catalog: Any, movie_id: int) -> list[int]:
        """The :data:`recommender.rows.SIMILAR_POOL` x 2 movies most like ``movie_id``,
        closest first (story, genres and audience; genres alone without movie vectors)."""
        content = self.registry.content
        finder = content.more_like_this if content is not None else None
        if finder is None:
            if self._genres_only is None or self._genres_only[0] is not catalog:
                built = MoreLikeThis.build(catalog, min_ratings=self.similar_min_ratings)
                self._genres_only = (catalog, built)
            finder = self._genres_only[1]
        ids, _, _ = finder.similar(movie_id, 2 * planner.SIMILAR_POOL)
        return [int(m) for m in ids]

    @staticmethod
    def _most_rated(catalog: Any, mask: np.ndarray | None) -> list[int]:
        """The :data:`GENRE_CANDIDATES` most-rated movies of ``mask`` (all when None)."""
        counts = catalog.rating_counts
        if mask is not None:
            counts = np.where(mask, counts, -1)
        order = np.argsort(-counts, kind="stable")[:GENRE_CANDIDATES]
        return [int(catalog.ids[p]) for p in order if counts[p] > 0]
