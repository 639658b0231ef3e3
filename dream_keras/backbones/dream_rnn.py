"""DREAM-RNN (Prix Fixe): the BHI first block followed by the BHI Bi-LSTM core.

Core: Bidirectional LSTM (``lstm_units`` per direction, outputs concatenated forward then
backward) -> parallel Conv1D kernels 9 and 15 (``core_filters // 2`` each, ``same``, ReLU,
dropout 0.2) concatenated -> dropout 0.5. Keras's LSTM has one bias vector per gate where
PyTorch's has two, so it has ``8 * lstm_units`` fewer parameters per direction (4,128,018 instead of
4,130,578 for the published model with the soft-bin head). Initialisation follows PyTorch's
defaults (:mod:`dream_keras.layers.torch_init`); Keras's forget-gate bias of 1 is switched off.

Under a mixed dtype policy (``--precision mixed_bfloat16|mixed_float16``) the Bi-LSTM alone computes
in float32: its state is carried through every position of the sequence, where half-precision
rounding would add up, and JAX's cuDNN LSTM has no bfloat16 kernel. The convolutions around it
take the mixed policy.
"""

from __future__ import annotations

import keras

from dream_keras.backbones.bhi_blocks import BHI_KERNEL_SIZES, bhi_first_block, parallel_conv_block
from dream_keras.layers import torch_lstm_uniform
from dream_keras.registry import register_backbone

FIRST_FILTERS = 320
LSTM_UNITS = 320
CORE_FILTERS = 320


@register_backbone(
    "dream_rnn", default_head="soft_bins", alphabet="AGCT", head_per_task=True,
    defaults={"input_length": 150, "channels": 6, "first_filters": FIRST_FILTERS, "lstm_units": LSTM_UNITS,
              "core_filters": CORE_FILTERS})
def dream_rnn(x, first_filters: int = FIRST_FILTERS, lstm_units: int = LSTM_UNITS,
              core_filters: int = CORE_FILTERS):
    """DREAM-RNN backbone.

    Args:
        x: one-hot sequence ``(batch, length, channels)``.
        first_filters: channels out of the first block.
        lstm_units: LSTM units per direction (the LSTM outputs ``2 * lstm_units`` channels).
        core_filters: channels out of the core's parallel convolutions.

    Returns:
        features ``(batch, length, core_filters)``.
    """
    x = bhi_first_block(x, int(first_filters))
    init = torch_lstm_uniform(int(lstm_units))
    # Named, so that weight paths (core_bilstm/forward_lstm/...) do not depend on what was built before.
    lstm = keras.layers.LSTM(int(lstm_units), return_sequences=True, kernel_initializer=init,
                             recurrent_initializer=init, bias_initializer=init, unit_forget_bias=False,
                             name="lstm", **_recurrent_dtype())
    x = keras.layers.Bidirectional(lstm, merge_mode="concat", name="core_bilstm", **_recurrent_dtype())(x)
    x = parallel_conv_block(x, int(core_filters), BHI_KERNEL_SIZES, dropout=0.2, name="core")
    return keras.layers.Dropout(0.5, name="core_dropout")(x)


def _recurrent_dtype() -> dict:
    """``{"dtype": "float32"}`` under a mixed dtype policy (see the module docstring), else nothing."""
    policy = keras.config.dtype_policy()
    return {"dtype": "float32"} if policy.compute_dtype != policy.variable_dtype else {}
