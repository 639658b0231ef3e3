"""The checks a plug-in author runs on a new backbone or head, as the zoo's own tests run them.

A backbone or head registered with :func:`dream_keras.register_backbone` /
:func:`dream_keras.register_head` (or through an entry point) joins the zoo when it passes the same
checks as the built-in parts. Each check raises ``AssertionError`` naming the model and what differs,
so they work in pytest or in a plain script::

    import keras
    from dream_keras import register_backbone
    from dream_keras.testing import run_backbone_test

    @register_backbone("my_tower", defaults={"width": 8})
    def my_tower(x, width=8):
        return keras.layers.Conv1D(width, 5, padding="same", activation="relu", name="my_tower_conv")(x)

    reports = run_backbone_test("my_tower", backbone_options={"width": 6},
                                head_options={"profile_count": {"output_length": 16}},
                                input_length={"profile_count": 90}, default_input_length=40, export=["regression"])
    print({head: report.parameters for head, report in reports.items()}, reports.refused)

What is checked, for every head the backbone can feed (:func:`run_backbone_test`) or every backbone
that can feed a head (:func:`run_head_test`), on a random one-hot batch:

- build: the input is named ``sequence`` with the asked shape, the outputs are a dict of named,
  finite tensors with the batch dimension kept (and the shapes expected, when given);
- a part that cannot follow the other refuses with :class:`dream_keras.IncompatibleHeadError`
  (anything else is a failure), and at least one pair builds;
- the config round trip through JSON (``to_json`` -> ``model_from_json``): the same class and
  config, the same weight paths and shapes (every layer named by the builders, not by Keras's
  counters) and, with the weights copied, the same outputs;
- ``.keras`` save and load: the same class, backbone, head and alphabet, and the same outputs;
- ``predict`` on a ``tf.data`` input of two batches equals calling the model;
- SavedModel export (:func:`dream_keras.export.export_saved_model`, for the pairs asked): the
  exported ``serving_default`` signature, loaded back with ``tf.saved_model.load``, gives the model's
  outputs;
- the parameter count (equal to the one expected, when given).

Keras and TensorFlow are imported on first use of a check, not on import of this module.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import tempfile
from typing import Iterable

import numpy as np

#: Largest difference between outputs of the same weights computed the same way (a reloaded model).
SAME_GRAPH_ATOL = 1e-6
#: Largest difference where the graph is compiled anew (``predict``, a SavedModel): float sums may be
#: reordered (XLA, grappler), which moves float32 results by ~1e-7 relative.
COMPILED_ATOL = 1e-5


@dataclasses.dataclass
class PairReport:
    """What the checks found for one backbone x head model.

    Attributes:
        backbone, head: the registered names.
        input_shape: ``(input_length, channels)`` of the model checked.
        output_shapes: ``{output name: per-example shape}``.
        parameters: ``model.count_params()``.
        exported: whether the SavedModel export was checked too.
    """

    backbone: str
    head: str
    input_shape: tuple
    output_shapes: dict
    parameters: int
    exported: bool


class CheckedPairs(dict):
    """``{part name: PairReport}`` of the pairs that built and passed.

    :attr:`refused` holds ``{part name: message}`` of the pairs that refused with
    :class:`~dream_keras.IncompatibleHeadError` (e.g. a profile head whose ``output_length`` needs longer
    features than the input gives).
    """

    def __init__(self, reports: dict, refused: dict):
        super().__init__(reports)
        self.refused = dict(refused)


def random_one_hot(batch: int, length: int, channels: int = 4, seed: int = 0) -> np.ndarray:
    """``(batch, length, channels)`` float32 one-hot rows of random bases (channel 0..channels-1)."""
    rng = np.random.default_rng(seed)
    return np.eye(channels, dtype="float32")[rng.integers(0, channels, size=(batch, length))]


def _outputs(model, x) -> dict:
    """Deterministic (inference-mode) outputs as numpy arrays."""
    import keras

    return {name: keras.ops.convert_to_numpy(value) for name, value in dict(model(x, training=False)).items()}


def _assert_same_outputs(actual: dict, expected: dict, atol: float, what: str) -> None:
    assert sorted(actual) == sorted(expected), f"{what}: outputs {sorted(actual)} instead of {sorted(expected)}"
    for name, value in expected.items():
        np.testing.assert_allclose(np.asarray(actual[name]), value, rtol=0, atol=atol, err_msg=f"{what}: {name}")


def _check_build(model, x: np.ndarray, label: str, expected_outputs: dict | None) -> dict:
    """The input and outputs of a built model; returns its outputs on ``x``."""
    assert model.inputs[0].name == "sequence", f"{label}: the input is named {model.inputs[0].name!r}, not 'sequence'"
    assert tuple(model.inputs[0].shape[1:]) == x.shape[1:], \
        f"{label}: input shape {tuple(model.inputs[0].shape[1:])} instead of {x.shape[1:]}"
    assert isinstance(model.output, dict) and model.output, f"{label}: the outputs must be a dict of named tensors"
    shapes = {name: tuple(tensor.shape[1:]) for name, tensor in model.output.items()}
    if expected_outputs is not None:
        assert shapes == {name: tuple(shape) for name, shape in expected_outputs.items()}, \
            f"{label}: outputs {shapes} instead of {expected_outputs}"
    outputs = _outputs(model, x)
    for name, value in outputs.items():
        assert value.shape == (len(x), *shapes[name]), f"{label}: output {name!r} has shape {value.shape}"
        assert np.all(np.isfinite(value)), f"{label}: output {name!r} is not finite"
    return outputs


def _check_json_round_trip(model, x: np.ndarray, outputs: dict, label: str) -> None:
    import keras

    text = model.to_json()
    json.loads(text)  # plain JSON
    clone = keras.models.model_from_json(text)
    assert type(clone) is type(model), f"{label}: from JSON a {type(clone).__name__}, not a {type(model).__name__}"
    assert clone.get_config() == json.loads(json.dumps(model.get_config())), f"{label}: the config changed in JSON"
    paths = [(w.path, tuple(w.shape)) for w in model.weights]
    assert [(w.path, tuple(w.shape)) for w in clone.weights] == paths, \
        f"{label}: a rebuilt model names or shapes its weights otherwise (name every layer in the builder)"
    clone.set_weights(model.get_weights())
    _assert_same_outputs(_outputs(clone, x), outputs, SAME_GRAPH_ATOL, f"{label} rebuilt from JSON")


def _check_keras_file(model, x: np.ndarray, outputs: dict, folder: pathlib.Path, label: str) -> None:
    import keras

    path = folder / f"{model.name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is type(model), f"{label}: {path.name} loads as a {type(loaded).__name__}"
    for attribute in ("backbone_name", "head_name", "alphabet"):
        assert getattr(loaded, attribute, None) == getattr(model, attribute, None), \
            f"{label}: {attribute} {getattr(loaded, attribute, None)!r} after loading the .keras file"
    _assert_same_outputs(_outputs(loaded, x), outputs, SAME_GRAPH_ATOL, f"{label} loaded from {path.name}")


def _check_tf_data(model, x: np.ndarray, outputs: dict, label: str) -> None:
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices(x).batch(max(1, len(x) - 1))  # two batches: n - 1, then 1
    predicted = model.predict(dataset, verbose=0)
    _assert_same_outputs(predicted, outputs, COMPILED_ATOL, f"{label} predicting on tf.data")


def _check_saved_model(model, x: np.ndarray, outputs: dict, folder: pathlib.Path, label: str) -> None:
    import tensorflow as tf

    from dream_keras.export import export_saved_model

    path = export_saved_model(model, folder / "serving", model.name)
    served = tf.saved_model.load(str(path)).signatures["serving_default"](sequence=tf.constant(x))
    served = {name: value.numpy() for name, value in served.items() if name in outputs}
    _assert_same_outputs(served, outputs, COMPILED_ATOL, f"{label} exported as a SavedModel")


def check_model(model, x: np.ndarray | None = None, *, folder=None, export: bool = False,
                expected_outputs: dict | None = None, expected_parameters: int | None = None) -> PairReport:
    """Run every check of the module docstring on one built model.

    Args:
        model: a model of the zoo (:func:`dream_keras.build_model`) or any Keras model with one input
            named ``sequence`` and a dict of outputs (e.g. a bias-factorised model).
        x: the inputs to compare outputs on, ``(batch, input_length, channels)`` (default: 3 random
            one-hot rows of the model's input shape; a batch of 2 or more).
        folder: where the ``.keras`` file and the SavedModel are written (default: a temporary folder).
        export: also check the SavedModel export.
        expected_outputs: ``{output name: per-example shape}`` the model must have.
        expected_parameters: the parameter count the model must have.

    Returns:
        :class:`PairReport`.

    Raises:
        AssertionError: a check failed; the message names the model and what differs.
    """
    label = f"{getattr(model, 'backbone_name', model.name)} + {getattr(model, 'head_name', '?')}"
    if x is None:
        x = random_one_hot(3, *model.inputs[0].shape[1:])
    assert len(x) >= 2, "check_model needs a batch of 2 or more (the tf.data check predicts two batches)"
    with tempfile.TemporaryDirectory(prefix="dream-keras-checks-") as scratch:
        folder = pathlib.Path(folder) if folder is not None else pathlib.Path(scratch)
        folder.mkdir(parents=True, exist_ok=True)
        outputs = _check_build(model, x, label, expected_outputs)
        _check_json_round_trip(model, x, outputs, label)
        _check_keras_file(model, x, outputs, folder, label)
        _check_tf_data(model, x, outputs, label)
        if export:
            _check_saved_model(model, x, outputs, folder, label)
    parameters = int(model.count_params())
    if expected_parameters is not None:
        assert parameters == expected_parameters, f"{label}: {parameters:,} parameters, not {expected_parameters:,}"
    return PairReport(getattr(model, "backbone_name", None), getattr(model, "head_name", None), tuple(x.shape[1:]),
                      {name: tuple(t.shape[1:]) for name, t in model.output.items()}, parameters, bool(export))


def _per_part(value, name: str, default=None):
    """``value[name]`` for a dict (``default`` when absent), else ``value`` itself."""
    return value.get(name, default) if isinstance(value, dict) else (default if value is None else value)


def _wanted(export: bool | Iterable[str], name: str) -> bool:
    return export if isinstance(export, bool) else name in set(export)


def _run_pairs(pairs: list, *, vary: str, input_length, default_input_length, channels: int, options: dict,
               part_options: dict, export, expected_outputs, expected_parameters, folder, seed: int) -> dict:
    """Build and check each ``(backbone, head)`` of ``pairs``.

    ``vary`` (``"head"`` or ``"backbone"``) is the part that differs between them and keys the result and the
    per-part arguments.
    """
    from dream_keras.model import build_model
    from dream_keras.registry import IncompatibleHeadError

    reports, refused = {}, {}
    for backbone, head in pairs:
        varying = head if vary == "head" else backbone
        length = _per_part(input_length, varying, default_input_length)
        assert length is not None, f"{backbone} + {head}: give input_length (a number, or one per {varying!r})"
        try:
            model = build_model(backbone, head, input_length=length, channels=channels, **options,
                                **(part_options.get(varying) or {}))
        except IncompatibleHeadError as error:  # the one refusal a pair may answer with
            refused[varying] = str(error)
            continue
        x = random_one_hot(3, length, channels, seed)
        pair_folder = pathlib.Path(folder) / f"{backbone}_{head}" if folder is not None else None
        reports[varying] = check_model(model, x, folder=pair_folder, export=_wanted(export, varying),
                                       expected_outputs=_per_part(expected_outputs, varying),
                                       expected_parameters=_per_part(expected_parameters, varying))
    fixed = pairs[0][1] if vary == "backbone" else pairs[0][0]
    assert reports, f"no pair with {fixed!r} builds: {refused}"
    return CheckedPairs(reports, refused)


def run_backbone_test(backbone: str, *, backbone_options: dict | None = None, head_options: dict | None = None,
                      input_length: int | dict | None = None, default_input_length: int | None = None,
                      channels: int = 4, heads: Iterable[str] | None = None, export: bool | Iterable[str] = False,
                      expected_outputs: dict | None = None, expected_parameters: dict | None = None,
                      folder=None, seed: int = 0) -> CheckedPairs:
    """Check a registered backbone with every head it can feed (see the module docstring).

    Args:
        backbone: the backbone's registered name.
        backbone_options: its options (keep them small: the checks build and save every pair).
        head_options: ``{head: options}`` (e.g. ``{"profile_count": {"output_length": 16}}``).
        input_length: the input length, or ``{head: length}`` where a head needs longer features.
        default_input_length: the length of the heads ``input_length`` does not name.
        channels: input channels.
        heads: the heads to pair it with (default: every registered head).
        export: also check the SavedModel export: ``True`` for every pair, or the head names to export.
        expected_outputs: ``{head: {output: per-example shape}}`` to compare with.
        expected_parameters: ``{head: parameter count}`` to compare with.
        folder: where files are written (default: temporary folders).
        seed: of the random one-hot inputs.

    Returns:
        :class:`CheckedPairs`: ``{head: PairReport}`` for every head that builds on the backbone, and
        in ``.refused`` the heads that refused it with :class:`~dream_keras.IncompatibleHeadError`
        and why.

    Raises:
        AssertionError: a check failed, or no head builds.
    """
    from dream_keras.registry import get_backbone, list_heads

    get_backbone(backbone)  # KeyError names the registered ones
    names = list(heads) if heads is not None else list_heads()
    return _run_pairs([(backbone, head) for head in names], vary="head", input_length=input_length,
                      default_input_length=default_input_length, channels=channels,
                      options=dict(backbone_options or {}), part_options=dict(head_options or {}), export=export,
                      expected_outputs=expected_outputs, expected_parameters=expected_parameters, folder=folder,
                      seed=seed)


def run_head_test(head: str, *, head_options: dict | None = None, backbone_options: dict | None = None,
                  input_length: int | dict | None = None, default_input_length: int | None = None,
                  channels: int = 4, backbones: Iterable[str] | None = None, export: bool | Iterable[str] = False,
                  expected_outputs: dict | None = None, expected_parameters: dict | None = None,
                  folder=None, seed: int = 0) -> CheckedPairs:
    """Check a registered head after every backbone that can feed it (see the module docstring).

    The arguments mirror :func:`run_backbone_test` with the roles swapped: ``head_options`` are the
    head's, ``backbone_options``, ``input_length``, ``export``, ``expected_outputs`` and
    ``expected_parameters`` are keyed by backbone. Returns :class:`CheckedPairs` keyed by backbone.
    """
    from dream_keras.registry import get_head, list_backbones

    get_head(head)
    names = list(backbones) if backbones is not None else list_backbones()
    return _run_pairs([(backbone, head) for backbone in names], vary="backbone", input_length=input_length,
                      default_input_length=default_input_length, channels=channels,
                      options=dict(head_options or {}), part_options=dict(backbone_options or {}), export=export,
                      expected_outputs=expected_outputs, expected_parameters=expected_parameters, folder=folder,
                      seed=seed)


__all__ = ["COMPILED_ATOL", "CheckedPairs", "PairReport", "SAME_GRAPH_ATOL", "check_model", "random_one_hot",
           "run_backbone_test", "run_head_test"]
