"""Aligned reads (BAM, fragments, tagAlign) to the official ChromBPNet per-base bigWig. Keras-free."""

from data_prep.reads.convert import ReadsSummary, open_reads, reads_to_bigwig, shift_delta
from data_prep.reads.shift_estimation import ShiftEstimate, estimate_shift

__all__ = ["ReadsSummary", "ShiftEstimate", "estimate_shift", "open_reads", "reads_to_bigwig", "shift_delta"]
