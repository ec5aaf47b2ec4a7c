"""NNCF with content features (reference system A).

Head inputs ``[user_vector (B, user_dim), movie (B,), user_avg (B,) stars]``; output stars
``(B, 1)``. The movie embedding, a genre embedding (a bias-free dense projection of the
movie's multi-hot genres — the sum of its genres' vectors) and the centred user and movie
average ratings are concatenated with the user vector, then pass a tower of dense layers that
narrows upward (Dense → BatchNorm → LeakyReLU → Dropout), ending in one linear unit whose
bias starts at the global mean rating.

Ablation (reference A's table): ``nncf-plain`` (ids only), ``nncf-genres``, ``nncf`` (genres +
averages).
"""

from __future__ import annotations

from typing import Any, ClassVar

import keras

from recommender.neural.base import HeadSpec, NeuralRecommender, _l2
from recommender.neural.data import Features
from recommender.neural.layers import RowPenalty, frozen_table


class NNCFRecommender(NeuralRecommender):
    """Reference A's network. Parameters (besides training ones): ``user_dim``, ``movie_dim``,
    ``genre_dim``, ``tower`` (units per dense layer, widest first), ``embedding_dropout``
    (0.2), ``dense_dropout`` (0.5), ``l2_weights`` (L2 on embedding tables and dense kernels,
    1e-7 in the reference), ``l2_rows`` (per-rating L2 on looked-up rows), ``genres``,
    ``averages``."""

    name: ClassVar[str] = "nncf"
    model_defaults: ClassVar[dict[str, Any]] = {
        "user_dim": 32,
        "movie_dim": 32,
        "genre_dim": 8,
        "tower": (128, 64, 32),
        "embedding_dropout": 0.2,
        "dense_dropout": 0.5,
        "l2_weights": 1e-7,
        "l2_rows": 1e-3,
        "genres": True,
        "averages": True,
        "optimizer": "nadam",
        "epsilon": 1e-4,
    }

    def build_head(self, features: Features) -> HeadSpec:
        p = self.params
        l2 = _l2(p["l2_weights"])
        user_vector = keras.Input((p["user_dim"],), name="user_vector")
        movie = keras.Input((), dtype="int32", name="movie")
        user_avg = keras.Input((), dtype="float32", name="user_avg")
        drop = p["embedding_dropout"]
        movie_vector = keras.layers.Embedding(
            features.n_movies, p["movie_dim"], embeddings_regularizer=l2, name="movie_embedding"
        )(movie)
        movie_vector = RowPenalty(p["l2_rows"], name="movie_penalty")(movie_vector)
        parts = [keras.layers.Dropout(drop)(user_vector), keras.layers.Dropout(drop)(movie_vector)]
        if p["genres"]:
            multi_hot = frozen_table(features.genres, "movie_genres")(movie)
            genre_vector = keras.layers.Dense(
                p["genre_dim"], use_bias=False, kernel_regularizer=l2, name="genre_embedding"
            )(multi_hot)
            parts.append(keras.layers.Dropout(drop)(genre_vector))
        if p["averages"]:
            centre = keras.layers.Rescaling(1.0, offset=-features.global_mean)
            movie_avg = frozen_table(features.movie_avg[:, None], "movie_average")(movie)
            parts += [keras.layers.Reshape((1,))(centre(user_avg)), centre(movie_avg)]
        x = keras.layers.Concatenate()(parts)
        for units in p["tower"]:
            x = keras.layers.Dense(units, kernel_regularizer=l2)(x)
            x = keras.layers.BatchNormalization()(x)
            x = keras.layers.LeakyReLU(negative_slope=0.1)(x)
            x = keras.layers.Dropout(p["dense_dropout"])(x)
        rating = keras.layers.Dense(
            1, bias_initializer=keras.initializers.Constant(features.global_mean), name="rating"
        )(x)
        head = keras.Model([user_vector, movie, user_avg], rating, name="head")
        return HeadSpec(head, p["user_dim"])


class NNCFGenresRecommender(NNCFRecommender):
    """Ablation: NNCF + genres, without the average-rating inputs."""

    name: ClassVar[str] = "nncf-genres"
    model_defaults: ClassVar[dict[str, Any]] = {**NNCFRecommender.model_defaults, "averages": False}


class NNCFPlainRecommender(NNCFRecommender):
    """Ablation: plain NNCF (user and movie embeddings only)."""

    name: ClassVar[str] = "nncf-plain"
    model_defaults: ClassVar[dict[str, Any]] = {
        **NNCFRecommender.model_defaults,
        "averages": False,
        "genres": False,
    }


__all__ = ["NNCFRecommender", "NNCFGenresRecommender", "NNCFPlainRecommender"]
