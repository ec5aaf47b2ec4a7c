"""The recommendation document: one typed structure for a person's list of recommendations.

The library builds it from a model's :class:`recommender.base.Recommendations`
(:meth:`RecommendationList.from_recommendations`), the worker caches it in Redis as JSON
(:meth:`RecommendationList.to_json` / :meth:`RecommendationList.from_json`) and serves its
items a page at a time, and the app reads the items of a page back into
:class:`Recommendation` (:meth:`Recommendation.from_api`). The JSON field names are the API's
(``docs/api.md``): ``movie_id``, ``predicted_rating``, ``match``, ``reason``, ``reasons``,
``evidence``, ``query_similarity``, ``story_match``; ``model``, ``model_version``, ``computed_at``,
``ratings_version``, ``neighbour_count``, ``items``, ``query``, ``digest``, ``ranked_by``.

Only the standard library is imported here, so the app (which has no model stack) can import
this module on its own.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

RANKED_BY_MODEL = "model"
RANKED_BY_DESCRIPTION = "description"


def json_safe(value: Any) -> Any:
    """``value`` made JSON-safe: numpy scalars to Python, NaN/inf to ``None`` (also inside
    dicts, lists and tuples)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:  # most values: as they are
        return value
    if kind is float:
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass
class Recommendation:
    """One movie of a list.

    - ``movie_id``: MovieLens movieId;
    - ``predicted_rating``: the stars the person would give it, 0.5–5 (2 decimals);
    - ``match``: how likely they are to love it, 0–100 (whole number);
    - ``evidence``: what the model found (JSON-able dict; keys depend on the model), ``None``
      while the movie has not been explained yet (lists explain a page when it is shown);
    - ``reason`` / ``reasons``: the one-line reason and every reason, strongest first
      (:mod:`recommender.reasons` writes them); ``None`` until the item is explained for
      showing, except in lists ranked by a description, which are explained when computed;
    - ``query_similarity``: cosine (0–1, 3 decimals) to the description a person typed, in
      lists of movies matching a description;
    - ``story_match``: the sentence of the movie's overview closest to that description
      (``None`` without an overview), in those lists.
    """

    movie_id: int
    predicted_rating: float
    match: float
    evidence: dict[str, Any] | None = None
    reason: str | None = None
    reasons: list[str] | None = None
    query_similarity: float | None = None
    story_match: str | None = None

    @property
    def explained(self) -> bool:
        """Whether the evidence has been worked out."""
        return self.evidence is not None

    def to_json(self) -> dict[str, Any]:
        """The cached form: ``movie_id``, ``predicted_rating``, ``match``, ``evidence``, plus
        ``reason``, ``reasons``, ``query_similarity`` and ``story_match`` when set."""
        data: dict[str, Any] = {
            "movie_id": self.movie_id,
            "predicted_rating": self.predicted_rating,
            "match": self.match,
        }
        if self.reason is not None:
            data["reason"] = self.reason
        if self.reasons is not None:
            data["reasons"] = self.reasons
        data["evidence"] = self.evidence
        if self.query_similarity is not None:
            data["query_similarity"] = self.query_similarity
        if self.story_match is not None:
            data["story_match"] = self.story_match
        return data

    def shown_json(self) -> dict[str, Any]:
        """The fields of an API item besides ``movie``: ``predicted_rating``, ``match``,
        ``reason``, ``reasons``, ``evidence``."""
        return {
            "predicted_rating": self.predicted_rating,
            "match": self.match,
            "reason": self.reason,
            "reasons": self.reasons or [],
            "evidence": self.evidence,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Recommendation:
        """An item of a cached list (see :meth:`to_json`)."""
        return cls(
            movie_id=int(data["movie_id"]),
            predicted_rating=data["predicted_rating"],
            match=data["match"],
            evidence=data.get("evidence"),
            reason=data.get("reason"),
            reasons=data.get("reasons"),
            query_similarity=data.get("query_similarity"),
            story_match=data.get("story_match"),
        )

    @classmethod
    def from_api(cls, item: dict[str, Any]) -> Recommendation:
        """An item of an API page (``{"movie": {"id", ...}, "predicted_rating", "match",
        "reason", "reasons", "evidence"}``)."""
        movie = item.get("movie") or {}
        evidence = item.get("evidence")
        return cls(
            movie_id=int(movie.get("id", item.get("movie_id", 0))),
            predicted_rating=item.get("predicted_rating"),
            match=item.get("match"),
            evidence=evidence,
            reason=item.get("reason"),
            reasons=[str(r) for r in item.get("reasons") or [] if r],
            query_similarity=(evidence or {}).get("query_similarity"),
            story_match=(evidence or {}).get("story_match"),
        )


@dataclass
class RecommendationList:
    """A person's list: the top movies for them, best first, and where it came from.

    - ``model`` / ``model_version``: the model that ranked it (e.g. ``"blend"``,
      ``"blend@20260101T000000Z"``);
    - ``computed_at``: ISO 8601 UTC time it was computed;
    - ``ratings_version``: the version of the person's ratings it was computed from (a rating
      change makes a new list);
    - ``neighbour_count``: taste neighbours behind it (neighbourhood models), else ``None``;
    - ``items``: :class:`Recommendation` s, best first;
    - ``query`` / ``digest`` / ``ranked_by``: for the movies matching a description: the
      description (whitespace folded), the name of its cache entry, and ``"model"`` (ranked
      for the person) or ``"description"`` (by closeness to the description);
    - ``cached`` / ``explained_now``: how this copy was served (from the cache; how many items
      were explained for this page); not stored.
    """

    model: str
    model_version: str
    computed_at: str
    ratings_version: int
    items: list[Recommendation] = field(default_factory=list)
    neighbour_count: int | None = None
    query: str | None = None
    digest: str | None = None
    ranked_by: str | None = None
    cached: bool = False
    explained_now: int = 0

    @classmethod
    def from_recommendations(
        cls,
        recs: Any,
        profile: dict[int, float],
        *,
        model: str,
        model_version: str,
        computed_at: str,
        ratings_version: int,
    ) -> RecommendationList:
        """The list of a model's :class:`recommender.base.Recommendations` for ``profile``
        (movies in the profile left out, evidence JSON-safe, ``neighbour_count`` from the
        model's context)."""
        return cls(
            model=model,
            model_version=model_version,
            computed_at=computed_at,
            ratings_version=ratings_version,
            items=items_of(recs, profile),
            neighbour_count=recs.context.get("neighbour_count"),
        )

    def page(self, start: int, size: int) -> list[Recommendation]:
        """Items ``start:start + size``."""
        return self.items[start : start + size]

    def served(self, *, cached: bool, explained_now: int = 0) -> RecommendationList:
        """A copy marked as served from the cache or not, with ``explained_now``."""
        return replace(self, cached=cached, explained_now=explained_now)

    def to_json(self) -> dict[str, Any]:
        """The cached form (without ``cached`` and ``explained_now``; optional fields only
        when set)."""
        data: dict[str, Any] = {
            "model": self.model,
            "model_version": self.model_version,
            "computed_at": self.computed_at,
            "ratings_version": self.ratings_version,
        }
        for name in ("query", "digest", "ranked_by"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.query is None or self.ranked_by == RANKED_BY_MODEL:
            data["neighbour_count"] = self.neighbour_count
        data["items"] = [item.to_json() for item in self.items]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], *, cached: bool = False) -> RecommendationList:
        """A cached list (see :meth:`to_json`)."""
        return cls(
            model=data["model"],
            model_version=data["model_version"],
            computed_at=data["computed_at"],
            ratings_version=int(data["ratings_version"]),
            items=[Recommendation.from_json(item) for item in data["items"]],
            neighbour_count=data.get("neighbour_count"),
            query=data.get("query"),
            digest=data.get("digest"),
            ranked_by=data.get("ranked_by"),
            cached=cached,
        )


def items_of(recs: Any, profile: dict[int, float]) -> list[Recommendation]:
    """The items of a model's :class:`recommender.base.Recommendations`, movies in
    ``profile`` left out; ``predicted_rating`` to 2 decimals, ``match`` whole. Best match
    first (equal matches: highest predicted stars first, then the model's order): the model
    picks the movies, the list shows them in the order of the numbers on their cards."""
    items = []
    for i, movie_id in enumerate(recs.movie_ids.tolist()):
        if movie_id in profile:
            continue
        evidence = recs.evidence[i]
        items.append(
            Recommendation(
                movie_id=movie_id,
                predicted_rating=round(float(recs.predicted[i]), 2),
                match=round(float(recs.match[i])),
                evidence=None if evidence is None else json_safe(evidence),
            )
        )
    items.sort(key=lambda item: (-item.match, -item.predicted_rating))  # stable
    return items
