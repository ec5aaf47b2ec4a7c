"""A person's recommendation lists and their pages: :class:`RecommendationLists`.

**Cache**: a computed list (top ``RECS_CACHE_SIZE`` = 240, a
:class:`recommender.document.RecommendationList`) and its neighbours are stored under the
user's ratings version *and* the model version (``recs:{id}:{version}`` hash field
``model_version``): a rating change or a new model version means a fresh list. The lists of
the users served recently are also kept parsed in this process (``MEMO_SIZE``), valid exactly
while Redis holds the same ratings version.

**Within a subset** (:meth:`RecommendationLists.within`): with filters (genres, title search,
years) only the catalogue's matching movies are ranked for the person (the model scores those
candidates, top ``RECS_CACHE_SIZE``), cached like a described list (``query_recs``) under a
digest of the model version, the profile version and the filters.

**Not interested**: the not-interested movies are part of the profile every list is scored from
(:mod:`worker.store.feedback`), so no list computed here holds one; :meth:`hidden` and
:meth:`visible` give the same exclusion to lists built elsewhere (similar movies, rows).

**Explained when shown**: a fresh list explains the first ``RECS_EXPLAIN_FIRST`` (72: three
pages of 24) movies of its view at the asked ``discover`` setting, from the opinions it was
ranked from (the model's ``Recommendations.explainer``: a few milliseconds, the profile is not
scored again); a later page is explained the first time it is asked for
(:meth:`RecommendationLists.page`), which costs scoring the profile again (about as much as
ranking), and the cached list is updated, so it is explained once. An item whose
``evidence`` is ``None`` has not been explained yet.

**Familiar ↔ discover**: the cached list is the model's own order (its top
``RECS_CACHE_SIZE`` followed by its ranking of movies of the person's main genres,
:func:`recommender.rerank.widened`); each page is cut from it
re-ordered for the person's ``discover`` setting (:func:`recommender.rerank.rerank`, a few
milliseconds for 240 movies; :data:`~recommender.rerank.DEFAULT_DISCOVER` when not given), each
block of :data:`~recommender.rerank.BLOCK_SIZE` then shown in the model's order.
Lists for a description (``query``) keep their order.
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from dataclasses import replace
from datetime import UTC, datetime
from threading import Lock
from typing import TYPE_CHECKING, Any

from recommender import reasons
from recommender.document import Recommendation, RecommendationList, items_of, json_safe
from recommender.rerank import (
    DEFAULT_DISCOVER,
    MovieFacts,
    blocks_in_model_order,
    rerank,
    widened,
)
from worker.errors import ApiError
from worker.services.pool import NeighbourPool, user_model_key
from worker.services.registry import ModelRegistry
from worker.store import Store
from worker.store.feedback import NOT_INTERESTED

if TYPE_CHECKING:
    from worker.services.describe import DescribeRanking

MIN_RATINGS = 5
"""Ratings a person needs before their list is computed."""

MEMO_SIZE = 1024
"""Users whose parsed list this process keeps."""


def now_iso() -> str:
    """The current UTC time, ISO 8601 with microseconds (a list's ``computed_at``)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def not_enough_ratings(count: int) -> ApiError:
    """422 ``not_enough_ratings`` for a person with ``count`` (< 5) ratings."""
    needed = MIN_RATINGS - count
    return ApiError(
        422,
        "not_enough_ratings",
        reasons.not_enough_ratings(needed),
        fields={"ratings_needed": needed},
    )


def subset_key(subset: dict[str, Any] | None) -> str:
    """A stable text for a set of filters (genre order, title case and spacing do not count);
    "" for none."""
    if subset is None:
        return ""
    chosen = dict(subset)
    if chosen.get("genres"):
        chosen["genres"] = sorted(chosen["genres"])
    if chosen.get("q"):
        chosen["q"] = " ".join(str(chosen["q"]).split()).casefold()
    return json.dumps(chosen, sort_keys=True, ensure_ascii=False)


def subset_ids(catalog: Any, subset: dict[str, Any] | None) -> set[int] | None:
    """The catalogue's movie ids matching ``subset`` (``None``: no filter)."""
    if subset is None:
        return None
    mask = catalog.subset_mask(
        subset.get("genres"), subset.get("q"), subset.get("year_from"), subset.get("year_to")
    )
    return {int(m) for m in catalog.ids[mask].tolist()}


class RecommendationLists:
    """Computes, caches and pages the lists of one app (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        registry: ModelRegistry,
        pool: NeighbourPool,
        describe: DescribeRanking,
        config: dict[str, Any],
    ) -> None:
        self.store = store
        self.registry = registry
        self.pool = pool
        self.describe = describe
        self.cache_size = config["RECS_CACHE_SIZE"]
        self.explain_first = int(config.get("RECS_EXPLAIN_FIRST", 72))
        self.cache_ttl = config["RECS_CACHE_TTL_SECONDS"]
        self._memo: OrderedDict[str, RecommendationList] = OrderedDict()
        self._orders: OrderedDict[tuple[str, int, str, float], tuple[Any, ...]] = OrderedDict()
        self._memo_lock = Lock()
        self._facts: tuple[Any, MovieFacts] | None = None

    def recommendations(self, user_id: str, discover: float | None = None) -> RecommendationList:
        """The user's cached list, or a fresh one computed and cached now (``cached`` says
        which). Items hold ``evidence`` only for the pages explained so far (use :meth:`page`);
        a fresh list explains the first page of its view at ``discover`` (``None``: the
        default), from the same scoring pass. 422 ``not_enough_ratings`` below five ratings."""
        loaded = self.registry.require()
        held = self._memo.get(user_id)
        if held is not None and held.model_version != loaded.model_version:
            held = None
        held_version = held.ratings_version if held else -1
        count, version, saved = self.store.recs_state(user_id, held_version, loaded.model_version)
        cached = RecommendationList.from_json(saved) if saved is not None else None
        if version == held_version and held is not None:
            cached = held
        if count < MIN_RATINGS:
            raise not_enough_ratings(count)
        if cached is not None and cached.model_version == loaded.model_version:
            self._remember(user_id, cached)
            return cached.served(cached=True)
        profile, version = self.store.profile_and_version(user_id)  # one consistent snapshot
        if len(profile) < MIN_RATINGS:  # a rating was removed meanwhile
            return self.recommendations(user_id, discover)
        self.pool.sync(loaded)  # the model scores on a snapshot of its pool: no lock needed
        user = user_model_key(user_id)
        recs = widened(
            loaded.model, profile, self._movie_facts(), self.cache_size, user=user, explain_first=0
        )
        doc = RecommendationList.from_recommendations(
            recs,
            profile,
            model=loaded.model_name,
            model_version=loaded.model_version,
            computed_at=now_iso(),
            ratings_version=version,
        )
        setting = DEFAULT_DISCOVER if discover is None else discover
        first = self._reordered(user_id, doc, setting, profile).page(0, self.explain_first)
        wanted = [item.movie_id for item in first]
        if recs.explainer is not None:  # the opinions this list was ranked from
            evidence = recs.explainer(wanted)
        else:
            evidence = loaded.model.explain(profile, wanted, user=user)
        doc = _with_evidence(doc, dict(zip(wanted, evidence, strict=True)))
        neighbours = [json_safe(n) for n in recs.context.get("neighbours", [])]
        if self.store.save_recs(
            user_id, version, doc.to_json(), neighbours, self.cache_ttl, loaded.model_version
        ):
            self._remember(user_id, doc)
        return doc.served(cached=False)

    def within(self, user_id: str, subset: dict[str, Any]) -> RecommendationList:
        """The user's list among the movies matching ``subset`` (``{"genres", "q",
        "year_from", "year_to"}``, :func:`subset_ids`): those movies ranked for the user, top
        ``RECS_CACHE_SIZE``, cached under a digest of the filters (see the module docstring).
        An empty list when nothing matches; 422 ``not_enough_ratings`` below five ratings."""
        loaded = self.registry.require()
        count = self.store.rating_count(user_id)
        if count < MIN_RATINGS:
            raise not_enough_ratings(count)
        profile, version = self.store.profile_and_version(user_id)
        text = f"{loaded.model_version}\n{version}\nsubset\n{subset_key(subset)}"
        digest = hashlib.sha256(text.encode()).hexdigest()[:32]
        saved = self.store.query_recs(user_id, digest)
        if saved is not None:
            return RecommendationList.from_json(saved, cached=True)
        matching = subset_ids(loaded.catalog, subset) or set()
        candidates = sorted(matching - set(profile))
        doc = RecommendationList(
            model=loaded.model_name,
            model_version=loaded.model_version,
            computed_at=now_iso(),
            ratings_version=version,
            digest=digest,
        )
        if candidates:
            self.pool.sync(loaded)
            recs = loaded.model.recommend(
                profile,
                k=min(len(candidates), self.cache_size),
                candidates=candidates,
                user=user_model_key(user_id),
                explain_first=self.explain_first,
            )
            doc.items = items_of(recs, profile)
            doc.neighbour_count = recs.context.get("neighbour_count")
        self.describe.save(user_id, doc)
        return doc

    def hidden(self, user_id: str) -> set[int]:
        """The movies the user marked not interested: left out of every list."""
        return set(self.store.movie_list(user_id, NOT_INTERESTED))

    def visible(self, user_id: str | None, movie_ids: list[int]) -> list[int]:
        """``movie_ids`` without the user's not-interested movies, in order (all of them for
        no user)."""
        if user_id is None:
            return list(movie_ids)
        hidden = self.hidden(user_id)
        return [m for m in movie_ids if m not in hidden]

    def page(
        self,
        user_id: str,
        start: int,
        size: int,
        query: str | None = None,
        subset: dict[str, Any] | None = None,
        discover: float | None = None,
    ) -> tuple[RecommendationList, list[Recommendation]]:
        """``(doc, items)``: the user's list and its items ``start:start + size``, every one of
        them explained. The list is :meth:`recommendations` re-ordered for ``discover`` (0.0
        familiar – 1.0 discover, ``None``: the default); or the movies matching ``query``
        (:meth:`DescribeRanking.matches`); or only the movies matching ``subset``
        (:meth:`within`, which also narrows a ``query``). ``discover`` re-orders the whole
        list only: a described or filtered list is already narrowed by the person.

        Items not explained yet are explained now with one call of the model's ``explain`` and
        the cached list is updated (unless the ratings or the model changed meanwhile); the
        doc's ``explained_now`` says how many (0 when the page was explained already).
        """
        if query is not None:
            doc = self.describe.matches(user_id, query, subset)
        elif subset is not None:
            doc = self.within(user_id, subset)
        else:
            doc = self.recommendations(user_id, discover)
        if query is None and subset is None:
            setting = DEFAULT_DISCOVER if discover is None else discover

            def shown(doc: RecommendationList) -> RecommendationList:
                return self._reordered(user_id, doc, setting)
        else:

            def shown(doc: RecommendationList) -> RecommendationList:
                return doc

        view = shown(doc)
        items = view.page(start, size)
        unexplained = [item.movie_id for item in items if not item.explained]
        if unexplained and doc.digest is None and doc.cached:
            # another process may have explained this page already: its copy is in Redis
            saved = self.store.cached_recs(user_id, doc.ratings_version, doc.model_version)
            if saved is not None:
                doc = RecommendationList.from_json(saved, cached=True)
                view = shown(doc)
                items = view.page(start, size)
                unexplained = [item.movie_id for item in items if not item.explained]
                self._remember(user_id, doc.served(cached=False))
        if unexplained:
            doc = self._explain(user_id, doc, unexplained)
            view = shown(doc)
            items = view.page(start, size)
        return view.served(cached=doc.cached, explained_now=len(unexplained)), items

    def reordered(
        self, user_id: str, doc: RecommendationList, discover: float | None = None
    ) -> RecommendationList:
        """``doc`` (the model's order) as the user's whole list shows it: re-ordered for
        ``discover`` (``None``: the default). The home view's top picks use it, so they are the
        first movies of the recommendations page."""
        setting = DEFAULT_DISCOVER if discover is None else discover
        return self._reordered(user_id, doc, setting)

    def _reordered(
        self,
        user_id: str,
        doc: RecommendationList,
        discover: float,
        profile: dict[int, float] | None = None,
    ) -> RecommendationList:
        """``doc`` (the user's list, the model's order) re-ordered for ``discover``, each block
        of :data:`recommender.rerank.BLOCK_SIZE` in the model's order (see the module
        docstring). The order is worked out once per list and setting (a few milliseconds for
        240 movies) and kept with the lists of the users served recently; ``profile``: the
        user's ratings when the caller has them (read from Redis otherwise)."""
        facts = self._movie_facts()
        model_order = [item.movie_id for item in doc.items]
        key = (user_id, doc.ratings_version, doc.model_version, float(discover))
        held = self._orders.get(key)
        if held is not None and held[0] is facts and held[1] == model_order:
            order = held[2]
        else:
            if profile is None:
                profile, _ = self.store.profile_and_version(user_id)
            order = rerank(model_order, profile, facts, discover)
            order = blocks_in_model_order(order, model_order).tolist()
            with self._memo_lock:
                self._orders[key] = (facts, model_order, order)
                self._orders.move_to_end(key)
                while len(self._orders) > MEMO_SIZE:
                    self._orders.popitem(last=False)
        by_id = {item.movie_id: item for item in doc.items}
        return replace(doc, items=[by_id[m] for m in order])

    def _movie_facts(self) -> MovieFacts:
        """Popularity and genres of the served catalogue, for re-ranking (built once per
        catalogue)."""
        catalog = self.registry.require().catalog
        if self._facts is None or self._facts[0] is not catalog:
            self._facts = (catalog, MovieFacts.from_catalog(catalog))
        return self._facts[1]

    def ranked(self, user_id: str, candidates: list[int]) -> RecommendationList:
        """``candidates`` ranked for the user by the served model, best match first (movies
        the user rated left out; items not explained: see :meth:`explained`). Not cached:
        the caller caches what it builds from it (:mod:`worker.services.rows`)."""
        loaded = self.registry.require()
        profile, version = self.store.profile_and_version(user_id)
        if not candidates or len(profile) < MIN_RATINGS:
            items: list[Recommendation] = []
            return RecommendationList(
                loaded.model_name, loaded.model_version, now_iso(), version, items
            )
        self.pool.sync(loaded)
        recs = loaded.model.recommend(
            profile,
            k=len(candidates),
            candidates=candidates,
            user=user_model_key(user_id),
            explain_first=0,
        )
        return RecommendationList.from_recommendations(
            recs,
            profile,
            model=loaded.model_name,
            model_version=loaded.model_version,
            computed_at=now_iso(),
            ratings_version=version,
        )

    def explained(
        self, user_id: str, items: list[Recommendation], neighbour_count: int | None
    ) -> list[Recommendation]:
        """``items`` with their evidence (one call of the model's ``explain`` for those not
        explained yet) and the reasons a person reads (:func:`recommender.reasons.explained`)."""
        missing = [item.movie_id for item in items if not item.explained]
        found: dict[int, Any] = {}
        if missing:
            loaded = self.registry.require()
            profile = self.store.profile(user_id)
            self.pool.sync(loaded)
            evidence = loaded.model.explain(profile, missing, user=user_model_key(user_id))
            found = {m: json_safe(e) for m, e in zip(missing, evidence, strict=True)}
        return [
            reasons.explained(
                replace(item, evidence=found[item.movie_id]) if item.movie_id in found else item,
                neighbour_count,
            )
            for item in items
        ]

    def _explain(
        self, user_id: str, doc: RecommendationList, movie_ids: list[int]
    ) -> RecommendationList:
        """``doc`` with the evidence of ``movie_ids`` filled in, saved back to the cache."""
        loaded = self.registry.require()
        profile, version = self.store.profile_and_version(user_id)
        self.pool.sync(loaded)
        evidence = loaded.model.explain(profile, movie_ids, user=user_model_key(user_id))
        updated = _with_evidence(doc, dict(zip(movie_ids, evidence, strict=True)))
        updated = replace(updated, cached=False, explained_now=0)
        current = version == doc.ratings_version and loaded.model_version == doc.model_version
        if current and doc.digest is not None:  # a described or filtered list
            self.describe.save(user_id, updated)
        elif current and self.store.update_recs(
            user_id, version, updated.to_json(), doc.model_version
        ):
            self._remember(user_id, updated)
        return updated.served(cached=doc.cached)

    def _remember(self, user_id: str, doc: RecommendationList) -> None:
        """Keep the parsed list of recently served users in process memory (saves moving and
        parsing the JSON again); valid exactly while Redis holds the same ratings version."""
        with self._memo_lock:
            self._memo[user_id] = doc
            self._memo.move_to_end(user_id)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)


def _with_evidence(doc: RecommendationList, found: dict[int, Any]) -> RecommendationList:
    """``doc`` with the evidence ``found`` (``{movie_id: evidence}``, JSON-safe copies) filled
    in."""
    found = {m: json_safe(e) for m, e in found.items()}
    items = [
        replace(item, evidence=found[item.movie_id]) if item.movie_id in found else item
        for item in doc.items
    ]
    return replace(doc, items=items)
