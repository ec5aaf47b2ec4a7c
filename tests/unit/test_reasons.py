"""Reason strings built from a recommendation's evidence."""

from __future__ import annotations

from recommender.blend.components import component_sentence
from recommender.reasons import reasons_for, stars

EVIDENCE = {
    "components": {
        "pearson": 6.0,
        "coliked": 12.5,
        "content": 1.5,
        "neural": -2.0,
        "popularity": 20.0,
    },
    "ratings": 200,
    "liked": 120,
    "neighbours_rated": 30,
    "neighbours_liked": 15,
    "neighbour_count": 50,
    "coliked_movie": 6,
    "coliked_title": "Heat",
    "coliked_your_rating": 5.0,
    "coliked_share": 0.42,
    "nearest_liked": 1200,
    "nearest_liked_title": "Alien",
    "nearest_liked_your_rating": 4.5,
    "nearest_liked_similarity": 0.61,
    "neural_predicted": 4.3,
}


def test_reasons_follow_the_components_contributions():
    reasons = reasons_for(EVIDENCE)
    assert reasons == [
        "people who liked Heat (you: 5★) rate it highly — 42% of them gave it 4★+",
        "15 of 50 people with your taste gave it 4★+",
        "its story is close to Alien, which you rated 4.5★",
        "popular: 120 people gave it 4★+",
    ]  # the neural model lowered the score: not given as a reason


def test_popularity_leads_when_nothing_personal_helped():
    evidence = {**EVIDENCE, "components": {"pearson": -1.0, "coliked": 0.0, "popularity": 30.0}}
    assert reasons_for(evidence) == ["popular: 120 people gave it 4★+"]


def test_weak_evidence_is_not_claimed():
    weak = {
        **EVIDENCE,
        "nearest_liked_similarity": 0.1,
        "coliked_share": 0.01,
        "neighbours_liked": 0,
    }
    for component in ("content", "coliked", "pearson"):
        assert component_sentence(component, weak) is None
    assert reasons_for({"components": {}}) == ["a pick from the whole catalogue"]


def test_star_formatting():
    assert stars(5.0) == "5★" and stars(4.5) == "4.5★" and stars(0.5) == "0.5★"


def test_no_engineering_words_and_no_second_star_figure():
    """Every sentence is in a person's words, and none states a rating other than the one the
    card shows (the blend's predicted stars)."""
    evidence = {**EVIDENCE, "components": {"pearson": 5.0, "neural": 9.0, "content": 1.0}}
    reasons = reasons_for(evidence)
    assert reasons[0] == "it fits the pattern of your ratings"
    text = " ".join(reasons).lower()
    for word in ("neighbour", "neural", "model", "pearson", "embedding", "cosine", "4.3"):
        assert word not in text
