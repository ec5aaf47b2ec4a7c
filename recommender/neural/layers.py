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
        self._bounds = None

    def profile_bounds(self):
        """``(n_users + 1,)`` int32: person ``u``'s entries of the sparse matrix are
        ``bounds[u]:bounds[u + 1]``. Derived from ``rows`` (not saved: a loaded model derives
        it again on first use)."""
        import numpy as np
        import tensorflow as tf

        if getattr(self, "_bounds", None) is None:
            with tf.init_scope():  # eager even while a step is being traced
                rows = np.asarray(self.rows.numpy())
                ends = np.cumsum(np.bincount(rows, minlength=self.n_users))
                self._bounds = tf.constant(np.r_[0, ends].astype(np.int32))
        return self._bounds

    def load_own_variables(self, store):
        super().load_own_variables(store)
        self._bounds = None

    def all_users(self):
        import tensorflow as tf

        indices = tf.cast(tf.stack([self.rows, self.cols], axis=1), tf.int64)
        matrix = tf.SparseTensor(indices, self.values, [self.n_users, self.n_movies])
        return tf.sparse.sparse_dense_matmul(matrix, self.factors)

    def batch_users(self, users):
        """Implicit factors of ``users`` (B,) int32 -> ``(B, dim)``, computed from the batch's
        own people only, so a step costs the batch users' ratings, not every training rating
        as :meth:`all_users` does.

        Every shape is fixed by the batch (XLA compiles the step once): the people are found by
        sorting the batch (at most B of them), their rated movies (a contiguous run of the
        user-sorted sparse matrix each) are visited in windows of :data:`PROFILE_WINDOW`
        entries, as many windows as the batch's profiles need, and summed per person."""
        import tensorflow as tf

        users = tf.reshape(tf.cast(users, tf.int32), [-1])
        n = tf.shape(users)[0]
        order = tf.argsort(users, stable=True)
        ordered = tf.gather(users, order)
        before = tf.gather(ordered, tf.maximum(tf.range(n) - 1, 0))
        first = (ordered != before) | (tf.range(n) == 0)
        slot_of_ordered = tf.cumsum(tf.cast(first, tf.int32)) - 1  # person slot, 0..P-1
        position = tf.scatter_nd(order[:, None], slot_of_ordered, [n])  # slot of each row
        people = tf.math.unsorted_segment_max(ordered, slot_of_ordered, n)
        real = tf.range(n) < tf.reduce_max(slot_of_ordered) + 1  # slots 0..P-1 hold people
        people = tf.where(real, people, 0)
        bounds = self.profile_bounds()
        start = tf.gather(bounds, people)
        count = tf.where(real, tf.gather(bounds, people + 1) - start, 0)
        sums = _profile_sums(
            tf.convert_to_tensor(self.factors), self.cols, self.values, start, count
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


PROFILE_WINDOW = 8192
"""Profile entries :meth:`ImplicitProfile.batch_users` sums per loop pass (one fixed shape
for XLA; a batch of 8192 ratings in chunks of one person's ratings needs 2–3 passes on 2M
synthetic ratings)."""


def _profile_sums(factors, cols, values, start, count):
    """``sums[p] = Σ values[i] · factors[cols[i]]`` over the entries ``i`` of slot ``p``
    (``start[p] .. start[p] + count[p]`` of the sparse matrix), ``(n_slots, dim)``. Forward and
    gradient (w.r.t. ``factors`` only: the rest is frozen data) walk the slots' entries laid end
    to end in windows of :data:`PROFILE_WINDOW`, so every shape is static and a window costs
    ``O(PROFILE_WINDOW + n_slots)`` (no search: XLA's sorted search compares every pair)."""
    import tensorflow as tf

    n_slots, window = tf.shape(count)[0], PROFILE_WINDOW
    offset = tf.cumsum(count, exclusive=True)  # slot p's entries: offset[p] .. + count[p]
    total = tf.reduce_sum(count)
    filled = count > 0
    rank = tf.cumsum(tf.cast(filled, tf.int32), exclusive=True)  # among slots with entries
    filled_slot = tf.scatter_nd(  # rank -> slot, for the slots with entries (rest dropped)
        tf.where(filled, rank, n_slots)[:, None], tf.range(n_slots), [n_slots + 1]
    )

    def entries(k):
        """Window ``k``: movie rows, weights (0 past the end) and slots of its entries."""
        e = k * window + tf.range(window)
        here = offset - k * window  # where each slot's first entry falls in the window
        starts_here = filled & (here >= 0) & (here < window)
        marks = tf.scatter_nd(
            tf.where(starts_here, here, window)[:, None],
            tf.cast(starts_here, tf.int32),
            [window + 1],
        )[:window]
        before = tf.reduce_sum(tf.cast(filled & (here < 0), tf.int32))  # started earlier
        slot = tf.gather(filled_slot, tf.maximum(before + tf.cumsum(marks) - 1, 0))
        valid = e < total
        entry = tf.where(valid, tf.gather(start, slot) + e - tf.gather(offset, slot), 0)
        weight = tf.where(valid, tf.gather(values, entry), 0.0)
        return tf.gather(cols, entry), weight, slot

    def windows(step, initial):
        return tf.while_loop(
            lambda k, _: k * window < total,
            lambda k, acc: (k + 1, step(k, acc)),
            (tf.constant(0), initial),
        )[1]

    @tf.custom_gradient
    def sums_of(table):
        def add_window(k, acc):
            movies, weight, slot = entries(k)
            rows = tf.gather(table, movies) * weight[:, None]
            return tf.ensure_shape(
                acc + tf.math.unsorted_segment_sum(rows, slot, n_slots), acc.shape
            )

        sums = windows(add_window, tf.zeros([n_slots, tf.shape(table)[1]], table.dtype))

        def gradient(upstream):
            def scatter_window(k, acc):
                movies, weight, slot = entries(k)
                rows = tf.gather(upstream, slot) * weight[:, None]
                return tf.tensor_scatter_nd_add(acc, movies[:, None], rows)

            return windows(scatter_window, tf.zeros_like(table))

        return sums, gradient

    return sums_of(factors)
