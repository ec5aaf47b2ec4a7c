"""The familiar ↔ discover re-ranking stage (recommender/rerank.py): on hand-made facts, and on
a real blend fitted on the contract's two taste groups (SBERT content included)."""

from __future__ import annotations

import numpy as np
import pytest

from recommender.rerank import (
    DEFAULT_DISCOVER,
    FOCUS_BOOST,
    FOCUS_POWER,
    MovieFacts,
    blocks_in_model_order,
    distinctive_genres,
    focus,
    genre_candidates,
    niche_coverage,
    own_popularity,
    popularity_aversion,
    profile_genres,
    rerank,
    widened,
    world_cinema,
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


def test_each_block_reads_in_the_models_order():
    model_order = [10, 20, 30, 40, 50, 60]
    reordered = [50, 10, 60, 20, 40, 30]  # re-ranking chose {50, 10, 60} for page 1
    assert blocks_in_model_order(reordered, model_order, 3).tolist() == [10, 50, 60, 20, 30, 40]


def test_the_short_head_is_the_most_rated_movies_holding_a_fifth_of_all_ratings():
    # 9,800 ratings: movie 1 holds 990 (10.1%), movies 1 and 2 together 1,970 (20.1%)
    assert FACTS.movie_ids[FACTS.head].tolist() == [1, 2]
    facts = facts_of({1: (0, ["Action"]), 2: (0, ["Comedy"])})
    assert not facts.head.any()  # nobody rated anything: no head


def test_discover_moves_head_movies_down_even_for_a_blockbuster_fan():
    loved = {1: (2900, ["Action"]), 2: (2900, ["Comedy"]), 3: (2900, ["Drama"])}
    head = {4: (3000, ["Action"]), 5: (3000, ["Comedy"])}
    rest = {m: (100, [["Action"], ["Comedy"], ["Drama"]][m % 3]) for m in range(6, 11)}
    facts = facts_of({**loved, **head, **rest})
    assert facts.movie_ids[facts.head].tolist() == [4, 5]
    fan = {1: 5.0, 2: 5.0, 3: 5.0}  # as popular as the head: no popularity penalty to speak of
    order = np.arange(4, 11)
    assert rerank(order, fan, facts, 0.0)[:2].tolist() == [4, 5]
    discovered = rerank(order, fan, facts, 1.0).tolist()
    assert discovered.index(5) > discovered.index(6) and discovered.index(5) > discovered.index(7)


def test_own_popularity_is_that_of_the_movies_liked_not_the_ones_panned():
    panned_blockbusters = {1: 1.0, 2: 0.5, 21: 5.0, 22: 5.0}
    assert own_popularity(panned_blockbusters, FACTS) == pytest.approx(
        own_popularity({21: 5.0, 22: 5.0}, FACTS)
    )
    assert own_popularity({1: 1.0, 2: 1.0}, FACTS) > own_popularity({21: 1.0}, FACTS)


def test_only_someone_who_pans_blockbusters_and_loves_others_is_averse_to_them():
    """FACTS' short head is movies 1 and 2. The art-house person (blockbusters panned, loved
    films outside the head) is averse; panning one blockbuster while loving the other is not."""
    assert popularity_aversion({1: 1.0, 2: 0.5, 21: 5.0, 22: 5.0}, FACTS) == pytest.approx(0.5)
    assert popularity_aversion({1: 1.0, 2: 5.0}, FACTS) == 0.0
    assert popularity_aversion({1: 1.0, 2: 5.0, 21: 5.0}, FACTS) == pytest.approx(1 / 6)
    assert popularity_aversion({21: 1.0, 22: 5.0}, FACTS) == 0.0  # panned, but not the head
    assert popularity_aversion({1: 1.0}, FACTS) == 1.0  # nothing liked


def test_a_lover_of_one_niche_genre_gets_full_focus_even_when_their_films_carry_others():
    """Every loved film a documentary (rare in all ratings) that is also a comedy (uncommon
    too): the distinctive weight is spread over both, so the rule on it gives a focus of about
    3; the documentaries' coverage is whole, so the person gets the full focus."""
    facts = facts_of(
        {
            **{m: (1000, ["Action"]) for m in range(1, 11)},
            **{m: (100, ["Comedy"]) for m in range(11, 13)},
            **{m: (5, ["Comedy", "Documentary"]) for m in range(21, 26)},
        }
    )
    lover = dict.fromkeys(range(21, 26), 5.0)
    spread = 1.0 + FOCUS_BOOST * distinctive_genres(lover, facts).max() ** FOCUS_POWER
    assert spread < 4.0
    assert niche_coverage(lover, facts) == 1.0
    assert focus(lover, facts) == pytest.approx(1.0 + FOCUS_BOOST)
    assert niche_coverage({1: 5.0, 2: 4.0}, facts) == 0.0  # Action: as common as in all ratings


def test_world_cinema_is_a_title_with_its_original_title_in_parentheses():
    titles = [
        "Amelie (Fabuleux destin d'Amélie Poulain, Le)",
        "Wings of Desire (Himmel über Berlin, Der) (1987)",
        "Seven (a.k.a. Se7en)",  # an English alternative title
        "Raiders of the Lost Ark (Indiana Jones and the Raiders of the Lost Ark)",  # a longer one
        "Toy Story (1995)",  # a year is not a title
        "Forrest Gump",
    ]
    assert world_cinema(titles).tolist() == [True, True, False, False, False, False]


def test_world_cinema_is_one_more_genre_for_a_person_who_loves_it():
    ids = np.array([1, 2, 3, 4])
    titles = ["Blockbuster", "Festen (Celebration, The)", "Amelie (Fabuleux destin, Le)", "Up"]
    matrix = np.array([[0, 1], [0, 1], [0, 1], [1, 0]], dtype=float)  # Action, Drama
    facts = MovieFacts.build(ids, [100, 5, 5, 50], matrix, titles)
    assert facts.genre_share.shape == (4, 3)
    assert facts.genre_share[1].tolist() == [0.0, 0.5, 0.5]
    assert distinctive_genres({2: 5.0}, facts)[2] > 0.5  # world cinema stands out


def _two_calls(model, profile, facts, k):
    """The list and the person's main genres ranked in two ``recommend`` calls (widened's
    result before it used one scoring pass)."""
    first = model.recommend(profile, k, explain_first=0)
    extra = genre_candidates(profile, facts, first.movie_ids.tolist())
    more = model.recommend(profile, len(extra), candidates=extra, explain_first=0)
    return [*first.movie_ids.tolist(), *more.movie_ids.tolist()]


def test_widened_ranks_the_persons_genres_in_the_same_pass_as_two_calls_would():
    from recommender.pearson import PearsonRecommender
    from tests.recommender_contract import taste_groups

    ratings, movies = taste_groups()
    model = PearsonRecommender(candidates=20, neighbours=10).fit(ratings, movies)
    facts = MovieFacts.from_ratings(ratings, movies)
    romance_fan = {11: 5.0, 12: 5.0, 13: 4.5, 1: 1.0, 2: 1.0}
    recs = widened(model, romance_fan, facts, 3, explain_first=0)
    assert len(recs.movie_ids) > 3  # the genre's movies came along
    assert recs.movie_ids.tolist() == _two_calls(model, romance_fan, facts, 3)
    assert len(recs.scores) == len(recs.match) == len(recs.evidence) == len(recs.movie_ids)


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
    assert recs.movie_ids.tolist() == _two_calls(blend, romance_fan, facts, 6)
    assert not set(recs.movie_ids.tolist()) & set(romance_fan)
    for discover in (0.0, DEFAULT_DISCOVER, 1.0):
        top = rerank(recs.movie_ids, romance_fan, facts, discover)[:4]
        assert np.isin(top, ROMANCE).all(), (discover, top)
        assert not np.isin(top, ACTION).any()


def _cache_dir():
    import tempfile
    from pathlib import Path

    return Path(tempfile.gettempdir()) / "test_blend_embeddings"
