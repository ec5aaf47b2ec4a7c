"""Process-wide TensorFlow settings: CPU threads and determinism."""

from __future__ import annotations

import os


def limit_threads(threads: int | None = None) -> None:
    """Cap TensorFlow's CPU thread pools (default ``TF_NUM_THREADS`` or 2).

    Must run before TensorFlow executes its first op; later calls are ignored quietly.
    """
    import tensorflow as tf

    threads = threads or int(os.environ.get("TF_NUM_THREADS", "2"))
    try:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(max(1, threads // 2))
    except RuntimeError:  # TensorFlow already initialised: keep its pools
        pass


def make_deterministic(seed: int) -> None:
    """Seed Python, NumPy and TensorFlow and make TF ops deterministic (same seed, same model)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
