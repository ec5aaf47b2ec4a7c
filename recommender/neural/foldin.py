"""Answer for people the model never saw: fit their user vector with the movie side frozen.

Given a profile (movie rows ``(n,)`` int32, stars ``(n,)`` float32) and the head of a trained
model (see :mod:`recommender.neural.base`), fold-in minimises

    sum_i (head(u, movie_i, avg) - stars_i)²  +  l2 · ||u - u_mean||²

over the user vector ``u`` only, starting from ``u_mean`` (the mean training user, plus the
profile's implicit factors for ``implicit`` models), with a fixed number of Adam steps written
out in one ``tf.function``. The input signature has an unknown profile
length, so the graph is traced once and any profile size (5 or 500 ratings) reuses it; the
same graph then predicts every movie in one batched call. The graphs are XLA-compiled
(``jit_compile``), which fuses the few dozen small ops of each step; profiles are padded to a
multiple of :data:`PAD` ratings so XLA compiles once per size bucket. Cost: a few
milliseconds per profile on one CPU core (``scripts/bench_neural.py --foldin`` measures it).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


class ProfileScorer:
    """Compiled fold-in and score-all-movies for one head.

    - ``user_dim``: length of the user vector the head takes.
    - ``steps``, ``learning_rate``: Adam steps on the user vector and their step size.
    - ``l2``: prior strength (the same units as a squared star error); the prior mean is the
      ``start`` vector given to each call (the mean training user, see the adapter).
    """

    def __init__(
        self,
        head,
        *,
        user_dim: int,
        n_movies: int,
        steps: int,
        learning_rate: float,
        l2: float,
        jit_compile: bool = True,
    ):
        self.head = head
        self.all_movies = tf.range(n_movies, dtype=tf.int32)
        self.steps, self.learning_rate, self.l2 = int(steps), float(learning_rate), float(l2)
        vector = [tf.TensorSpec([user_dim], tf.float32)]
        profile = [
            *vector,
            tf.TensorSpec([None], tf.int32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([None], tf.float32),
            tf.TensorSpec([], tf.float32),
        ]
        compiled = {"jit_compile": jit_compile, "reduce_retracing": True}
        self._fold = tf.function(self._fold_graph, input_signature=profile, **compiled)
        self._score = tf.function(
            self._score_graph, input_signature=[*vector, tf.TensorSpec([], tf.float32)], **compiled
        )
        self._fold_score = tf.function(
            lambda start, movies, stars, weights, avg: self._score_graph(
                self._fold_graph(start, movies, stars, weights, avg), avg
            ),
            input_signature=profile,
            **compiled,
        )

    def fold_in(self, start: np.ndarray, movies: np.ndarray, stars: np.ndarray, avg: float):
        """The fitted user vector ``(user_dim,)``; ``start`` itself for an empty profile."""
        if len(movies) == 0:
            return np.asarray(start, np.float32)
        return self._fold(*_profile(start, movies, stars, avg)).numpy()

    def score_all(self, vector: np.ndarray, avg: float) -> np.ndarray:
        """Predicted stars ``(n_movies,)`` for a user vector and user average."""
        return self._score(tf.constant(vector, tf.float32), tf.constant(avg, tf.float32)).numpy()

    def fold_in_and_score(
        self, start: np.ndarray, movies: np.ndarray, stars: np.ndarray, avg: float
    ) -> np.ndarray:
        """:meth:`fold_in` then :meth:`score_all` in one compiled call."""
        if len(movies) == 0:
            return self.score_all(start, avg)
        return self._fold_score(*_profile(start, movies, stars, avg)).numpy()

    def _predict(self, vector, movies, avg):
        n = tf.shape(movies)[0]
        users = tf.tile(vector[tf.newaxis, :], [n, 1])
        return self.head([users, movies, tf.fill([n], avg)], training=False)[:, 0]

    def _fold_graph(self, start, movies, stars, weights, avg):
        beta1, beta2, eps = 0.9, 0.999, 1e-8
        vector = start
        first = tf.zeros_like(vector)
        second = tf.zeros_like(vector)
        for step in tf.range(1, self.steps + 1):
            with tf.GradientTape() as tape:
                tape.watch(vector)
                errors = self._predict(vector, movies, avg) - stars
                prior = tf.reduce_sum(tf.square(vector - start))
                loss = tf.reduce_sum(weights * tf.square(errors)) + self.l2 * prior
            grad = tape.gradient(loss, vector)
            t = tf.cast(step, tf.float32)
            first = beta1 * first + (1 - beta1) * grad
            second = beta2 * second + (1 - beta2) * tf.square(grad)
            unbiased = first / (1 - beta1**t)
            scale = tf.sqrt(second / (1 - beta2**t)) + eps
            vector = vector - self.learning_rate * unbiased / scale
        return vector

    def _score_graph(self, vector, avg):
        return self._predict(vector, self.all_movies, avg)


PAD = 64
"""Profiles are padded (with zero-weight rows) to a multiple of this many ratings, so the
XLA-compiled graph is compiled once per size bucket (64, 128, ...) rather than per length."""


def _profile(start, movies, stars, avg):
    size = -(-len(movies) // PAD) * PAD
    padded_movies = np.zeros(size, np.int32)
    padded_stars = np.zeros(size, np.float32)
    weights = np.zeros(size, np.float32)
    padded_movies[: len(movies)] = movies
    padded_stars[: len(movies)] = stars
    weights[: len(movies)] = 1.0
    return (
        tf.constant(np.asarray(start, np.float32)),
        tf.constant(padded_movies),
        tf.constant(padded_stars),
        tf.constant(weights),
        tf.constant(avg, tf.float32),
    )
