"""``export_saved_model``: one model, or the average of fold models, as a TF Serving SavedModel."""

from __future__ import annotations

import os
import pathlib

import keras
import tensorflow as tf

from data_prep.errors import InputError
from dream_keras.export.averaging import average_predictions, reverse_strand_back
from dream_keras.export.dna_encoding import encode_dna, reverse_complement
from dream_keras.export.graph_ops import non_builtin_ops, xla_compiled_functions
from dream_keras.export.layout import check_model_name, check_new_version, next_version, staged_version
from dream_keras.export.portable_graph import portable_tracing
from dream_keras.export.serving_spec import ServingSpec, common_spec
from dream_keras.saving import load_model

SEQUENCE_INPUT = "sequence"
DNA_INPUT = "dna"
SIGNATURES = {
    "serving_default": SEQUENCE_INPUT,
    "predict_dna": DNA_INPUT,
    "predict_rc_average": SEQUENCE_INPUT,
    "predict_dna_rc_average": DNA_INPUT,
}
"""Every signature export can write, and the name of its input."""
DEFAULT_SIGNATURES = tuple(SIGNATURES)
"""The signatures written unless ``signatures`` names fewer: all of them."""


def _load(model_or_models) -> tuple[list, list[str]]:
    """Keras models and the labels errors use, from models or ``.keras`` paths (one or a list)."""
    items = list(model_or_models) if isinstance(model_or_models, (list, tuple)) else [model_or_models]
    if not items:
        raise InputError("no model to export; give at least one .keras file or Keras model")
    models, labels = [], []
    for index, item in enumerate(items):
        if isinstance(item, (str, os.PathLike)):
            models.append(load_model(item, what="model to export", fix="give the .keras file a training run wrote"))
            labels.append(str(item))
        else:
            models.append(item)
            labels.append(f"model {index} ({getattr(item, 'name', type(item).__name__)})")
    return models, labels


def _check_signatures(signatures) -> list[str]:
    """The signature names to write, ``serving_default`` first.

    The signature names to write, ``serving_default`` first (TF Serving answers requests that name no signature with it;
    left out, Keras would alias another signature and its input under that name).
    """
    names = [signatures] if isinstance(signatures, str) else list(signatures)
    unknown = [name for name in names if name not in SIGNATURES]
    if unknown:
        raise InputError(f"signatures {unknown} unknown; choose from {list(SIGNATURES)}")
    return ["serving_default"] + [name for name in dict.fromkeys(names) if name != "serving_default"]


def _check_rc_span(rc_span, spec: ServingSpec):
    if rc_span is None:
        return None
    start, stop = (int(value) for value in rc_span)
    if not 0 <= start < stop <= spec.input_length:
        raise InputError(f"rc_span {tuple(rc_span)} must satisfy 0 <= start < stop <= input_length "
                         f"({spec.input_length})")
    if spec.profile_count:
        raise InputError("rc_span (reverse-complementing part of the input) is for scalar outputs; a profile "
                         "cannot be mapped back from a partly reversed input. Omit it for profile models")
    return start, stop


def _serving_functions(models: list, spec: ServingSpec, rc_span) -> dict:
    """The four signature bodies, each a function of one input tensor returning a dict."""

    # One traced function runs the models; every signature calls it, so the models are traced once
    # (export time) and a signature holds a single copy of their graph.
    @tf.function(input_signature=[_input_spec(SEQUENCE_INPUT, spec)], autograph=False)
    def run_models(sequence):
        return [dict(model(sequence, training=False)) for model in models]

    def predict(sequence):
        return average_predictions(run_models(sequence), spec)

    def predict_rc_average(sequence):
        # Both strands in one batch: forward rows first, then their reverse complements.
        batch = tf.shape(sequence)[0]
        both = run_models(tf.concat([sequence, reverse_complement(sequence, spec, rc_span)], axis=0))
        members = [{name: value[:batch] for name, value in outputs.items()} for outputs in both]
        members += [reverse_strand_back({name: value[batch:] for name, value in outputs.items()}, spec)
                    for outputs in both]
        return average_predictions(members, spec)

    # Each body's argument is named as its signature's input (the name TF Serving clients send).
    def predict_dna(dna):
        return predict(encode_dna(dna, spec))

    def predict_dna_rc_average(dna):
        return predict_rc_average(encode_dna(dna, spec))

    return {"serving_default": predict, "predict_dna": predict_dna, "predict_rc_average": predict_rc_average,
            "predict_dna_rc_average": predict_dna_rc_average}


def _input_spec(input_name: str, spec: ServingSpec) -> tf.TensorSpec:
    if input_name == DNA_INPUT:
        return tf.TensorSpec((None,), tf.string, name=DNA_INPUT)
    return tf.TensorSpec((None, spec.input_length, spec.channels), tf.float32, name=SEQUENCE_INPUT)


def export_saved_model(model_or_models, base_dir: str | os.PathLike, name: str, version: int | None = None,
                       signatures=DEFAULT_SIGNATURES, rc_span: tuple[int, int] | None = None) -> pathlib.Path:
    """Write a SavedModel that TF Serving loads as it is: ``base_dir/name/version/``.

    Args:
        model_or_models: a Keras model, a ``.keras`` path, or a list of them (fold models: the
            servable's outputs are the average of theirs). Each model takes float32 ``(batch,
            input_length, channels)`` and returns a dict of named outputs; ``input_length``,
            ``channels`` and ``alphabet`` attributes are used when present.
        base_dir: TF Serving's model base path (created if missing).
        name: the servable's name, one folder name.
        version: the version number; ``None`` takes one more than the highest present (1 for the
            first). An existing version is never overwritten.
        signatures: which of :data:`SIGNATURES` to write (``serving_default`` is always written).
            Inputs: ``sequence`` float32 ``(None,
            input_length, channels)`` or ``dna`` string ``(None,)``. Outputs: the model's (e.g.
            ``profile`` ``(None, output_length)`` and ``logcounts`` ``(None, 1)``), plus
            ``profile_probs`` and ``predicted_counts`` for profile/count models; averaged as
            :mod:`dream_keras.export.averaging` describes.
        rc_span: ``(start, stop)``: the RC-average signatures reverse-complement only these
            positions (lentiMPRA: ``(15, 215)``, the element between fixed adaptors); ``None``: all.

    Returns:
        the version folder written.

    Raises:
        InputError: a file cannot be loaded, the models disagree (naming the files), a bad name,
            version, signature or span, or the graph would need what stock TF Serving lacks (an op
            outside TensorFlow, a Python callback, XLA compilation).
        FileExistsError: the version exists.
        RuntimeError: Keras runs on another backend than TensorFlow.
    """
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(f"export writes TensorFlow graphs and needs Keras's TensorFlow backend, not "
                           f"{keras.backend.backend()!r}; run it with KERAS_BACKEND=tensorflow")
    models, labels = _load(model_or_models)
    spec = common_spec(models, labels)
    names = _check_signatures(signatures)
    rc_span = _check_rc_span(rc_span, spec)
    model_dir = pathlib.Path(base_dir) / check_model_name(name)
    version = next_version(model_dir) if version is None else check_new_version(model_dir, version)

    with staged_version(model_dir, version) as staging:
        with portable_tracing(models):  # the signatures are traced here and while writing
            bodies = _serving_functions(models, spec, rc_span)
            archive = keras.export.ExportArchive()
            for model in models:
                archive.track(model)
            for signature in names:
                archive.add_endpoint(signature, bodies[signature],
                                     input_signature=[_input_spec(SIGNATURES[signature], spec)])
            archive.write_out(str(staging), verbose=False)
        _check_servable(staging, labels)
    return model_dir / str(version)


def _check_servable(saved_model_dir: pathlib.Path, labels: list[str]) -> None:
    """Raise InputError if the graph needs what stock TF Serving lacks (Python ops, unknown ops, XLA)."""
    foreign = non_builtin_ops(saved_model_dir)
    if foreign:
        raise InputError(f"{', '.join(labels)}: the exported graph needs op(s) {foreign} that TF Serving "
                         "cannot run (Python callbacks or ops outside TensorFlow); build the model from "
                         "Keras layers and keras.ops only")
    compiled = xla_compiled_functions(saved_model_dir)
    if compiled:
        raise InputError(f"{', '.join(labels)}: the exported graph holds function(s) that must be compiled with "
                         f"XLA ({', '.join(compiled[:3])}), which TF Serving does not do by default; a layer "
                         "runs under tf.function(jit_compile=True) (Keras does this for grouped Conv2D/Conv3D)")
