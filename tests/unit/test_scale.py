"""What keeps the build's cost from growing badly with data (issue 15 point 3), in small."""

from __future__ import annotations

import numpy as np
import pytest

from scripts.plot_embeddings import map_movies


def test_the_embedding_map_draws_at_most_the_most_rated_movies():
    counts = np.array([50, 3, 20, 90, 20, 19, 70, 25])
    assert map_movies(counts, min_ratings=20, max_movies=100).tolist() == [0, 2, 3, 4, 6, 7]
    # only the 3 most-rated of the eligible ones, in position order
    assert map_movies(counts, min_ratings=20, max_movies=3).tolist() == [0, 3, 6]
    # ties keep the lower position
    assert map_movies(counts, min_ratings=20, max_movies=5).tolist() == [0, 2, 3, 6, 7]


def test_the_map_of_an_ml25m_sized_catalogue_is_bounded():
    counts = np.random.default_rng(0).zipf(1.3, size=62_000)
    drawn = map_movies(counts, min_ratings=1, max_movies=5_000)
    assert len(drawn) == 5_000
    assert counts[drawn].min() >= np.sort(counts)[-5_000]


@pytest.mark.parametrize(  # window: profile entries summed per loop pass
    ("window", "xla"), [(1, True), (7, True), (8192, True), (7, False)]
)
def test_implicit_profile_sums_only_the_batch_users_ratings_and_matches_the_full_product(
    monkeypatch, window, xla
):
    """SVD++'s implicit part of a batch's user vectors equals the full sparse product's rows
    (value and gradient), computed from the batch users' own ratings only, in fixed-size
    windows of profile entries (one window or many, a profile across windows, XLA-compiled or
    not)."""
    import tensorflow as tf

    from recommender.neural import layers
    from recommender.neural.layers import ImplicitProfile

    monkeypatch.setattr(layers, "PROFILE_WINDOW", window)
    rng = np.random.default_rng(0)
    n_users, n_movies, dim = 40, 30, 4
    pairs = {(int(u), int(m)) for u, m in rng.integers(0, [n_users - 3, n_movies], (300, 2))}
    users, movies = (np.array(column) for column in zip(*sorted(pairs), strict=True))
    layer = ImplicitProfile(n_users, n_movies, len(users), dim)
    layer.build((None,))
    layer.set_profiles(users, movies)
    # repeats, one person who rated nothing (n_users - 1), and one batch of every person
    batches = [[5, 0, 5, n_users - 1, 12, 30, 7, 7], [n_users - 1], list(range(n_users))[::-1]]
    weights = {len(b): tf.range(1.0, len(b) + 1.0)[:, None] for b in batches}  # rows differ

    @tf.function(jit_compile=xla)
    def fast_step(batch):
        with tf.GradientTape() as tape:
            fast = layer(batch)
            loss = tf.reduce_sum(fast**2 * weights[batch.shape[0]])
        return fast, tape.gradient(loss, layer.factors)

    for rows in batches:
        batch = tf.constant(rows, dtype=tf.int32)
        fast, fast_grad = fast_step(batch)
        with tf.GradientTape() as tape:
            full = tf.gather(layer.all_users(), batch)
            full_loss = tf.reduce_sum(full**2 * weights[len(rows)])
        full_grad = tape.gradient(full_loss, layer.factors)
        np.testing.assert_allclose(fast.numpy(), full.numpy(), rtol=1e-5, atol=1e-7)
        assert not fast.numpy()[rows.index(n_users - 1)].any()  # rated nothing
        np.testing.assert_allclose(
            tf.convert_to_tensor(fast_grad).numpy(),
            tf.convert_to_tensor(full_grad).numpy(),
            rtol=1e-5,
            atol=1e-6,
        )
    assert np.abs(fast.numpy()).sum() > 0  # the check compared real sums, not zeros


def test_training_batches_reshuffle_every_epoch_from_one_permutation_without_a_buffer():
    """Each epoch yields every rating once in a new order, the same orders for the same seed;
    the order is one permutation tensor, so memory does not grow with a shuffle buffer of
    single elements (386 MB at 2M ratings, > 7 GB at 25M: scripts in the README)."""
    from recommender.neural.data import make_dataset

    n = 1_000
    arrays = {
        "user": np.arange(n, dtype=np.int32),
        "movie": np.zeros(n, np.int32),
        "user_avg": np.zeros(n, np.float32),
        "rating": np.zeros(n, np.float32),
    }

    def epoch(dataset) -> np.ndarray:
        return np.concatenate([inputs["user"].numpy() for inputs, _ in dataset])

    dataset = make_dataset(arrays, 64, shuffle=True, seed=1)
    first, second = epoch(dataset), epoch(dataset)
    assert sorted(first) == sorted(second) == list(range(n))
    assert (first != second).any() and (first != np.arange(n)).any()
    again = make_dataset(arrays, 64, shuffle=True, seed=1)
    np.testing.assert_array_equal(epoch(again), first)
    assert [len(i["user"]) for i, _ in dataset][-1] == n % 64
    assert int(dataset.cardinality()) == -(-n // 64)  # Keras sees the epoch's length


def test_chunked_batches_keep_a_persons_ratings_together_and_cover_every_rating_once():
    """With ``user_chunk`` a batch holds a few people's ratings (each person cut in chunks of
    at most that many), every rating once an epoch, a new order each epoch, the same orders for
    the same seed — so a step with implicit factors gathers a few profiles, not hundreds."""
    from recommender.neural.data import make_dataset

    people, each = 20, 128
    users = np.repeat(np.arange(people, dtype=np.int32), each)
    shuffled = np.random.default_rng(0).permutation(len(users))  # rows in no particular order
    arrays = {
        "user": users[shuffled],
        "movie": np.arange(len(users), dtype=np.int32)[shuffled],  # identifies the row
        "user_avg": np.zeros(len(users), np.float32),
        "rating": np.zeros(len(users), np.float32),
    }
    dataset = make_dataset(arrays, 256, shuffle=True, seed=3, user_chunk=64)

    def epoch():
        batches = [(i["user"].numpy(), i["movie"].numpy()) for i, _ in dataset]
        return batches, np.concatenate([m for _, m in batches])

    first_batches, first = epoch()
    _, second = epoch()
    assert sorted(first) == sorted(second) == list(range(len(users)))
    assert (first != second).any()
    # 256 ratings in chunks of exactly 64: four chunks, so at most four people per batch,
    # where 256 random ratings of 20 people would hold nearly all 20.
    assert max(len(np.unique(u)) for u, _ in first_batches) <= 4
    again = make_dataset(arrays, 256, shuffle=True, seed=3, user_chunk=64)
    np.testing.assert_array_equal(np.concatenate([i["movie"].numpy() for i, _ in again]), first)


def test_implicit_models_chunk_only_when_random_batches_would_gather_many_profiles():
    """ml-latest-small's shape (few people, long profiles) keeps random batches; many people
    with a few hundred ratings each (2M/25M shapes) get chunks."""
    from recommender.neural.data import USER_CHUNK, profile_cost, user_chunk_for

    few_long = np.repeat(np.arange(600), 150)  # ~90k ratings, like ml-latest-small
    many = np.repeat(np.arange(5_000), 200)  # 1M ratings
    assert profile_cost(few_long, 8192) < 16 < profile_cost(many, 8192)
    assert user_chunk_for(few_long, 8192) == 0
    assert user_chunk_for(many, 8192) == USER_CHUNK


def test_sample_people_keeps_whole_profiles_within_both_limits():
    import pandas as pd

    from recommender.dataset import sample_people

    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 30, size=200)
    ratings = pd.DataFrame(
        {
            "userId": np.repeat(np.arange(200), sizes),
            "movieId": rng.integers(0, 50, size=sizes.sum()),
            "rating": 4.0,
        }
    )
    assert sample_people(ratings, max_people=200, max_ratings=len(ratings)) is ratings
    for limits in (
        {"max_people": 50},
        {"max_ratings": 1000},
        {"max_people": 20, "max_ratings": 300},
    ):
        sample = sample_people(ratings, **limits, seed=3)
        kept = sample["userId"].unique()
        assert sample.groupby("userId").size().to_dict() == {u: sizes[u] for u in kept}
        assert len(kept) <= limits.get("max_people", 200)
        assert len(sample) <= limits.get("max_ratings", len(ratings))
        assert len(sample) > 0.8 * min(limits.get("max_ratings", 1e9), 50 * sizes.mean())
    # the same seed gives the same people; another seed, others
    again = sample_people(ratings, max_people=50, seed=3)["userId"].unique()
    assert set(again) == set(sample_people(ratings, max_people=50, seed=3)["userId"])
    assert set(again) != set(sample_people(ratings, max_people=50, seed=4)["userId"])


def test_co_rating_statistics_count_at_most_max_people_and_estimate_the_full_ones():
    """Past ``max_people`` a profile's cost stops growing with the people, and the shares from
    the sample stay close to those of everyone."""
    import pandas as pd

    from recommender.coliked import CoLiked

    rng = np.random.default_rng(1)
    people, movies = 4_000, 60
    taste = rng.integers(0, 2, size=people)  # two tastes: movies 0-29 or 30-59
    rows = []
    for person in range(people):
        seen = rng.choice(movies, size=12, replace=False)
        liked = (seen < 30) == (taste[person] == 0)
        rows += [(person, m, 4.5 if ok else 2.0) for m, ok in zip(seen, liked, strict=True)]
    ratings = pd.DataFrame(rows, columns=["userId", "movieId", "rating"])
    ids = np.arange(movies)
    full, sampled = CoLiked(ratings, ids), CoLiked(ratings, ids, max_people=1_000)
    assert full.n_people == people and sampled.n_people == 1_000
    profile = {3: 5.0, 7: 4.5, 40: 1.0}
    a, b = full.score(profile), sampled.score(profile)
    assert np.corrcoef(a["liked_given_liked"], b["liked_given_liked"])[0, 1] > 0.95
    assert np.abs(a["liked_given_liked"] - b["liked_given_liked"]).max() < 0.1
    # the sample still says what people who liked 3 and 7 like: the first taste's movies
    assert b["liked_given_liked"][:30].mean() > 3 * b["liked_given_liked"][30:].mean()


def test_blend_rounds_shrink_when_the_blend_people_hold_few_ratings():
    from recommender.blend.model import cross_fitting_rounds

    assert cross_fitting_rounds(1.0, 3) == 3  # ml-latest-small: everyone teaches the blend
    assert cross_fitting_rounds(0.123, 3) == 3  # 2M synthetic: 2,000 of 16,200 people
    assert cross_fitting_rounds(0.07, 3) == 2
    assert cross_fitting_rounds(0.05, 3) == 1
    assert cross_fitting_rounds(0.012, 3) == 1  # ml-25m size: 2,000 of 162,000 people


def test_a_single_round_blend_serves_the_components_it_fitted_without_its_people():
    from tests.recommender_contract import ACTION_FAN, taste_groups
    from tests.unit.test_blend import make_blend

    ratings, movies = taste_groups()
    blend = make_blend(folds=1, max_blend_users=4, blend_users=1.0).fit(ratings, movies)
    assert blend.metrics["rounds"] == 1 and blend.metrics["blend_users"] == 4
    # served as fitted in the round: without the 4 people whose profiles taught the weights
    assert blend.ensemble.components["coliked"].coliked.n_people == ratings["userId"].nunique() - 4
    assert len(blend.recommend(ACTION_FAN, k=6)) == 6


def test_the_blends_neural_model_trains_on_at_most_max_ratings():
    from recommender.blend.component import Catalogue, TrainingData
    from recommender.blend.components.neural import NeuralComponent
    from tests.recommender_contract import taste_groups

    ratings, movies = taste_groups()
    data = TrainingData(
        ratings, movies, Catalogue.build(np.sort(movies["movieId"].unique()), movies)
    )
    params = {"epochs": 1, "dim": 4}
    capped = NeuralComponent("embed", params, max_ratings=len(ratings) // 2).fit(data)
    whole = NeuralComponent("embed", params).fit(data)
    assert whole.model.features.n_users == ratings["userId"].nunique()
    taught = ratings["userId"].isin(capped.model.features.user_ids)
    assert 0 < taught.sum() <= len(ratings) // 2


def test_neural_training_epochs_stop_growing_with_the_data():
    from recommender.neural.base import RATING_BUDGET, epochs_within

    assert epochs_within(40, 95_000) == 40  # ml-latest-small: never cut
    assert epochs_within(40, 1_900_000) == 40  # 2M synthetic
    assert epochs_within(40, 23_750_000) == RATING_BUDGET // 23_750_000 == 6  # ml-25m size
    assert epochs_within(40, 10**10) == 1
    assert epochs_within(3, 10, budget=100) == 3


def test_the_training_progress_bar_counts_the_epochs_fit_really_runs():
    import keras

    from recommender.neural.callbacks import EpochProgress

    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    progress = EpochProgress(40)  # the model's setting, cut to 2 by the rating budget
    model.fit(np.zeros((4, 1)), np.zeros(4), epochs=2, verbose=0, callbacks=[progress])
    assert (progress.bar.total, progress.bar.n) == (2, 2)


def test_a_single_round_blend_with_a_neural_model_saves_and_loads(tmp_path):
    """Its components have scored the training profiles (caches, a compiled fold-in graph)
    and are saved as they are."""
    from recommender.blend import BlendRecommender
    from tests.recommender_contract import ACTION_FAN, taste_groups
    from tests.unit.test_blend import make_blend

    ratings, movies = taste_groups()
    params = dict(neural="embed", neural_params={"epochs": 2, "dim": 4}, folds=1)
    blend = make_blend(**params, max_blend_users=4, blend_users=1.0).fit(ratings, movies)
    assert blend.metrics["rounds"] == 1
    before = blend.recommend(ACTION_FAN, k=6)
    loaded = BlendRecommender.load(blend.save(tmp_path / "blend"))
    after = loaded.recommend(ACTION_FAN, k=6)
    assert after.movie_ids.tolist() == before.movie_ids.tolist()
    np.testing.assert_allclose(after.match, before.match, atol=1e-6)


def test_rank_percentiles_take_one_sort_and_keep_the_order():
    """At 62,000 movies a fresh list's neural opinion sorted twice (10 ms of its CPU)."""
    from recommender.blend.components.neural import rank_percentile

    rank = np.random.default_rng(0).normal(size=1_000)
    rank[[3, 50, 700]] = np.nan
    pct = rank_percentile(rank)
    finite = np.isfinite(rank)
    assert np.isnan(pct[~finite]).all()
    assert pct[finite].min() == 0.0 and pct[finite].max() == 1.0
    np.testing.assert_array_equal(np.argsort(pct[finite]), np.argsort(rank[finite]))
    np.testing.assert_allclose(pct[finite], np.argsort(np.argsort(rank[finite])) / 996)
    assert np.isnan(rank_percentile(np.array([np.nan]))).all()
    assert rank_percentile(np.array([2.0])).tolist() == [0.0]
