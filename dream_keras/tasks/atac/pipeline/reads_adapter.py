"""The pipeline's one call into the reads-to-bigWig code.

The pipeline's one call into the reads-to-bigWig code (``data_prep.reads.reads_to_bigwig``, the code of ``dream-keras
prep bigwig``), with its summary made plain values for the stage record.
"""

from __future__ import annotations

import dataclasses
import pathlib


def _plain(value):
    """A JSON-ready copy of what ``reads_to_bigwig`` returned (a dataclass, a mapping or nothing)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        value = dataclasses.asdict(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return str(value)


def make_bigwig_from_reads(params, out: pathlib.Path) -> dict:
    """Write ``out`` (per-base insertion counts, the assay's shift applied) from ``params.reads``.

    Args:
        params: :class:`~dream_keras.tasks.atac.pipeline.parameters.PipelineParameters` with ``reads``,
            ``reads_format`` (``bam``, ``fragments`` or ``tagalign``), ``data_type``, ``genome``
            and optionally ``plus_shift`` / ``minus_shift``.
        out: the bigWig to write.

    Returns:
        The summary that ``reads_to_bigwig`` returned, as plain values (``{}`` when it returned none).
    """
    from data_prep.reads import reads_to_bigwig

    summary = reads_to_bigwig(genome=params.genome, out=str(out), data_type=params.data_type,
                              plus_shift=params.plus_shift, minus_shift=params.minus_shift,
                              **{params.reads_format: params.reads})
    return _plain(summary) or {}
