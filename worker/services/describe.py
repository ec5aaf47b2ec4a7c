"""Movies matching what a person describes ("a slow-burn space mystery"): :class:`DescribeRanking`.

The description is encoded with SBERT and its ``QUERY_CANDIDATES`` (200) nearest movies are the
candidates, ranked by meaning first (:mod:`recommender.describe`: closeness to the description
and of the best sentence of the story, then how many rated it). With >= 5 ratings the model's
match for the person is the taste that reorders movies of similar meaning (``ranked_by``
"model"; items keep the model's match and stars); with fewer, there is no taste (``ranked_by``
"description", ``match`` = :func:`recommender.describe.description_match`, falling in the
list's order). Every item's first reason is the sentence of its story that matches
(``story_match``, :func:`recommender.reasons.story_reason`). Lists are cached per (user,
ratings version, model version, vectors version, description) for ``QUERY_CACHE_TTL_SECONDS``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np

from recommender import reasons
from recommender.describe import description_match, rank_matches
from recommender.document import (
    RANKED_BY_DESCRIPTION,
    RANKED_BY_MODEL,
    Recommendation,
    RecommendationList,
    items_of,
)
from worker.services.lists import MIN_RATINGS, now_iso, subset_ids, subset_key
from worker.services.pool import NeighbourPool, user_model_key
from worker.services.registry import Content, ModelRegistry
from worker.store import Store

log = logging.getLogger("worker.models")

QUERY_CANDIDATES = 200
"""Movies nearest to the description that are ranked."""


class DescribeRanking:
    """Ranks and caches the movies matching a description, for one app."""

    def __init__(
        self,
        store: Store,
        registry: ModelRegistry,
        pool: NeighbourPool,
        config: dict[str, Any],
    ) -> None:
        self.store = store
        self.registry = registry
        self.pool = pool
        self.explain_first = int(config.get("RECS_EXPLAIN_FIRST", 72))
        self.query_ttl = int(config.get("QUERY_CACHE_TTL_SECONDS", 600))

    def matches(
        self, user_id: str, query: str, subset: dict[str, Any] | None = None
    ) -> RecommendationList:
        """The movies matching ``query`` (free text), ranked for the user (see the module
        docstring); with ``subset`` (filters, :func:`worker.services.lists.subset_ids`) only
        those of the candidates that match them. Items ranked by the model carry
        ``query_similarity`` and ``story_match`` and are explained a page at a time, as lists
        are; the doc's ``digest`` names its cache entry."""
        from recommender.content import describe as encode_query

        loaded = self.registry.require()
        content = self.registry.require_content(encoder=True)
        text = " ".join(query.split())
        profile, version = self.store.profile_and_version(user_id)
        rating_count = self.store.rating_count(user_id)  # not-interested movies are no ratings
        digest = hashlib.sha256(
            f"{loaded.model_version}\n{content.version}\n{version}\n{text.casefold()}"
            f"{subset_key(subset)}".encode()
        ).hexdigest()[:32]
        cached = self.store.query_recs(user_id, digest)
        if cached is not None:
            return RecommendationList.from_json(cached, cached=True)
        ids, cosines = encode_query(text, content.vectors, QUERY_CANDIDATES)
        similarity = {int(m): float(c) for m, c in zip(ids.tolist(), cosines.tolist(), strict=True)}
        catalog = loaded.catalog
        allowed = subset_ids(catalog, subset)
        candidates = [
            m
            for m in similarity
            if m not in profile and m in catalog and (allowed is None or m in allowed)
        ]
        key = user_model_key(user_id)
        doc = RecommendationList(
            model=loaded.model_name,
            model_version=loaded.model_version,
            computed_at=now_iso(),
            ratings_version=version,
            query=text,
            digest=digest,
        )
        if rating_count >= MIN_RATINGS and candidates:
            self.pool.sync(loaded)
            recs = loaded.model.recommend(
                profile,
                k=len(candidates),
                candidates=candidates,
                user=key,
                explain_first=self.explain_first,
            )
            items = items_of(recs, profile)
            taste = [float(item.match) for item in items]
            ids = [item.movie_id for item in items]
            order, _, stories = rank_query(content, catalog, text, ids, similarity, taste)
            for item, story in zip(items, stories, strict=True):
                item.query_similarity = round(similarity[item.movie_id], 3)
                item.story_match = story
            doc.items = [items[i] for i in order]
            doc.ranked_by = RANKED_BY_MODEL
            doc.neighbour_count = recs.context.get("neighbour_count")
        else:
            predicted = safe_predict(loaded.model, profile, candidates, key)
            needed = max(0, MIN_RATINGS - rating_count)
            order, fit, stories = rank_query(content, catalog, text, candidates, similarity)
            for position, score in zip(order, fit, strict=True):
                movie_id, stars = candidates[position], predicted[position]
                cosine = similarity[movie_id]
                reason = reasons.story_reason(stories[position], cosine)
                more = [reasons.rank_for_you(needed)] if needed else []
                doc.items.append(
                    Recommendation(
                        movie_id=movie_id,
                        predicted_rating=round(float(stars), 2),
                        match=description_match(score),
                        reason=reason,
                        reasons=[reason, *more],
                        evidence={
                            "query_similarity": round(cosine, 3),
                            "story_match": stories[position],
                        },
                    )
                )
            doc.ranked_by = RANKED_BY_DESCRIPTION
        self.save(user_id, doc)
        return doc

    def save(self, user_id: str, doc: RecommendationList) -> None:
        """Cache ``doc`` (a list of matches) under its digest."""
        self.store.save_query_recs(user_id, doc.digest, doc.to_json(), self.query_ttl)


def rank_query(
    content: Content,
    catalog: Any,
    query: str,
    movie_ids: list[int],
    similarity: dict[int, float],
    taste: list[float] | None = None,
) -> tuple[list[int], list[float], list[str | None]]:
    """:func:`recommender.describe.rank_matches` of ``movie_ids`` with the catalogue's rating
    counts and overviews: ``(positions best first, scores, best sentence of each)``."""
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


def safe_predict(model: Any, profile: dict[int, float], movie_ids: list[int], key: str):
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
