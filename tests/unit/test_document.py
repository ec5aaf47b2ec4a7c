"""The recommendation document (recommender/document.py): the cached JSON of each kind of list
reads back into the typed structure and out again unchanged, and the worker's reasons
(recommender/reasons.py) turn an item into what a person reads."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

from recommender import document
from recommender.base import Recommendations
from recommender.document import Recommendation, RecommendationList
from recommender.reasons import close_to_description, explained, not_enough_ratings

STORY = "A crew wakes to find their ship drifting towards a silent moon."

# The three shapes the worker has cached in Redis since lists were explained when shown.
PEARSON_LIST = {
    "model": "pearson",
    "model_version": "pearson@ml-latest-small",
    "computed_at": "2026-11-29T09:00:00.123456+00:00",
    "ratings_version": 7,
    "neighbour_count": 50,
    "items": [
        {
            "movie_id": 318,
            "predicted_rating": 4.61,
            "match": 93,
            "evidence": {"neighbours_rated": 31, "neighbours_liked": 29},
        },
        {"movie_id": 2959, "predicted_rating": 4.4, "match": 88, "evidence": None},
    ],
}
MATCHES_RANKED_BY_MODEL = {
    "model": "blend",
    "model_version": "blend@20261101T000000Z",
    "computed_at": "2026-11-29T09:00:00.000001+00:00",
    "ratings_version": 3,
    "query": "a slow-burn space mystery",
    "digest": "0123456789abcdef0123456789abcdef",
    "ranked_by": "model",
    "neighbour_count": None,
    "items": [
        {
            "movie_id": 1,
            "predicted_rating": 4.0,
            "match": 71,
            "evidence": {"reasons": ["its story is close to Alien, which you rated 4.5★"]},
            "query_similarity": 0.512,
            "story_match": STORY,
        }
    ],
}
MATCHES_RANKED_BY_DESCRIPTION = {
    "model": "pearson",
    "model_version": "pearson@ml-latest-small",
    "computed_at": "2026-11-29T09:00:00.000002+00:00",
    "ratings_version": 0,
    "query": "robots",
    "digest": "fedcba9876543210fedcba9876543210",
    "ranked_by": "description",
    "items": [
        {
            "movie_id": 2571,
            "predicted_rating": 3.5,
            "match": 48,
            "reason": "Its story matches your description (48% close)",
            "reasons": [
                "Its story matches your description (48% close)",
                "Rate 5 more movies to rank these for you",
            ],
            "evidence": {"query_similarity": 0.48},
        }
    ],
}


def test_each_cached_shape_reads_and_writes_back_unchanged():
    for stored in (PEARSON_LIST, MATCHES_RANKED_BY_MODEL, MATCHES_RANKED_BY_DESCRIPTION):
        doc = RecommendationList.from_json(json.loads(json.dumps(stored)))
        assert json.dumps(doc.to_json()) == json.dumps(stored)
    doc = RecommendationList.from_json(PEARSON_LIST)
    assert [item.explained for item in doc.items] == [True, False]
    assert doc.page(1, 24) == doc.items[1:]


def test_a_model_list_becomes_the_document_without_rated_movies_and_json_safe():
    recs = Recommendations(
        movie_ids=np.array([5, 7, 9], dtype=np.int64),
        scores=np.array([3.0, 2.0, 1.0]),
        predicted=np.array([4.567, 4.0, 3.0]),
        match=np.array([91.6, 80.2, 10.0]),
        evidence=[{"neighbours_rated": np.int64(3), "x": float("nan")}, None, None],
        context={"neighbour_count": 10},
    )
    doc = RecommendationList.from_recommendations(
        recs, {7: 4.0}, model="m", model_version="m@1", computed_at="t", ratings_version=2
    )
    assert [item.movie_id for item in doc.items] == [5, 9]
    first = doc.items[0]
    assert (first.predicted_rating, first.match) == (4.57, 92)
    assert first.evidence == {"neighbours_rated": 3, "x": None}
    assert type(first.evidence["neighbours_rated"]) is int and doc.neighbour_count == 10
    assert doc.items[1].evidence is None
    json.dumps(doc.to_json(), allow_nan=False)


def test_reasons_of_a_neighbourhood_item_a_blend_item_and_a_match():
    pearson = RecommendationList.from_json(PEARSON_LIST)
    shown = explained(pearson.items[0], pearson.neighbour_count).shown_json()
    assert shown["reason"] == "31 of 50 people with your taste rated it, 29 gave it 4★+"
    assert shown["reasons"] == [shown["reason"], "Predicted rating for you: 4.6★"]
    assert shown["evidence"] == {"neighbours_rated": 31, "neighbours_liked": 29}

    blend = RecommendationList.from_json(MATCHES_RANKED_BY_MODEL)
    shown = explained(blend.items[0], None).shown_json()
    # a movie found by a description: the sentence of its story that matches comes first
    assert shown["reason"] == f"Its story: “{STORY}”"
    alien = "its story is close to Alien, which you rated 4.5★"
    assert shown["reasons"] == [shown["reason"], alien]
    # the reasons are not evidence
    assert shown["evidence"] == {"query_similarity": 0.512, "story_match": STORY}
    no_story = replace(blend.items[0], story_match=None)
    assert explained(no_story, None).reason == close_to_description(0.512)

    matches = RecommendationList.from_json(MATCHES_RANKED_BY_DESCRIPTION)
    shown = explained(matches.items[0], None).shown_json()
    assert shown["reasons"][1] == "Rate 5 more movies to rank these for you"
    assert not_enough_ratings(1) == "Rate 1 more movie to get recommendations."
    assert close_to_description(-0.2) == "Its story matches your description (0% close)"
    assert (shown["match"], shown["evidence"]) == (48, {"query_similarity": 0.48})


def test_an_api_item_reads_into_the_document_type():
    item = {
        "movie": {"id": 318, "title": "The Shawshank Redemption"},
        "predicted_rating": 4.61,
        "match": 93,
        "reason": "31 of 50 people with your taste rated it",
        "reasons": ["31 of 50 people with your taste rated it", ""],
        "evidence": {"components": {"pearson": 12.5}},
    }
    rec = Recommendation.from_api(item)
    assert (rec.movie_id, rec.match, rec.reasons) == (318, 93, [item["reason"]])
    assert rec.evidence == {"components": {"pearson": 12.5}}


def test_the_document_imports_only_the_standard_library():
    """The app image holds recommender/document.py and nothing else of recommender/."""
    tree = ast.parse(Path(document.__file__).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names = [node.module or ""]
        else:
            continue
        assert {n.split(".")[0] for n in names} <= set(sys.stdlib_module_names) | {"__future__"}
    code = (
        "import sys, recommender.document, recommender.reasons; "
        "heavy = {'numpy', 'pandas', 'flask', 'tensorflow', 'torch'} & set(sys.modules); "
        "sys.exit(sorted(heavy) or 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_json_safe_keeps_plain_values_and_converts_numpy_and_non_finite_ones():
    from recommender.document import json_safe

    value = {
        "a": [1, True, None, "x", 0.5, float("nan"), float("-inf")],
        "b": (np.float32(0.25), np.int64(3), np.float64("nan"), np.bool_(True)),
        "c": {"d": np.float64(2.5), "e": {"f": np.inf}},
    }
    safe = json_safe(value)
    assert safe == {
        "a": [1, True, None, "x", 0.5, None, None],
        "b": [0.25, 3, None, True],
        "c": {"d": 2.5, "e": {"f": None}},
    }
    assert [type(v) for v in safe["b"]] == [float, int, type(None), bool]
    assert type(safe["a"][1]) is bool and type(safe["c"]["d"]) is float
    json.dumps(safe, allow_nan=False)
