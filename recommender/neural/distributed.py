"""Data-parallel training across processes or machines with TensorFlow's own engine.

Training is spread with :class:`tf.distribute.MultiWorkerMirroredStrategy` whenever the
standard ``TF_CONFIG`` variable names a cluster, e.g. for two processes::

    TF_CONFIG='{"cluster": {"worker": ["host0:2222", "host1:2222"]},
                "task": {"type": "worker", "index": 0}}'

Every process runs the same command on the same data; each step, every process computes the
gradients of its shard of the global batch (``batch_size`` × number of processes) and the
gradients are all-reduced (ring/gRPC on CPU, NCCL on GPUs), so all processes hold the same
weights. Worker 0 is the *chief*: only it writes artifacts (:func:`is_chief`). Without
``TF_CONFIG`` nothing changes: one process, every local GPU through ``MirroredStrategy`` or the
CPU (:func:`recommender.neural.base.choose_strategy`).

On Kubernetes an Indexed Job gives each pod ``JOB_COMPLETION_INDEX``; :func:`tf_config_from_job`
turns that plus ``TRAINER_COUNT``, ``TRAINER_JOB``, ``TRAINER_SERVICE`` (the headless Service
that gives each pod the DNS name ``<job>-<index>.<service>``) and ``TRAINER_PORT`` into
``TF_CONFIG`` (see ``k8s/jobs/train-distributed-job.yaml``).
"""

from __future__ import annotations

import json
import os
from typing import Any

_STRATEGY = None


def tf_config() -> dict[str, Any] | None:
    """The parsed ``TF_CONFIG`` when it names a cluster, else ``None``.

    Raises ``ValueError`` with the reason when it is set but malformed (a typo must not fall
    back to training alone on each pod).
    """
    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return None
    try:
        config = json.loads(raw)
        workers = config["cluster"]["worker"]
        task = config["task"]
        index = int(task["index"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(f"TF_CONFIG is not valid: {error!r} in {raw!r}") from error
    if (
        task.get("type") != "worker"
        or not 0 <= index < len(workers)
        or set(config["cluster"]) - {"worker"}
    ):
        raise ValueError(f"TF_CONFIG must list only 'worker' tasks and name one of them: {raw!r}")
    return config


def is_distributed() -> bool:
    """True when ``TF_CONFIG`` names a cluster (training runs across processes)."""
    return tf_config() is not None


def worker_count() -> int:
    """Number of training processes (1 without ``TF_CONFIG``)."""
    config = tf_config()
    return 1 if config is None else len(config["cluster"]["worker"])


def is_chief() -> bool:
    """True for the one process that writes results: worker 0, or the only process."""
    config = tf_config()
    return config is None or int(config["task"]["index"]) == 0


def multi_worker_strategy():
    """The process's one ``MultiWorkerMirroredStrategy`` (created on first call; TensorFlow
    allows only one and it must exist before the first op runs), or ``None`` without
    ``TF_CONFIG``. Blocks until every worker of the cluster has started."""
    global _STRATEGY
    if _STRATEGY is None and is_distributed():
        import tensorflow as tf

        options = tf.distribute.experimental.CommunicationOptions(
            implementation=tf.distribute.experimental.CommunicationImplementation.AUTO
        )
        _STRATEGY = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    return _STRATEGY


def tf_config_from_job(environ: dict[str, str] | None = None) -> str | None:
    """``TF_CONFIG`` (JSON) for pod ``JOB_COMPLETION_INDEX`` of a Kubernetes Indexed Job.

    Reads ``TRAINER_COUNT`` (number of pods, = the Job's ``completions``), ``TRAINER_JOB`` (the
    Job's name: pod hostnames are ``<job>-<index>``), ``TRAINER_SERVICE`` (the headless Service
    named in the pod's ``subdomain``) and ``TRAINER_PORT`` (default 2222). Returns ``None`` when
    not in an Indexed Job or with one pod (single-process training).
    """
    env = os.environ if environ is None else environ
    if "JOB_COMPLETION_INDEX" not in env:
        return None
    count = int(env.get("TRAINER_COUNT", "1"))
    if count <= 1:
        return None
    job, service = env.get("TRAINER_JOB"), env.get("TRAINER_SERVICE")
    if not job or not service:
        raise ValueError("an Indexed training Job needs TRAINER_JOB and TRAINER_SERVICE")
    port = int(env.get("TRAINER_PORT", "2222"))
    index = int(env["JOB_COMPLETION_INDEX"])
    workers = [f"{job}-{i}.{service}:{port}" for i in range(count)]
    return json.dumps({"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}})


def configure_from_job() -> None:
    """Set ``TF_CONFIG`` from the Indexed Job's variables when it is not set already."""
    if not os.environ.get("TF_CONFIG"):
        derived = tf_config_from_job()
        if derived:
            os.environ["TF_CONFIG"] = derived


def allow_fit_across_workers(model) -> None:
    """Let Keras ``fit``/``evaluate`` run ``model`` under ``MultiWorkerMirroredStrategy``.

    Keras 3 (3.15) has two bugs there (tensorflow/tensorflow#72388), both about *reporting*:

    - before the first epoch it builds the metrics from one batch that it first averages
      across replicas with ``strategy.reduce``, which the collective strategy cannot do for a
      nested (inputs, labels) batch ("Attempt to convert a value ({'user': PerReplica...})");
      only shapes and dtypes matter there, so the model builds from this process's own shard;
    - after each step it averages the per-replica loss and metrics with ``reduce(MEAN,
      axis=0)``, which fails on scalars ("Invalid reduction dimension 0 for input with 0
      dimensions"); they are averaged over replicas instead (``axis=None``), so every process
      sees the same global figures and early stopping decides the same everywhere.

    Training itself (sharding, the step function, the gradient all-reduce) is Keras's and
    TensorFlow's own.
    """
    import types

    import tensorflow as tf
    from keras import tree
    from keras.src.backend.tensorflow import trainer

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        strategy = self.distribute_strategy
        if iterator is not None:
            for _, _, batches in iterator:
                data_batch = next(batches)
                break

        def local(value):
            if isinstance(value, tf.distribute.DistributedValues):
                return strategy.experimental_local_results(value)[0]
            return value

        with strategy.scope():
            self._symbolic_build(data_batch=tree.map_structure(local, data_batch))

    model._maybe_symbolic_build = types.MethodType(maybe_symbolic_build, model)
    if not getattr(trainer.reduce_per_replica, "averages_scalars", False):
        keras_reduce = trainer.reduce_per_replica

        def reduce_per_replica(values, strategy, reduction):
            if reduction in ("auto", "mean") and trainer._collective_all_reduce_multi_worker(
                strategy
            ):
                return tree.map_structure(lambda v: strategy.reduce("MEAN", v, axis=None), values)
            return keras_reduce(values, strategy, reduction)

        reduce_per_replica.averages_scalars = True
        trainer.reduce_per_replica = reduce_per_replica


def chief_value(value: float) -> float:
    """The chief's ``value`` on every process (e.g. one cut-off time for everybody's data);
    ``value`` itself without ``TF_CONFIG``. Values up to 2**52 are exact."""
    strategy = multi_worker_strategy()
    if strategy is None:
        return value
    import tensorflow as tf

    mine = float(value) if is_chief() else 0.0
    total = strategy.reduce("SUM", strategy.run(lambda: tf.constant(mine, tf.float64)), axis=None)
    return float(total.numpy())


def same_on_every_worker(fingerprint: str) -> bool:
    """True when every process passed the same ``fingerprint`` (hex digest of its training
    data), True without ``TF_CONFIG``. All processes get the same answer, so all can stop
    together: data-parallel training on different data would silently mix two data sets."""
    strategy = multi_worker_strategy()
    if strategy is None:
        return True
    import numpy as np
    import tensorflow as tf

    digits = fingerprint.ljust(16, "0")[:16]
    parts = np.array([int(digits[i : i + 4], 16) for i in range(0, 16, 4)], np.float64)
    local = np.concatenate([parts, parts**2])
    total = strategy.reduce("SUM", strategy.run(lambda: tf.constant(local)), axis=None).numpy()
    n = worker_count()
    sums, squares = total[:4], total[4:]
    return bool(np.array_equal(n * squares, sums**2))  # equal iff no spread between processes
