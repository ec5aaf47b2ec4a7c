"""Reason strings: turn a recommendation's evidence into short sentences a person can read.

Input: one evidence dict as the blend writes it (see :meth:`BlendRecommender._evidence`):
``components`` (contribution of each component in percentage points of the rank probability)
and the raw evidence keys below. Output: a list of sentences, strongest first — the app shows
the first as the one-line ``reason`` and the rest on demand.

=================  ================================================  ==========================
component          evidence keys                                     sentence
=================  ================================================  ==========================
pearson            neighbours_liked, neighbour_count                 "15 of 50 people with
                                                                     your taste gave it 4★+"
coliked            coliked_title, coliked_your_rating,               "people who liked Heat
                   coliked_share                                     (you: 5★) rate it highly —
                                                                     42% of them gave it 4★+"
content            nearest_liked_title, nearest_liked_your_rating,   "its story is close to
                   nearest_liked_similarity                          Alien, which you rated
                                                                     4.5★"
neural             neural_predicted                                  "it fits the pattern of
                                                                     your ratings"
popularity         liked, ratings                                    "popular: 120 people gave
                                                                     it 4★+"
=================  ================================================  ==========================

Personal components are ordered by their contribution (largest first; those that lowered the
score are left out); popularity comes last, or first when nothing personal helped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from recommender.document import Recommendation

MIN_STORY_SIMILARITY = 0.35
"""Cosine (0–1) below which "its story is close to ..." is not claimed."""

MIN_COLIKED_SHARE = 0.05
"""Share of co-likers below which "people who liked X rate it highly" is not claimed."""


def stars(value: float) -> str:
    """``5.0 -> "5★"``, ``4.5 -> "4.5★"``."""
    return f"{value:g}★"


def _known(value: Any) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value))


def component_sentence(component: str, evidence: Mapping[str, Any]) -> str | None:
    """The sentence for one component, or ``None`` when its evidence is too weak to show."""
    ev = evidence
    if component == "pearson":
        liked, count = ev.get("neighbours_liked", 0), ev.get("neighbour_count", 0)
        if liked and count:
            return f"{liked} of {count} people with your taste gave it 4★+"
    elif component == "coliked":
        title, rating = ev.get("coliked_title"), ev.get("coliked_your_rating")
        share = ev.get("coliked_share", 0.0) or 0.0
        if title and _known(rating) and share >= MIN_COLIKED_SHARE:
            return (
                f"people who liked {title} (you: {stars(rating)}) rate it highly — "
                f"{round(100 * share)}% of them gave it 4★+"
            )
    elif component == "content":
        title, rating = ev.get("nearest_liked_title"), ev.get("nearest_liked_your_rating")
        similarity = ev.get("nearest_liked_similarity", 0.0) or 0.0
        if title and _known(rating) and similarity >= MIN_STORY_SIMILARITY:
            return f"its story is close to {title}, which you rated {stars(rating)}"
    elif component == "neural":
        predicted = ev.get("neural_predicted")
        if _known(predicted):
            # No number: the card's predicted stars are the blend's, and a second, different
            # figure would contradict them.
            return "it fits the pattern of your ratings"
    elif component == "popularity":
        liked = ev.get("liked", 0)
        if liked:
            return f"popular: {liked} people gave it 4★+"
        return "a pick from the whole catalogue"
    return None


def reasons_for(evidence: Mapping[str, Any]) -> list[str]:
    """Every reason sentence for one recommendation, strongest first (see module docstring)."""
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


def reason_line(evidence: Mapping[str, Any]) -> str:
    """The one-line reason (the strongest sentence), "" when there is none."""
    reasons = reasons_for(evidence)
    return reasons[0] if reasons else ""


# ============================================================================================
# The worker's sentences: lists served by the worker (Pearson's own evidence, the movies
# matching a description, what is still needed). Every sentence a person reads about a
# recommendation is written in this module.
# ============================================================================================


def rate_more(needed: int, purpose: str) -> str:
    """``"Rate 3 more movies to <purpose>"`` (``needed`` >= 1 ratings still missing)."""
    return f"Rate {needed} more movie{'s' if needed != 1 else ''} to {purpose}"


def not_enough_ratings(needed: int) -> str:
    """The message of a list asked for with fewer than five ratings."""
    return rate_more(needed, "get recommendations.")


def rank_for_you(needed: int) -> str:
    """The reason added to movies matching a description while ratings are still missing."""
    return rate_more(needed, "rank these for you")


def close_to_description(cosine: float) -> str:
    """A movie found by describing what you want; ``cosine`` in -1..1."""
    return f"Its story matches your description ({round(100 * max(cosine, 0.0))}% close)"


def story_reason(sentence: str | None, cosine: float, limit: int = 160) -> str:
    """The line a card shows for a movie found by a description: the matching sentence of
    its story (:class:`recommender.describe.StoryMatcher`; shortened to ``limit`` characters
    at a word), or :func:`close_to_description` when it has no overview."""
    if not sentence:
        return close_to_description(cosine)
    if len(sentence) > limit:
        sentence = sentence[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return f"Its story: “{sentence}”"


def neighbour_sentence(
    evidence: Mapping[str, Any], predicted: float, neighbour_count: int | None
) -> str:
    """One line from a neighbourhood model's evidence (``neighbours_rated``,
    ``neighbours_liked``) and the list's ``neighbour_count``; else the predicted stars."""
    rated, liked = evidence.get("neighbours_rated"), evidence.get("neighbours_liked")
    if rated is not None and neighbour_count:
        liked_part = f", {liked} gave it 4★+" if liked is not None else ""
        return f"{rated} of {neighbour_count} people with your taste rated it{liked_part}"
    return f"We predict you would rate it {predicted:.1f}★"


def predicted_sentence(predicted: float) -> str:
    return f"Predicted rating for you: {predicted:.1f}★"


def explained(item: Recommendation, neighbour_count: int | None) -> Recommendation:
    """``item`` (explained: its ``evidence`` is set) with ``reason`` (one line) and
    ``reasons`` (all) as a person reads them, and the evidence without the reason keys.

    The model's own reasons (the blend's ``evidence["reasons"]``) are used when it gives them;
    otherwise the neighbour sentence and the predicted stars. A movie found by a description
    leads with the sentence of its story that matches (:func:`story_reason`; ``story_match``
    and ``query_similarity`` go into its evidence). Items that already carry reasons (lists
    ranked by a description) are returned as they are."""
    if item.reason is not None and item.reasons is not None:
        return item
    predicted = item.predicted_rating
    evidence = dict(item.evidence or {})
    reasons = [str(r) for r in evidence.pop("reasons", None) or [] if r]
    reason = evidence.pop("reason", None) or (reasons[0] if reasons else None)
    if not reason:
        reason = neighbour_sentence(evidence, predicted, neighbour_count)
        reasons = [reason, predicted_sentence(predicted)]
    if item.query_similarity is not None:  # found by a description: its story first
        evidence["query_similarity"] = item.query_similarity
        evidence["story_match"] = item.story_match
        reason = story_reason(item.story_match, item.query_similarity)
        reasons = [reason, *reasons]
    return replace(item, reason=reason, reasons=reasons, evidence=evidence)
