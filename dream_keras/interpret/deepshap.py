"""DeepSHAP contribution scores (DeepLIFT's rescale rule) as the official ChromBPNet code computes them.

For each sequence ``x`` and each of its ``k`` references ``r`` (20 dinucleotide shuffles of ``x``,
seeded: :mod:`~dream_keras.interpret.shuffle`), DeepLIFT's multipliers ``m_r`` of the target are
computed through the model layer by layer (:mod:`~dream_keras.interpret.deeplift_layers`,
:mod:`~dream_keras.interpret.deeplift_rules`). They satisfy summation to delta: per reference,
``sum over positions and channels of m_r * (x - r) = target(x) - target(r)``.

Hypothetical contributions (ChromBPNet's ``combine_mult_and_diffref``): the multipliers projected
onto each of the four bases and averaged over the references,

    h[p, b] = mean_r  sum_c (e_b[c] - r[p, c]) m_r[p, c],

so that ``h * x`` (the *projected* scores) is, at the base present, the mean over references of
that position's DeepLIFT contribution, and its sum over the window is ``target(x) - mean_r
target(r)``. Flag channels beyond the four bases are equal in ``x`` and ``r`` and contribute nothing.

Targets (:mod:`~dream_keras.interpret.targets`): the summed log-counts (``logcounts``), a scalar
output (``expression``, ``Dev``, ...), or ChromBPNet's profile target ``sum_j w_j l_j`` of the
mean-normalised logits ``l`` weighted by their softmax ``w`` held constant. Held constant between
a sequence and a reference, the weights are the Shapley rule's: their mean ``(w(x) + w(r)) / 2``
(the official code's product ``softmax(stop_gradient(l)) * l`` under DeepSHAP), so the profile
scores sum to ``sum_j (w_j(x) + w_j(r)) / 2 * (l_j(x) - l_j(r))``.

All references of a batch of sequences go through the model in one call: the sequences' forward
pass once, their references' forward and backward pass together (``k`` rows per sequence), the
combination above on the device; compiled with ``tf.function``, by XLA where it compiles.
References for the next batch are drawn in a background thread while the model computes.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import weakref

import numpy as np
from tqdm.auto import tqdm

from data_prep.errors import InputError
from dream_keras.interpret.compiled import compile_with_fallback, require_tensorflow
from dream_keras.interpret.predict import check_sequences
from dream_keras.interpret.shuffle import dinucleotide_shuffle
from dream_keras.interpret.targets import LOGCOUNTS, PROFILE, model_output_names, resolve_output

#: References per sequence of the official pipeline.
N_REFERENCES = 20
# model -> {(output, jit_compile): explain function}: repeated calls reuse the traced function.
# (The rules import TensorFlow, so they are imported where they are used: ISM and the other
# interpretations of this package run on every Keras backend.)
_EXPLAIN_FUNCTIONS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def deepshap_refusal(model) -> str | None:
    """Why ``model`` cannot be explained by DeepSHAP here (``None`` when it can).

    Returns:
        ``None``, or a message naming the first layer without a DeepLIFT rule and the methods to use
        instead.
    """
    from dream_keras.interpret.deeplift_layers import OTHER_METHODS, NoDeepLiftRule, check_layer

    try:
        check_layer(model)
    except NoDeepLiftRule as err:
        return (f"model {model.name!r} cannot be explained by DeepSHAP: {err}. Use {OTHER_METHODS}, which need "
                f"only gradients")
    return None


def check_deepshap(model) -> None:
    """Raise :class:`InputError` (with :func:`deepshap_refusal`'s message) unless DeepSHAP can explain ``model``."""
    refusal = deepshap_refusal(model)
    if refusal is not None:
        raise InputError(refusal)


def pair_target(outputs: dict, name: str, rules):
    """The explained target on the reference stream, whose gradient is the target's multipliers.

    Args:
        outputs: ``{output name: Pair}`` from the model's walk.
        name: an output from :func:`~dream_keras.interpret.targets.resolve_output`.
        rules: the :class:`~dream_keras.interpret.deeplift_rules.PairRules` of this walk.

    Returns:
        ``(m * k,)`` tensor: summed log-counts or a scalar output per reference row; for the profile,
        the mean-normalised logits weighted by their pair-mean softmax weights (the value is not the
        target, its multipliers are).
    """
    import tensorflow as tf

    from dream_keras.interpret.deeplift_rules import Pair

    value = outputs[name]
    width = int(np.prod(value.x.shape[1:]))
    if name == PROFILE:
        counts = outputs.get(LOGCOUNTS)
        tasks = int(np.prod(counts.x.shape[1:])) if counts is not None else 1
        logits = rules.linear(lambda v: tf.reshape(v, (-1, width // tasks, tasks)), value)
        centred = rules.linear(lambda v: v - tf.reduce_mean(v, axis=1, keepdims=True), logits)
        # The weights vary between sequence and reference but are not explained (stop_gradient): the
        # Shapley rule of the product gives the logits their mean weight.
        weights = Pair(tf.stop_gradient(tf.nn.softmax(centred.x, axis=1)),
                       tf.stop_gradient(tf.nn.softmax(centred.r, axis=1)))
        return tf.reduce_sum(rules.product(weights, centred).r, axis=(1, 2))
    return tf.reduce_sum(tf.reshape(value.r, (-1, width)), axis=1)


def explain_function(model, output: str, jit_compile: bool = True):
    """The compiled DeepSHAP of one output of ``model`` (cached per model, output and ``jit_compile``).

    Args:
        model: a Keras model whose layers all have a DeepLIFT rule.
        output: an output from :func:`~dream_keras.interpret.targets.resolve_output`.
        jit_compile: compile with XLA where it compiles.

    Returns:
        ``explain(x (m, L, C), references (m, k, L, C)) -> (hypothetical (m, L, 4), multipliers
        (m, k, L, C))``, float32 tensors.

    Raises:
        InputError: a layer of the model has no DeepLIFT rule.
        RuntimeError: the Keras backend is not TensorFlow.
    """
    cached = _EXPLAIN_FUNCTIONS.setdefault(model, {})
    if (output, jit_compile) not in cached:
        require_tensorflow("DeepSHAP contributions")
        check_deepshap(model)
        cached[(output, jit_compile)] = compile_with_fallback(_explain(weakref.ref(model), output), jit_compile)
    return cached[(output, jit_compile)]


def _explain(model_ref, output: str):
    import tensorflow as tf

    from dream_keras.interpret.deeplift_layers import run_pair_graph
    from dream_keras.interpret.deeplift_rules import Pair, PairRules

    names = model_output_names(model_ref())

    def explain(x, references):
        k = references.shape[1]
        flat = tf.reshape(references, (-1, *references.shape[2:]))
        rules = PairRules(k)
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(flat)
            outputs = run_pair_graph(rules, model_ref(), Pair(x, flat))
            if not isinstance(outputs, dict):
                outputs = dict(zip(names, outputs if isinstance(outputs, (list, tuple)) else [outputs]))
            target = pair_target(outputs, output, rules)
        multipliers = tf.reshape(tape.gradient(target, flat), tf.shape(references))
        bases, reference_bases = multipliers[..., :4], references[..., :4]
        # combine_mult_and_diffref: h[p, b] = mean_r (m_r[p, b] - sum_c r[p, c] m_r[p, c])
        offset = tf.reduce_sum(bases * reference_bases, axis=-1, keepdims=True)
        return tf.reduce_mean(bases - offset, axis=1), multipliers

    return explain


@dataclasses.dataclass(frozen=True)
class DeepShapScores:
    """DeepSHAP of sequences against given references.

    Attributes:
        hypothetical: ``(n, L, 4)`` float32 hypothetical contributions (ChromBPNet's ``shap``).
        multipliers: ``(n, k, L, C)`` float32 DeepLIFT multipliers per reference (``None`` unless asked).
    """

    hypothetical: np.ndarray
    multipliers: np.ndarray | None = None


def _batches(n: int, per_call: int):
    return [(start, min(start + per_call, n)) for start in range(0, n, per_call)]


def _padded(array: np.ndarray, rows: int) -> np.ndarray:
    """``array`` float32 with zero rows appended up to ``rows`` (one compiled shape for every batch)."""
    array = np.asarray(array, dtype=np.float32)
    if len(array) == rows:
        return array
    return np.concatenate([array, np.zeros((rows - len(array), *array.shape[1:]), np.float32)])


def _run_batches(explain, sequences, make_references, per_call: int, keep_multipliers: bool, progress: bool,
                 desc: str) -> DeepShapScores:
    """Explain ``sequences`` ``per_call`` at a time.

    ``make_references(start, end)`` gives the ``(end - start, k, L, C)`` references of a batch (called in a
    background thread, one batch ahead).
    """
    import tensorflow as tf

    n = len(sequences)
    batches = _batches(n, per_call)
    rows = per_call if len(batches) > 1 else n
    hypothetical = np.empty((n, sequences.shape[1], 4), dtype=np.float32)
    multipliers = None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as builder:
        future = builder.submit(make_references, *batches[0])
        for index, (start, end) in enumerate(tqdm(batches, desc=desc, unit="batch", disable=not progress,
                                                  leave=False)):
            references = future.result()
            if index + 1 < len(batches):
                future = builder.submit(make_references, *batches[index + 1])
            h, m = explain(tf.convert_to_tensor(_padded(sequences[start:end], rows)),
                           tf.convert_to_tensor(_padded(references, rows)))
            hypothetical[start:end] = h.numpy()[:end - start]
            if keep_multipliers:
                if multipliers is None:
                    multipliers = np.empty((n, *m.shape[1:]), dtype=np.float32)
                multipliers[start:end] = m.numpy()[:end - start]
    return DeepShapScores(hypothetical, multipliers)


def _sequences_per_call(batch_size: int, k: int) -> int:
    return max(1, batch_size // k)


def deepshap_with_references(model, sequences: np.ndarray, references: np.ndarray, output: str | None = None, *,
                             batch_size: int = 64, multipliers: bool = False, jit_compile: bool = True,
                             progress: bool = False) -> DeepShapScores:
    """DeepSHAP of ``sequences`` against the given ``references``.

    Args:
        model: any Keras model whose layers all have a DeepLIFT rule (:func:`deepshap_refusal`).
        sequences: ``(n, L, C)`` one-hot, as the model takes them.
        references: ``(n, k, L, C)``: ``k`` references per sequence.
        output: the output explained (:func:`~dream_keras.interpret.targets.resolve_output`).
        batch_size: model inputs per call: ``batch_size // k`` sequences (at least one) with all
            their references.
        multipliers: also return the multipliers per reference.
        jit_compile: compile with XLA where it compiles.
        progress: a tqdm bar.

    Returns:
        :class:`DeepShapScores`.

    Raises:
        InputError: a layer without a rule, an output without a scalar target, or references that do
            not match the sequences.
    """
    sequences = check_sequences(model, sequences)
    references = np.asarray(references)
    if references.ndim != 4 or references.shape[0] != len(sequences) or references.shape[2:] != sequences.shape[1:]:
        raise InputError(f"references of shape {references.shape} do not match sequences of shape "
                         f"{sequences.shape}; pass (n, k, length, channels), k references per sequence")
    explain = explain_function(model, resolve_output(model, output), jit_compile)
    per_call = _sequences_per_call(batch_size, references.shape[1])
    return _run_batches(explain, sequences, lambda start, end: references[start:end], per_call, multipliers,
                        progress, "DeepSHAP")


def shuffled_references(sequences: np.ndarray, start: int, end: int, k: int, seed: int) -> np.ndarray:
    """Float32 dinucleotide shuffles of ``sequences[start:end]``, shaped ``(end - start, k, L, C)``.

    Sequence ``i`` uses ``default_rng([seed, i])`` (the same references as integrated gradients).
    """
    return np.stack([dinucleotide_shuffle(sequences[index], k, np.random.default_rng([seed, index]))
                     for index in range(start, end)])


def deepshap_contributions(model, sequences: np.ndarray, output: str | None = None, *,
                           n_references: int = N_REFERENCES, seed: int = 0, batch_size: int = 64,
                           jit_compile: bool = True, progress: bool = False) -> np.ndarray:
    """Hypothetical DeepSHAP contributions against ``n_references`` dinucleotide shuffles per sequence.

    Args:
        model: any Keras model whose layers all have a DeepLIFT rule (:func:`deepshap_refusal`).
        sequences: ``(n, L, C)`` one-hot, as the model takes them.
        output: the output explained (:func:`~dream_keras.interpret.targets.resolve_output`).
        n_references: shuffled references per sequence (the official 20).
        seed: seeds the shuffles (:func:`shuffled_references`).
        batch_size: model inputs per call: ``batch_size // n_references`` sequences (at least one) with all
            their references.
        jit_compile: compile with XLA where it compiles.
        progress: a tqdm bar.

    Returns:
        ``(n, L, 4)`` float32 hypothetical scores.
    """
    sequences = check_sequences(model, sequences)
    explain = explain_function(model, resolve_output(model, output), jit_compile)
    per_call = _sequences_per_call(batch_size, n_references)
    return _run_batches(explain, sequences,
                        lambda start, end: shuffled_references(sequences, start, end, n_references, seed),
                        per_call, False, progress, "DeepSHAP").hypothetical
