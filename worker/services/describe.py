"""Movies matching what a person describes ("a slow-burn space mystery"): :class:`DescribeRanking`.

The description is encoded with SBERT and its ``QUERY_CANDIDATES`` (200) nearest movies are the
candidates. With >= 5 ratings the model ranks them for the person (``ranked_by`` "model"); with
fewer, they are ranked by how close they are to the description (``ranked_by``
"description", ``match`` = 100 × cosine). Lists are cached per (user, ratings version, model
version, vectors version, description) for ``QUERY_CACHE_TTL_SECONDS``.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

import numpy as np

from recommender import reasons
from recommender.document import (
    RANKED_BY_DESCRIPTION,
    RANKED_BY_MODEL,
    Recommendation,
    RecommendationList,
    items_of,
)
from worker.services.lists import MIN_RATINGS, now_iso
from worker.services.pool import NeighbourPool, user_model_key
from worker.services.registry import ModelRegistry
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
        self.explain_first = int(config.get("RECS_EXPLAIN_FIRST", 24))
        self.query_ttl = int(config.get("QUERY_CACHE_TTL_SECONDS", 600))

    def matches(self, user_id: str, query: str) -> RecommendationList:
        """The movies matching ``query`` (free text), ranked for the user (see the module
        docstring). Items ranked by the model carry ``query_similarity`` and are explained a
        page at a time, as lists are; the doc's ``digest`` names its cache entry."""
        from recommender.content import describe as encode_query

        loaded = self.registry.require()
        content = self.registry.require_content(encoder=True)
        text = " ".join(query.split())
        profile, version = self.store.profile_and_version(user_id)
        digest = hashlib.sha256(
            f"{loaded.model_version}\n{content.version}\n{version}\n{text.casefold()}".encode()
        ).hexdigest()[:32]
        cached = self.store.query_recs(user_id, digest)
        if cached is not None:
            return RecommendationList.from_json(cached, cached=True)
        ids, cosines = encode_query(text, content.vectors, QUERY_CANDIDATES)
        similarity = {int(m): float(c) for m, c in zip(ids.tolist(), cosines.tolist(), strict=True)}
        catalog = loaded.catalog
        candidates = [m for m in similarity if m not in profile and m in catalog]
        key = user_model_key(user_id)
        doc = RecommendationList(
            model=loaded.model_name,
            model_version=loaded.model_version,
            computed_at=now_iso(),
            ratings_version=version,
            query=text,
            digest=digest,
        )
        if len(profile) >= MIN_RATINGS and candidates:
            self.pool.sync(loaded)
            recs = loaded.model.recommend(
                profile,
                k=len(candidates),
                candidates=candidates,
                user=key,
                explain_first=self.explain_first,
            )
            doc.items = items_of(recs, profile)
            for item in doc.items:
                item.query_similarity = round(similarity[item.movie_id], 3)
            doc.ranked_by = RANKED_BY_MODEL
            doc.neighbour_count = recs.context.get("neighbour_count")
        else:
            predicted = safe_predict(loaded.model, profile, candidates, key)
            needed = max(0, MIN_RATINGS - len(profile))
            for movie_id, stars in zip(candidates, predicted, strict=True):
                cosine = similarity[movie_id]
                reason = reasons.close_to_description(cosine)
                more = [reasons.rank_for_you(needed)] if needed else []
                doc.items.append(
                    Recommendation(
                        movie_id=movie_id,
                        predicted_rating=round(float(stars), 2),
                        match=round(100 * min(max(cosine, 0.0), 1.0)),
                        reason=reason,
                        reasons=[reason, *more],
                        evidence={"query_similarity": round(cosine, 3)},
                    )
                )
            doc.ranked_by = RANKED_BY_DESCRIPTION
        self.save(user_id, doc)
        return doc

    def save(self, user_id: str, doc: RecommendationList) -> None:
        """Cache ``doc`` (a list of matches) under its digest."""
        self.store.save_query_recs(user_id, doc.digest, doc.to_json(), self.query_ttl)


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
