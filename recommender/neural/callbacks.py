"""Keras callbacks for long training runs: a tqdm bar over epochs and a throughput meter."""

from __future__ import annotations

import time

import keras
from tqdm import tqdm


class EpochProgress(keras.callbacks.Callback):
    """One tqdm bar over epochs; its postfix shows the latest loss, val_loss and val_rmse."""

    def __init__(self, epochs: int, desc: str = "training"):
        super().__init__()
        self.bar = tqdm(total=epochs, desc=desc, unit="epoch")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        shown = {k: f"{logs[k]:.4f}" for k in ("loss", "val_loss", "val_rmse") if k in logs}
        self.bar.set_postfix(shown)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


class Throughput(keras.callbacks.Callback):
    """Training ratings per second for each epoch (``rates``), from wall-clock epoch time.

    ``n_ratings`` is the number of training rows per epoch. Keras validates *before*
    ``on_epoch_end``, so measure without validation data for a clean figure.
    """

    def __init__(self, n_ratings: int):
        super().__init__()
        self.n_ratings = n_ratings
        self.rates: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(self.n_ratings / (time.perf_counter() - self._start))
