"""dream-keras: the DREAM Challenge models and their baselines as Keras 3 parts that plug together."""

__version__ = "0.1.0"

import os as _os

# TensorFlow's C++ start-up chatter hides our own messages; users can still set their own level.
_os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from dream_keras.registry import (  # noqa: E402
    IncompatibleHeadError,
    list_backbones,
    list_heads,
    register_backbone,
    register_head,
)
from dream_keras.model import SequenceModel, build_model  # noqa: E402

__all__ = [
    "__version__",
    "build_model",
    "SequenceModel",
    "list_backbones",
    "list_heads",
    "register_backbone",
    "register_head",
    "IncompatibleHeadError",
]
