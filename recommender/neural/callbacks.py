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

    def on_train_begin(self, logs=None):
        # the epochs fit really runs (a rating budget may cut the model's setting)
        self.bar.total = self.params.get("epochs") or self.bar.total
        self.bar.refresh()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        shown = {k: f"{logs[k]:.4f}" for k in ("loss", "val_loss", "val_rmse") if k in logs}
        self.bar.set_postfix(shown)
        self.bar.update(1)

    def on_train_end(self, logs=None):
        self.bar.close()


class Throughput(keras.callbacks.Callback):
    """Training ratings per second for each epoch, from wall-clock epoch time (``rates``) and
    from this process's CPU time (``cpu_rates``: ratings per CPU-second; twice that is what
    two idle cores would give when both are kept busy).

    ``n_ratings`` is the number of training rows per epoch. Keras validates *before*
    ``on_epoch_end``, so an epoch's time includes its validation pass.
    """

    def __init__(self, n_ratings: int):
        super().__init__()
        self.n_ratings = n_ratings
        self.rates: list[float] = []
        self.cpu_rates: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()
        self._start_cpu = time.process_time()

    def on_epoch_end(self, epoch, logs=None):
        self.rates.append(self.n_ratings / (time.perf_counter() - self._start))
        self.cpu_rates.append(self.n_ratings / max(time.process_time() - self._start_cpu, 1e-9))
