"""Benchmark: training and prediction throughput of the ATAC models, against the machine's own conv speed.

For each model (``bpnet`` 512 filters / 8 dilated layers, ``dream_cnn`` and ``dream_rnn`` at their
published sizes), all with the ``profile_count`` head at 2,114 -> 1,000 bp and ChromBPNet's loss:

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
  kernel 3) timed the same way in this process. A 2,048^3 matmul is timed too, for reference.

The machine may be shared: the load average before and after is printed with the rows.

    python benchmarks/train_step.py                       # all three models, 3 timed steps each
    python benchmarks/train_step.py --models bpnet --steps 5

Precision: everything runs under the Keras dtype policy chosen in :func:`set_precision`
(``float32`` here); a ``--precision`` option only needs to add names to :data:`PRECISIONS`, and the
microbenchmark takes the same compute dtype.
"""

from __future__ import annotations

import argparse
import gc
import os
import time

INPUT_LENGTH, OUTPUT_LENGTH = 2114, 1000

#: The benchmarked models: backbone and options (the published sizes).
MODELS = {
    "bpnet": {"backbone": "bpnet", "filters": 512, "n_dil_layers": 8},
    "dream_cnn": {"backbone": "dream_cnn"},
    "dream_rnn": {"backbone": "dream_rnn"},
}
#: Keras dtype policies the benchmark knows, with the compute dtype of the conv microbenchmark.
PRECISIONS = {"float32": "float32"}


def set_precision(name: str) -> str:
    """Set the global Keras dtype policy; return the compute dtype for the microbenchmark."""
    import keras

    keras.config.set_dtype_policy(name)
    return PRECISIONS[name]


def build(name: str):
    """The model ``name`` with the profile_count head, compiled with ChromBPNet's loss and Adam."""
    import keras

    from dream_keras import build_model
    from dream_keras.losses import chrombpnet_loss

    options = dict(MODELS[name])
    model = build_model(options.pop("backbone"), "profile_count", input_length=INPUT_LENGTH,
                        output_length=OUTPUT_LENGTH, **options)
    loss, weights = chrombpnet_loss(10.0)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss, loss_weights=weights)
    return model


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


def measure_model(name: str, batch_size: int, steps: int) -> dict:
    """One row: examples/s for training and prediction, FLOPs per example, achieved GFLOP/s."""
    import keras

    model = build(name)
    x, y = _batch(batch_size)
    train_seconds = _timed(lambda: model.train_on_batch(x, y), steps)
    predict_seconds = _timed(lambda: model.predict_on_batch(x), steps)
    flops, parameters = forward_flops(model), model.count_params()
    del model
    keras.backend.clear_session()  # free the model's graphs and buffers before the next one
    gc.collect()
    train_rate, predict_rate = batch_size / train_seconds, batch_size / predict_seconds
    return {"model": name, "parameters": parameters, "forward_gflop": flops / 1e9,
            "train_examples_per_s": train_rate, "predict_examples_per_s": predict_rate,
            "train_gflops": 3 * flops * train_rate / 1e9, "predict_gflops": flops * predict_rate / 1e9}


def measure_machine(dtype: str, repeats: int = 3) -> dict:
    """Measured GFLOP/s of a large Conv1D and of a 2,048^3 matmul in ``dtype`` (TensorFlow kernels)."""
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


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated subset of {','.join(MODELS)}")
    parser.add_argument("--steps", type=int, default=3, help="timed steps per measurement (after 1 warm-up)")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    names = [name.strip() for name in args.models.split(",") if name.strip()]
    unknown = sorted(set(names) - set(MODELS))
    if unknown:
        parser.error(f"unknown model(s) {unknown}; choose from {list(MODELS)}")
    precision = "float32"
    dtype = set_precision(precision)

    import tensorflow as tf

    load_before = os.getloadavg()
    machine = measure_machine(dtype)
    devices = ", ".join(d.device_type for d in tf.config.list_physical_devices())
    print(f"device(s): {devices}; {os.cpu_count()} CPU cores; TF {tf.__version__}; precision {precision}; "
          f"batch {args.batch_size}; {INPUT_LENGTH} -> {OUTPUT_LENGTH} bp; {args.steps} timed steps")
    print(f"measured {dtype}: Conv1D {machine['conv1d_gflops']:.1f} GFLOP/s, matmul {machine['matmul_gflops']:.1f} "
          "GFLOP/s")
    print(f"{'model':10s} {'params':>11s} {'fwd GFLOP/ex':>13s} {'train ex/s':>11s} {'train GFLOP/s':>14s} "
          f"{'of conv':>8s} {'predict ex/s':>13s} {'pred GFLOP/s':>13s} {'of conv':>8s}", flush=True)
    for name in names:
        row = measure_model(name, args.batch_size, args.steps)
        print(f"{row['model']:10s} {row['parameters']:>11,d} {row['forward_gflop']:>13.2f} "
              f"{row['train_examples_per_s']:>11.2f} {row['train_gflops']:>14.1f} "
              f"{row['train_gflops'] / machine['conv1d_gflops']:>8.0%} {row['predict_examples_per_s']:>13.2f} "
              f"{row['predict_gflops']:>13.1f} {row['predict_gflops'] / machine['conv1d_gflops']:>8.0%}", flush=True)
    load_after = os.getloadavg()
    print(f"load average (1 min) before {load_before[0]:.2f}, after {load_after[0]:.2f} (other work on the machine "
          "slows every number)")

if __name__ == "__main__":
    main()
