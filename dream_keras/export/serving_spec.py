"""What an exported servable takes and gives: read from the model(s), checked to agree across folds."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

import keras

from data_prep.errors import InputError

DEFAULT_ALPHABET = "ACGT"
BASE_CHANNELS = 4        # the one-hot bases come first; flag channels (is_reverse, is_singleton) follow
IS_REVERSE_CHANNEL = 4   # the project's convention for every task with flag channels (data_prep.tables)


@dataclasses.dataclass(frozen=True)
class ServingSpec:
    """The input and outputs every model of a servable shares.

    Attributes:
        input_length, channels: the input ``(batch, input_length, channels)``; channels 0-3 are the
            bases in ``alphabet`` order, channel 4 (if any) is ``is_reverse``, later ones other flags.
        alphabet: the order of the four base channels, e.g. ``"ACGT"`` or ``"AGCT"``.
        output_shapes: each output's name and per-example shape, e.g. ``{"profile": (1000,),
            "logcounts": (1,)}``, in the model's order.
    """

    input_length: int
    channels: int
    alphabet: str
    output_shapes: dict

    @property
    def output_names(self) -> tuple[str, ...]:
        """The output names, in order."""
        return tuple(self.output_shapes)

    @property
    def profile_count(self) -> bool:
        """True for the profile/count head (ChromBPNet's): outputs ``profile`` and ``logcounts``."""
        return "profile" in self.output_shapes and "logcounts" in self.output_shapes

    @property
    def profile_tracks(self) -> int:
        """Number of profile tracks (= the width of ``logcounts``)."""
        return int(self.output_shapes["logcounts"][-1])

    @property
    def profile_length(self) -> int:
        """Positions per profile track (``profile`` is position-major: ``(batch, length * tracks)``)."""
        return int(self.output_shapes["profile"][-1]) // self.profile_tracks


def _input_shape(model, label: str) -> tuple[int, int]:
    length = getattr(model, "input_length", None)
    channels = getattr(model, "channels", None)
    if length is None or channels is None:
        try:
            shape = tuple(model.input_shape)
        except (AttributeError, ValueError):
            shape = ()
        if len(shape) != 3 or shape[1] is None or shape[2] is None:
            raise InputError(f"{label}: cannot tell the model's input shape (input_shape={shape or 'unknown'}); "
                             "export needs one input (batch, input_length, channels) of fixed size")
        length, channels = shape[1], shape[2]
    return int(length), int(channels)


def _alphabet(model, label: str) -> str:
    alphabet = str(getattr(model, "alphabet", None) or DEFAULT_ALPHABET).upper()
    if sorted(alphabet) != sorted(DEFAULT_ALPHABET):
        raise InputError(f"{label}: alphabet {alphabet!r} is not an ordering of A, C, G, T; export encodes DNA "
                         "in the model's alphabet and needs one (e.g. 'ACGT' or 'AGCT')")
    return alphabet


def serving_spec(model, label: str) -> ServingSpec:
    """The :class:`ServingSpec` of one Keras model, found by tracing it symbolically on one example.

    Args:
        model: a Keras model callable on float32 ``(batch, input_length, channels)`` that returns a
            dict of ``(batch, ...)`` tensors. Its ``input_length``, ``channels`` and ``alphabet``
            attributes are used when present (else ``model.input_shape`` and ``"ACGT"``).
        label: how errors name the model (its file, usually).

    Raises:
        InputError: the input shape is unknown, fewer than 4 channels, the outputs are not a dict,
            or the alphabet is not an ordering of ACGT.
    """
    length, channels = _input_shape(model, label)
    if channels < BASE_CHANNELS:
        raise InputError(f"{label}: the model takes {channels} channels; export needs the 4 one-hot base "
                         "channels first (then any flag channels)")
    outputs = model.compute_output_spec(keras.KerasTensor((1, length, channels), dtype="float32"))
    if not isinstance(outputs, Mapping):
        raise InputError(f"{label}: the model returns {type(outputs).__name__}, not a dict of named outputs; "
                         "export names each signature output after the model's outputs")
    shapes = {str(name): tuple(int(d) for d in value.shape[1:]) for name, value in outputs.items()}
    return ServingSpec(length, channels, _alphabet(model, label), shapes)


def common_spec(models, labels) -> ServingSpec:
    """The spec all ``models`` share (fold models of one servable).

    Raises:
        InputError: naming the two files whose input shape, alphabet, output names or output shapes differ.
    """
    specs = [serving_spec(model, label) for model, label in zip(models, labels)]
    first, first_label = specs[0], labels[0]
    for spec, label in zip(specs[1:], labels[1:]):
        for what, mine, theirs in [
                ("input shape (input_length, channels)", (spec.input_length, spec.channels),
                 (first.input_length, first.channels)),
                ("alphabet", spec.alphabet, first.alphabet),
                ("output names", sorted(spec.output_names), sorted(first.output_names)),
                ("output shapes", spec.output_shapes, first.output_shapes)]:
            if mine != theirs:
                raise InputError(f"{label} and {first_label} differ in {what}: {mine} vs {theirs}; the models "
                                 "of one servable are averaged, so they must be folds of the same model")
    return first
