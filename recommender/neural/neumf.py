"""NeuMF (reference system B, after He et al. 2017), trained on ratings with squared error.

The packed user vector holds two parts: ``[:gmf_dim]`` for the GMF branch (element-wise product
with the movie's GMF embedding) and ``[gmf_dim:]`` for the MLP branch (concatenated with the
movie's MLP embedding, then a ReLU tower). Both branches are concatenated and fused by one
linear unit (bias starts at the global mean), giving stars ``(B, 1)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from recommender.neural.base import HeadSpec, NeuralRecommender, _l2
from recommender.neural.data import Features
from recommender.neural.layers import RowPenalty, Slice


class NeuMFRecommender(NeuralRecommender):
    """Parameters: ``gmf_dim``, ``mlp_dim``, ``tower`` (ReLU units, widest first),
    ``l2_weights``, ``l2_rows``, ``dropout`` (after the MLP layers)."""

    name: ClassVar[str] = "neumf"
    model_defaults: ClassVar[dict[str, Any]] = {
        "gmf_dim": 16,
        "mlp_dim": 32,
        "tower": (64, 32, 16),
        "l2_weights": 0.0,
        "l2_rows": 0.02,
        "dropout": 0.2,
    }

    def build_head(self, features: Features) -> HeadSpec:
        p = self.params
        gmf_dim, mlp_dim = p["gmf_dim"], p["mlp_dim"]
        l2 = _l2(p["l2_weights"])
        user_vector = keras.Input((gmf_dim + mlp_dim,), name="user_vector")
        movie = keras.Input((), dtype="int32", name="movie")
        user_avg = keras.Input((), dtype="float32", name="user_avg")  # unused by NeuMF
        gmf_movie = keras.layers.Embedding(
            features.n_movies, gmf_dim, embeddings_regularizer=l2, name="movie_embedding"
        )(movie)
        mlp_movie = keras.layers.Embedding(
            features.n_movies, mlp_dim, embeddings_regularizer=l2, name="movie_embedding_mlp"
        )(movie)
        gmf_movie = RowPenalty(p["l2_rows"], name="gmf_penalty")(gmf_movie)
        mlp_movie = RowPenalty(p["l2_rows"], name="mlp_penalty")(mlp_movie)
        gmf = keras.layers.Multiply(name="gmf")(
            [Slice(0, gmf_dim, name="user_gmf")(user_vector), gmf_movie]
        )
        mlp = keras.layers.Concatenate()(
            [Slice(gmf_dim, gmf_dim + mlp_dim, name="user_mlp")(user_vector), mlp_movie]
        )
        for units in p["tower"]:
            mlp = keras.layers.Dense(units, activation="relu", kernel_regularizer=l2)(mlp)
            mlp = keras.layers.Dropout(p["dropout"])(mlp)
        fused = keras.layers.Concatenate(name="neumf")([gmf, mlp])
        rating = keras.layers.Dense(
            1, bias_initializer=keras.initializers.Constant(features.global_mean), name="rating"
        )(fused)
        head = keras.Model([user_vector, movie, user_avg], rating, name="head")
        return HeadSpec(head, gmf_dim + mlp_dim)
