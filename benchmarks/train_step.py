"""Benchmark: training and prediction throughput of the zoo's models, against the machine's own conv speed.

For each model (``bpnet`` 512 filters / 8 dilated layers, ``dream_cnn`` and ``dream_rnn`` at their
published sizes) at each shape (``--shapes``):

- ``atac``: the ``profile_count`` head at 2,114 -> 1,000 bp, ChromBPNet's loss and Adam, batch
  ``--batch-size`` (64);
- ``yeast``: DREAM yeast, 150 bp x 6 channels, the ``soft_bins`` head, trained as ``dream-keras train
  --task dream_yeast`` trains it: the backbone's recipe (one-cycle AdamW), the run's seeding (op
  determinism on) and ``--jit-compile auto`` (timed both ways on this machine and cached), at batch
  1,024 and 256 (``--yeast-batches``). A model that cannot take 150 bp, or whose training step at the
  row's batch is estimated not to fit in the available memory (``dream_keras.training.memory_check``),
  prints why instead of a row (as ``dream-keras train`` refuses it). An ``atac`` row whose step would
  not fit trains as ``--accumulate N`` would (the smallest N that fits): N steps of batch / N per
  update (prediction in the same parts), printed as batch "16x4".

- training examples/s: ``train_on_batch`` (forward, backward, Adam update) on a fixed random batch,
  timed over ``--steps`` steps after one warm-up step (the warm-up traces the graph);
- prediction examples/s: ``predict_on_batch`` likewise;
- forward FLOPs per example, counted analytically from the layer shapes: 2 x multiply-adds of every
  Conv1D (groups included), Dense and LSTM (input and recurrent kernels, every time step, both
  directions of a Bidirectional); element-wise work (activations, batch norm, additions, softmax,
  the loss) is not counted. Training FLOPs = 3 x forward (the backward pass costs about twice the
  forward: gradients for inputs and for weights);
- achieved GFLOP/s = examples/s x FLOPs/example, and its fraction of the machine's measured float32
  convolution throughput: a large ``tf.nn.conv1d`` (batch 64, length 2,048, 256 -> 256 channels,
  kernel 3) timed the same way in this process; and of the measured 2,048^3 matmul (the LSTM's
  kernel), printed as "of matmul".

The machine may be shared: the load average before and after is printed with the rows.

    python benchmarks/train_step.py                       # all three models, 3 timed steps each
    python benchmarks/train_step.py --models bpnet --steps 5

Precision and XLA: ``--precision float32,mixed_bfloat16`` measures each model under each Keras dtype
policy (``dream_keras.training.performance.set_precision``; the heads and losses stay float32), and
``--jit off,on`` with and without XLA (``model.compile(jit_compile=...)``). The conv and matmul
microbenchmarks run in float32 AND bfloat16 (and float16 when asked for), so every row is set
against the throughput of its own compute dtype, and the bf16/f32 speed-up is printed per model.

Input pipeline (``--pipeline``): ``model.fit`` over ``data_prep.training_dataset`` (the real
``from_generator`` pipeline on synthetic in-memory windows) for ``--pipeline-steps`` steps, against
the same model's ``train_on_batch`` on one batch already in memory; the fraction of the fit's step
time not spent computing is the time spent waiting for data. The generator's own batches/s is
printed too. Run it on the bias-sized ``bpnet`` (128 filters, 4 layers), the fastest model, where
starving is likeliest.

    python benchmarks/train_step.py --models bpnet --precision float32,mixed_bfloat16 --jit off,on --steps 1
    python benchmarks/train_step.py --models none --pipeline
"""

from __future__ import annotations

import argparse
import gc
import os
import time

INPUT_LENGTH, OUTPUT_LENGTH = 2114, 1000
YEAST_LENGTH, YEAST_CHANNELS, YEAST_BINS = 150, 6, 18

#: The benchmarked models: backbone and options (the published sizes).
MODELS = {
    "bpnet": {"backbone": "bpnet", "filters": 512, "n_dil_layers": 8},
    "dream_cnn": {"backbone": "dream_cnn"},
    "dream_rnn": {"backbone": "dream_rnn"},
}
#: Keras dtype policies the benchmark knows, with the compute dtype of the conv microbenchmark.
PRECISIONS = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def set_precision(name: str) -> str:
    """Set the global Keras dtype policy; return the compute dtype for the microbenchmark."""
    from dream_keras.training.performance import set_precision as set_policy

    set_policy(name)
    return PRECISIONS[name]


def build(name: str, jit_compile: bool = False, options: dict | None = None, accumulate: int = 1):
    """The model ``name`` with the profile_count head, compiled for a train-step benchmark.

    The model ``name`` with the profile_count head, compiled with ChromBPNet's loss and Adam (accumulating the gradients
    of ``accumulate`` steps per update), with (``jit_compile=True``) or without XLA, under the current dtype policy.
    """
    import keras

    import baselines  # noqa: F401  (registers bpnet where the package's entry points are not installed)
    from dream_keras import build_model
    from dream_keras.losses import chrombpnet_loss
    from dream_keras.training.performance import apply_jit_compile

    options = dict(options or MODELS[name])
    model = build_model(options.pop("backbone"), "profile_count", input_length=INPUT_LENGTH,
                        output_length=OUTPUT_LENGTH, **options)
    loss, weights = chrombpnet_loss(10.0)
    optimizer = keras.optimizers.Adam(1e-3, gradient_accumulation_steps=accumulate if accumulate > 1 else None)
    model.compile(optimizer=optimizer, loss=loss, loss_weights=weights, jit_compile=False)
    apply_jit_compile(model, jit_compile)
    return model


def build_yeast(name: str, batch_size: int, jit: str = "auto"):
    """``name`` with the ``soft_bins`` head at 150 bp x 6, compiled as DREAM yeast training compiles it.

    ``name`` with the ``soft_bins`` head at 150 bp x 6, compiled as ``dream-keras train --task dream_yeast`` compiles
    it: seeded (op determinism on), the backbone's recipe optimizer and loss, and ``--jit-compile jit`` (``auto``:
    measured here and cached). Returns ``(model, uses_xla)``.
    """
    import baselines  # noqa: F401
    from dream_keras import build_model
    from dream_keras.training import performance
    from dream_keras.training.recipes import recipe_for, table_losses
    from dream_keras.training.seeding import seed_everything

    seed_everything(0)
    options = dict(MODELS[name])
    model = build_model(options.pop("backbone"), "soft_bins", input_length=YEAST_LENGTH, channels=YEAST_CHANNELS,
                        **options)
    recipe = recipe_for(name).resolved(per_replica_batch_size=batch_size)
    model.compile(optimizer=recipe.make_optimizer(steps_per_epoch=12_740 // batch_size),
                  loss=table_losses(list(model.output), ["expression"], True), jit_compile=False)
    _check_memory(model, name, batch_size)  # before the XLA timing, which runs steps at this batch
    xla = performance.apply_jit_compile(model, performance.resolve_jit_compile(jit, name),
                                        step_batch_size=batch_size, backbone=name)
    return model, xla


def _check_memory(model, name: str, batch_size: int) -> None:
    """Refuse a training step that is estimated not to fit in the available memory.

    Raise InputError (a ValueError: the row is replaced by the reason) when a training step at ``batch_size`` is
    estimated not to fit in this machine's available memory, as ``dream-keras train`` checks (TensorFlow would abort
    inside the step).
    """
    from dream_keras.training.memory_check import check_step_memory

    check_step_memory(model, global_batch_size=batch_size, step_batch_size=batch_size, what=name)


def _yeast_batch(batch_size: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    sequences = np.zeros((batch_size, YEAST_LENGTH, YEAST_CHANNELS), np.float32)
    sequences[..., :4] = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(batch_size, YEAST_LENGTH))]
    return sequences, {"bins": rng.dirichlet(np.ones(YEAST_BINS), size=batch_size).astype(np.float32)}


def _layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _layers(layer)
        else:
            yield layer


def _prod(values) -> int:
    total = 1
    for value in values:
        total *= int(value)
    return total


def _lstm_flops(lstm, steps: int) -> int:
    kernel, recurrent = lstm.cell.kernel, lstm.cell.recurrent_kernel
    return 2 * steps * (_prod(kernel.shape) + _prod(recurrent.shape))


def forward_flops(model) -> int:
    """Forward FLOPs of one example (see the module docstring for what is counted)."""
    import keras

    total = 0
    for layer in _layers(model):
        if isinstance(layer, keras.layers.Conv1D):
            total += 2 * int(layer.output.shape[1]) * _prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Dense):
            positions = _prod(layer.input.shape[1:-1])
            total += 2 * positions * _prod(layer.kernel.shape)
        elif isinstance(layer, keras.layers.Bidirectional):
            steps = int(layer.input.shape[1])
            total += _lstm_flops(layer.forward_layer, steps) + _lstm_flops(layer.backward_layer, steps)
        elif isinstance(layer, keras.layers.LSTM):
            total += _lstm_flops(layer, int(layer.input.shape[1]))
    return total


def _batch(batch_size: int, seed: int = 0):
    import numpy as np

    rng = np.random.default_rng(seed)
    sequences = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(batch_size, INPUT_LENGTH))]
    profile = rng.poisson(0.05, size=(batch_size, OUTPUT_LENGTH)).astype(np.float32)
    logcounts = np.log1p(profile.sum(axis=1, keepdims=True))
    return sequences, {"profile": profile, "logcounts": logcounts}


def _timed(function, steps: int) -> float:
    function()  # warm-up: traces the graph
    started = time.perf_counter()
    for _ in range(steps):
        function()
    return (time.perf_counter() - started) / steps


def measure_model(name: str, batch_size: int, steps: int, jit_compile: bool | str = False,
                  shape: str = "atac") -> dict:
    """One row: examples/s for training and prediction, FLOPs per example, achieved GFLOP/s.

    ``shape`` ``atac`` (``jit_compile`` True/False) or ``yeast`` (``jit_compile`` ``auto``/``on``/``off``:
    the run's own choice, see :func:`build_yeast`).
    """
    accumulate = 1
    if shape == "yeast":
        model, jit_compile = build_yeast(name, batch_size, jit_compile if isinstance(jit_compile, str)
                                         else ("on" if jit_compile else "off"))
        x, y = _yeast_batch(batch_size)
    else:
        from dream_keras.training.memory_check import smallest_accumulation

        model = build(name, jit_compile)
        # a step of the whole batch that would not fit trains as --accumulate N would: N steps of batch / N
        accumulate = smallest_accumulation(model, batch_size)
        if accumulate is None:
            _check_memory(model, name, batch_size)  # raises: not even one example fits
        if accumulate > 1:
            keras_clear()
            model = build(name, jit_compile, accumulate=accumulate)
        x, y = _batch(batch_size)
    micro = batch_size // accumulate
    parts = [(x[i:i + micro], {key: value[i:i + micro] for key, value in y.items()} if isinstance(y, dict)
              else y[i:i + micro]) for i in range(0, batch_size, micro)]

    def update():  # one optimizer update over the whole batch
        for part_x, part_y in parts:
            model.train_on_batch(part_x, part_y)

    def predict():  # in the same parts: the forward pass of a step that does not fit may not fit either
        for part_x, _ in parts:
            model.predict_on_batch(part_x)

    train_seconds = _timed(update, steps)
    predict_seconds = _timed(predict, steps)
    flops, parameters = forward_flops(model), model.count_params()
    model = None
    keras_clear()  # free the model's graphs and buffers before the next one
    train_rate, predict_rate = batch_size / train_seconds, batch_size / predict_seconds
    return {"model": name, "shape": shape, "batch": batch_size, "accumulate": accumulate, "jit": jit_compile,
            "parameters": parameters, "forward_gflop": flops / 1e9,
            "train_examples_per_s": train_rate, "predict_examples_per_s": predict_rate,
            "train_gflops": 3 * flops * train_rate / 1e9, "predict_gflops": flops * predict_rate / 1e9}


def keras_clear() -> None:
    """Free the graphs and buffers of the models built so far (after a row, or a row that stopped early)."""
    import keras

    keras.backend.clear_session()
    gc.collect()


def _measure_machine_jax(dtype: str, repeats: int) -> dict:
    """:func:`measure_machine` with JAX (XLA) kernels, for a run under ``KERAS_BACKEND=jax``."""
    import jax
    import jax.numpy as jnp

    keys = jax.random.split(jax.random.PRNGKey(0), 3)
    x = jax.random.normal(keys[0], (64, 2048, 256), dtype=dtype)
    kernel = jax.random.normal(keys[1], (3, 256, 256), dtype=dtype)
    # Arrays are arguments, not constants: XLA would fold a convolution of constants at compile time.
    conv = jax.jit(lambda x, k: jnp.sum(jax.lax.conv_general_dilated(x, k, (1,), "VALID",
                                                                     dimension_numbers=("NWC", "WIO", "NWC"))))
    a = jax.random.normal(keys[2], (8192, 8192), dtype=dtype)
    matmul = jax.jit(lambda a: jnp.sum(a @ a))
    conv_flops = 2 * 64 * (2048 - 2) * 3 * 256 * 256
    matmul_flops = 2 * 8192 ** 3  # large enough to fill an accelerator
    return {"conv1d_gflops": conv_flops / _timed(lambda: conv(x, kernel).block_until_ready(), repeats) / 1e9,
            "matmul_gflops": matmul_flops / _timed(lambda: matmul(a).block_until_ready(), repeats) / 1e9}


def _devices() -> str:
    import keras

    if keras.backend.backend() == "jax":
        import jax

        return "JAX " + ", ".join(d.device_kind for d in jax.devices())
    import tensorflow as tf

    return f"TF {tf.__version__} " + ", ".join(d.device_type for d in tf.config.list_physical_devices())


def measure_machine(dtype: str, repeats: int = 3) -> dict:
    """Measured GFLOP/s of a large Conv1D and of a 2,048^3 matmul in ``dtype``.

    Measured GFLOP/s of a large Conv1D and of a 2,048^3 matmul in ``dtype`` (TensorFlow kernels, or JAX's under
    ``KERAS_BACKEND=jax``).
    """
    import keras

    if keras.backend.backend() == "jax":
        return _measure_machine_jax(dtype, repeats)
    import tensorflow as tf

    x = tf.random.normal((64, 2048, 256), dtype=dtype)
    kernel = tf.random.normal((3, 256, 256), dtype=dtype)
    conv = tf.function(lambda: tf.reduce_sum(tf.nn.conv1d(x, kernel, stride=1, padding="VALID")))
    conv_flops = 2 * 64 * (2048 - 2) * 3 * 256 * 256
    a = tf.random.normal((2048, 2048), dtype=dtype)
    matmul = tf.function(lambda: tf.reduce_sum(tf.matmul(a, a)))
    matmul_flops = 2 * 2048 ** 3
    return {"conv1d_gflops": conv_flops / _timed(lambda: conv().numpy(), repeats) / 1e9,
            "matmul_gflops": matmul_flops / _timed(lambda: matmul().numpy(), repeats) / 1e9}


def _synthetic_windows(n: int, margin: int, seed: int):
    """``n`` in-memory windows (uint8 one-hot sequences, float32 Poisson counts) with ``margin`` bp each side."""
    import numpy as np

    from data_prep.windows import Windows

    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 4, size=(n, INPUT_LENGTH + 2 * margin))
    sequences = np.eye(4, dtype=np.uint8)[codes]
    counts = rng.poisson(0.05, size=(n, OUTPUT_LENGTH + 2 * margin)).astype(np.float32)
    return Windows(sequences, counts, None, None)


def measure_pipeline(batch_size: int, steps: int, options: dict, jit_compile: bool) -> dict:
    """Fraction of the training step time spent waiting for ``data_prep.training_dataset``.

    The model trains on the dataset's batches for ``steps`` steps (after one warm-up step that
    traces the graph) through the dataset's own iterator, as ``model.fit`` does: the time blocked
    in ``next(iterator)`` (prefetching runs meanwhile) over the whole step time is the wait
    fraction. ``model.fit`` over ``steps`` batches is timed too, and the generator alone (batches/s
    with no model).
    """
    import keras

    import data_prep

    jitter = 500
    peaks = _synthetic_windows(batch_size * (steps + 2), jitter, seed=1)
    nonpeaks = _synthetic_windows(batch_size, 0, seed=2)

    def dataset():
        return data_prep.training_dataset(peaks, nonpeaks, input_length=INPUT_LENGTH, output_length=OUTPUT_LENGTH,
                                          max_jitter=jitter, negative_ratio=0.1, batch_size=batch_size, seed=0)

    started = time.perf_counter()
    produced = sum(1 for _ in zip(range(steps), dataset()))
    generator_seconds = (time.perf_counter() - started) / produced

    model = build("pipeline", jit_compile, options)
    iterator = iter(dataset().repeat())
    model.train_on_batch(*next(iterator))  # warm-up: traces the train function
    waiting = total = 0.0
    for _ in range(steps):
        started = time.perf_counter()
        x, y = next(iterator)
        fetched = time.perf_counter()
        model.train_on_batch(x, y)
        waiting += fetched - started
        total += time.perf_counter() - started
    started = time.perf_counter()
    model.fit(dataset().repeat(), steps_per_epoch=steps, epochs=1, verbose=0)
    fit_seconds = (time.perf_counter() - started) / steps
    del model, iterator
    keras.backend.clear_session()
    gc.collect()
    return {"step_s": total / steps, "fit_step_s": fit_seconds, "generator_batch_s": generator_seconds,
            "wait_fraction": waiting / total}


def _print_machine(machines: dict) -> None:
    for dtype, machine in machines.items():
        print(f"measured {dtype:8s}: Conv1D {machine['conv1d_gflops']:7.1f} GFLOP/s, matmul "
              f"{machine['matmul_gflops']:7.1f} GFLOP/s")
    if "bfloat16" in machines:
        bf16, f32 = machines["bfloat16"], machines["float32"]
        print(f"bfloat16 / float32: Conv1D {bf16['conv1d_gflops'] / f32['conv1d_gflops']:.2f}x, "
              f"matmul {bf16['matmul_gflops'] / f32['matmul_gflops']:.2f}x", flush=True)


def _print_row(row: dict, precision: str, machine: dict) -> None:
    conv_gflops, matmul_gflops = machine["conv1d_gflops"], machine["matmul_gflops"]
    batch = str(row["batch"]) if row["accumulate"] == 1 else f"{row['batch'] // row['accumulate']}x{row['accumulate']}"
    print(f"{row['model']:10s} {row['shape']:5s} {batch:>5s} {precision:15s} {'on' if row['jit'] else 'off':>4s} "
          f"{row['parameters']:>11,d} {row['forward_gflop']:>9.3f} {row['train_examples_per_s']:>11.2f} "
          f"{row['train_gflops']:>10.1f} {row['train_gflops'] / conv_gflops:>8.0%} "
          f"{row['train_gflops'] / matmul_gflops:>9.0%} {row['predict_examples_per_s']:>12.2f} "
          f"{row['predict_gflops']:>10.1f} {row['predict_gflops'] / conv_gflops:>8.0%} "
          f"load {os.getloadavg()[0]:.1f}", flush=True)


def _choices(text: str, allowed, what: str, parser) -> list[str]:
    values = [value.strip() for value in text.split(",") if value.strip()]
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        parser.error(f"unknown {what} {unknown}; choose from {list(allowed)}")
    return values


def main(argv=None) -> None:
    """Measure every model at every shape and print the throughput rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS),
                        help=f"comma-separated subset of {','.join(MODELS)} ('none' for the pipeline only)")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after 1 warm-up)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--precision", default="float32",
                        help=f"comma-separated Keras dtype policies, of {','.join(PRECISIONS)}")
    parser.add_argument("--jit", default="off,on", help="atac rows: XLA off, on or both (comma-separated)")
    parser.add_argument("--shapes", default="atac,yeast", help="comma-separated subset of atac,yeast")
    parser.add_argument("--yeast-batches", default="1024,256", help="batch sizes of the yeast rows")
    parser.add_argument("--yeast-jit", default="auto",
                        help="yeast rows: --jit-compile auto (measured here, as dream-keras train), on or off")
    parser.add_argument("--pipeline", action="store_true",
                        help="also measure the input pipeline's wait fraction (bias-sized bpnet)")
    parser.add_argument("--pipeline-steps", type=int, default=10)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    names = [] if args.models == "none" else _choices(args.models, MODELS, "model(s)", parser)
    precisions = _choices(args.precision, PRECISIONS, "precision(s)", parser)
    jits = [value == "on" for value in _choices(args.jit, ("off", "on"), "--jit value(s)", parser)]
    shapes = _choices(args.shapes, ("atac", "yeast"), "shape(s)", parser)
    yeast_jits = _choices(args.yeast_jit, ("auto", "on", "off"), "--yeast-jit value(s)", parser)
    yeast_batches = [int(value) for value in args.yeast_batches.split(",") if value.strip()]

    load_before = os.getloadavg()
    dtypes = sorted({"float32", "bfloat16", *(PRECISIONS[p] for p in precisions)},
                    key=["float32", "bfloat16", "float16"].index)
    machines = {dtype: measure_machine(dtype) for dtype in dtypes}
    print(f"device(s): {_devices()}; {os.cpu_count()} CPU cores; batch {args.batch_size}; "
          f"{INPUT_LENGTH} -> {OUTPUT_LENGTH} bp; {args.steps} timed steps; load average (1 min) {load_before[0]:.2f}")
    _print_machine(machines)
    print("'of conv': achieved GFLOP/s over the measured Conv1D GFLOP/s of the row's compute dtype")
    print(f"{'model':10s} {'shape':5s} {'batch':>5s} {'precision':15s} {'XLA':>4s} {'params':>11s} {'fwd GFLOP':>9s} "
          f"{'train ex/s':>11s} {'train GF/s':>10s} {'of conv':>8s} {'of matmul':>9s} {'predict ex/s':>12s} "
          f"{'pred GF/s':>10s} {'of conv':>8s}", flush=True)
    rates = {}
    for shape in shapes:
        for name in names:
            for precision in precisions:
                dtype = set_precision(precision)
                runs = ([(args.batch_size, jit) for jit in jits] if shape == "atac"
                        else [(batch, jit) for batch in yeast_batches for jit in yeast_jits])
                for batch, jit in runs:
                    try:
                        row = measure_model(name, batch, args.steps, jit, shape)
                    except ValueError as error:  # bpnet 512/8 needs more than 150 bp; a step too big for memory
                        print(f"{name:10s} {shape:5s} {batch:>5d}: no row ({error})", flush=True)
                        keras_clear()
                        continue
                    if shape == "atac":
                        rates[name, precision, jit] = row
                    _print_row(row, precision, machines[dtype])
                set_precision("float32")
    for (name, precision, jit), row in rates.items():
        base = rates.get((name, "float32", jit))
        if precision != "float32" and base:
            print(f"{name} {precision} / float32 (XLA {'on' if jit else 'off'}): training "
                  f"{row['train_examples_per_s'] / base['train_examples_per_s']:.2f}x, prediction "
                  f"{row['predict_examples_per_s'] / base['predict_examples_per_s']:.2f}x")
    if args.pipeline:
        options = {"backbone": "bpnet", "filters": 128, "n_dil_layers": 4}
        for jit in jits:
            result = measure_pipeline(args.batch_size, args.pipeline_steps, options, jit)
            print(f"input pipeline (bpnet 128/4, float32, XLA {'on' if jit else 'off'}): step "
                  f"{result['step_s'] * 1e3:.0f} ms (model.fit {result['fit_step_s'] * 1e3:.0f} ms), generator alone "
                  f"{result['generator_batch_s'] * 1e3:.0f} ms/batch -> waiting for data {result['wait_fraction']:.2%} "
                  "of the step", flush=True)
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} (other work on the machine "
          "slows every number)")


if __name__ == "__main__":
    main()
