"""The blend's serving fast paths give the answer of the straightforward computation.

On ml-latest-small (610 people, 9,742 movies) and real 5-rating profiles (each person's first
five ratings in time): the co-liked counts against the sparse product over every person, the
genre candidates against sorting each genre's movies, and the blend's list — the ``also``
movies ranked in the pool's pass, the explanation reusing the list's rows — against ranking
the pool and the ``also`` movies apart and explaining by scoring the profile again.
"""

from __future__ import annotations

import numpy as np
import pytest

from recommender.base import top_k
from recommender.blend import BlendRecommender, Component
from recommender.blend.ensemble import Ensemble
from recommender.coliked import CoLiked
from recommender.movielens import load_movielens
from recommender.neighbours import most_overlapping, nth_largest
from recommender.rerank import MovieFacts, genre_candidates, main_genres


@pytest.fixture(scope="module")
def small(data_dir):
    return load_movielens(data_dir / "ml-latest-small")


@pytest.fixture(scope="module")
def profiles(small) -> list[dict[int, float]]:
    """The first five ratings (in time) of 20 people."""
    ratings = small.ratings.sort_values(["userId", "timestamp"], kind="stable")
    people = np.random.default_rng(0).choice(ratings["userId"].unique(), 20, replace=False)
    out = []
    for person in people:
        rows = ratings[ratings["userId"] == person].head(5)
        out.append(
            dict(zip(rows["movieId"].astype(int), rows["rating"].astype(float), strict=True))
        )
    return out


@pytest.fixture(scope="module")
def blend(small) -> BlendRecommender:
    """A blend of popularity, co-liked and Pearson (no SBERT, no neural model: the paths
    tested here do not depend on which components there are), fitted in a few seconds."""
    return BlendRecommender(
        neural=None, use_content=False, max_blend_users=60, folds=1, sizes=(5, 10), seed=0
    ).fit(small.ratings, small.movies)


def test_co_liked_counts_are_the_sparse_product_over_everybody(small, profiles):
    movie_ids = np.sort(small.movies["movieId"].to_numpy(dtype=np.int64))
    coliked = CoLiked(small.ratings, movie_ids)
    for profile in profiles:
        columns, known = coliked.positions(list(profile))
        columns = columns[known]
        product = np.asarray((coliked.liked.T @ coliked.liked_csc[:, columns]).todense())
        fast = coliked.co_liked(columns)
        assert fast.dtype == product.dtype and np.array_equal(fast, product)
    assert coliked.co_liked(np.zeros(0, dtype=np.int64)).shape == (len(movie_ids), 0)


def test_genre_candidates_are_each_main_genres_most_rated_movies(small, profiles):
    facts = MovieFacts.from_ratings(small.ratings, small.movies)
    exclude = facts.movie_ids[::97].tolist()
    for profile in profiles:
        banned = np.isin(facts.movie_ids, [*profile, *exclude])
        chosen = []
        for column in main_genres(profile, facts):
            inside = np.flatnonzero((facts.genre_share[:, column] > 0) & ~banned)
            order = np.argsort(-facts.popularity[inside], kind="stable")
            chosen.append(inside[order][:30])
        expected = facts.movie_ids[np.unique(np.concatenate(chosen))] if chosen else []
        found = genre_candidates(profile, facts, exclude, per_genre=30)
        assert found.tolist() == list(expected)
        assert not set(found.tolist()) & (set(profile) | set(exclude))


def straightforward(blend: BlendRecommender, profile, k: int, also: list[int]):
    """The list as the blend computed it before its fast paths: the pool ranked, the ``also``
    movies outside the top ranked in a pass of their own, every movie explained by
    :meth:`BlendRecommender.explain` (which scores the profile again). A pool smaller than
    ``k`` is padded by popularity, as :meth:`BlendRecommender.recommend` does."""
    opinions = blend.ensemble.opinions(dict(profile), None)
    banned = list(profile)
    pool = blend.ensemble.pool(opinions, blend.settings.pool)
    pool = pool[~np.isin(blend.movie_ids[pool], banned)]
    rank = blend.learned.rank(blend._rows(opinions, pool))
    if len(pool) < k:  # the pool is padded by popularity
        rest = np.setdiff1d(np.arange(len(blend.movie_ids)), pool)
        rest = rest[~np.isin(blend.movie_ids[rest], banned)]
        popularity = opinions.by_component["popularity"].candidates()[0]
        rest = rest[np.argsort(-popularity[rest], kind="stable")][: k - len(pool)]
        pool = np.concatenate([pool, rest])
        rank = np.concatenate([rank, blend.learned.rank(blend._rows(opinions, rest)) - 2.0])
    top = pool[top_k(blend.movie_ids[pool], rank, k)]
    more, known = blend._positions(np.array(also, dtype=np.int64))
    more = np.setdiff1d(more[known], top)
    more = more[~np.isin(blend.movie_ids[more], banned)]
    more_rank = blend.learned.rank(blend._rows(opinions, more))
    listed = np.concatenate([top, more[top_k(blend.movie_ids[more], more_rank, len(more))]])
    X = blend._rows(opinions, listed)
    ids = blend.movie_ids[listed]
    return ids, blend.learned.match(X), blend.learned.rating(X), blend.explain(profile, ids)


def test_the_blends_list_and_reasons_are_the_straightforward_ones(blend, profiles):
    rng = np.random.default_rng(1)
    for profile in profiles:
        base = blend.recommend(profile, 240, explain_first=0)
        also = [*rng.choice(blend.movie_ids, 40).tolist(), *base.movie_ids[200:].tolist()]
        recs = blend.recommend(profile, 240, explain_first=24, also=also)
        ids, match, rating, evidence = straightforward(blend, profile, 240, also)
        assert recs.movie_ids.tolist() == ids.tolist()
        assert len(ids) > 240  # some also-movies were outside the top 240
        np.testing.assert_allclose(recs.match, 100.0 * match, rtol=0, atol=1e-9)
        np.testing.assert_allclose(recs.predicted, rating, rtol=0, atol=1e-9)
        assert recs.evidence[:24] == evidence[:24]
        assert recs.evidence[24:] == [None] * (len(ids) - 24)
        later = [*ids[24:72].tolist(), *ids[-5:].tolist()]  # the next pages, also-movies
        assert recs.explainer(later) == blend.explain(profile, later)
        outside = [int(m) for m in blend.movie_ids if m not in set(ids) | set(profile)][:5]
        assert recs.explainer([-1, *outside]) == blend.explain(profile, [-1, *outside])


def test_nth_largest_is_the_partition_of_counts_and_of_other_values():
    rng = np.random.default_rng(2)
    for values in (
        rng.integers(0, 6, 50_000),  # how many of 5 profile movies each person rated
        rng.integers(1, 3, 7),
        np.array([4]),
        rng.integers(0, 10**9, 1_000),  # large integers: partitioned
        rng.normal(size=1_000),
    ):
        for n in {1, 2, len(values) // 3 + 1, len(values)}:
            expected = np.sort(values)[len(values) - n]
            found = nth_largest(values, n)
            assert found == expected and found.dtype == values.dtype


def test_most_overlapping_people_are_the_n_largest_counts_ties_by_lower_index():
    overlap = np.random.default_rng(3).integers(0, 6, 20_000)
    for n in (1, 100, 3_000, 20_000):
        people = np.flatnonzero(overlap)
        best = people[np.lexsort((people, -overlap[people]))][:n]
        assert most_overlapping(overlap, n).tolist() == sorted(best.tolist())


class Flaky(Component):
    """A component with no opinion of profiles holding movie 1 (it raises)."""

    name = "flaky"
    features = ("flaky_value",)

    def fit(self, data):
        return self.clone()

    def opinion(self, profile, user):
        if 1 in profile:
            raise RuntimeError("no opinion of this profile")
        return None


def test_components_asked_in_threads_give_the_same_opinions_and_fall_back_alike(
    blend, profiles, caplog
):
    everything = np.arange(len(blend.movie_ids))
    for profile in profiles[:5]:
        at_once = blend.ensemble.opinions(profile, None, threads=True)
        in_turn = blend.ensemble.opinions(profile, None)
        assert at_once.names() == in_turn.names() == blend.components
        for name in at_once.names():
            np.testing.assert_array_equal(
                at_once.by_component[name].features(everything),
                in_turn.by_component[name].features(everything),
            )
    flaky = Ensemble(blend.ensemble.catalogue, {**blend.ensemble.components, "flaky": Flaky()})
    opinions = flaky.opinions({1: 5.0, 50: 4.0}, None, threads=True)
    assert opinions.names() == blend.components  # left out, the others kept
    assert "blend: flaky failed for one profile; falling back" in caplog.text


def test_the_serving_benchmark_saves_and_compares_the_answers(blend, data_dir, tmp_path, capsys):
    from scripts.bench_blend_serving import main

    folder = blend.save(tmp_path / "blend")
    ratings = data_dir / "ml-latest-small" / "ratings.csv"
    answers = tmp_path / "answers.pkl"
    common = ["--blend", str(folder), "--ratings", str(ratings), "--profiles", "3"]
    assert main([*common, "--save", str(answers)]) == 0
    assert main([*common, "--compare", str(answers)]) == 0
    out = capsys.readouterr().out
    assert "recommend(240, also, 24 explained): median" in out and "coliked opinion" in out
    compared = [line for line in out.splitlines() if line.startswith("same list")]
    assert len(compared) == 3
    assert all("same list True" in line and "explainer True" in line for line in compared)
