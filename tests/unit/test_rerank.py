"""The familiar ↔ discover re-ranking stage (recommender/rerank.py): on hand-made facts, and on
a real blend fitted on the contract's two taste groups (SBERT content included)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.rerank import (
    DEFAULT_DISCOVER,
    MovieFacts,
    distinctive_genres,
    genre_candidates,
    pages_in_model_order,
    profile_genres,
    rerank,
    widened,
)

GENRES = ["Action", "Comedy", "Documentary", "Drama"]


def facts_of(movies: dict[int, tuple[int, list[str]]]) -> MovieFacts:
    """Facts from ``{movie_id: (rating count, genres)}``."""
    ids = np.array(list(movies), dtype=np.int64)
    counts = np.array([c for c, _ in movies.values()])
    matrix = np.array([[g in gs for g in GENRES] for _, gs in movies.values()], dtype=float)
    return MovieFacts.build(ids, counts, matrix)


# 1-10 popular action/comedy/drama, 11-20 little-known documentaries, 21-25 rated by the person
CATALOGUE = {
    **{m: (1000 - 10 * m, [["Action"], ["Comedy"], ["Drama"]][m % 3]) for m in range(1, 11)},
    **{m: (20, ["Documentary"]) for m in range(11, 21)},
    **{m: (30, ["Documentary"]) for m in range(21, 26)},
}
FACTS = facts_of(CATALOGUE)
DOC_LOVER = {21: 5.0, 22: 5.0, 23: 4.5, 24: 5.0, 25: 4.5}
MODEL_ORDER = np.arange(1, 21)  # a model that puts the blockbusters first


def test_familiar_keeps_the_models_order():
    assert rerank(MODEL_ORDER, DOC_LOVER, FACTS, 0.0).tolist() == MODEL_ORDER.tolist()


@pytest.mark.parametrize("discover", [0.0, 0.3, DEFAULT_DISCOVER, 0.7, 1.0])
def test_the_same_movies_come_back_each_once(discover):
    out = rerank(MODEL_ORDER, DOC_LOVER, FACTS, discover)
    assert sorted(out.tolist()) == MODEL_ORDER.tolist()


def test_a_documentary_lover_gets_documentaries_first_when_discovering():
    top = rerank(MODEL_ORDER, DOC_LOVER, FACTS, 1.0)[:6]
    assert set(top.tolist()) <= set(range(11, 21))


def test_more_discover_means_fewer_blockbusters_on_top():
    popular = set(range(1, 11))
    shares = [
        len(popular & set(rerank(MODEL_ORDER, DOC_LOVER, FACTS, d)[:10].tolist()))
        for d in (0.0, 0.3, 1.0)
    ]
    assert shares[0] == 10 and shares[0] > shares[2] and shares[1] >= shares[2]


def test_a_blockbuster_fan_keeps_more_blockbusters_than_a_documentary_lover():
    fan = {1: 5.0, 2: 5.0, 3: 4.5, 4: 5.0, 5: 4.0}
    order = np.array([*range(6, 11), *range(11, 21)])
    fan_top = rerank(order, fan, FACTS, 0.5)[:5]
    lover_top = rerank(order, DOC_LOVER, FACTS, 0.5)[:5]
    assert np.isin(fan_top, range(6, 11)).sum() > np.isin(lover_top, range(6, 11)).sum()


def test_the_persons_genres_and_distinctive_genres():
    genres = profile_genres({21: 5.0, 1: 3.0, 2: 1.0}, FACTS)  # 1: Comedy, 2: Drama (disliked)
    assert genres[GENRES.index("Documentary")] == pytest.approx(2.5 / 3.0)
    assert genres[GENRES.index("Comedy")] == pytest.approx(0.5 / 3.0)
    assert genres[GENRES.index("Drama")] == 0.0
    assert genres.sum() == pytest.approx(1.0)
    distinct = distinctive_genres(DOC_LOVER, FACTS)
    assert distinct[GENRES.index("Documentary")] == pytest.approx(1.0)
    assert not profile_genres({1: 1.0}, FACTS).any()  # nothing liked: no genres


def test_genre_candidates_are_the_main_genres_most_rated_movies_not_yet_seen():
    found = genre_candidates(DOC_LOVER, FACTS, exclude=[11, 12], per_genre=3)
    assert sorted(found.tolist()) == [13, 14, 15]


def test_unknown_movies_are_kept_and_do_not_break_it():
    out = rerank([999, 1, 11], DOC_LOVER, FACTS, 1.0)
    assert sorted(out.tolist()) == [1, 11, 999]


def test_each_page_reads_in_the_models_order():
    model_order = [10, 20, 30, 40, 50, 60]
    reordered = [50, 10, 60, 20, 40, 30]  # re-ranking chose {50, 10, 60} for page 1
    assert pages_in_model_order(reordered, model_order, 3).tolist() == [10, 50, 60, 20, 30, 40]


# ---------------------------------------------------------------------- on a real blend


def test_a_real_blend_widened_and_reranked_serves_the_persons_genre():
    from recommender.blend import BlendRecommender
    from recommender.content import ContentRecommender, EmbeddingCache, SentenceEncoder
    from tests.recommender_contract import ACTION, ROMANCE, taste_groups

    ratings, movies = taste_groups()
    content = ContentRecommender(encoder=SentenceEncoder(), cache=EmbeddingCache(_cache_dir()))
    blend = BlendRecommender(
        neural=None, blend_users=0.5, folds=2, sizes=(3,), content_model=content, seed=1
    ).fit(ratings, movies)
    facts = MovieFacts.from_ratings(ratings, movies)
    romance_fan = {11: 5.0, 12: 5.0, 13: 4.5, 1: 1.0, 2: 1.0}
    recs = widened(blend, romance_fan, facts, 6, explain_first=0)
    assert len(set(recs.movie_ids.tolist())) == len(recs.movie_ids)
    assert not set(recs.movie_ids.tolist()) & set(romance_fan)
    for discover in (0.0, DEFAULT_DISCOVER, 1.0):
        top = rerank(recs.movie_ids, romance_fan, facts, discover)[:4]
        assert np.isin(top, ROMANCE).all(), (discover, top)
        assert not np.isin(top, ACTION).any()


def _cache_dir():
    import tempfile
    from pathlib import Path

    return Path(tempfile.gettempdir()) / "test_blend_embeddings"
