"""Turn a ratings table into what the neural models eat: id maps, movie features, tf.data.

Everything here is plain NumPy/pandas except :func:`make_dataset`. The arrays built here are
also what an artifact stores (see :mod:`recommender.neural.artifacts`), so that a loaded model
sees exactly the features it was trained with.

Scales: ratings and averages are on the 0.5–5 star scale; indices are ``int32`` positions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.vocabulary import index_or_missing, positions_in

AVERAGE_SHRINKAGE = 5.0
"""Pseudo-ratings at the global mean added to every average (a Bayesian mean), so that a
movie (or a new user) with two ratings does not get an extreme average."""

INPUT_NAMES = ("user", "movie", "user_avg")


def shrunk_mean(total: np.ndarray, count: np.ndarray, global_mean: float) -> np.ndarray:
    """Bayesian average ``(total + k·mean) / (count + k)`` with ``k = AVERAGE_SHRINKAGE``."""
    return (total + AVERAGE_SHRINKAGE * global_mean) / (count + AVERAGE_SHRINKAGE)


def profile_average(ratings: np.ndarray, global_mean: float) -> float:
    """A profile's (shrunk) average rating — the same formula the training users got."""
    ratings = np.asarray(ratings, dtype=np.float64)
    return float(shrunk_mean(ratings.sum(), len(ratings), global_mean))


@dataclass
class Features:
    """Id maps and per-user/per-movie statistics learned from the training ratings.

    - ``user_ids`` ``(n_users,)`` int64 sorted: training userIds; row ``i`` of the user
      embedding belongs to ``user_ids[i]``.
    - ``movie_ids`` ``(n_movies,)`` int64 sorted: the catalogue (rated movies plus any movie
      in ``movies``); row ``j`` of every movie-side table belongs to ``movie_ids[j]``.
    - ``genres`` ``(n_movies, n_genres)`` float32 multi-hot; ``genre_names`` its columns.
    - ``movie_avg`` ``(n_movies,)``, ``user_avg`` ``(n_users,)`` float32 shrunk averages (stars).
    - ``movie_count`` ``(n_movies,)`` int64: training ratings per movie.
    - ``global_mean``: mean training rating (stars).
    """

    user_ids: np.ndarray
    movie_ids: np.ndarray
    genres: np.ndarray
    genre_names: list[str]
    movie_avg: np.ndarray
    user_avg: np.ndarray
    movie_count: np.ndarray
    global_mean: float

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_movies(self) -> int:
        return len(self.movie_ids)

    @classmethod
    def from_ratings(cls, ratings: pd.DataFrame, movies: pd.DataFrame | None = None) -> Features:
        """Build the maps and statistics from ``ratings`` (userId, movieId, rating, ...).

        ``movies`` (movieId, genres as ``list[str]``) adds unrated movies and the genres;
        without it every movie has no genre.
        """
        user_ids = np.unique(ratings["userId"].to_numpy(np.int64))
        movie_ids = np.unique(ratings["movieId"].to_numpy(np.int64))
        if movies is not None:
            movie_ids = np.union1d(movie_ids, movies["movieId"].to_numpy(np.int64))
        global_mean = float(ratings["rating"].mean())
        users = positions_in(user_ids, ratings["userId"].to_numpy(np.int64))
        items = positions_in(movie_ids, ratings["movieId"].to_numpy(np.int64))
        stars = ratings["rating"].to_numpy(np.float64)
        movie_total = np.bincount(items, stars, minlength=len(movie_ids))
        movie_count = np.bincount(items, minlength=len(movie_ids)).astype(np.int64)
        user_total = np.bincount(users, stars, minlength=len(user_ids))
        user_count = np.bincount(users, minlength=len(user_ids))
        genre_names, genres = _multi_hot(movie_ids, movies)
        return cls(
            user_ids=user_ids,
            movie_ids=movie_ids,
            genres=genres,
            genre_names=genre_names,
            movie_avg=shrunk_mean(movie_total, movie_count, global_mean).astype(np.float32),
            user_avg=shrunk_mean(user_total, user_count, global_mean).astype(np.float32),
            movie_count=movie_count,
            global_mean=global_mean,
        )

    def user_index(self, user_ids: np.ndarray) -> np.ndarray:
        """Row of each userId (``-1`` for users unknown to training), int32."""
        return _lookup(self.user_ids, user_ids)

    def movie_index(self, movie_ids: np.ndarray) -> np.ndarray:
        """Row of each movieId (``-1`` for movies outside the catalogue), int32."""
        return _lookup(self.movie_ids, movie_ids)

    def encode(self, ratings: pd.DataFrame) -> dict[str, np.ndarray]:
        """Model inputs for known users' ratings: ``user``, ``movie`` (int32), ``user_avg``
        (float32 stars) and the target ``rating`` (float32 stars). Rows with an unknown user
        or movie are dropped."""
        users = self.user_index(ratings["userId"].to_numpy(np.int64))
        movies = self.movie_index(ratings["movieId"].to_numpy(np.int64))
        keep = (users >= 0) & (movies >= 0)
        return {
            "user": users[keep],
            "movie": movies[keep],
            "user_avg": self.user_avg[users[keep]],
            "rating": ratings["rating"].to_numpy(np.float32)[keep],
        }

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Everything as NumPy arrays (for ``np.savez``)."""
        return {
            "user_ids": self.user_ids,
            "movie_ids": self.movie_ids,
            "genres": self.genres,
            "genre_names": np.asarray(self.genre_names, dtype=str),
            "movie_avg": self.movie_avg,
            "user_avg": self.user_avg,
            "movie_count": self.movie_count,
            "global_mean": np.asarray(self.global_mean),
        }

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> Features:
        """Inverse of :meth:`to_arrays`."""
        return cls(
            user_ids=arrays["user_ids"],
            movie_ids=arrays["movie_ids"],
            genres=arrays["genres"],
            genre_names=[str(g) for g in arrays["genre_names"]],
            movie_avg=arrays["movie_avg"],
            user_avg=arrays["user_avg"],
            movie_count=arrays["movie_count"],
            global_mean=float(arrays["global_mean"]),
        )


def _lookup(sorted_ids: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    return index_or_missing(sorted_ids, np.asarray(wanted, dtype=np.int64)).astype(np.int32)


def _multi_hot(movie_ids: np.ndarray, movies: pd.DataFrame | None) -> tuple[list[str], np.ndarray]:
    """``(genre_names, (n_movies, n_genres) float32 multi-hot)``; at least one column."""
    if movies is None or "genres" not in movies:
        return ["(none)"], np.zeros((len(movie_ids), 1), dtype=np.float32)
    names = sorted({g for genres in movies["genres"] for g in genres}) or ["(none)"]
    column = {name: j for j, name in enumerate(names)}
    matrix = np.zeros((len(movie_ids), len(names)), dtype=np.float32)
    rows = _lookup(movie_ids, movies["movieId"].to_numpy(np.int64))
    for row, genres in zip(rows, movies["genres"], strict=True):
        for genre in genres:
            matrix[row, column[genre]] = 1.0
    return names, matrix


def split_validation(
    ratings: pd.DataFrame, fraction: float, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Random ``(fit, validation)`` split of ``ratings`` for early stopping.

    Validation rows whose user or movie would be absent from the fit part stay in the fit
    part, so every validation rating is predictable.
    """
    rng = np.random.default_rng(seed)
    is_val = rng.random(len(ratings)) < fraction
    fit_part = ratings[~is_val]
    is_val &= ratings["userId"].isin(fit_part["userId"]).to_numpy()
    is_val &= ratings["movieId"].isin(fit_part["movieId"]).to_numpy()
    return ratings[~is_val], ratings[is_val]


PROFILE_COST_LIMIT = 16.0
"""A model with implicit factors trains on batches of random single ratings while the profiles
such a batch touches hold at most this many times its own ratings (ml-latest-small: about 12×
at batch 8192), and on chunks of each person's ratings (:data:`USER_CHUNK`) beyond (2M
synthetic ratings: about 120×)."""

USER_CHUNK = 64
"""Ratings of one person kept together in a batch when :func:`user_chunk_for` chunks. Measured
with ``embed-implicit`` (README, "Training speed"): on 2M synthetic ratings 20× the ratings per
second of random batches and a lower validation RMSE (0.679 after 17 epochs in 387 s, against
0.697 after 4 epochs in 1,557 s); on ml-latest-small 1.6× the speed but 0.0025 worse (0.8218
vs 0.8193), which :data:`PROFILE_COST_LIMIT` keeps it from."""


def profile_cost(users: np.ndarray, batch_size: int) -> float:
    """Expected ratings in the profiles of the people a batch of ``batch_size`` random training
    ratings touches, over ``batch_size``: ``Σ_u n_u · (1 − (1 − n_u/n)^b) / b`` (``n_u`` the
    person's ratings among ``users``, one entry per rating)."""
    counts = np.bincount(np.asarray(users)).astype(np.float64)
    counts = counts[counts > 0]
    n, b = counts.sum(), min(batch_size, int(counts.sum()))
    if b == 0:
        return 0.0
    touched = 1.0 - np.exp(b * np.log1p(-counts / n))  # chance the batch holds the person
    return float(counts @ touched / b)


def user_chunk_for(users: np.ndarray, batch_size: int) -> int:
    """The ``user_chunk`` of :func:`make_dataset` for a model with implicit factors: 0 (random
    ratings) while :func:`profile_cost` stays within :data:`PROFILE_COST_LIMIT`, else
    :data:`USER_CHUNK`."""
    return 0 if profile_cost(users, batch_size) <= PROFILE_COST_LIMIT else USER_CHUNK


def make_dataset(
    arrays: dict[str, np.ndarray],
    batch_size: int,
    *,
    shuffle: bool,
    seed: int = 0,
    user_chunk: int = 0,
):
    """A ``tf.data`` pipeline of ``({"user", "movie", "user_avg"}, rating)`` batches.

    Shuffles row *indices* every epoch with a fixed seed (deterministic), batches them, then
    gathers each batch's columns in one vectorised step and prefetches. Ratings come out with
    shape ``(batch, 1)`` (stars). Movie-side features (genres, averages) are looked up inside
    the model, so the pipeline stays three small columns wide.

    ``user_chunk`` (with ``shuffle``; 0 = off): each person's ratings are cut once (seeded)
    into chunks of at most this many, and every epoch shuffles the *chunks*, so a batch holds
    about ``batch_size / user_chunk`` people instead of up to ``batch_size``. For models whose
    step costs the batch people's whole profiles (the SVD++-style implicit factors,
    :class:`~recommender.neural.layers.ImplicitProfile`) that bounds a step's cost near
    ``batch_size / user_chunk`` profiles; random single ratings (0) decorrelate the steps best.
    """
    import tensorflow as tf

    columns = {name: tf.constant(arrays[name]) for name in (*INPUT_NAMES, "rating")}
    n = len(arrays["rating"])
    n_batches = -(-n // batch_size)
    if shuffle and user_chunk:
        runs = _user_chunks(arrays["user"], user_chunk, seed)

        def epoch_batches(epoch_seed):
            order = _people_in_turn(runs, tf.stack([epoch_seed, tf.constant(seed, tf.int64)]))
            return tf.data.Dataset.range(n_batches).map(
                lambda i: order[i * batch_size : tf.minimum((i + 1) * batch_size, n)]
            )

        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        rows = seeds.flat_map(epoch_batches)
        rows = rows.apply(tf.data.experimental.assert_cardinality(n_batches))
    elif shuffle:
        # One permutation tensor per epoch (8 bytes a rating), sliced into batches: a shuffle
        # buffer of n single-index elements cost ~300 bytes a rating (7 GB at 25M, still
        # filling) and filled one element at a time.
        def epoch_batches(epoch_seed):
            order = tf.random.experimental.stateless_shuffle(
                tf.range(n, dtype=tf.int64),
                seed=tf.stack([epoch_seed, tf.constant(seed, tf.int64)]),
            )
            return tf.data.Dataset.range(n_batches).map(
                lambda i: order[i * batch_size : tf.minimum((i + 1) * batch_size, n)]
            )

        seeds = tf.data.Dataset.random(seed=seed, rerandomize_each_iteration=True).take(1)
        rows = seeds.flat_map(epoch_batches)
        rows = rows.apply(tf.data.experimental.assert_cardinality(n_batches))  # Keras knows
    else:
        rows = tf.data.Dataset.range(n).batch(batch_size)

    def gather(index):
        inputs = {name: tf.gather(columns[name], index) for name in INPUT_NAMES}
        return inputs, tf.expand_dims(tf.gather(columns["rating"], index), -1)

    return rows.map(gather).prefetch(tf.data.AUTOTUNE)


def _user_chunks(users: np.ndarray, size: int, seed: int):
    """Rows grouped in chunks of one person's ratings: ``(rows, start, end)`` tensors, chunk
    ``k`` being ``rows[start[k]:end[k]]`` — each person's rows in a seeded random order, cut
    every ``size`` rows."""
    import tensorflow as tf

    users = np.asarray(users)
    rng = np.random.default_rng(seed)
    rows = np.lexsort((rng.random(len(users)), users))  # by person, random within
    sorted_users = users[rows]
    first = np.r_[True, sorted_users[1:] != sorted_users[:-1]]
    person_start = np.maximum.accumulate(np.where(first, np.arange(len(users)), 0))
    cut = first | ((np.arange(len(users)) - person_start) % size == 0)
    start = np.flatnonzero(cut)
    end = np.r_[start[1:], len(users)]
    return (
        tf.constant(rows.astype(np.int64)),
        tf.constant(start.astype(np.int64)),
        tf.constant(end.astype(np.int64)),
    )


def _people_in_turn(runs, seed):
    """One epoch's row order: the chunks in a random order (stateless ``seed``), each chunk's
    rows together. O(ratings), no sort."""
    import tensorflow as tf

    rows, start, end = runs
    turn = tf.random.experimental.stateless_shuffle(tf.range(tf.shape(start)[0]), seed=seed)
    spans = tf.ragged.range(tf.gather(start, turn), tf.gather(end, turn))
    return tf.gather(rows, spans.flat_values)
