"""Training on several devices or machines: ``--strategy default|mirrored|multiworker``.

Three strategies (TensorFlow backend; ``tf.distribute``):

- ``default``: one device, no distribution (``tf.distribute.get_strategy()``).
- ``mirrored``: every local GPU (``tf.distribute.MirroredStrategy``); on a machine without GPUs the
  CPU can be split into N logical devices (``logical_cpu_devices=N`` or the environment variable
  ``DREAM_KERAS_LOGICAL_CPUS=N``), which is how the tests check distribution on a CPU.
- ``multiworker``: synchronous data-parallel training across the workers named in the ``TF_CONFIG``
  environment variable (``tf.distribute.MultiWorkerMirroredStrategy``). Every worker runs the same
  ``dream-keras train`` command with its own ``TF_CONFIG`` (same ``cluster``, own ``task``).

Batch size and learning rate:

- ``--batch-size`` is the batch of one replica; each step trains on the global batch =
  per-replica batch x replicas (recorded in ``run.json`` under ``distribution``). Keras averages
  the loss over the global batch, so with equal replica batches a step applies exactly the gradient a
  single device would compute on the whole global batch.
- The learning rate is not scaled: scale it yourself with ``--lr`` (linear rule: lr x replicas) if
  you want to keep the per-example step size of a single-device run at the larger batch.

Only the chief (the ``chief`` task, else worker 0) writes the run folder; the other workers run
the same program (every step is a collective operation) but write into a scratch folder that is
deleted when they finish, as the TensorFlow multi-worker guide recommends
(:func:`data_prep.outputs.open_output` with ``chief=False``).

Models must be built, loaded and compiled inside :meth:`DistributionPlan.scope`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os

from data_prep.errors import InputError

STRATEGIES = ("default", "mirrored", "multiworker")

#: Environment variable: split the CPU into this many logical devices for ``--strategy mirrored``.
LOGICAL_CPUS_ENV = "DREAM_KERAS_LOGICAL_CPUS"

STRATEGY_HELP = ("how to spread training over devices: default (one device), mirrored (all local GPUs; on a "
                 "CPU-only machine set DREAM_KERAS_LOGICAL_CPUS=N to split the CPU into N devices) or multiworker "
                 "(the machines named in the TF_CONFIG environment variable; run the same command on each). "
                 "--batch-size is per replica: a step trains on batch-size x replicas examples. The learning rate "
                 "is not scaled; scale it yourself with --lr (linear rule: lr x replicas) if you want to")

TF_CONFIG_FIX = ('set TF_CONFIG on every worker to JSON such as {"cluster": {"worker": ["host1:12345", '
                 '"host2:12345"]}, "task": {"type": "worker", "index": 0}} (same cluster everywhere, index 0, 1, ... '
                 'per worker), or use --strategy mirrored on one machine')


@dataclasses.dataclass
class DistributionPlan:
    """A strategy and what a run needs to know about it.

    Attributes:
        name: ``default``, ``mirrored`` or ``multiworker``.
        strategy: the ``tf.distribute.Strategy``.
        replicas: ``strategy.num_replicas_in_sync`` (devices summed over workers).
        workers: number of worker processes (1 unless ``multiworker``).
        task_type, task_index: this process's role in ``TF_CONFIG`` (``None``/0 outside multiworker).
        is_chief: whether this process writes the run folder.
        devices: the local devices the strategy mirrors over.
    """

    name: str
    strategy: object
    replicas: int
    workers: int = 1
    task_type: str | None = None
    task_index: int = 0
    is_chief: bool = True
    devices: tuple = ()

    def scope(self):
        """``strategy.scope()``: build, load and compile models inside it."""
        return self.strategy.scope()

    def global_batch_size(self, per_replica_batch_size: int) -> int:
        """Examples per optimizer update, every replica's together.

        ``per_replica_batch_size`` x replicas (the step's batch, which the strategy splits; a
        gradient-accumulating recipe holds a share of it per step:
        :attr:`dream_keras.training.recipes.Recipe.step_batch_size`).
        """
        return int(per_replica_batch_size) * self.replicas

    def prepare_model(self, model):
        """Make a model built in :meth:`scope` trainable under this strategy; returns ``model``.

        Keras 3 (3.15 here) builds a model that remembers a strategy eagerly from the replica-mean of
        the first batch, which fails under ``MultiWorkerMirroredStrategy`` (a nested batch;
        keras-team/keras#20585). For ``multiworker`` the model forgets the strategy it was built
        under: Keras then builds inside the traced step and reads the strategy of the enclosing
        :meth:`scope`, so ``fit``, ``evaluate`` and ``predict`` must run inside it. (Under
        ``MirroredStrategy`` that deferred build fails instead, so mirrored models keep it.)

        Keras's ``predict_on_batch`` under a strategy runs the whole batch on every replica and
        concatenates the copies (n x replicas rows); the model's ``predict_on_batch`` becomes a
        ``predict`` of that one batch, which the strategy splits among its replicas.
        """
        if self.name == "multiworker":
            # Private Keras API (Keras 3.15, no public way to unset it): the strategy a model was
            # built under (keras-team/keras#20585). Checked by tests/test_keras_internals.py.
            model._distribute_strategy = None
        if self.replicas > 1:
            def predict_on_batch(batch):
                return model.predict(batch, batch_size=len(batch), verbose=0)

            model.predict_on_batch = predict_on_batch
        return model

    def prepare_dataset(self, dataset):
        """A training or validation ``dataset`` of global batches, split among the workers by element.

        Multi-worker training would first try to split by input file, which a generator-fed dataset
        does not have; each worker runs the same seeded pipeline and keeps its share of every global
        batch. Batches are not filtered or cut: doing so (to even out replica batches) made Keras 3.15
        log a wrong loss under ``MirroredStrategy`` here, although the applied gradients stayed
        right. Keras cannot start ``fit`` when the *first* batch splits unevenly over the replicas
        (an epoch or validation set smaller than one global batch); later uneven batches are fine.
        """
        if self.workers <= 1:
            return dataset
        import tensorflow as tf

        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return dataset.with_options(options)

    def record(self, per_replica_batch_size: int) -> dict:
        """The ``distribution`` section of ``run.json``."""
        return {"strategy": self.name, "replicas": self.replicas, "workers": self.workers,
                "per_replica_batch_size": int(per_replica_batch_size),
                "global_batch_size": self.global_batch_size(per_replica_batch_size),
                "learning_rate_scaling": "none (the given --lr is used as is)",
                "devices": list(self.devices), "task": {"type": self.task_type, "index": self.task_index}}


def split_cpu(count: int) -> list[str]:
    """Split the first physical CPU into ``count`` logical devices; returns their names.

    Must run before TensorFlow initialises its devices (before the first op or model); a second call
    with the same ``count`` is harmless.
    """
    import tensorflow as tf

    count = int(count)
    if count < 1:
        raise InputError(f"{LOGICAL_CPUS_ENV}={count}: give a number of logical CPU devices of at least 1")
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)
    except RuntimeError:
        # Devices are initialised already: fine when they are split as asked.
        present = tf.config.list_logical_devices("CPU")
        if len(present) != count:
            raise InputError(f"cannot split the CPU into {count} logical devices: TensorFlow started with "
                             f"{len(present)} already. Set {LOGICAL_CPUS_ENV}={count} in the environment before "
                             "starting the program") from None
    return [device.name for device in tf.config.list_logical_devices("CPU")]


def _logical_cpus_from_environment() -> int | None:
    text = os.environ.get(LOGICAL_CPUS_ENV, "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InputError(f"environment variable {LOGICAL_CPUS_ENV}={text!r} is not a whole number; set it to the "
                         "number of logical CPU devices (e.g. 2) or unset it") from None


def read_tf_config(environ=None) -> dict:
    """The ``TF_CONFIG`` cluster description, checked; :class:`InputError` names the problem and the fix."""
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "").strip()
    if not text:
        raise InputError(f"--strategy multiworker needs the TF_CONFIG environment variable, which is not set; "
                         f"{TF_CONFIG_FIX}")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(f"TF_CONFIG is not valid JSON ({error}): {text[:200]!r}; {TF_CONFIG_FIX}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not cluster:
        raise InputError(f"TF_CONFIG has no 'cluster' (a dict of task type -> list of host:port); {TF_CONFIG_FIX}")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        raise InputError(f"TF_CONFIG has no 'task' with 'type' and 'index' (this worker's role); {TF_CONFIG_FIX}")
    for role, addresses in cluster.items():
        if not isinstance(addresses, list) or not all(isinstance(a, str) and ":" in a for a in addresses):
            raise InputError(f"TF_CONFIG cluster '{role}' must be a list of 'host:port' texts, got {addresses!r}; "
                             f"{TF_CONFIG_FIX}")
    role, index = task["type"], task["index"]
    if role not in cluster or not isinstance(index, int) or not 0 <= index < len(cluster[role]):
        raise InputError(f"TF_CONFIG task {task!r} is not in its cluster {cluster!r}; {TF_CONFIG_FIX}")
    if role not in ("chief", "worker"):
        raise InputError(f"TF_CONFIG task type {role!r}: MultiWorkerMirroredStrategy runs 'chief' and 'worker' "
                         f"tasks only; {TF_CONFIG_FIX}")
    return config


def is_chief_task(config: dict) -> bool:
    """The chief writes the outputs: the ``chief`` task, or worker 0 when the cluster has no chief."""
    role, index = config["task"]["type"], config["task"]["index"]
    return role == "chief" or (role == "worker" and index == 0 and "chief" not in config["cluster"])


def make_strategy(name: str = "default", *, logical_cpu_devices: int | None = None) -> DistributionPlan:
    """The :class:`DistributionPlan` of ``--strategy name``.

    Args:
        name: ``default``, ``mirrored`` or ``multiworker``.
        logical_cpu_devices: ``mirrored`` on a machine without GPUs: split the CPU into this many
            devices (default: ``$DREAM_KERAS_LOGICAL_CPUS``, else one CPU replica). Must be decided
            before TensorFlow initialises its devices.

    Raises:
        InputError: an unknown name, a missing or invalid ``TF_CONFIG`` for ``multiworker``, or a
            CPU split asked for too late.
    """
    import keras

    if name not in STRATEGIES:
        raise InputError(f"--strategy {name!r}: choose one of {', '.join(STRATEGIES)}")
    if name != "default" and keras.backend.backend() != "tensorflow":
        raise InputError(f"--strategy {name} uses tf.distribute and needs the TensorFlow Keras backend (KERAS_BACKEND="
                         f"{keras.backend.backend()}); set KERAS_BACKEND=tensorflow or use --strategy default")
    import tensorflow as tf

    if name == "default":
        return DistributionPlan("default", tf.distribute.get_strategy(), 1)
    if name == "mirrored":
        count = logical_cpu_devices if logical_cpu_devices is not None else _logical_cpus_from_environment()
        gpus = tf.config.list_physical_devices("GPU")
        if gpus:
            devices = [device.name for device in tf.config.list_logical_devices("GPU")]
        elif count is not None:
            devices = split_cpu(count)
        else:
            devices = [device.name for device in tf.config.list_logical_devices("CPU")][:1]
        strategy = tf.distribute.MirroredStrategy(devices=devices)
        return DistributionPlan("mirrored", strategy, int(strategy.num_replicas_in_sync), devices=tuple(devices))
    config = read_tf_config()
    # Collectives on CPU use the ring implementation; GPUs pick NCCL themselves (AUTO).
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.AUTO)
    strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    _average_scalar_logs_across_workers()
    workers = sum(len(config["cluster"].get(role, [])) for role in ("chief", "worker"))
    return DistributionPlan("multiworker", strategy, int(strategy.num_replicas_in_sync), workers=workers,
                            task_type=config["task"]["type"], task_index=int(config["task"]["index"]),
                            is_chief=is_chief_task(config),
                            devices=tuple(str(device) for device in strategy.extended.worker_devices))


def _average_scalar_logs_across_workers() -> None:
    """Let Keras average per-step scalar logs under ``MultiWorkerMirroredStrategy``.

    Keras 3 (3.15 here) reduces each step's logs with ``strategy.reduce("MEAN", value, axis=0)``
    on a multi-worker strategy, which fails for the scalar losses and metrics every step returns
    ("Invalid reduction dimension 0 for input with 0 dimensions"). This wraps Keras's
    ``reduce_per_replica`` so that scalars are averaged over replicas (``axis=None``), as the
    single-machine strategies do; everything else goes to Keras unchanged. Epoch logs, which early
    stopping reads, come from the metric variables summed over every replica and are not affected.
    """
    # Private Keras API (Keras 3.15, no public hook for the per-step log reduction); checked by
    # tests/test_keras_internals.py, which fails if Keras renames or re-signs these functions.
    from keras.src.backend.tensorflow import trainer

    original = trainer.reduce_per_replica
    if getattr(original, "averages_scalars_across_workers", False):
        return
    import tensorflow as tf
    from keras import tree

    def reduce_per_replica(values, strategy, reduction):
        if reduction not in ("auto", "mean") or not trainer._collective_all_reduce_multi_worker(strategy):
            return original(values, strategy, reduction)

        def reduce(value):
            if isinstance(value, tf.distribute.DistributedValues) or tf.is_tensor(value):
                if value.shape.rank == 0:
                    return strategy.reduce("MEAN", value, axis=None)
            return original(value, strategy, reduction)

        return tree.map_structure(reduce, values)

    reduce_per_replica.averages_scalars_across_workers = True
    trainer.reduce_per_replica = reduce_per_replica


def prepare_model_for_active_strategy(model):
    """:meth:`DistributionPlan.prepare_model` for the strategy whose scope is entered (a no-op outside any strategy).

    For code that builds its model deep inside a run. Returns ``model``.
    """
    import keras

    if keras.backend.backend() != "tensorflow":
        return model
    import tensorflow as tf

    if not tf.distribute.has_strategy():
        return model
    strategy = tf.distribute.get_strategy()
    name = "multiworker" if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy) else "mirrored"
    return DistributionPlan(name, strategy, int(strategy.num_replicas_in_sync)).prepare_model(model)


@contextlib.contextmanager
def training_scope(plan: DistributionPlan, precision: str):
    """The set-up every training run shares.

    ``plan``'s strategy scope (models are built, loaded and compiled in it) and the Keras dtype policy ``precision``
    (set before any model is built, the previous one restored after). Where the run writes is the output's business
    (:func:`data_prep.outputs.open_output`, with ``chief=plan.is_chief``).
    """
    from dream_keras.training.performance import precision as dtype_policy

    with plan.scope(), dtype_policy(precision):
        yield


__all__ = ["DistributionPlan", "LOGICAL_CPUS_ENV", "STRATEGIES", "STRATEGY_HELP", "is_chief_task", "make_strategy",
           "prepare_model_for_active_strategy", "read_tf_config", "split_cpu", "training_scope"]
