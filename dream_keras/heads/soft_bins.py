"""The DREAM Challenge's soft-bin head (Prix Fixe Autosome final block).

1x1 conv to 18 bins -> global average pool -> softmax gives the bin probabilities; the expression
estimate is the expected bin index. Initialised as the Autosome code does. A model with this head
defaults to the DREAM yeast input (150 x 6: one-hot AGCT plus the reverse-complement and singleton
flags).
"""

from __future__ import annotations

import keras

from dream_keras.layers import SoftBinExpectation, autosome_conv_kernel
from dream_keras.registry import register_head

NUM_BINS = 18  # the DREAM yeast expression bins 0..17


@register_head("soft_bins", input_defaults={"input_length": 150, "channels": 6, "alphabet": "AGCT"})
def soft_bins(features):
    """Bin probabilities and expected bin.

    Args:
        features: ``(batch, length, width)``, any length.

    Returns:
        ``{"bins": (batch, 18) softmax probabilities, "expression": (batch, 1) expectation of the
        bin index 0..17}``.
    """
    logits = keras.layers.Conv1D(NUM_BINS, 1, padding="same", kernel_initializer=autosome_conv_kernel(),
                                 name="soft_bins_mapper")(features)
    logits = keras.layers.GlobalAveragePooling1D(name="soft_bins_mean")(logits)
    bins = keras.layers.Softmax(axis=-1, name="bins")(logits)
    expression = SoftBinExpectation(name="expression")(bins)
    return {"bins": bins, "expression": expression}
