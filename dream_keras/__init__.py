"""dream-keras: the DREAM Challenge models and their baselines as Keras 3 parts that plug together."""

__version__ = "0.1.0"

from dream_keras.startup import import_backend_quietly

# Keras is imported here (the model classes must be registered before any .keras file loads);
# TensorFlow's C++ start-up lines are kept off the terminal while it is.
import_backend_quietly()

from dream_keras.registry import (  # noqa: E402
    IncompatibleHeadError,
    list_backbones,
    list_heads,
    load_plugins,
    register_backbone,
    register_head,
)
from dream_keras.model import SequenceModel, build_model  # noqa: E402
from dream_keras.saving import load_model  # noqa: E402

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
