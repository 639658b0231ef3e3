"""Contribution scores: DeepSHAP, gradient x input and integrated gradients (:func:`contributions`).

Gradients are taken with TensorFlow's ``tf.GradientTape`` (the model itself is backend-neutral
Keras; interpretation needs a gradient of the model's output with respect to its input, which
Keras 3 has no backend-neutral call for). The explained number per sequence is built with
``keras.ops`` (:func:`~dream_keras.interpret.targets.scalar_target_tensor`): log-counts, the
softmax-weighted mean-normalised profile logits (ChromBPNet's profile target, softmax weights
held constant), or a scalar output.

Scores are returned for the four base channels, in two forms:

- *hypothetical* ``h[p, b]``: the contribution base ``b`` would make at position ``p`` (what
  ChromBPNet's HDF5 files call ``shap``; TF-MoDISco reads these);
- *projected* ``h * one_hot``: the contribution of the base actually present (``projected_shap``),
  whose sum over bases is the per-base track of a contribution bigWig.

Methods:
- ``deepshap``: DeepLIFT's rescale rule against ``n_baselines`` (20) dinucleotide-shuffled
  references, combined by ChromBPNet's hypothetical-contribution rule, as the official code
  computes it (:mod:`~dream_keras.interpret.deepshap`). Exact summation to delta; needs a rule for
  every layer of the model (DREAM-RNN's LSTM has none).
- ``auto`` (the default): ``deepshap`` where the model allows it, else ``integrated_gradients``.
- ``gradient_x_input``: ``h = d output / d input``; projected = gradient x input.
- ``integrated_gradients``: for each of ``n_baselines`` (20) dinucleotide-shuffled copies ``r`` of
  the sequence (seeded; :mod:`~dream_keras.interpret.shuffle`), the gradient is averaged along the
  straight path from ``r`` to ``x`` (``steps`` midpoints), giving ``g_r``; then
  ``h[p, b] = mean_r sum_c g_r[p, c] * (e_b[c] - r[p, c])``, the hypothetical-contribution rule of
  ChromBPNet's DeepSHAP (``combine_mult_and_diffref``) with path-averaged gradients as multipliers.
  Completeness: the projected scores sum to ``output(x) - mean_r output(r)`` up to the error of
  the ``steps``-point integral.
"""

from __future__ import annotations

import weakref

import numpy as np
from tqdm.auto import tqdm

from data_prep.errors import InputError
from dream_keras.interpret.compiled import compile_with_fallback, require_tensorflow
from dream_keras.interpret.deepshap import deepshap_contributions, deepshap_refusal
from dream_keras.interpret.predict import check_sequences
from dream_keras.interpret.shuffle import dinucleotide_shuffle
from dream_keras.interpret.targets import model_output_names, resolve_output, scalar_target_tensor

METHODS = ("auto", "deepshap", "integrated_gradients", "gradient_x_input")
# model -> {(output, jit_compile): gradient function}: repeated calls reuse the traced and compiled
# function instead of tracing the model again.
_GRADIENT_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def gradient_function(model, output: str, jit_compile: bool = True):
    """A compiled function ``x (m, L, C) float32 -> (gradient (m, L, C), target (m,))`` (TensorFlow).

    With ``jit_compile`` the gradient is compiled by XLA, falling back to a plain ``tf.function``
    when XLA cannot compile the model: TensorFlow's own CPU kernels for the input gradient of
    grouped convolutions (DREAM-CNN) are about 100 times slower than XLA's.

    Raises:
        RuntimeError: the Keras backend is not TensorFlow.
    """
    cached = _GRADIENT_FUNCTIONS.setdefault(model, {})
    if (output, jit_compile) not in cached:
        cached[(output, jit_compile)] = _make_gradient_function(model, output, jit_compile)
    return cached[(output, jit_compile)]


def _make_gradient_function(model, output: str, jit_compile: bool):
    require_tensorflow()
    import tensorflow as tf

    names = model_output_names(model)
    # A weak reference, so that the cache entry (kept as long as the model) does not keep it alive.
    model_ref = weakref.ref(model)

    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            predicted = model_ref()(x, training=False)
            if not isinstance(predicted, dict):
                predicted = dict(zip(names, predicted if isinstance(predicted, (list, tuple)) else [predicted]))
            target = scalar_target_tensor(predicted, output)
        return tape.gradient(target, x), target

    return compile_with_fallback(gradient, jit_compile)


def _gradients(gradient, inputs: np.ndarray, batch_size: int, pad: bool = False) -> np.ndarray:
    """Gradients ``(m, L, C)`` float32 of ``inputs``, in batches.

    Gradients ``(m, L, C)`` float32 of ``inputs`` in batches (a short last batch padded with zeros when ``pad`` or when
    there are several batches, so that one compiled shape serves all).
    """
    import tensorflow as tf

    chunks = []
    for start in range(0, len(inputs), batch_size):
        batch = np.asarray(inputs[start:start + batch_size], dtype=np.float32)
        rows = len(batch)
        if rows < batch_size and (pad or batch_size <= len(inputs)):
            batch = np.concatenate([batch, np.zeros((batch_size - rows, *batch.shape[1:]), np.float32)])
        chunks.append(gradient(tf.convert_to_tensor(batch))[0].numpy()[:rows])
    return np.concatenate(chunks, axis=0)


def _gradient_x_input(gradient, sequences, batch_size, progress):
    hypothetical = np.empty((*sequences.shape[:2], 4), dtype=np.float32)
    for start in tqdm(range(0, len(sequences), batch_size), desc="gradients", unit="batch",
                      disable=not progress, leave=False):
        part = sequences[start:start + batch_size]
        pad = len(sequences) > batch_size
        hypothetical[start:start + len(part)] = _gradients(gradient, part, batch_size, pad)[..., :4]
    return hypothetical


def _integrated_gradients(gradient, sequences, batch_size, n_baselines, steps, seed, progress):
    alphas = ((np.arange(steps) + 0.5) / steps).astype(np.float32)[:, None, None]
    hypothetical = np.empty((*sequences.shape[:2], 4), dtype=np.float32)
    for index in tqdm(range(len(sequences)), desc="integrated gradients", unit="sequence",
                      disable=not progress, leave=False):
        x = sequences[index].astype(np.float32)
        # One generator per sequence: a sequence's baselines do not depend on the others.
        references = dinucleotide_shuffle(x, n_baselines, np.random.default_rng([seed, index]))
        path = references[:, None] + alphas[None] * (x - references)[:, None]   # (K, S, L, C)
        grads = _gradients(gradient, path.reshape(-1, *x.shape), batch_size)
        mean_grads = grads.reshape(n_baselines, steps, *x.shape).mean(axis=1)[..., :4]   # (K, L, 4)
        base_refs = references[..., :4]
        # h[p, b] = mean_r (g_r[p, b] - sum_c g_r[p, c] r[p, c])
        offset = (mean_grads * base_refs).sum(axis=-1, keepdims=True)
        hypothetical[index] = (mean_grads - offset).mean(axis=0)
    return hypothetical


def default_method(model) -> str:
    """The method ``"auto"`` picks.

    ``"deepshap"`` where every layer of ``model`` has a DeepLIFT rule
    (:func:`~dream_keras.interpret.deepshap.deepshap_refusal`), else ``"integrated_gradients"``.
    """
    return "deepshap" if deepshap_refusal(model) is None else "integrated_gradients"


def contributions(model, sequences: np.ndarray, method: str = "auto", output: str | None = None, *,
                  n_baselines: int = 20, steps: int = 32, seed: int = 0, batch_size: int = 64,
                  hypothetical: bool = False, jit_compile: bool = True, progress: bool = False) -> np.ndarray:
    """Per-base contribution scores of one output.

    Args:
        model: any Keras model with dict outputs (``SequenceModel``, a bias-factorised model, a
            plain functional model).
        sequences: one-hot ``(n, length, channels)`` (uint8 or float), as the model takes them.
        method: ``"auto"``, ``"deepshap"``, ``"integrated_gradients"`` or ``"gradient_x_input"``
            (see the module docstring).
        output: ``"logcounts"``/``"counts"`` (default for profile_count), ``"profile"``, or a
            scalar output name (see :mod:`~dream_keras.interpret.targets`).
        n_baselines: dinucleotide-shuffled references per sequence (DeepSHAP, integrated gradients).
        steps: points of the path integral per reference (integrated gradients).
        seed: seeds the shuffles; sequence ``i`` uses ``default_rng([seed, i])``.
        batch_size: model inputs per call: sequences (gradient x input), path points (integrated
            gradients), or references (DeepSHAP: ``batch_size // n_baselines`` sequences, at least
            one, with all their references).
        hypothetical: return hypothetical scores (every base) instead of the projected ones.
        jit_compile: compile with XLA where it compiles.
        progress: a tqdm bar.

    Returns:
        ``(n, length, 4)`` float32: projected scores (zero except at the base present), or
        hypothetical scores with ``hypothetical=True``.

    Raises:
        InputError: an unknown method, an output without a scalar target, sequences the model does
            not take, or ``method="deepshap"`` on a model with a layer that has no DeepLIFT rule
            (the message names the layer).
    """
    if method not in METHODS:
        raise InputError(f"unknown contribution method {method!r}; choose one of {list(METHODS)}")
    if n_baselines < 1 or steps < 1 or batch_size < 1:
        raise InputError(f"n_baselines ({n_baselines}), steps ({steps}) and batch_size ({batch_size}) must be "
                         f"positive")
    sequences = check_sequences(model, sequences)
    if method == "auto":
        method = default_method(model)
    if method == "deepshap":
        scores = deepshap_contributions(model, sequences, output, n_references=n_baselines, seed=seed,
                                        batch_size=batch_size, jit_compile=jit_compile, progress=progress)
    else:
        gradient = gradient_function(model, resolve_output(model, output), jit_compile)
        if method == "gradient_x_input":
            scores = _gradient_x_input(gradient, sequences, batch_size, progress)
        else:
            scores = _integrated_gradients(gradient, sequences, batch_size, n_baselines, steps, seed, progress)
    if hypothetical:
        return scores
    return scores * sequences[..., :4].astype(np.float32)
