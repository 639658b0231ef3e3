"""Official ChromBPNet model files (Keras 2 HDF5) as Keras 3 models built from our parts.

The official pipeline saves three files: ``bias.h5`` (the bias model: a BPNet tower with layer
names ``bpnet_1st_conv``, ..., ``logcount_predictions``), ``chrombpnet_nobias.h5`` (the bias-free
model: the same with the ``wo_bias_`` prefix) and ``chrombpnet.h5`` (both as nested models
``model_wo_bias`` and the bias model, summed by an ``Add`` and a ``Lambda`` logsumexp). The
``Lambda`` holds pickled Python bytecode that Keras 3 refuses to load, and should not be run
anyway, so :func:`load_official_h5` reads the file with h5py only: the architecture (filters,
dilated layers, input and output length, tasks) is inferred from the stored weight shapes and the
plain-JSON ``model_config`` attribute, the model is rebuilt with :func:`dream_keras.build_model`
(``bpnet`` backbone + ``profile_count`` head), and the weights are set by layer name.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import zipfile

import h5py
import numpy as np

from baselines.bpnet import bpnet_length_loss
from data_prep.errors import InputError
from dream_keras.heads.profile_count import PROFILE_KERNEL_SIZE, profile_count_layer_names

#: What a ChromBPNet file is, for error messages.
EXPECTED = ("an official ChromBPNet model file (bias.h5, chrombpnet.h5 or chrombpnet_nobias.h5: a Keras 2 "
            "HDF5 model of a BPNet tower with layers named [wo_bias_]bpnet_1st_conv, bpnet_<i>conv, "
            "prof_out_precrop and logcount_predictions)")
#: Name of the bias-free nested model inside chrombpnet.h5 (set by the official code).
OFFICIAL_NOBIAS_PART = "model_wo_bias"
_FUNCTIONAL_CLASSES = {"Functional", "Model", "Sequential"}


@dataclasses.dataclass
class OfficialPart:
    """One BPNet model stored in an official file.

    name: the nested model's name (``""`` for a file holding a single model). options: the
    :func:`dream_keras.build_model` options (``filters``, ``n_dil_layers``, ``layer_prefix``,
    ``input_length``, ``output_length``, ``num_tasks``, ``channels``). weights: layer name ->
    variable name (``kernel``, ``bias``) -> array.
    """

    name: str
    options: dict
    weights: dict


def _text(value) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _open_checked(path: pathlib.Path) -> h5py.File:
    if not path.is_file():
        raise InputError(f"{path} does not exist; expected {EXPECTED}")
    if not h5py.is_hdf5(path):
        hint = ""
        if zipfile.is_zipfile(path):
            hint = " It is a zip archive, probably a Keras 3 .keras file: load it with keras.models.load_model."
        raise InputError(f"{path} is not an HDF5 file; expected {EXPECTED}.{hint}")
    return h5py.File(path, "r")


def _model_config(stored: h5py.File, path: pathlib.Path) -> dict:
    if "model_weights" not in stored or "model_config" not in stored.attrs:
        raise InputError(f"{path} is an HDF5 file but not a Keras model file (it has no model_weights group or "
                         f"no model_config attribute; top-level keys: {sorted(stored.keys())}); expected {EXPECTED}")
    try:
        # Plain JSON; nothing in it is executed (the Lambda's bytecode stays an unread string).
        config = json.loads(_text(stored.attrs["model_config"]))
        return config["config"]
    except (ValueError, KeyError, TypeError) as err:
        raise InputError(f"{path}: its model_config attribute is not a Keras model configuration ({err}); "
                         f"expected {EXPECTED}") from None


def _read_weights(group: h5py.Group) -> dict:
    """Top-level layer name -> {layer name -> {variable -> array}} (nested models hold many layers)."""
    weights = {}
    for layer_name in (_text(name) for name in group.attrs.get("layer_names", [])):
        if layer_name not in group:
            continue  # listed but absent: reported as missing weights when the model is filled
        layer_group = group[layer_name]
        for weight_name in (_text(name) for name in layer_group.attrs.get("weight_names", [])):
            parts = weight_name.split("/")
            if len(parts) < 2:
                continue
            owner, variable = parts[-2], parts[-1].split(":")[0]
            weights.setdefault(layer_name, {}).setdefault(owner, {})[variable] = layer_group[weight_name][()]
    return weights


def _find_layer(config: dict, name: str) -> dict | None:
    """The config of the layer called ``name`` in a model config (searching nested models too)."""
    for layer in config.get("layers", []):
        if layer.get("name", layer.get("config", {}).get("name")) == name:
            return layer
        if layer.get("class_name") in _FUNCTIONAL_CLASSES:
            found = _find_layer(layer.get("config", {}), name)
            if found is not None:
                return found
    return None


def _input_shape(config: dict) -> list | None:
    for layer in config.get("layers", []):
        if layer.get("class_name") == "InputLayer":
            layer_config = layer.get("config", {})
            return layer_config.get("batch_input_shape") or layer_config.get("batch_shape")
    return None


def _infer_part(name: str, config: dict, weights: dict, path: pathlib.Path) -> OfficialPart:
    """The build options of one stored BPNet model from its weight shapes and its config."""
    where = f"{path}" + (f" (nested model {name!r})" if name else "")
    first = [layer for layer in weights if layer.endswith("bpnet_1st_conv")]
    if len(first) != 1:
        raise InputError(f"{where} has no BPNet first convolution (a layer named [prefix]bpnet_1st_conv) among its "
                         f"weighted layers {sorted(weights)[:12]}; expected {EXPECTED}")
    prefix = first[0][: -len("bpnet_1st_conv")]
    kernel = weights[first[0]].get("kernel")
    if kernel is None or kernel.ndim != 3:
        raise InputError(f"{where}: layer {first[0]} has no 3-D convolution kernel; expected {EXPECTED}")
    channels, filters = int(kernel.shape[1]), int(kernel.shape[2])
    # Count the dilated layers in the architecture as well as in the weights, so that a file missing
    # one layer's weights is reported rather than rebuilt as a shallower model.
    n_dil_layers = 0
    def has_layer(name: str) -> bool:
        return name in weights or _find_layer(config, name) is not None

    while has_layer(f"{prefix}bpnet_{n_dil_layers + 1}conv"):
        n_dil_layers += 1
    head_names = profile_count_layer_names(prefix)
    counts_layer = weights.get(head_names["logcounts"], {}).get("kernel")
    if counts_layer is None or head_names["profile_conv"] not in weights:
        raise InputError(f"{where} lacks the profile/count head layers {head_names['profile_conv']} and "
                         f"{head_names['logcounts']}; expected {EXPECTED}")
    num_tasks = int(counts_layer.shape[-1])

    shape = _input_shape(config)
    if not shape or len(shape) != 3 or shape[1] is None:
        raise InputError(f"{where}: its model_config gives no fixed input shape (found {shape}); expected {EXPECTED}")
    input_length = int(shape[1])
    crop = _find_layer(config, head_names["crop"])
    if crop is None:
        raise InputError(f"{where}: its model_config has no profile crop layer {head_names['crop']}; "
                         f"expected {EXPECTED}")
    cropping = crop["config"]["cropping"]
    cropping = [cropping, cropping] if isinstance(cropping, int) else list(cropping)
    precrop_length = input_length - bpnet_length_loss(n_dil_layers) - (PROFILE_KERNEL_SIZE - 1)
    output_length = precrop_length - int(cropping[0]) - int(cropping[1])
    if output_length < 1:
        raise InputError(f"{where}: input length {input_length}, {n_dil_layers} dilated layers and profile crop "
                         f"{cropping} leave no output positions; the file is not a BPNet model we can rebuild")
    for i in range(1, n_dil_layers + 1):
        conv = _find_layer(config, f"{prefix}bpnet_{i}conv")
        dilation = conv and conv["config"].get("dilation_rate")
        if dilation is not None and list(np.atleast_1d(dilation)) != [2 ** i]:
            raise InputError(f"{where}: layer {prefix}bpnet_{i}conv has dilation {dilation}, but BPNet's dilated layer "
                             f"{i} has dilation {2 ** i}; this is not a ChromBPNet architecture we can rebuild")
    options = {"filters": filters, "n_dil_layers": n_dil_layers, "layer_prefix": prefix, "input_length": input_length,
               "output_length": output_length, "num_tasks": num_tasks, "channels": channels}
    return OfficialPart(name, options, weights)


def read_official_h5(path: str | os.PathLike) -> list[OfficialPart]:
    """The BPNet models stored in an official ChromBPNet file, without building anything.

    Returns one :class:`OfficialPart` for ``bias.h5`` / ``chrombpnet_nobias.h5`` and two for
    ``chrombpnet.h5`` (the bias-free part ``model_wo_bias`` first, then the bias part).

    Raises:
        InputError: the file is missing, not HDF5, not a Keras model file, or not a ChromBPNet model
            (the message names the file and what was expected).
    """
    path = pathlib.Path(path)
    with _open_checked(path) as stored:
        config = _model_config(stored, path)
        weights = _read_weights(stored["model_weights"])
    nested = {layer["name"]: layer for layer in config.get("layers", [])
              if layer.get("class_name") in _FUNCTIONAL_CLASSES and layer.get("name") in weights}
    top_level = {layer: values for name, owners in weights.items() if name not in nested
                 for layer, values in owners.items()}
    if not nested:
        return [_infer_part("", config, top_level, path)]
    if top_level or len(nested) != 2 or OFFICIAL_NOBIAS_PART not in nested:
        raise InputError(f"{path} holds nested models {sorted(nested)} and top-level weighted layers "
                         f"{sorted(top_level)}; a chrombpnet.h5 holds exactly two nested models, "
                         f"{OFFICIAL_NOBIAS_PART!r} and the bias model, and no other weights. Expected {EXPECTED}")
    bias_name = next(name for name in nested if name != OFFICIAL_NOBIAS_PART)
    return [_infer_part(name, nested[name]["config"], weights[name], path)
            for name in (OFFICIAL_NOBIAS_PART, bias_name)]


def _set_weights_by_name(model, part: OfficialPart, path: pathlib.Path) -> None:
    where = f"{path}" + (f" (nested model {part.name!r})" if part.name else "")
    used = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        stored = part.weights.get(layer.name)
        if stored is None:
            raise InputError(f"{where} has no weights for layer {layer.name}; expected {EXPECTED}")
        values = []
        for variable in layer.weights:
            short_name = variable.name.split("/")[-1]
            value = stored.get(short_name)
            if value is None or tuple(value.shape) != tuple(variable.shape):
                found = None if value is None else tuple(value.shape)
                raise InputError(f"{where}: layer {layer.name} variable {short_name} should have shape "
                                 f"{tuple(variable.shape)} for a BPNet of {part.options}, found {found}")
            values.append(value)
        layer.set_weights(values)
        used.add(layer.name)
    unused = sorted(set(part.weights) - used)
    if unused:
        raise InputError(f"{where} holds weighted layers {unused} that a ChromBPNet BPNet model does not have; "
                         f"expected {EXPECTED}")


def _build_part(part: OfficialPart, path: pathlib.Path):
    from dream_keras.model import build_model

    model = build_model("bpnet", "profile_count", **part.options)
    _set_weights_by_name(model, part, path)
    return model


def load_official_h5(path: str | os.PathLike):
    """Load an official ChromBPNet HDF5 model as a Keras 3 model with outputs ``profile`` and ``logcounts``.

    Args:
        path: ``bias.h5``, ``chrombpnet_nobias.h5`` or ``chrombpnet.h5`` written by the official
            code (Keras 2, TensorFlow 2.8 or later).

    Returns:
        For a single model: a :class:`dream_keras.SequenceModel` (``bpnet`` backbone,
        ``profile_count`` head, the stored filters / dilated layers / lengths / layer prefix).
        For ``chrombpnet.h5``: a :class:`bias_models.BiasFactorizedModel` of the bias-free part and
        the frozen bias part (``bias_models.without_bias`` gives the former). Outputs: ``profile``
        ``(batch, output_length)`` logits and ``logcounts`` ``(batch, num_tasks)``.

    Raises:
        InputError: the file is not an official ChromBPNet model (not HDF5, not a Keras model, or
            layers/shapes that a BPNet model does not have); the message names the file.
    """
    path = pathlib.Path(path)
    parts = read_official_h5(path)
    models = [_build_part(part, path) for part in parts]
    if len(models) == 1:
        return models[0]
    from bias_models.factorised import with_bias

    return with_bias(models[0], models[1])
