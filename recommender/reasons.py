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
from dataclasses import replace
from typing import Any

from recommender.document import Recommendation


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


# ============================================================================================
# The home view's rows (recommender/rows.py): each row's reason is in its title.
# ============================================================================================


def row_title(kind: str, about: str = "") -> str:
    """A row's title: ``"Top picks for you"``, ``"Because you liked <movie>"``, ``"<Genre>
    for you"``, ``"Something different"`` (``about``: the movie's title or the genre)."""
    titles = {
        "top_picks": "Top picks for you",
        "because_you_liked": f"Because you liked {about}",
        "genre": f"{about} for you",
        "something_different": "Something different",
    }
    return titles[kind]


def row_reason(
    kind: str, about: str = "", *, rating: float = 0.0, loved: int = 0, chosen: bool = False
) -> str:
    """The sentence under a row's title: why these movies, and in what order. ``about``: the
    loved movie's title, the genre, or the usual genres ("Drama, Comedy"); ``rating``: the
    loved movie's stars; ``loved``: how many movies the person loved have the genre;
    ``chosen``: a genre the person picked."""
    if kind == "top_picks":
        return "Your best matches from the whole catalogue"
    if kind == "because_you_liked":
        return f"Movies most like {about}, which you rated {stars(rating)}, best match first"
    if kind == "genre":
        loved_them = f"loved {loved} {about} movie{'s' if loved != 1 else ''}"
        why = {
            (True, True): f"You picked {about} and {loved_them}",
            (True, False): f"You {loved_them}",
            (False, True): f"You picked {about}",
        }.get((loved > 0, chosen), f"{about} is one of your genres")
        return f"{why}; best match first"
    usual = f" ({about})" if about else ""
    return f"Your high matches outside your usual genres{usual}"
