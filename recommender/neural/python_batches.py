"""The slow way to feed Keras, kept only as the benchmark's baseline.

:class:`PythonBatches` is a ``keras.utils.PyDataset`` that builds every batch in Python, row by
row, the way reference system A's generator did. ``scripts/bench_neural.py --throughput``
compares it with :func:`recommender.neural.data.make_dataset` on the same model.
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd

from recommender.neural.data import Features


class PythonBatches(keras.utils.PyDataset):
    """Batches ``({"user", "movie", "user_avg"}, rating (B, 1))`` assembled in Python loops."""

    def __init__(self, ratings: pd.DataFrame, features: Features, batch_size: int, seed: int = 0):
        super().__init__()
        self.rows = list(ratings[["userId", "movieId", "rating"]].itertuples(index=False))
        self.user_row = {int(u): i for i, u in enumerate(features.user_ids)}
        self.movie_row = {int(m): j for j, m in enumerate(features.movie_ids)}
        self.user_avg = features.user_avg.tolist()
        self.batch_size = batch_size
        self.order = np.random.default_rng(seed).permutation(len(self.rows))

    def __len__(self) -> int:
        return -(-len(self.rows) // self.batch_size)

    def __getitem__(self, index: int):
        users, movies, averages, stars = [], [], [], []
        for i in self.order[index * self.batch_size : (index + 1) * self.batch_size]:
            user_id, movie_id, rating = self.rows[i]
            user = self.user_row[int(user_id)]
            users.append(user)
            movies.append(self.movie_row[int(movie_id)])
            averages.append(self.user_avg[user])
            stars.append([rating])
        inputs = {
            "user": np.array(users, dtype=np.int32),
            "movie": np.array(movies, dtype=np.int32),
            "user_avg": np.array(averages, dtype=np.float32),
        }
        return inputs, np.array(stars, dtype=np.float32)

    def on_epoch_end(self) -> None:
        np.random.default_rng(len(self.order)).shuffle(self.order)
