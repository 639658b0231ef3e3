"""Name -> builder registries for backbones and heads.

A *backbone* builder takes the symbolic one-hot input ``(batch, length, channels)`` and returns a
feature tensor ``(batch, length', width)``. A *head* builder takes that feature tensor and returns a
dict of named output tensors. Both are plain functions whose keyword arguments are the options they
understand; :func:`dream_keras.build_model` hands each builder only the options it declares.

The built-in parts register in-package: the DREAM backbones and every head of ``dream_keras``, and
the baselines (``bpnet``, ``deepstarr``, ``mprann``) and the bias-factorised model, which
:func:`_load_builtin` imports on the first look-up, also in a checkout that is not pip-installed.
Third-party packages register through the ``dream_keras.backbones``, ``dream_keras.heads`` and
``dream_keras.models`` entry-point groups: the entry point names a module (importing it runs its
``@register_*`` decorators) or a builder function (registered under the entry point's name).

Per-backbone policy lives on the registry entry (:class:`BackboneSpec`), so that a plug-in backbone
states it too: its original head, the table-task recipe family, whether the table task chooses its
head, and the options of its official bias model.
"""

from __future__ import annotations

import dataclasses
import importlib.metadata
import inspect
from typing import Callable


@dataclasses.dataclass(frozen=True)
class BackboneSpec:
    """A registered backbone.

    name: registry name. build: ``build(x, **options) -> features``. default_head: the head of the
    original publication (used when ``build_model(head=None)``). defaults: option defaults of the
    original model (``input_length``, ``channels``, ...). alphabet: one-hot channel order the
    original model was trained with. recipe: the table-task training recipe of the model's
    publication (``dream``, ``deepstarr``, ``mprann``: ``dream_keras.training.recipes.RECIPES``).
    head_per_task: on a sequence-table task the backbone takes that task's DREAM head (``soft_bins``
    for yeast, ``regression`` otherwise) instead of ``default_head`` (the DREAM backbones, whose
    own head is the yeast one). bias_defaults: the options of the backbone's official bias model
    (``dream-keras bias train``), e.g. BPNet's 128 filters and 4 layers.
    """

    name: str
    build: Callable
    default_head: str | None = None
    defaults: dict = dataclasses.field(default_factory=dict)
    alphabet: str = "ACGT"
    recipe: str = "dream"
    head_per_task: bool = False
    bias_defaults: dict = dataclasses.field(default_factory=dict)

    @property
    def options(self) -> set[str]:
        """The keyword arguments the builder takes."""
        return _keyword_names(self.build)


@dataclasses.dataclass(frozen=True)
class HeadSpec:
    """A registered head.

    input_defaults: input options (``input_length``, ``channels``) a model with this head uses
    unless the caller sets them, e.g. 2114 x 4 for ``profile_count``. defaults: the head's own option
    defaults.
    """

    name: str
    build: Callable
    defaults: dict = dataclasses.field(default_factory=dict)
    input_defaults: dict = dataclasses.field(default_factory=dict)

    @property
    def options(self) -> set[str]:
        """The keyword arguments the builder takes."""
        return _keyword_names(self.build)


class IncompatibleHeadError(ValueError):
    """Raised by a head builder when the backbone's features cannot feed it.

    ``min_feature_length`` (when the problem is the feature length) lets ``build_model`` work out
    the smallest input length that would work.
    """

    def __init__(self, message: str, min_feature_length: int | None = None):
        super().__init__(message)
        self.min_feature_length = min_feature_length


_BACKBONES: dict[str, BackboneSpec] = {}
_HEADS: dict[str, HeadSpec] = {}
_ENTRY_POINTS_LOADED: set[str] = set()


def _keyword_names(fn: Callable) -> set[str]:
    params = inspect.signature(fn).parameters.values()
    return {p.name for p in params if p.kind in (p.KEYWORD_ONLY, p.POSITIONAL_OR_KEYWORD)} - {"x", "features"}


def register_backbone(name: str, *, default_head: str | None = None, defaults: dict | None = None,
                      alphabet: str = "ACGT", recipe: str = "dream", head_per_task: bool = False,
                      bias_defaults: dict | None = None):
    """Decorator registering a backbone builder under ``name``.

    Decorator registering ``fn(x, **options) -> features`` as backbone ``name`` (the keywords are the fields of
    :class:`BackboneSpec`).
    """

    def decorate(fn: Callable) -> Callable:
        _BACKBONES[name] = BackboneSpec(name, fn, default_head, dict(defaults or {}), alphabet, recipe,
                                        bool(head_per_task), dict(bias_defaults or {}))
        return fn

    return decorate


def register_head(name: str, *, defaults: dict | None = None, input_defaults: dict | None = None):
    """Decorator registering ``fn(features, **options) -> {output_name: tensor}`` as head ``name``."""

    def decorate(fn: Callable) -> Callable:
        _HEADS[name] = HeadSpec(name, fn, dict(defaults or {}), dict(input_defaults or {}))
        return fn

    return decorate


def _load_entry_points(group: str, table: dict, spec_factory: Callable) -> None:
    if group in _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED.add(group)
    for ep in importlib.metadata.entry_points(group=group):
        try:
            obj = ep.load()
        except Exception as err:  # a broken plug-in must not break the zoo
            import warnings

            warnings.warn(f"dream_keras: could not load entry point {ep.name!r} = {ep.value!r} "
                          f"from group {group!r}: {err}", stacklevel=2)
            continue
        if ep.name not in table and callable(obj) and not inspect.ismodule(obj):
            table[ep.name] = spec_factory(ep.name, obj)


def _load_builtin() -> None:
    # The built-in parts register on import of these modules (no entry point needed).
    import baselines  # noqa: F401
    from dream_keras import backbones as _b  # noqa: F401


def _look_up(kind: str, name: str, table: dict, spec_factory: Callable):
    """The registered ``kind`` (``backbone``/``head``) ``name``: built in, or from its entry-point group."""
    _load_builtin()
    if name not in table:
        _load_entry_points(f"dream_keras.{kind}s", table, spec_factory)
    if name not in table:
        raise KeyError(f"unknown {kind} {name!r}; registered {kind}s: {', '.join(sorted(table))}")
    return table[name]


def get_backbone(name: str) -> BackboneSpec:
    """The registered backbone ``name`` (:class:`BackboneSpec`).

    Raises:
        KeyError: no backbone of that name; the message lists the registered ones.
    """
    return _look_up("backbone", name, _BACKBONES, BackboneSpec)


def get_head(name: str) -> HeadSpec:
    """The registered head ``name`` (:class:`HeadSpec`).

    Raises:
        KeyError: no head of that name; the message lists the registered ones.
    """
    return _look_up("head", name, _HEADS, HeadSpec)


def load_plugins() -> None:
    """Import every plug-in.

    The backbones, heads and model classes other packages register through the ``dream_keras.backbones``,
    ``dream_keras.heads`` and ``dream_keras.models`` entry points (so that a ``.keras`` file naming their classes
    loads).
    """
    list_backbones()
    list_heads()
    import bias_models.factorised  # noqa: F401  (the built-in bias-factorised model class)

    _load_entry_points("dream_keras.models", {}, lambda n, f: None)


def list_backbones() -> list[str]:
    """Names of every registered backbone (built-in and from entry points), sorted."""
    _load_builtin()
    _load_entry_points("dream_keras.backbones", _BACKBONES, lambda n, f: BackboneSpec(n, f))
    return sorted(_BACKBONES)


def list_heads() -> list[str]:
    """Names of every registered head (built-in and from entry points), sorted."""
    _load_builtin()
    _load_entry_points("dream_keras.heads", _HEADS, lambda n, f: HeadSpec(n, f))
    return sorted(_HEADS)
