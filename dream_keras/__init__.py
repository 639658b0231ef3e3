"""dream-keras: the DREAM Challenge models and their baselines as Keras 3 parts that plug together.

The package imports Keras (and TensorFlow) only when a model-related name is first used, so the
command line starts quickly and ``dream-keras --help`` needs no TensorFlow start-up.
"""

__version__ = "0.1.0"

from dream_keras.registry import (  # noqa: E402
    IncompatibleHeadError,
    list_backbones,
    list_heads,
    load_plugins,
    register_backbone,
    register_head,
)
from dream_keras.startup import import_backend_quietly  # noqa: E402

_LAZY = {
    "build_model": ("dream_keras.model", "build_model"),
    "SequenceModel": ("dream_keras.model", "SequenceModel"),
    "load_model": ("dream_keras.saving", "load_model"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        import_backend_quietly()
        module, attribute = _LAZY[name]
        value = getattr(importlib.import_module(module), attribute)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'dream_keras' has no attribute {name!r}")


__all__ = [
    "__version__",
    "build_model",
    "SequenceModel",
    "load_model",
    "list_backbones",
    "list_heads",
    "load_plugins",
    "register_backbone",
    "register_head",
    "IncompatibleHeadError",
]
