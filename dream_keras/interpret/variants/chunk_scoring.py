"""The run's work split into chunks, chromosome by chromosome, and the scoring of one chunk.

:func:`plan_chunks` cuts the variants, the shuffled variants and the peaks into chunks of at most
``chunk_size`` rows of one chromosome, chromosome by chromosome (in the order the variant list
first names them), so that one pass over the genome reads each chromosome once. The plan depends
only on the inputs and the parameters, so a resumed run finds the same chunks.
:func:`score_variant_chunk` and :func:`score_peak_chunk` turn a chunk into the arrays stored for it
(:mod:`.chunk_store`): the score columns that need neither the peaks nor the shuffles, per model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from dream_keras.interpret.variants.allele_predictions import AllelePredictor
from dream_keras.interpret.variants.chunk_store import model_key
from dream_keras.interpret.variants.peak_scores import peak_windows
from dream_keras.interpret.variants.scores import profile_count_scores, scalar_output_scores
from dream_keras.interpret.variants.windows import allele_windows, segment_starts

#: the profile arrays kept for the HDF5 file (``--hdf5``), per model
PROFILE_KEYS = ("allele1_pred_profiles", "allele2_pred_profiles")


@dataclasses.dataclass(frozen=True)
class Chunk:
    """Rows ``rows`` (indices into the table of its ``kind``) on chromosome ``chrom``."""

    kind: str
    index: int
    chrom: str
    rows: np.ndarray


def plan_chunks(tables: dict[str, pd.DataFrame], chunk_size: int) -> list[Chunk]:
    """Chunks of ``{"peaks": ..., "shuffled": ..., "variants": ...}`` (each with a ``chr`` column).

    Chromosomes come in the order the variants first name them (then those only peaks are on);
    on each chromosome, peaks first, then shuffled variants, then variants.
    """
    order = list(pd.unique(tables["variants"]["chr"]))
    for table in tables.values():
        order += [c for c in pd.unique(table["chr"]) if c not in order]
    by_chrom = {kind: table.groupby("chr", sort=False).indices for kind, table in tables.items()}
    counters = dict.fromkeys(tables, 0)
    chunks = []
    for chrom in order:
        for kind in tables:
            rows = np.asarray(by_chrom[kind].get(chrom, []), dtype=np.int64)
            for start in range(0, len(rows), chunk_size):
                chunks.append(Chunk(kind, counters[kind], chrom, rows[start:start + chunk_size]))
                counters[kind] += 1
    return chunks


def score_variant_chunk(predictor: AllelePredictor, bases: np.ndarray, rows: pd.DataFrame, *,
                        shuffle_seeds=None, keep_profiles: bool = False) -> dict[str, np.ndarray]:
    """Score variants of one chromosome: ``{"<column>@<model>": (n,)}`` (and profiles with ``keep_profiles``).

    Args:
        predictor: the models.
        bases: the chromosome.
        rows: ``pos``, ``allele1``, ``allele2`` of the variants.
        shuffle_seeds: one seed per row for shuffled variants, else ``None``.
        keep_profiles: keep the strand-mean profile logits (float32) for the HDF5 file.
    """
    allele1, allele2 = rows["allele1"].tolist(), rows["allele2"].tolist()
    windows1, windows2 = allele_windows(bases, rows["pos"].to_numpy(), allele1, allele2,
                                        predictor.kind.input_length, shuffle_seeds)
    lengths1 = np.array([len(a) for a in allele1])
    lengths2 = np.array([len(a) for a in allele2])
    arrays = {}
    snv = (lengths1 == 1) & (lengths2 == 1)
    # genome windows of nearby SNVs share one region of the chromosome; shuffled ones are each their own
    regions = {} if shuffle_seeds is not None else {
        "bases": bases, "window_starts": segment_starts(rows["pos"].to_numpy(), predictor.kind.input_length)}
    for model, predicted in enumerate(predictor.predict_pairs(windows1, windows2, snv, **regions)):
        if predictor.kind.profile_count:
            columns = profile_count_scores(predicted, lengths1, lengths2)
        else:
            columns = scalar_output_scores(predicted)
        arrays.update({model_key(name, model): value for name, value in columns.items()})
        if keep_profiles and predictor.kind.profile_count:
            for key, logits in zip(PROFILE_KEYS, predicted["logits"]):
                arrays[model_key(key, model)] = logits.astype(np.float32)
    return arrays


def score_peak_chunk(predictor: AllelePredictor, bases: np.ndarray, rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """``{"peak_score@<model>": (n,)}``: the strand mean of ``exp(logcounts)`` of each peak's window."""
    windows = peak_windows(bases, rows["start"].to_numpy(), rows["summit"].to_numpy(), predictor.kind.input_length)
    return {model_key("peak_score", model): predicted["counts"][0]
            for model, predicted in enumerate(predictor.predict(windows))}


__all__ = ["Chunk", "PROFILE_KEYS", "plan_chunks", "score_peak_chunk", "score_variant_chunk"]
