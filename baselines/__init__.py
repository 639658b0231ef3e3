"""The published baselines: DeepSTARR, MPRAnn and ChromBPNet (BPNet tower, official .h5 import).

Importing the package registers its backbones and heads (they also load through the
``dream_keras.backbones`` / ``dream_keras.heads`` entry points when only ``dream_keras`` is imported).
"""

from baselines import bpnet, deepstarr, mprann  # noqa: F401  (registration)
