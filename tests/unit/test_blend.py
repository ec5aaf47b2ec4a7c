"""The blend: the shared model contract, fallback when a component is missing, evidence.

Data: the contract's two-taste-groups checkerboard (40 people, 22 movies); content vectors come
from the real SBERT model on the 22 short movie texts (cached in a temporary folder).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest

from recommender.artifacts import IncompatibleArtifact, read_manifest
from recommender.blend import COMPONENTS, BlendRecommender, Component, Opinion
from recommender.blend.features import feature_matrix, fill
from recommender.content import ContentRecommender, EmbeddingCache, SentenceEncoder, describe
from recommender.models import make_model
from tests.recommender_contract import (
    ACTION,
    ACTION_FAN,
    ROMANCE,
    ROMANCE_FAN,
    RecommenderContract,
    taste_groups,
)

_ENCODER = SentenceEncoder()
_CACHE = Path(tempfile.gettempdir()) / "test_blend_embeddings"


def make_blend(**params) -> BlendRecommender:
    content = ContentRecommender(encoder=_ENCODER, cache=EmbeddingCache(_CACHE))
    settings = dict(neural=None, blend_users=0.5, sizes=(3, 6), content_model=content, seed=1)
    return BlendRecommender(**{**settings, **params})


class TestBlendContract(RecommenderContract):
    def make_model(self):
        return make_blend()


@pytest.fixture(scope="module")
def blend() -> BlendRecommender:
    return make_blend().fit(*taste_groups())


def test_registry_builds_the_blend():
    assert isinstance(make_model("blend", neural=None), BlendRecommender)


def test_components_and_learning_figures(blend):
    assert blend.components == (
        "popularity",
        "coliked",
        "pearson",
        "content",
        "following",
        "era",
        "ease",
    )
    assert blend.metrics["blend_users"] == 20  # half of the 40 training people
    assert blend.metrics["rank_rows"] > 0 and 0 < blend.metrics["match_positive_share"] < 1


def test_people_teaching_the_weights_are_capped_so_the_fit_does_not_grow_with_everybody():
    """The cross-fitting loop scores every movie for each profile of each person it takes:
    ``max_blend_users`` bounds that count however many people the data has."""
    capped = make_blend(blend_users=1.0, max_blend_users=8, folds=2).fit(*taste_groups())
    assert capped.metrics["blend_users"] == 8  # of 40 eligible people
    assert len(capped.recommend(ACTION_FAN, k=6)) == 6


@pytest.mark.parametrize(
    "missing", [("pearson",), ("content",), ("coliked",), ("pearson", "content", "coliked")]
)
def test_falls_back_cleanly_when_components_are_missing(blend, missing):
    partial = blend.without(*missing)
    assert not set(missing) & set(partial.components)
    recs = partial.recommend(ACTION_FAN, k=6)
    assert len(recs) == 6 and not set(recs.movie_ids.tolist()) & set(ACTION_FAN)
    assert np.isfinite(recs.scores).all()
    assert ((recs.match >= 0) & (recs.match <= 100)).all()
    for evidence in recs.evidence:
        for component in missing:
            assert evidence["components"][component] == 0.0
        assert evidence["reason"] == evidence["reasons"][0]
    if "pearson" in missing:
        assert "neighbours_liked" not in recs.evidence[0]


def test_missing_component_gets_indicator_and_neutral_values(blend):
    col = {name: i for i, name in enumerate(blend.layout.names)}
    neutral = blend.learned.neutral

    def rows(model, movies):
        opinions = model.ensemble.opinions(dict(ACTION_FAN), None)
        X = feature_matrix(model.layout, opinions, np.array(movies), model.default_rating)
        return fill(X, neutral)

    X = rows(blend.without("pearson"), [5, 6])
    assert (X[:, col["pearson_missing"]] == 1).all()
    assert (X[:, col["pearson_predicted"]] == neutral[col["pearson_predicted"]]).all()
    assert rows(blend, [5])[0, col["pearson_missing"]] == 0


def test_popularity_cannot_be_removed(blend):
    with pytest.raises(ValueError, match="popularity"):
        blend.without("popularity")


def test_blend_fitted_without_pearson_and_content_still_works():
    model = make_blend(use_pearson=False, use_content=False).fit(*taste_groups())
    assert model.components == ("popularity", "coliked", "following", "era", "ease")
    recs = model.recommend(ACTION_FAN, k=4)
    assert set(recs.movie_ids.tolist()) <= set(ACTION)


def test_evidence_names_the_drivers_and_the_liked_movies(blend):
    recs = blend.recommend(ROMANCE_FAN, k=3)
    evidence = recs.evidence[0]
    assert set(evidence["components"]) == {
        "popularity",
        "coliked",
        "pearson",
        "content",
        "neural",
        "following",
        "era",
        "ease",
    }
    assert evidence["neighbour_count"] > 0
    assert evidence["coliked_movie"] in {11, 12, 13}  # the profile's liked Romance movies
    assert evidence["reasons"] and evidence["reason"] == evidence["reasons"][0]
    assert evidence == blend.explain(ROMANCE_FAN, [int(recs.movie_ids[0])])[0]


def test_candidates_from_a_description_are_ranked_for_the_person(blend):
    ids, cosine = describe("a movie", blend.vectors, k=8, encoder=_ENCODER)
    assert len(ids) == 8 and (np.diff(cosine) <= 1e-6).all()
    recs = blend.recommend(ACTION_FAN, k=20, candidates=ids)
    assert set(recs.movie_ids.tolist()) <= set(ids.tolist()) - set(ACTION_FAN)


def test_save_and_load_give_the_same_recommendations(blend, tmp_path):
    blend.save(tmp_path)
    manifest = read_manifest(tmp_path)
    assert manifest["components"] == list(blend.components)
    assert {"python", "numpy", "scikit-learn"} <= set(manifest["software"])
    loaded = BlendRecommender.load(tmp_path)
    first, again = blend.recommend(ROMANCE_FAN, k=5), loaded.recommend(ROMANCE_FAN, k=5)
    assert first.movie_ids.tolist() == again.movie_ids.tolist()
    np.testing.assert_allclose(first.match, again.match)
    assert set(first.movie_ids.tolist()) <= set(ROMANCE)


def test_story_vectors_come_with_the_content_component(blend):
    ids, cosine = blend.vectors.similar(1, k=5)
    assert len(ids) == 5 and 1 not in ids.tolist()
    assert (np.diff(cosine) <= 1e-6).all()
    assert blend.without("content").vectors is None


def test_a_blend_saved_in_another_format_is_refused_clearly(blend, tmp_path):
    blend.save(tmp_path)
    manifest = tmp_path / "manifest.json"
    manifest.write_text(manifest.read_text().replace('"format": 2', '"format": 1'))
    with pytest.raises(IncompatibleArtifact, match="scripts.fit_blend"):
        BlendRecommender.load(tmp_path)


class Recent(Component):
    """A component written only here: newer movies first (to show that adding one is one
    class plus one entry in the component list)."""

    name = "recent"
    features = ("recent_year",)

    class View(Opinion):
        def __init__(self, year):
            self.year = year

        def features(self, idx):
            return self.year[idx, None]

        def evidence(self, idx):
            return [{"recent_year": float(self.year[p])} for p in idx]

    def fit(self, data):
        fitted = self.clone()
        fitted.year = data.catalogue.year
        return fitted

    def opinion(self, profile, user):
        return self.View(self.year)


def test_a_new_component_is_one_class_and_one_entry():
    model = make_blend(component_types=(*COMPONENTS, Recent)).fit(*taste_groups())
    assert model.components[-1] == "recent"
    assert model.layout.names[-2:] == ("recent_year", "recent_missing")
    evidence = model.recommend(ROMANCE_FAN, k=3).evidence[0]
    assert "recent" in evidence["components"] and evidence["recent_year"] > 2000
    assert (
        model.without("recent").recommend(ROMANCE_FAN, k=3).evidence[0]["components"]["recent"]
        == 0.0
    )


class Broken(Recent):
    name = "broken"
    features = ("broken_value",)

    def fit(self, data):
        raise RuntimeError("cannot be built here")


def test_a_component_that_cannot_be_built_is_left_out_loudly(caplog):
    model = make_blend(component_types=(*COMPONENTS, Broken), use_content=False)
    model.fit(*taste_groups())
    assert "broken" not in model.components and "broken_missing" in model.layout.names
    assert "blend: broken component unavailable" in caplog.text
    evidence = model.recommend(ACTION_FAN, k=3).evidence[0]
    assert evidence["components"]["broken"] == 0.0 and evidence["reasons"]
