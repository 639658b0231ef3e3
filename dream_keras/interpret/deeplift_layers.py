"""Which DeepLIFT rule each Keras layer takes, and the layers that have none.

Every layer of the zoo's models is one of:

- *linear* (affine at inference): Conv1D / Dense and their fast variants (``GroupedConv1D``,
  ``FewFilterConv1D``) without activation, BatchNormalization (frozen statistics), Dropout and
  noise layers (off), Cropping, padding, Flatten, Reshape, average pooling, Add, Subtract,
  Average, Concatenate, ``SoftBinExpectation`` (a fixed weighted sum). Multipliers: the gradient.
- *element-wise nonlinear*: the activation of a Conv/Dense layer or an ``Activation``/``ReLU``/
  ``LeakyReLU``/``ELU`` layer (ReLU, sigmoid, softplus, SiLU, GELU, tanh, exp, ...): the rescale rule.
- *softmax* (MPRAnn's convolutions, DREAM's soft bins): DeepSHAP's softmax decomposition.
- *max pooling* (DeepSTARR, MPRAnn): DeepSHAP's max-pool rule.
- *two varying inputs*: ``Multiply`` (DREAM-CNN's squeeze-excitation gate) and the bias-factorised
  model's ``LogSumExp`` of two log-counts: the Shapley pair rule.
- a nested functional model (the parts of a bias-factorised model): its own layers, recursively.

Anything else has no rule here and is refused by name (:class:`NoDeepLiftRule`), e.g. DREAM-RNN's
LSTM, whose gates multiply states carried along the sequence, LayerNormalization (which divides by
a statistic of its own input) or a custom layer. See :mod:`dream_keras.interpret.deeplift_rules`
for the rules themselves.
"""

from __future__ import annotations

import keras

from dream_keras.interpret.deeplift_rules import Pair, PairRules

# Element-wise activations (keras.activations names) that take the rescale rule.
ELEMENTWISE_ACTIVATIONS = frozenset({
    "relu", "relu6", "leaky_relu", "elu", "selu", "celu", "gelu", "silu", "swish", "mish", "sigmoid",
    "hard_sigmoid", "hard_silu", "hard_swish", "log_sigmoid", "softplus", "softsign", "tanh", "exponential",
})
_LINEAR_LAYERS = (
    keras.layers.BatchNormalization, keras.layers.Dropout, keras.layers.SpatialDropout1D,
    keras.layers.GaussianNoise, keras.layers.GaussianDropout, keras.layers.AlphaDropout,
    keras.layers.Cropping1D, keras.layers.Cropping2D, keras.layers.ZeroPadding1D, keras.layers.ZeroPadding2D,
    keras.layers.Flatten, keras.layers.Reshape, keras.layers.Permute, keras.layers.RepeatVector,
    keras.layers.UpSampling1D, keras.layers.AveragePooling1D, keras.layers.AveragePooling2D,
    keras.layers.GlobalAveragePooling1D, keras.layers.GlobalAveragePooling2D, keras.layers.Add,
    keras.layers.Subtract, keras.layers.Average, keras.layers.Concatenate, keras.layers.Identity,
)
# Layers with a kernel: an affine map, then their ``activation``.
_KERNEL_LAYERS = (keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Dense, keras.layers.EinsumDense,
                  keras.layers.DepthwiseConv1D, keras.layers.SeparableConv1D)
_ELEMENTWISE_LAYERS = (keras.layers.ReLU, keras.layers.LeakyReLU, keras.layers.ELU)
_MAX_POOLS = (keras.layers.MaxPooling1D, keras.layers.MaxPooling2D, keras.layers.GlobalMaxPooling1D,
              keras.layers.GlobalMaxPooling2D)
_RECURRENT = (keras.layers.RNN, keras.layers.Bidirectional, keras.layers.LSTM, keras.layers.GRU,
              keras.layers.SimpleRNN)
# This project's layers, by registered name (the bias-factorised model's layer lives in bias_models,
# which the core does not import).
_PROJECT_LINEAR = {"dream_keras>SoftBinExpectation"}
_PROJECT_PAIRWISE = {"dream_keras>LogSumExp"}
OTHER_METHODS = "--method integrated_gradients or gradient_x_input (method='integrated_gradients' in Python)"


class NoDeepLiftRule(ValueError):
    """A layer of the model has no DeepLIFT rule here.

    Attributes:
        layer_name: the layer's name. layer_class: its class name. reason: why it has none.
    """

    def __init__(self, layer, reason: str):
        self.layer_name = layer.name
        self.layer_class = type(layer).__name__
        self.reason = reason
        super().__init__(f"layer {layer.name!r} ({self.layer_class}) has no DeepLIFT rule: {reason}")


def is_functional(layer) -> bool:
    """A functional Keras model (its layers can be walked; a subclassed model's cannot)."""
    from keras.src.models.functional import Functional  # private: the class every graph model is

    return isinstance(layer, Functional)


def _activation_name(activation) -> str:
    try:
        name = keras.activations.serialize(activation)
    except (ValueError, TypeError):
        name = None
    return name if isinstance(name, str) else getattr(activation, "__name__", repr(activation))


def _check_two_inputs(layer, inputs) -> None:
    if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
        count = len(inputs) if isinstance(inputs, (list, tuple)) else 1
        raise NoDeepLiftRule(layer, f"it combines {count} inputs; the Shapley rule here takes two")


def _check_softmax_axis(layer, shape) -> None:
    axis = layer.axis if isinstance(layer.axis, int) else tuple(layer.axis)
    if axis not in (-1, len(shape) - 1, (-1,), (len(shape) - 1,)):
        raise NoDeepLiftRule(layer, f"a softmax over axis {layer.axis}; the softmax rule here takes the last axis")


def _check_activation(layer, activation) -> str:
    name = _activation_name(activation)
    if name != "linear" and name != "softmax" and name not in ELEMENTWISE_ACTIVATIONS:
        raise NoDeepLiftRule(layer, f"its activation {name!r} is not element-wise (no rescale rule) nor softmax")
    return name


def check_layer(layer) -> None:
    """Raise :class:`NoDeepLiftRule` if ``layer`` (or a layer inside it) has no rule."""
    if is_functional(layer):
        for inner in layer.layers:
            check_layer(inner)
        return
    if isinstance(layer, keras.layers.InputLayer) or isinstance(layer, _LINEAR_LAYERS + _MAX_POOLS):
        return
    registered = keras.saving.get_registered_name(type(layer))
    if registered in _PROJECT_LINEAR:
        return
    if registered in _PROJECT_PAIRWISE or isinstance(layer, keras.layers.Multiply):
        _check_two_inputs(layer, layer.input)
        return
    if isinstance(layer, _KERNEL_LAYERS) or isinstance(layer, keras.layers.Activation):
        _check_activation(layer, layer.activation)
        return
    if isinstance(layer, keras.layers.Softmax):
        _check_softmax_axis(layer, layer.input.shape)
        return
    if isinstance(layer, _ELEMENTWISE_LAYERS):
        return
    if isinstance(layer, _RECURRENT):
        raise NoDeepLiftRule(layer, "a recurrent layer multiplies gates and states carried along the sequence; "
                                    "DeepLIFT's rescale rule covers element-wise functions only")
    if isinstance(layer, keras.Model):
        raise NoDeepLiftRule(layer, "a subclassed model, whose layers cannot be walked")
    raise NoDeepLiftRule(layer, "not a layer type with a known rule (linear, element-wise, softmax, max pool, "
                                "product)")


class _LinearActivation:
    """Within ``with``: ``layer.activation`` is the identity, so calling the layer gives its affine part."""

    def __init__(self, layer):
        self.layer = layer

    def __enter__(self):
        self.saved = self.layer.activation
        self.layer.activation = keras.activations.linear
        return self.layer

    def __exit__(self, *exc):
        self.layer.activation = self.saved


def _apply_activation(rules: PairRules, layer, activation, pair: Pair) -> Pair:
    name = _check_activation(layer, activation)
    if name == "linear":
        return pair
    if name == "softmax":
        return rules.softmax(pair)
    return rules.rescale(activation, pair)


def apply_layer(rules: PairRules, layer, args: tuple, kwargs: dict):
    """``layer(*args, **kwargs)`` on :class:`Pair` streams, with DeepLIFT's rule for the layer.

    Raises:
        NoDeepLiftRule: the layer has none (see :func:`check_layer`).
    """
    kwargs = {key: value for key, value in kwargs.items() if key != "training"}
    if is_functional(layer):
        return run_pair_graph(rules, layer, args[0])
    registered = keras.saving.get_registered_name(type(layer))

    def call(*streams):
        return layer(*streams, training=False, **kwargs)

    if isinstance(layer, _LINEAR_LAYERS) or registered in _PROJECT_LINEAR:
        return rules.linear(call, *args)
    if isinstance(layer, _MAX_POOLS):
        return rules.max_pool(lambda values: layer(values, training=False), args[0])
    if isinstance(layer, keras.layers.Multiply) or registered in _PROJECT_PAIRWISE:
        inputs = args[0]
        _check_two_inputs(layer, inputs)
        if isinstance(layer, keras.layers.Multiply):
            return rules.product(inputs[0], inputs[1])
        return rules.shapley_pair(lambda a, b: layer([a, b], training=False), inputs[0], inputs[1])
    if isinstance(layer, _KERNEL_LAYERS):
        _check_activation(layer, layer.activation)
        activation = layer.activation
        with _LinearActivation(layer):
            affine = rules.linear(call, *args)
        return _apply_activation(rules, layer, activation, affine)
    if isinstance(layer, keras.layers.Activation):
        return _apply_activation(rules, layer, layer.activation, args[0])
    if isinstance(layer, _ELEMENTWISE_LAYERS):
        return rules.rescale(lambda values: layer(values, training=False), args[0])
    if isinstance(layer, keras.layers.Softmax):
        _check_softmax_axis(layer, args[0].x.shape)
        return rules.softmax(args[0])
    check_layer(layer)  # raises with the reason
    raise NoDeepLiftRule(layer, "no rule")


def run_pair_graph(rules: PairRules, model, inputs: Pair):
    """Run a functional ``model`` on :class:`Pair` streams, each layer by its rule.

    Returns:
        the model's outputs (its structure: a dict for this project's models) with a Pair per tensor.
    """
    # Functional._run_through_graph (private): Keras's own graph walk, with each layer replaced by
    # its rule; Pair objects are leaves of Keras's tree utilities, so they travel as tensors do.
    return model._run_through_graph(inputs, operation_fn=lambda layer: (
        lambda *args, **kwargs: apply_layer(rules, layer, args, kwargs)))
