"""Small Keras layers the neural models share (registered, so ``.keras`` files load safely
without ``Lambda`` layers or unsafe deserialisation)."""

from __future__ import annotations

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="recommender")
class Slice(keras.layers.Layer):
    """Columns ``start:stop`` of a ``(batch, d)`` tensor — splits a packed user vector."""

    def __init__(self, start: int, stop: int, **kwargs):
        super().__init__(**kwargs)
        self.start, self.stop = int(start), int(stop)

    def call(self, inputs):
        return inputs[:, self.start : self.stop]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.stop - self.start)

    def get_config(self):
        return {**super().get_config(), "start": self.start, "stop": self.stop}


@keras.saving.register_keras_serializable(package="recommender")
class RowPenalty(keras.layers.Layer):
    """Identity that adds ``rate · mean_batch(sum(x²))`` to the loss while training.

    This is the classic per-rating matrix-factorisation penalty on the embedding *rows a batch
    looks up*, unlike Keras' ``embeddings_regularizer`` which penalises the whole table on
    every step. Adds nothing at inference (so fold-in graphs stay loss-free).
    """

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        self.rate = float(rate)

    def call(self, inputs, training=None):
        if training and self.rate > 0:
            self.add_loss(self.rate * ops.mean(ops.sum(ops.square(inputs), axis=-1)))
        return inputs

    def get_config(self):
        return {**super().get_config(), "rate": self.rate}


@keras.saving.register_keras_serializable(package="recommender")
class ScaledSigmoid(keras.layers.Layer):
    """``low + (high - low) · sigmoid(x)`` — maps a logit to the 0.5–5 star scale."""

    def __init__(self, low: float = 0.5, high: float = 5.0, **kwargs):
        super().__init__(**kwargs)
        self.low, self.high = float(low), float(high)

    def call(self, inputs):
        return self.low + (self.high - self.low) * ops.sigmoid(inputs)

    def get_config(self):
        return {**super().get_config(), "low": self.low, "high": self.high}


def frozen_table(values, name: str) -> keras.layers.Embedding:
    """A non-trainable lookup ``movie index -> values[index]`` (``values`` 2-D float32)."""
    return keras.layers.Embedding(
        values.shape[0], values.shape[1], weights=[values], trainable=False, name=name
    )


@keras.saving.register_keras_serializable(package="recommender")
class ImplicitProfile(keras.layers.Layer):
    """SVD++-style implicit user factors: ``|N(u)|^-1/2 · Σ_{j ∈ N(u)} y_j``.

    ``N(u)`` = the movies user ``u`` rated in training, stored as a frozen sparse
    ``(n_users, n_movies)`` matrix (``rows``, ``cols``, ``values`` weights); ``y`` is a trainable
    ``(n_movies, dim)`` table (``implicit_factors``). Input: user rows ``(B,)`` int32; output
    ``(B, dim)``. For a new person the same sum over their profile's movies is computed from
    ``y`` directly (``NeuralRecommender.start_vector``), so this part needs no fitting.
    """

    def __init__(
        self, n_users: int, n_movies: int, nnz: int, dim: int, rate: float = 0.0, **kwargs
    ):
        super().__init__(**kwargs)
        self.n_users, self.n_movies, self.nnz, self.dim = n_users, n_movies, nnz, dim
        self.rate = float(rate)
        self.supports_jit = False  # the batch's profiles have data-dependent shapes

    def build(self, input_shape):
        self.rows = self.add_weight(
            (self.nnz,), "zeros", dtype="int32", trainable=False, name="rows"
        )
        self.cols = self.add_weight(
            (self.nnz,), "zeros", dtype="int32", trainable=False, name="cols"
        )
        self.values = self.add_weight((self.nnz,), "zeros", trainable=False, name="values")
        self.factors = self.add_weight(
            (self.n_movies, self.dim),
            keras.initializers.RandomNormal(0.0, 0.01),
            name="implicit_factors",
        )

    def set_profiles(self, users, movies) -> None:
        """Fill the sparse matrix from training (user row, movie row) pairs."""
        import numpy as np

        order = np.lexsort((movies, users))
        users, movies = np.asarray(users)[order], np.asarray(movies)[order]
        counts = np.bincount(users, minlength=self.n_users)
        self.rows.assign(users.astype("int32"))
        self.cols.assign(movies.astype("int32"))
        self.values.assign((1.0 / np.sqrt(np.maximum(counts[users], 1))).astype("float32"))

    def all_users(self):
        import tensorflow as tf

        indices = tf.cast(tf.stack([self.rows, self.cols], axis=1), tf.int64)
        matrix = tf.SparseTensor(indices, self.values, [self.n_users, self.n_movies])
        return tf.sparse.sparse_dense_matmul(matrix, self.factors)

    def batch_users(self, users):
        """Implicit factors of ``users`` (B,) int32 -> ``(B, dim)``, computed from the batch's
        own people only: their rated movies (a contiguous run of the user-sorted sparse
        matrix each) are gathered and summed, so a step costs the batch users' ratings,
        not every training rating as :meth:`all_users` does."""
        import tensorflow as tf

        people, position = tf.unique(tf.cast(tf.reshape(users, [-1]), tf.int32))
        starts = tf.searchsorted(self.rows, people, side="left")
        ends = tf.searchsorted(self.rows, people, side="right")
        entries = tf.ragged.range(starts, ends)
        flat = entries.flat_values
        weighted = (
            tf.gather(self.factors, tf.gather(self.cols, flat))
            * tf.gather(self.values, flat)[:, None]
        )
        sums = tf.math.unsorted_segment_sum(
            weighted, entries.value_rowids(), num_segments=tf.shape(people)[0]
        )
        return tf.gather(sums, position)

    def call(self, users, training=None):
        out = self.batch_users(users)
        if training and self.rate > 0:
            self.add_loss(self.rate * ops.mean(ops.sum(ops.square(out), axis=-1)))
        return out

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.dim)

    def get_config(self):
        return {
            **super().get_config(),
            "n_users": self.n_users,
            "n_movies": self.n_movies,
            "nnz": self.nnz,
            "dim": self.dim,
            "rate": self.rate,
        }
