"""The one adapter between a Keras rating model and the project's :class:`Recommender` API.

Every neural model here is split the same way, which is what makes new users cheap:

- a **user embedding** (``n_users × user_dim``, layer ``user_embedding``) — the only user-side
  weights;
- a **head** (nested Keras model ``head``) taking ``[user_vector (B, user_dim), movie (B,)
  int32, user_avg (B,) stars]`` and returning the predicted rating ``(B, 1)`` in stars. All
  movie-side weights (embeddings, genres, averages, dense tower) live in the head.

Training uses ``head(user_embedding(user), movie, user_avg)``. A training user is scored with
their trained row; anyone else (an app user) gets a user vector fitted to their profile with
the head frozen (:mod:`recommender.neural.foldin`). A model file only says how to build its
head (:meth:`NeuralRecommender.build_head`); fitting, scoring, early stopping, calibration of
the match percentage and distribution are here, once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from recommender.base import (
    MAX_RATING,
    MIN_RATING,
    Profile,
    Recommender,
    Scores,
    UserKey,
    validate_profile,
)
from recommender.calibration import StarsCalibrator
from recommender.neural.data import (
    Features,
    make_dataset,
    profile_average,
    split_validation,
    user_chunk_for,
)

TRAINING_DEFAULTS: dict[str, Any] = {
    "epochs": 40,
    "batch_size": 512,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "epsilon": 1e-7,
    # Each epoch multiplies the learning rate by this (1.0: constant).
    "learning_rate_decay": 1.0,
    # An epoch without a validation RMSE improvement multiplies the learning rate by this
    # (1.0: never), before early stopping gives up ``patience`` epochs later.
    "learning_rate_plateau": 1.0,
    # Early stopping on validation RMSE: stop after ``patience`` epochs without an improvement
    # of at least ``min_delta`` (RMSE, stars) and keep the best epoch's weights.
    "patience": 6,
    "min_delta": 0.0,
    # XLA-compiled train step: "auto" = when every layer supports it.
    "jit_compile": "auto",
    "validation_fraction": 0.05,
    "seed": 0,
    "verbose": 0,
    # Fold-in (new users): Adam steps on the user vector only, pulled toward the mean user
    # (l2 tuned on the new-user protocol, seed 0: 3.0 beat 0.3 on NDCG and calibration).
    "foldin_steps": 40,
    "foldin_learning_rate": 0.05,
    "foldin_l2": 3.0,
    # Ranking: predicted stars minus this many stars / sqrt(1 + training ratings of the movie),
    # so a movie with two 5-star ratings does not top everyone's list (a movie with 100
    # ratings loses 1.2 stars, one with 4 loses 5.4). Tuned on the new-user protocol (seed 0):
    # 0 -> NDCG@24 0.11, 4 -> 0.25, 12 -> 0.27 given 5 ratings. 0 disables (pure predicted stars).
    "rank_support": 12.0,
    # SVD++-style implicit feedback: add |N(u)|^-1/2 · sum of y_j over the user's rated movies
    # to the user vector (see layers.ImplicitProfile); new users get it from their profile.
    "implicit": False,
    "l2_implicit": 0.1,  # per-rating L2 on the implicit part of the user vector
}


PREVIOUS_TRAINING: dict[str, Any] = {
    "batch_size": 512,
    "learning_rate": 1e-3,
    "learning_rate_decay": 1.0,
    "learning_rate_plateau": 1.0,
    "patience": 6,
    "min_delta": 0.0,
    "jit_compile": False,
}
"""The training settings of the served models before the speed work of issue 15 (batch
512, constant learning rate 1e-3, patience 6), kept as the benchmarks' baseline."""


@dataclass
class HeadSpec:
    """What a model file builds: the head and the shape/initialiser of the user embedding."""

    head: Any  # keras.Model
    user_dim: int
    user_initializer: str = "uniform"


def data_fingerprint(ratings: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of the ratings' (userId, movieId, rating) rows, sorted."""
    table = ratings[["userId", "movieId", "rating"]].sort_values(["userId", "movieId"])
    digest = hashlib.sha256()
    for column in table.columns:
        digest.update(table[column].to_numpy(np.float64).tobytes())
    return digest.hexdigest()[:16]


def choose_strategy(devices: list[str] | None = None):
    """``MultiWorkerMirroredStrategy`` when ``TF_CONFIG`` names a cluster (training across
    processes, :mod:`recommender.neural.distributed`); else ``MirroredStrategy`` over every
    GPU (or the given devices); else the default strategy (one CPU process)."""
    import tensorflow as tf

    from recommender.neural.distributed import multi_worker_strategy

    if not devices and (cluster := multi_worker_strategy()) is not None:
        return cluster
    if devices:
        return tf.distribute.MirroredStrategy(devices=devices)
    if tf.config.list_logical_devices("GPU"):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


RATING_BUDGET = 150_000_000
"""Most training ratings a neural model sees over all its epochs together: past that the epoch
count is cut (:func:`epochs_within`), so training stops growing with the data. It binds only
above 3.75M training ratings (40 epochs): at ml-25m size it allows 6 epochs, where one takes
about 2 minutes of two busy cores. (A constant rather than a model setting: below that size it
changes nothing, so the saved evaluation results stay valid.)"""


def epochs_within(epochs: int, n_ratings: int, budget: int = RATING_BUDGET) -> int:
    """``epochs`` passes over ``n_ratings`` training ratings, cut so that all passes together
    see at most ``budget`` ratings, and at least one pass."""
    return max(1, min(epochs, budget // max(1, n_ratings)))


class NeuralRecommender(Recommender):
    """Shared fit/score for the Keras models. Subclasses set ``name``, ``model_defaults`` and
    implement :meth:`build_head`. Keyword ``params`` override ``model_defaults`` and
    :data:`TRAINING_DEFAULTS`; unknown names raise ``TypeError``.

    After :meth:`fit`: ``model`` (training Keras model), ``features``, ``calibration``,
    ``history`` (per-epoch ``loss``/``val_loss``...), ``validation`` (metrics dict) and
    ``fingerprint`` (of the training data).
    """

    name: ClassVar[str] = "neural"
    model_defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, **params: Any):
        defaults = {**TRAINING_DEFAULTS, **self.model_defaults}
        unknown = set(params) - set(defaults)
        if unknown:
            raise TypeError(f"{self.name}: unknown parameters {sorted(unknown)}")
        self.params: dict[str, Any] = {**defaults, **params}
        if (
            self.params["learning_rate_decay"] != 1.0
            and self.params["learning_rate_plateau"] != 1.0
        ):
            raise ValueError(
                f"{self.name}: learning_rate_decay and learning_rate_plateau exclude each other"
            )
        self.model = None
        self.features: Features | None = None
        self.calibration = StarsCalibrator()
        self.history: dict[str, list[float]] = {}
        self.validation: dict[str, float] = {}
        self.fingerprint = ""
        self.strategy = None  # None: choose_strategy(); tests may pass a MirroredStrategy.
        self._scorer = self._user_vectors = self._start = None

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without what scoring built and rebuilds on first use (the compiled fold-in
        graph cannot be pickled): a model that has served profiles pickles as a fresh one."""
        state = dict(self.__dict__)
        state.update(_scorer=None, _user_vectors=None, _start=None)
        return state

    # ---- what a model file provides -------------------------------------------------------

    def build_head(self, features: Features) -> HeadSpec:
        """Build the head for ``features`` (movie count, genres, averages). See module doc."""
        raise NotImplementedError

    # ---- training -------------------------------------------------------------------------

    def build_model(self, features: Features, rated: tuple[np.ndarray, np.ndarray] | None = None):
        """The training model ``{user, movie, user_avg} -> rating (B, 1)`` (uncompiled).

        ``rated`` = (user rows, movie rows) of the training ratings, needed with ``implicit``.
        """
        import keras

        from recommender.neural.layers import ImplicitProfile, RowPenalty

        spec = self.build_head(features)
        user = keras.Input((), dtype="int32", name="user")
        movie = keras.Input((), dtype="int32", name="movie")
        user_avg = keras.Input((), dtype="float32", name="user_avg")
        vector = keras.layers.Embedding(
            features.n_users,
            spec.user_dim,
            embeddings_initializer=spec.user_initializer,
            embeddings_regularizer=_l2(self.params.get("l2_weights", 0.0)),
            name="user_embedding",
        )(user)
        vector = RowPenalty(self.params.get("l2_rows", 0.0), name="user_penalty")(vector)
        implicit = None
        if self.params["implicit"]:
            implicit = ImplicitProfile(
                features.n_users,
                features.n_movies,
                len(rated[0]),
                spec.user_dim,
                rate=self.params["l2_implicit"],
                name="implicit_profile",
            )
            vector = keras.layers.Add()([vector, implicit(user)])
        rating = spec.head([vector, movie, user_avg])
        model = keras.Model({"user": user, "movie": movie, "user_avg": user_avg}, rating)
        if implicit is not None:
            implicit.set_profiles(*rated)
        return model

    def compile(self, model, steps_per_epoch: int = 1) -> None:
        """Optimizer (``learning_rate`` times ``learning_rate_decay`` per epoch of
        ``steps_per_epoch`` steps), MSE loss, RMSE/MAE metrics, XLA per ``jit_compile``."""
        import keras

        p = self.params
        optimizers = {"adam": keras.optimizers.Adam, "nadam": keras.optimizers.Nadam}
        learning_rate = p["learning_rate"]
        if p["learning_rate_decay"] != 1.0:
            learning_rate = keras.optimizers.schedules.ExponentialDecay(
                learning_rate,
                decay_steps=max(1, steps_per_epoch),
                decay_rate=p["learning_rate_decay"],
            )
        optimizer = optimizers[p["optimizer"]](learning_rate=learning_rate, epsilon=p["epsilon"])
        model.compile(
            optimizer=optimizer,
            loss="mse",
            metrics=[keras.metrics.RootMeanSquaredError(name="rmse"), "mae"],
            jit_compile=False,
        )
        from recommender.neural.distributed import is_distributed

        jit = p["jit_compile"]
        if jit == "auto":
            jit = all(layer.supports_jit for layer in model._flatten_layers())
        if is_distributed():  # XLA on CPU has no kernels for the collective ops across processes
            jit = False
        # Keras refuses XLA on a CPU-only machine or with op determinism on; our layers are
        # deterministic under XLA on CPU (same seed, same model: tests/unit/test_neural.py).
        model._jit_compile = bool(jit)

    def fit(
        self,
        ratings: pd.DataFrame,
        movies: pd.DataFrame | None = None,
        *,
        callbacks: list | None = None,
        train_data=None,
    ) -> NeuralRecommender:
        """Train on ``ratings`` with early stopping on a random validation split of them.

        ``callbacks`` are extra Keras callbacks (e.g. progress). ``train_data`` replaces the
        ``tf.data`` training pipeline (the benchmark passes a ``PyDataset`` here).
        """
        import keras

        from recommender.neural.distributed import (
            allow_fit_across_workers,
            is_distributed,
            worker_count,
        )
        from recommender.neural.runtime import make_deterministic

        p = self.params
        make_deterministic(p["seed"])  # same seed, same data -> same model
        fit_part, val_part = split_validation(ratings, p["validation_fraction"], p["seed"])
        features = Features.from_ratings(fit_part, movies)
        train_arrays, val_arrays = features.encode(fit_part), features.encode(val_part)
        strategy = self.strategy or choose_strategy()
        # batch_size per local device (GPUs of this process), global across processes: with
        # TF_CONFIG the processes split each batch, so the steps and the tuned settings are
        # those of one process.
        batch = p["batch_size"] * strategy.num_replicas_in_sync // worker_count()
        with strategy.scope():
            model = self.build_model(features, (train_arrays["user"], train_arrays["movie"]))
            self.compile(model, steps_per_epoch=-(-len(train_arrays["rating"]) // batch))
        if is_distributed():
            allow_fit_across_workers(model)
        # batches of random ratings, or chunks of each person's where implicit factors would
        # make a random batch gather many whole profiles (data.user_chunk_for)
        chunk = user_chunk_for(train_arrays["user"], batch) if p["implicit"] else 0
        train = train_data or make_dataset(
            train_arrays, batch, shuffle=True, seed=p["seed"], user_chunk=chunk
        )
        validation = None
        stops = []
        if len(val_arrays["rating"]):
            validation = make_dataset(val_arrays, 8192, shuffle=False)
            stops = [
                keras.callbacks.EarlyStopping(
                    monitor="val_rmse",
                    mode="min",
                    patience=p["patience"],
                    min_delta=p["min_delta"],
                    restore_best_weights=True,
                )
            ]
            if p["learning_rate_plateau"] != 1.0:
                stops.append(
                    keras.callbacks.ReduceLROnPlateau(
                        monitor="val_rmse",
                        mode="min",
                        factor=p["learning_rate_plateau"],
                        patience=1,
                        min_delta=p["min_delta"],
                    )
                )
        fitted = model.fit(
            train,
            validation_data=validation,
            epochs=epochs_within(p["epochs"], len(train_arrays["rating"])),
            callbacks=[*stops, *(callbacks or [])],
            verbose=p["verbose"],
            shuffle=False,  # the pipeline shuffles (PyDataset baseline: its own order)
        )
        self.history = {k: [float(v) for v in vals] for k, vals in fitted.history.items()}
        self._set_fitted(model, features)
        self.fingerprint = data_fingerprint(ratings)
        if validation is not None:
            predicted = self._predict_rows(val_arrays)
            errors = predicted - val_arrays["rating"]
            self.calibration = StarsCalibrator.fitted(predicted, val_arrays["rating"])
            best = stops[0].best_epoch  # the restored epoch (0-based)
            self.validation = {
                "rmse": float(np.sqrt(np.mean(errors**2))),
                "mae": float(np.mean(np.abs(errors))),
                "best_epoch": best + 1,
                "epochs_run": len(self.history["val_loss"]),
                "n_ratings": int(len(errors)),
                "user_chunk": int(chunk),
            }
        return self

    def _set_fitted(self, model, features: Features) -> None:
        self.model, self.features = model, features
        self.movie_ids = features.movie_ids.astype(np.int64)
        self.default_rating = features.global_mean
        self._scorer = None
        self._user_vectors = None
        self._start = None

    # ---- scoring --------------------------------------------------------------------------

    @property
    def head(self):
        return self.model.get_layer("head")

    @property
    def implicit(self):
        """The :class:`~recommender.neural.layers.ImplicitProfile` layer, or ``None``."""
        names = {layer.name for layer in self.model.layers}
        return self.model.get_layer("implicit_profile") if "implicit_profile" in names else None

    def user_vectors(self) -> np.ndarray:
        """Trained user vectors ``(n_users, user_dim)`` as the head sees them."""
        if self._user_vectors is None:
            vectors = np.asarray(self.model.get_layer("user_embedding").embeddings)
            if self.implicit is not None:
                vectors = vectors + np.asarray(self.implicit.all_users())
            self._user_vectors = vectors
        return self._user_vectors

    def start_vector(self, movie_rows: np.ndarray) -> np.ndarray:
        """Fold-in start and prior for a profile: the mean explicit user vector (plus the
        profile's implicit factors when the model has them)."""
        if self._start is None:
            explicit = np.asarray(self.model.get_layer("user_embedding").embeddings)
            implicit = self.implicit
            factors = None if implicit is None else np.asarray(implicit.factors)
            self._start = (explicit.mean(axis=0), factors)
        mean, factors = self._start
        if factors is None or len(movie_rows) == 0:
            return mean
        return mean + factors[movie_rows].sum(axis=0) / np.sqrt(len(movie_rows))

    def movie_vectors(self) -> np.ndarray:
        """Trained movie embeddings ``(n_movies, d)`` (the head's ``movie_embedding``)."""
        return np.asarray(self.head.get_layer("movie_embedding").embeddings)

    @property
    def scorer(self):
        """The compiled fold-in + score-all-movies functions (built on first use)."""
        if self._scorer is None:
            from recommender.neural.foldin import ProfileScorer

            p = self.params
            self._scorer = ProfileScorer(
                self.head,
                user_dim=self.user_vectors().shape[1],
                n_movies=self.features.n_movies,
                steps=p["foldin_steps"],
                learning_rate=p["foldin_learning_rate"],
                l2=p["foldin_l2"],
            )
        return self._scorer

    def user_vector(self, profile: Profile, *, user: UserKey | None = None):
        """``(vector (user_dim,), user_avg stars)`` for a training user or a folded-in profile."""
        features = self.features
        if isinstance(user, (int, np.integer)):
            row = features.user_index(np.asarray([user]))[0]
            if row >= 0:
                return self.user_vectors()[row], float(features.user_avg[row])
        movies, stars = self._profile_arrays(profile)
        avg = profile_average(stars, features.global_mean)
        return self.scorer.fold_in(self.start_vector(movies), movies, stars, avg), avg

    def score(self, profile: Profile, *, user: UserKey | None = None) -> Scores:
        """Predicted stars for every movie; ``rank`` = stars minus the support penalty;
        ``match`` = calibrated P(rating ≥ 4) in percent. Strangers are folded in."""
        profile = validate_profile(profile)
        features = self.features
        known = (
            isinstance(user, (int, np.integer)) and features.user_index(np.asarray([user]))[0] >= 0
        )
        if known:
            vector, avg = self.user_vector(profile, user=user)
            predicted = self.scorer.score_all(vector, avg)
        else:
            movies, stars = self._profile_arrays(profile)
            avg = profile_average(stars, features.global_mean)
            start = self.start_vector(movies)
            predicted = self.scorer.fold_in_and_score(start, movies, stars, avg)
        predicted = np.clip(predicted.astype(np.float64), MIN_RATING, MAX_RATING)
        support = self.params["rank_support"] / np.sqrt(1.0 + features.movie_count)
        return Scores(
            movie_ids=self.movie_ids,
            predicted=predicted,
            rank=predicted - support,
            match=self.calibration.match(predicted),
            evidence={"training_ratings": features.movie_count},
            context={"model": self.name, "folded_in": not known},
        )

    def _predict_rows(self, rows: dict[str, np.ndarray]) -> np.ndarray:
        inputs = {k: rows[k] for k in ("user", "movie", "user_avg")}
        from recommender.neural.distributed import is_distributed

        if is_distributed():  # every process scores all rows itself (no sharding, same result)
            n, step = len(inputs["user"]), 8192
            parts = [
                np.asarray(self.model({k: v[i : i + step] for k, v in inputs.items()}))
                for i in range(0, n, step)
            ]
            return np.concatenate(parts)[:, 0].astype(np.float64) if parts else np.zeros(0)
        return self.model.predict(inputs, batch_size=8192, verbose=0)[:, 0].astype(np.float64)

    def _profile_arrays(self, profile: Profile) -> tuple[np.ndarray, np.ndarray]:
        """Catalogue rows (int32) and stars (float32) of the profile's known movies."""
        ids = np.fromiter(profile.keys(), dtype=np.int64, count=len(profile))
        stars = np.fromiter(profile.values(), dtype=np.float32, count=len(profile))
        rows = self.features.movie_index(ids)
        return rows[rows >= 0], stars[rows >= 0]


def _l2(rate: float):
    import keras

    return keras.regularizers.L2(rate) if rate else None
