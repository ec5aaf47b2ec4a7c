"""Reason strings: turn a recommendation's evidence into short sentences a person can read.

Input: one evidence dict as the blend writes it (:mod:`recommender.blend.explanation`):
``components`` (contribution of each component in percentage points of the rank probability)
and each component's raw evidence. Output: a list of sentences, strongest first — the app shows
the first as the one-line ``reason`` and the rest on demand.

Each component writes its own sentence (:meth:`recommender.blend.component.Component.sentence`,
e.g. "15 of 50 people with your taste gave it 4★+" for Pearson, "its story is close to Alien,
which you rated 4.5★" for content, "popular: 120 people gave it 4★+" for popularity).
Personal components are ordered by their contribution (largest first; those that lowered the
score are left out); popularity comes last, or first when nothing personal helped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def stars(value: float) -> str:
    """``5.0 -> "5★"``, ``4.5 -> "4.5★"``."""
    return f"{value:g}★"


def known(value: Any) -> bool:
    """Whether an evidence value is present (not ``None`` nor NaN)."""
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def reasons_for(evidence: Mapping[str, Any]) -> list[str]:
    """Every reason sentence for one recommendation, strongest first (see module docstring)."""
    from recommender.blend.components import component_sentence

    contributions: Mapping[str, float] = evidence.get("components", {})
    personal = [
        (value, name)
        for name, value in contributions.items()
        if name != "popularity" and value is not None and value > 0
    ]
    personal.sort(key=lambda item: -item[0])
    reasons = [s for _, name in personal if (s := component_sentence(name, evidence))]
    popular = component_sentence("popularity", evidence)
    if popular:
        reasons.append(popular)
    return reasons
