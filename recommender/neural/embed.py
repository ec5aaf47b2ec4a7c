"""Embedding dot product with biases (reference system C).

Packed user vector ``[:dim]`` = user embedding, ``[dim]`` = user bias. Prediction (stars):
``0.5 + 4.5 · sigmoid(u·m + b_user + b_movie + offset)`` where ``offset`` makes an all-zero
user/movie predict the global mean. Embeddings use ``he_normal`` and L2; Adam 1e-3. The
normalised movie embeddings are what :func:`recommender.similar.similar_movies` compares.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import keras

from recommender.neural.base import HeadSpec, NeuralRecommender, _l2
from recommender.neural.data import Features
from recommender.neural.layers import RowPenalty, ScaledSigmoid, Slice

FAST_TRAINING: dict[str, Any] = {
    "batch_size": 8192,
    "learning_rate": 5e-3,
    "learning_rate_plateau": 0.3,
    "patience": 3,
    "min_delta": 1e-4,
}
"""Training of the served embedding models (issue 15): 16x the batch of before (the per-step
cost is mostly the optimizer's pass over the embedding tables, so big batches are cheap per
rating) and 5x the learning rate, cut to 0.3x after an epoch without a validation-RMSE gain of
1e-4, stopping 3 such epochs after the best (whose weights are kept), and never past
:data:`~recommender.neural.base.RATING_BUDGET` ratings in all. On ml-latest-small the
validation RMSE is within 0.003 of batch 512 / lr 1e-3 / patience 6 (``PREVIOUS_TRAINING``;
0.8331 vs 0.8307 for ``embed``, 0.8211 vs 0.8189 for ``embed-implicit``) at a fifth of the
training time; on 2M synthetic ratings it is lower after fewer epochs. Figures: ``python -m
scripts.bench_neural --training``."""


class EmbedRecommender(NeuralRecommender):
    """Parameters: ``dim`` (50), ``l2_weights`` (L2 on the tables), ``l2_rows`` (per rating,
    on the user and movie rows a rating looks up), ``l2_bias`` (per rating, on the movie bias;
    the user bias is part of the user row)."""

    name: ClassVar[str] = "embed"
    model_defaults: ClassVar[dict[str, Any]] = {
        "dim": 50,
        "l2_weights": 0.0,
        "l2_rows": 0.1,
        "l2_bias": 0.0,
        **FAST_TRAINING,
    }

    def build_head(self, features: Features) -> HeadSpec:
        p = self.params
        dim, l2 = p["dim"], _l2(p["l2_weights"])
        user_vector = keras.Input((dim + 1,), name="user_vector")
        movie = keras.Input((), dtype="int32", name="movie")
        user_avg = keras.Input((), dtype="float32", name="user_avg")  # unused by this model
        movie_vector = keras.layers.Embedding(
            features.n_movies,
            dim,
            embeddings_initializer="he_normal",
            embeddings_regularizer=l2,
            name="movie_embedding",
        )(movie)
        movie_vector = RowPenalty(p["l2_rows"], name="movie_penalty")(movie_vector)
        movie_bias = keras.layers.Embedding(
            features.n_movies, 1, embeddings_initializer="zeros", name="movie_bias"
        )(movie)
        if p["l2_bias"]:
            movie_bias = RowPenalty(p["l2_bias"], name="movie_bias_penalty")(movie_bias)
        dot = keras.layers.Dot(axes=1)(
            [Slice(0, dim, name="user_factors")(user_vector), movie_vector]
        )
        logit = keras.layers.Add()(
            [dot, Slice(dim, dim + 1, name="user_bias")(user_vector), movie_bias]
        )
        share = (features.global_mean - 0.5) / 4.5
        offset = keras.layers.Rescaling(1.0, offset=math.log(share / (1 - share)))
        rating = ScaledSigmoid(0.5, 5.0, name="rating")(offset(logit))
        head = keras.Model([user_vector, movie, user_avg], rating, name="head")
        return HeadSpec(head, dim + 1, user_initializer="he_normal")


class EmbedImplicitRecommender(EmbedRecommender):
    """Our extension of reference C (not in the reference): the user vector also holds
    SVD++-style implicit factors — the scaled sum of learned vectors of the movies the person
    rated (:class:`~recommender.neural.layers.ImplicitProfile`). For a new person that part
    comes straight from the profile, so fold-in starts from a far better point."""

    name: ClassVar[str] = "embed-implicit"
    model_defaults: ClassVar[dict[str, Any]] = {
        **EmbedRecommender.model_defaults,
        "implicit": True,
        # Tuned on a validation split carved from seed 0's training part (never the test
        # part): validation RMSE 0.8618 / 0.8526 / 0.8518 / 0.8563 / 0.8597 for
        # l2_implicit 0.003 / 0.01 / 0.03 / 0.1 / 0.3 (l2_rows 0.05/0.2 and l2_bias 0.02
        # did not beat l2_rows 0.1, l2_bias 0).
        "l2_implicit": 0.03,
    }
