"""Why a movie is recommended: each component's contribution, its evidence, the sentences.

**Contribution** of a component (percentage points of the rank probability): how much lower
the probability is with that component blanked (neutral values, indicator 1); popularity is
scored as the probability that remains with every optional component blanked. Explaining thus
costs one pass of the rank model per component over the rows explained.

Each evidence dict holds ``components`` (those contributions), every present component's raw
evidence (:meth:`~recommender.blend.component.Opinion.evidence`), ``reasons`` (strongest
first, :func:`recommender.reasons.reasons_for`) and ``reason`` (the first).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from recommender.blend.component import Opinions
from recommender.blend.features import FeatureLayout, blank
from recommender.blend.learning import Learned


def contributions(
    learned: Learned, layout: FeatureLayout, X: np.ndarray, rank: np.ndarray
) -> dict[str, np.ndarray]:
    """``{component: (len(X),) percentage points}`` for filled rows ``X`` whose rank
    probabilities are ``rank``; a component missing from a row contributes 0 there."""
    optional = tuple(layout.missing)
    blanked = [blank(X, layout, learned.neutral, [name]) for name in optional]
    everything = blank(X, layout, learned.neutral, optional)
    probs = learned.rank(np.vstack([*blanked, everything]))
    n = len(X)
    out: dict[str, np.ndarray] = {}
    for i, name in enumerate(optional):
        present = X[:, layout.missing[name]] == 0
        out[name] = np.where(present, 100.0 * (rank - probs[i * n : (i + 1) * n]), 0.0)
    out["popularity"] = 100.0 * probs[len(optional) * n :]
    return out


def explain(
    opinions: Opinions,
    learned: Learned,
    layout: FeatureLayout,
    idx: np.ndarray,
    X: np.ndarray,
    rank: np.ndarray,
) -> list[dict[str, Any]]:
    """Evidence dicts for catalogue positions ``idx`` (filled rows ``X``, rank ``rank``)."""
    from recommender.reasons import reasons_for

    contrib = contributions(learned, layout, X, rank)
    raw = [opinion.evidence(idx) for opinion in opinions.by_component.values()]
    items = []
    for j in range(len(idx)):
        evidence: dict[str, Any] = {
            "components": {c: round(float(v[j]), 2) for c, v in contrib.items()}
        }
        for per_movie in raw:
            evidence.update(per_movie[j])
        evidence["reasons"] = reasons_for(evidence)
        evidence["reason"] = evidence["reasons"][0] if evidence["reasons"] else ""
        items.append(evidence)
    return items
