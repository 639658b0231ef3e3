"""``build_model``: a backbone and a head, taken by name from the registries, as one Keras model."""

from __future__ import annotations

import contextlib

import keras

from dream_keras.registry import IncompatibleHeadError, get_backbone, get_head

# Options of the model itself: kept on the model, and also routed to the builders that declare them.
_MODEL_OPTIONS = {"alphabet", "input_length", "channels"}


def resolve_options(backbone: str, head: str | None, options: dict) -> tuple[str, dict, dict, dict]:
    """Split ``options`` between backbone and head, with defaults filled in.

    Returns ``(head_name, model_options, backbone_options, head_options)``. Precedence: explicit
    options, then the head's input defaults, then the backbone's defaults, then the head's own
    defaults. Each option goes to every builder that declares it; an option that neither builder declares is an
    error naming both parts.
    """
    bspec = get_backbone(backbone)
    head = head or bspec.default_head
    if head is None:
        raise ValueError(f"backbone {backbone!r} has no original head; pass head=... (one of the registered heads)")
    hspec = get_head(head)
    merged = {**hspec.defaults, **bspec.defaults, **hspec.input_defaults, **options}
    merged.setdefault("alphabet", bspec.alphabet)
    b_opts, h_opts, model_opts = {}, {}, {}
    for key, value in merged.items():
        if key in _MODEL_OPTIONS:
            model_opts[key] = value
        if key in bspec.options:
            b_opts[key] = value
        if key in hspec.options:
            h_opts[key] = value
        if key in options and key not in bspec.options | hspec.options | _MODEL_OPTIONS:
            raise TypeError(
                f"option {key!r} is understood by neither backbone {backbone!r} "
                f"(options: {sorted(bspec.options)}) nor head {head!r} (options: {sorted(hspec.options)})")
        # A default of one part that neither builder takes is simply not routed.
    return head, model_opts, b_opts, h_opts


def _feature_length(bspec, b_opts: dict, input_length: int, channels: int = 4) -> int | None:
    opts = dict(b_opts, input_length=input_length) if "input_length" in bspec.options else dict(b_opts)
    channels = b_opts.get("channels", channels)
    x = keras.Input((input_length, channels))
    try:
        return bspec.build(x, **opts).shape[1]
    except Exception:
        return None


def _smallest_input_length(bspec, b_opts: dict, min_feature_length: int, start: int,
                           channels: int = 4) -> int | None:
    """Smallest input length whose backbone features are at least ``min_feature_length`` long."""
    lo, hi = 1, max(start, 1)
    while (_feature_length(bspec, b_opts, hi, channels) or 0) < min_feature_length:
        lo, hi = hi, hi * 2
        if hi > 2 ** 22:
            return None
    while lo < hi:
        mid = (lo + hi) // 2
        if (_feature_length(bspec, b_opts, mid, channels) or 0) >= min_feature_length:
            hi = mid
        else:
            lo = mid + 1
    return hi


@contextlib.contextmanager
def _global_dtype_policy(policy):
    """Layers take the global dtype policy when they are made.

    ``policy`` is the global one inside (``None``: unchanged), the previous one again after.
    """
    if policy is None:
        yield
        return
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


@keras.saving.register_keras_serializable(package="dream_keras")
class SequenceModel(keras.Model):
    """A functional model: one input ``sequence`` -> backbone -> head -> dict of named outputs.

    Args:
        backbone: registered backbone name (``dream_cnn``, ``dream_rnn``, ``bpnet``, ...).
        head: registered head name; ``None`` takes the backbone's original head.
        name: model name; default ``"{backbone}_{head}"``.
        **options: ``input_length``, ``channels``, ``output_length``, ``num_tasks``/``task_names``,
            ``filters``, ``n_dil_layers``, ``alphabet`` and any other option a builder declares.

        dtype: a Keras dtype policy (``"mixed_bfloat16"``, ``"float32"``, a ``DTypePolicy``) for every
            layer; ``None`` takes the global policy at build time. A given one is kept in the config,
            so the model reloads with it whatever the global policy is then.
        trainable: ``False`` freezes every weight (kept in the config too).

    Inputs: ``sequence`` float ``(batch, input_length, channels)``.
    Outputs: a dict, e.g. ``{"profile": (batch, output_length), "logcounts": (batch, 1)}``.

    The config is plain data (names and numbers), so ``from_config`` rebuilds the same graph and a
    ``.keras`` file reloads with its weights.
    """

    def __init__(self, backbone: str, head: str | None = None, name: str | None = None, *, dtype=None,
                 trainable: bool = True, **options):
        policy = None if dtype is None else keras.dtype_policies.get(dtype)
        with _global_dtype_policy(policy):
            self._build_graph(backbone, head, name, options)
        self.dtype_policy_name = None if policy is None else policy.name
        self.trainable = bool(trainable)

    def _build_graph(self, backbone: str, head: str | None, name: str | None, options: dict) -> None:
        # Layers: resolve the parts and their options.
        head, model_opts, b_opts, h_opts = resolve_options(backbone, head, options)
        bspec, hspec = get_backbone(backbone), get_head(head)
        input_length = model_opts.get("input_length")
        channels = model_opts.setdefault("channels", 4)
        if input_length is None:
            raise ValueError(f"backbone {backbone!r} with head {head!r}: pass input_length=...")

        # Functional model.
        sequence = keras.Input((input_length, channels), name="sequence")
        features = bspec.build(sequence, **b_opts)
        try:
            outputs = hspec.build(features, **h_opts)
        except IncompatibleHeadError as err:
            hint = ""
            if err.min_feature_length is not None:
                smallest = _smallest_input_length(bspec, b_opts, err.min_feature_length, input_length,
                                                  channels)
                if smallest is not None:
                    hint = f"; the smallest input_length that would work is {smallest}"
            raise IncompatibleHeadError(
                f"head {head!r} cannot follow backbone {backbone!r} at input_length={input_length}: "
                f"the backbone gives features of length {features.shape[1]}, and {err}{hint}",
                err.min_feature_length) from None
        super().__init__(inputs=sequence, outputs=dict(outputs), name=name or f"{backbone}_{head}")

        # Config.
        self.backbone_name = backbone
        self.head_name = head
        self.alphabet = model_opts["alphabet"]
        self.input_length = input_length
        self.channels = channels
        self.model_options = {**b_opts, **h_opts, **model_opts}

    def get_config(self):
        """Backbone and head names, every option, and the dtype policy when one was given."""
        config = {"backbone": self.backbone_name, "head": self.head_name, "name": self.name, **self.model_options}
        if self.dtype_policy_name is not None:
            config["dtype"] = self.dtype_policy_name
        if not self.trainable:
            config["trainable"] = False
        return config

    @classmethod
    def from_config(cls, config):
        """The model, rebuilt from :meth:`get_config`'s output."""
        return cls(**config)


def build_model(backbone: str, head: str | None = None, **options) -> SequenceModel:
    """Build ``backbone`` + ``head`` as a functional Keras model (see :class:`SequenceModel`).

    >>> model = build_model("bpnet", filters=64, n_dil_layers=4)
    >>> sorted(model.output)  # doctest: +SKIP
    ['logcounts', 'profile']
    """
    return SequenceModel(backbone, head, **options)
