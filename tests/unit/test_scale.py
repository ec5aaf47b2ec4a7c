"""What keeps the build's cost from growing badly with data (issue 15 point 3), in small."""

from __future__ import annotations

import numpy as np

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


def test_implicit_profile_sums_only_the_batch_users_ratings_and_matches_the_full_product():
    """SVD++'s implicit part of a batch's user vectors equals the full sparse product's rows
    (value and gradient), computed from the batch users' own ratings only."""
    import tensorflow as tf

    from recommender.neural.layers import ImplicitProfile

    rng = np.random.default_rng(0)
    n_users, n_movies, dim = 40, 30, 4
    pairs = {(int(u), int(m)) for u, m in rng.integers(0, [n_users - 3, n_movies], (300, 2))}
    users, movies = (np.array(column) for column in zip(*sorted(pairs), strict=True))
    layer = ImplicitProfile(n_users, n_movies, len(users), dim)
    layer.build((None,))
    layer.set_profiles(users, movies)
    batch = tf.constant([5, 0, 5, n_users - 1, 12], dtype=tf.int32)  # repeats; one rated nothing
    with tf.GradientTape(persistent=True) as tape:
        fast = layer(batch)
        full = tf.gather(layer.all_users(), batch)
        fast_loss, full_loss = tf.reduce_sum(fast**2), tf.reduce_sum(full**2)
    np.testing.assert_allclose(fast.numpy(), full.numpy(), rtol=1e-5, atol=1e-7)
    assert not fast.numpy()[3].any()  # user n_users - 1 rated nothing
    fast_grad = tf.convert_to_tensor(tape.gradient(fast_loss, layer.factors))
    full_grad = tf.convert_to_tensor(tape.gradient(full_loss, layer.factors))
    np.testing.assert_allclose(fast_grad.numpy(), full_grad.numpy(), rtol=1e-5, atol=1e-7)


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
