"""Blend components that read the ratings' time order: ``following`` and ``era``.

Tiny hand-made ratings tables (a few people, a few movies, explicit timestamps), so each test
states exactly who rated what when.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from recommender.blend.component import Catalogue, TrainingData
from recommender.blend.components.era import SECONDS_PER_YEAR, EraComponent
from recommender.blend.components.following import FollowingComponent

YEAR = int(SECONDS_PER_YEAR)
T2000 = 30 * YEAR  # timestamps (seconds since 1970) around 2000 and 2015
T2015 = 45 * YEAR


def _data(rows, years=None) -> TrainingData:
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating", "timestamp"])
    ids = np.sort(ratings["movieId"].unique()).astype(np.int64)
    movies = pd.DataFrame(
        {
            "movieId": ids,
            "title": [f"Movie {m}" for m in ids],
            "year": [(years or {}).get(int(m), 2000) for m in ids],
            "genres": [["Drama"] for _ in ids],
        }
    )
    return TrainingData(ratings, movies, Catalogue.build(ids, movies))


def _following_table():
    """Ten people start with movie 1 and *later* rate movie 2 (4★+); the same people rated
    movie 3 *before* movie 1, so 3 never follows 1. Movies 4-8 pad every start to 5 ratings."""
    rows = []
    for u in range(10):
        t = 1000 * u
        rows.append((u, 3, 4.0, t))
        rows.append((u, 1, 4.0, t + 1))
        rows += [(u, m, 3.0, t + 1 + m) for m in (4, 5, 6, 7)]
        rows.append((u, 2, 5.0, t + 100))
    return rows


def test_following_counts_what_people_went_on_to_rate_after_the_profiles_movies():
    component = FollowingComponent(starts=(5,)).fit(_data(_following_table()))
    opinion = component.opinion({1: 4.5}, None)
    pos = {int(m): p for p, m in enumerate(component.catalogue.movie_ids)}
    # everyone who started with 1 later rated (and liked) 2; nobody rated 3 after starting
    assert opinion.rated[pos[2]] > 0 and opinion.liked[pos[2]] > 0
    assert opinion.rated[pos[3]] == 0  # rated before, not after: the order counts
    assert opinion.rated[pos[1]] == 0  # the profile's own movie is not what comes next
    assert opinion.liked_share[pos[2]] > 0.8
    order = opinion.candidates()[1]
    assert int(component.catalogue.movie_ids[np.argmax(order)]) == 2
    X = opinion.features(np.arange(len(pos)))
    assert X.shape == (len(pos), len(FollowingComponent.features))


def test_following_evidence_names_the_profile_movie_and_reads_as_a_sentence():
    component = FollowingComponent(starts=(5,)).fit(_data(_following_table()))
    opinion = component.opinion({1: 4.5, 99: 3.0}, None)  # 99: unknown, ignored
    pos = int(np.flatnonzero(component.catalogue.movie_ids == 2)[0])
    (evidence,) = opinion.evidence(np.array([pos]))
    assert evidence["following_movie"] == 1 and evidence["following_share"] == 1.0
    assert evidence["following_people"] == 10
    sentence = FollowingComponent.sentence(evidence)
    assert sentence.startswith("people who started with Movie 1 (you: 4.5★) went on to love it")
    assert "100% of them later gave it 4★+" in sentence
    assert FollowingComponent.sentence({**evidence, "following_people": 1}) is None


def test_following_has_no_opinion_without_known_starts():
    component = FollowingComponent(starts=(5,)).fit(_data(_following_table()))
    assert component.opinion({2: 4.0}, None) is None  # nobody started with 2
    assert component.opinion({}, None) is None


def test_following_picks_the_start_nearest_the_profile_size():
    component = FollowingComponent(starts=(5, 20)).fit(_data(_following_table()))
    assert component._start_for(3).k == 5 and component._start_for(40).k == 20


def _era_table():
    """People rating in 2000 like movie 10 (and rate movie 30); more people rating in 2015 like
    movie 20 (and rate movie 40). Movie 20 is the most liked overall."""
    rows = []
    for u in range(4):
        rows += [(u, 10, 5.0, T2000 + u), (u, 30, 4.0, T2000 + u + 1)]
    for u in range(4, 12):
        rows += [(u, 20, 5.0, T2015 + u), (u, 40, 4.0, T2015 + u + 1)]
    return rows


def test_era_finds_the_persons_years_and_ranks_what_was_liked_then():
    component = EraComponent().fit(_data(_era_table(), years={10: 1999, 20: 2014}))
    pos = {int(m): p for p, m in enumerate(component.catalogue.movie_ids)}
    then = component.opinion({30: 4.0}, None)  # 30 is rated in 2000
    assert then.time_liked[pos[10]] > then.time_liked[pos[20]]  # though 20 is more liked
    assert then.time_lift_log[pos[10]] > then.time_lift_log[pos[20]]
    now = component.opinion({40: 4.0}, None)  # 40 is rated in 2015
    assert now.time_liked[pos[20]] > now.time_liked[pos[10]]
    assert np.argmax(now.candidates()[0]) == pos[20]


def test_era_release_years_against_the_profiles():
    years = {10: 1990, 20: 2010, 30: 1992, 40: 2012}
    component = EraComponent().fit(_data(_era_table(), years=years))
    pos = {int(m): p for p, m in enumerate(component.catalogue.movie_ids)}
    opinion = component.opinion({30: 4.0}, None)
    X = opinion.features(np.array([pos[10], pos[20]]))
    names = EraComponent.features
    gap, near = X[:, names.index("era_year_gap")], X[:, names.index("era_near_share")]
    assert gap.tolist() == [2.0, 18.0] and near.tolist() == [1.0, 0.0]
    assert component.opinion({999: 4.0}, None) is None


def test_a_blend_with_both_components_fits_and_explains():
    from recommender.blend import COMPONENTS, BlendRecommender
    from tests.recommender_contract import ROMANCE_FAN, taste_groups

    blend = BlendRecommender(
        neural=None, use_content=False, blend_users=0.5, sizes=(3, 6), seed=1
    ).fit(*taste_groups())
    assert {FollowingComponent, EraComponent} <= set(COMPONENTS)  # served by default
    assert {"following", "era"} <= set(blend.components)
    recs = blend.recommend(ROMANCE_FAN, 5)
    assert len(recs.movie_ids) == 5


def test_following_cites_only_a_movie_the_person_liked():
    component = FollowingComponent(starts=(5,)).fit(_data(_following_table()))
    pos = int(np.flatnonzero(component.catalogue.movie_ids == 2)[0])
    (panned,) = component.opinion({1: 1.0}, None).evidence(np.array([pos]))
    assert panned == {}  # the profile's only start was rated 1★: no "you: 1★" reason
    (liked,) = component.opinion({1: 4.0, 4: 2.0}, None).evidence(np.array([pos]))
    assert liked["following_movie"] == 1
