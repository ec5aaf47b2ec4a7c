"""Which app users count as taste neighbours (resistance to shilling).

An attacker who signs up fake accounts that copy a person's ratings and give one film 5 stars
becomes that person's closest "taste neighbours", and Pearson then recommends the film. Three
rules, each a setting:

- **Age**: an account counts as a neighbour only ``NEIGHBOUR_MIN_AGE_SECONDS`` (default
  3 days) after it was created, so a burst of fresh accounts changes nobody's list.
- **Ratings**: and only with at least ``NEIGHBOUR_MIN_RATINGS`` (default 20) ratings.
- **Cap**: however many accounts pass both, at most ``NEIGHBOUR_MAX_APP`` (default 3) of the
  50 neighbours of a list are app users; the rest are MovieLens raters, whom no one can
  fake. So aged fake accounts can move a film only as far as 3 neighbours can: with 20 of
  them the pushed film stayed out of the victim's 240 in 8 of 8 simulated victims (with a cap
  of 5 it reached ranks 165-240).

Plus the per-address sign-up limit (:mod:`worker.limits`, 429 with ``Retry-After``), which
makes many accounts slower to get. Measured by ``python -m scripts.shilling_sim``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class NeighbourPolicy:
    """The three rules above: seconds of age, ratings needed, app users per list (``None``:
    no cap)."""

    min_age_seconds: float = 3 * 86400
    min_ratings: int = 20
    max_app_neighbours: int | None = 3

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> NeighbourPolicy:
        cap = config.get("NEIGHBOUR_MAX_APP", 3)
        return cls(
            float(config.get("NEIGHBOUR_MIN_AGE_SECONDS", 3 * 86400)),
            int(config.get("NEIGHBOUR_MIN_RATINGS", 20)),
            None if cap is None else int(cap),
        )

    def eligible_at(self, created_at: str | None, rating_count: int) -> float | None:
        """Unix time from which an account created at ``created_at`` (ISO 8601) with
        ``rating_count`` ratings counts as a neighbour; ``None`` while it has too few ratings
        (a later rating re-asks)."""
        if rating_count < max(self.min_ratings, 1):
            return None
        if not created_at or self.min_age_seconds <= 0:
            return 0.0
        return datetime.fromisoformat(created_at).timestamp() + self.min_age_seconds


def pearson_of(model: Any) -> Any | None:
    """The Pearson recommender holding the app users of ``model`` (Pearson itself, or the
    blend's Pearson component), or ``None``."""
    from recommender.pearson import PearsonRecommender

    if isinstance(model, PearsonRecommender):
        return model
    component = getattr(model, "component", None)
    part = component("pearson") if callable(component) else None
    return getattr(part, "model", None)


def apply_cap(model: Any, policy: NeighbourPolicy) -> None:
    """Set the policy's cap on the model's Pearson neighbours (no-op for other models)."""
    pearson = pearson_of(model)
    if pearson is not None:
        pearson.max_app_neighbours = policy.max_app_neighbours
