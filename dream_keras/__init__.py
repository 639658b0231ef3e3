"""dream-keras: the DREAM Challenge models and their baselines as Keras 3 parts that plug together.

Importing ``dream_keras`` does not import Keras: the public names below load on first use (PEP 562),
so that ``dream-keras --help`` and the Keras-free commands answer without TensorFlow's start-up.
The first use imports Keras with TensorFlow's C++ start-up lines kept off the terminal
(:func:`dream_keras.startup.import_backend_quietly`) and registers the model classes, so that
``.keras`` files load. When Keras is imported already, they are registered at once.
"""

import importlib
import sys

__version__ = "0.1.0"
"""The package version."""

#: public name -> the module that defines it (imported on first use)
_PUBLIC = {
    "build_model": "dream_keras.model",
    "SequenceModel": "dream_keras.model",
    "load_model": "dream_keras.saving",
    "list_backbones": "dream_keras.registry",
    "list_heads": "dream_keras.registry",
    "load_plugins": "dream_keras.registry",
    "register_backbone": "dream_keras.registry",
    "register_head": "dream_keras.registry",
    "IncompatibleHeadError": "dream_keras.registry",
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'dream_keras' has no attribute {name!r}")
    from dream_keras.startup import import_backend_quietly

    import_backend_quietly()
    value = getattr(importlib.import_module(_PUBLIC[name]), name)
    globals()[name] = value  # later look-ups skip __getattr__
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))


if "keras" in sys.modules:  # Keras is loaded already: register the model classes now, at no cost
    importlib.import_module("dream_keras.model")
