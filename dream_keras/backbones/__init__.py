"""The DREAM backbones (Prix Fixe): DREAM-CNN and DREAM-RNN.

Importing this package registers them (``dream_cnn``, ``dream_rnn``) with :mod:`dream_keras.registry`.
"""

from dream_keras.backbones import dream_cnn, dream_rnn  # noqa: F401  (registration on import)
