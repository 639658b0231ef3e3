"""Bias factorisation: a model of the signal without enzyme bias plus a frozen model of the bias.

ChromBPNet explains observed per-base counts as the product of the biology and the enzyme's
sequence preference. In logit space that is a sum: profile logits = model logits + bias logits,
and total counts add, so log-counts = log(exp(model log-counts) + exp(bias log-counts)). The bias
model is trained first on background regions and then frozen; training the factorised model fits
only the bias-free part, which is what :func:`without_bias` hands back (the official
``chrombpnet_nobias.h5``).

The bias-free part can be any backbone with the ``profile_count`` head (``bpnet``, ``dream_cnn``,
``dream_rnn``, ...); the bias model is usually ``bpnet`` with ``layer_prefix=""``.
"""

from __future__ import annotations

import keras
from keras import ops

from data_prep.errors import InputError

#: Names the two parts get inside the factorised model (the official file calls the bias-free
#: part ``model_wo_bias``).
NOBIAS_PART_NAME = "model_wo_bias"
BIAS_PART_NAME = "bias_model"
OUTPUT_NAMES = ("profile", "logcounts")


@keras.saving.register_keras_serializable(package="dream_keras")
class LogSumExp(keras.layers.Layer):
    """Elementwise ``log(sum_i exp(x_i))`` of same-shaped inputs: the log of summed counts.

    Inputs: a list of tensors of one shape, e.g. two ``(batch, num_tasks)`` log-counts.
    Output: a tensor of that shape. Numerically stable for large log-counts.
    """

    def call(self, inputs):
        """``logsumexp`` of the inputs, element by element."""
        return ops.logsumexp(ops.stack(list(inputs), axis=-1), axis=-1)

    def compute_output_shape(self, input_shape):
        """The shape of the first input."""
        return tuple(input_shape[0])

    def get_config(self):
        """The layer's config (it has no arguments of its own)."""
        return super().get_config()


def _check_profile_count_model(model, role: str) -> None:
    outputs = getattr(model, "output", None)
    if not isinstance(model, keras.Model) or not isinstance(outputs, dict) or \
            not set(OUTPUT_NAMES) <= set(outputs) or len(model.inputs) != 1:
        found = sorted(outputs) if isinstance(outputs, dict) else type(outputs).__name__
        raise InputError(f"the {role} ({getattr(model, 'name', type(model).__name__)!r}) must be a Keras model with "
                         f"one input and dict outputs 'profile' and 'logcounts' (the profile_count head); "
                         f"it has outputs {found}")


def _describe(model) -> str:
    backbone = getattr(model, "backbone_name", None)
    return f"{model.name!r}" + (f" (backbone {backbone!r})" if backbone else "")


def _check_parts_agree(model, bias_model) -> None:
    """The two parts must read the same input and predict outputs of the same shapes."""
    shapes = {}
    for role, part in (("model", model), ("bias model", bias_model)):
        shapes[role] = {"input": tuple(part.inputs[0].shape[1:]),
                        **{name: tuple(part.output[name].shape[1:]) for name in OUTPUT_NAMES}}
    for key in ("input", *OUTPUT_NAMES):
        if shapes["model"][key] != shapes["bias model"][key]:
            what = "input (length, channels)" if key == "input" else f"output {key!r}"
            raise InputError(
                f"the model {_describe(model)} and the bias model {_describe(bias_model)} disagree on their "
                f"{what}: {shapes['model'][key]} vs {shapes['bias model'][key]}; build the model with the bias "
                f"model's input_length and output_length (here input_length={shapes['bias model']['input'][0]}, "
                f"output_length={shapes['bias model']['profile'][0]})")
    alphabets = getattr(model, "alphabet", "ACGT"), getattr(bias_model, "alphabet", "ACGT")
    if alphabets[0] != alphabets[1]:
        raise InputError(f"the model {_describe(model)} reads one-hot channels in order {alphabets[0]} but the bias "
                         f"model {_describe(bias_model)} in order {alphabets[1]}; rebuild one with the other's "
                         "alphabet")


@keras.saving.register_keras_serializable(package="dream_keras")
class BiasFactorizedModel(keras.Model):
    """A bias-free model and a frozen bias model summed into ChromBPNet's observed-signal model.

    Args:
        model: the bias-free part, a Keras model with input ``sequence`` and outputs ``profile``
            ``(batch, output_length)`` logits and ``logcounts`` ``(batch, num_tasks)`` (any backbone
            with the ``profile_count`` head). Shared, not copied: training this model trains it.
        bias_model: the bias part, with the same input and output shapes. Frozen in place
            (``trainable = False``) and shared, as the official ChromBPNet code does.
        name: model name (default ``"chrombpnet"``).

    The two parts are renamed ``model_wo_bias`` and ``bias_model`` (their layer names inside a
    functional model must differ, and two bpnet models would otherwise both be called
    ``bpnet_profile_count``).

    Inputs: ``sequence`` ``(batch, input_length, channels)``.
    Outputs: ``{"profile": model logits + bias logits (batch, output_length),
    "logcounts": logsumexp(model log-counts, bias log-counts) (batch, num_tasks)}``.

    Attributes ``input_length``, ``channels``, ``alphabet``, ``head_name`` (``"profile_count"``)
    and ``backbone_name`` (of the bias-free part) match :class:`dream_keras.SequenceModel`'s, so
    export and prediction code treat both alike. ``nobias_model`` and ``bias_model`` are the parts.
    The config holds both parts serialised, so a ``.keras`` file reloads with its weights and with
    the bias part still frozen.
    """

    def __init__(self, model, bias_model, name: str | None = None, **kwargs):
        # Layers: the two parts (deserialised when coming from a config).
        kwargs.pop("trainable", None)
        kwargs.pop("dtype", None)
        if isinstance(model, dict):
            model = keras.saving.deserialize_keras_object(model)
        if isinstance(bias_model, dict):
            bias_model = keras.saving.deserialize_keras_object(bias_model)
        _check_profile_count_model(model, "model")
        _check_profile_count_model(bias_model, "bias model")
        if model is bias_model:
            raise InputError(f"with_bias got the same model {model.name!r} as model and bias model; pass two models")
        _check_parts_agree(model, bias_model)
        model.name = NOBIAS_PART_NAME
        bias_model.name = BIAS_PART_NAME
        bias_model.trainable = False

        # Functional model.
        input_length, channels = model.inputs[0].shape[1:]
        sequence = keras.Input((input_length, channels), name="sequence")
        unbiased, bias = model(sequence), bias_model(sequence)
        # float32 like the parts' outputs, also under a mixed precision policy (the losses need it).
        profile = keras.layers.Add(dtype="float32", name="logits_profile_predictions")(
            [unbiased["profile"], bias["profile"]])
        logcounts = LogSumExp(dtype="float32", name="logcount_predictions")([unbiased["logcounts"], bias["logcounts"]])
        super().__init__(inputs=sequence, outputs={"profile": profile, "logcounts": logcounts},
                         name=name or "chrombpnet", **kwargs)

        # Config and the SequenceModel-like attributes.
        self.nobias_model = model
        self.bias_model = bias_model
        self.input_length = int(input_length)
        self.channels = int(channels)
        self.alphabet = getattr(model, "alphabet", "ACGT")
        self.head_name = "profile_count"
        self.backbone_name = getattr(model, "backbone_name", None)

    def get_config(self):
        """The two models, serialised, and the name."""
        return {"name": self.name,
                "model": keras.saving.serialize_keras_object(self.nobias_model),
                "bias_model": keras.saving.serialize_keras_object(self.bias_model)}

    @classmethod
    def from_config(cls, config):
        """The model from :meth:`get_config`'s output."""
        return cls(**config)


def with_bias(model, bias_model, name: str | None = None) -> BiasFactorizedModel:
    """Combine a bias-free ``model`` with a frozen ``bias_model`` (see :class:`BiasFactorizedModel`).

    Args:
        model: any model with the ``profile_count`` head's outputs (``profile``, ``logcounts``).
        bias_model: a trained bias model with the same input length, output length and tasks.
        name: name of the combined model (default ``"chrombpnet"``).

    Returns:
        A :class:`BiasFactorizedModel` with input ``sequence`` and outputs ``profile`` (summed
        logits) and ``logcounts`` (logsumexp of the two log-counts). ``bias_model`` is frozen and
        both parts are renamed in place (they are shared, not copied).

    Raises:
        InputError: a part lacks the ``profile``/``logcounts`` outputs, or the two disagree on
            input length, channels, output length, number of tasks or alphabet.

    >>> from dream_keras import build_model
    >>> bias = build_model("bpnet", filters=8, n_dil_layers=2, layer_prefix="")  # doctest: +SKIP
    >>> combined = with_bias(build_model("dream_cnn"), bias)  # doctest: +SKIP
    """
    return BiasFactorizedModel(model, bias_model, name=name)


def without_bias(model: BiasFactorizedModel) -> keras.Model:
    """The bias-free part of a factorised model (the official ``chrombpnet_nobias.h5``).

    Returns the part itself (sharing its weights), with outputs ``profile`` and ``logcounts``.
    Raises :class:`InputError` when ``model`` is not a :class:`BiasFactorizedModel`.
    """
    if not isinstance(model, BiasFactorizedModel):
        raise InputError(f"model {getattr(model, 'name', model)!r} is not bias-factorised (made by with_bias or "
                         f"load_official_h5 on a chrombpnet.h5); it has no bias part to remove")
    return model.nobias_model
