"""Predictions of profile/count models over regions: arrays, a bigWig track and an HDF5 file.

- :func:`load_profile_count_models` reads ``.keras`` files (any backbone with the ``profile_count``
  head, bias-factorised or not; ``no_bias=True`` keeps only the bias-free part of factorised ones).
- :func:`predict_profile_count` runs one model over one-hot sequences in batches.
- :func:`predict_regions` predicts regions of a BED/narrowPeak file with one model or the average of
  several (fold models): profile probabilities ``softmax(profile)`` are averaged, and counts
  ``exp(logcounts)`` are averaged (the averaged log-counts are the log of the averaged counts).
- :func:`write_prediction_bigwig` writes the predicted per-base counts
  ``softmax(profile) x exp(logcounts)`` over each region's centred output window. Where output
  windows of several regions overlap, each base gets the mean of the predictions covering it.
- :func:`write_prediction_h5` writes the probabilities and log-counts with their coordinates.
"""

from __future__ import annotations

import dataclasses
import os
import pathlib

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from data_prep import extract_windows, read_regions
from data_prep.errors import InputError
from data_prep.genome import genome_sizes, opened_genome
from data_prep.outputs import atomic_path, run_isolated

#: Regions extracted and predicted at once (bounds the memory of one-hot sequences).
CHUNK_REGIONS = 4096


def load_profile_count_model(path: str | os.PathLike, *, no_bias: bool = False):
    """Load a ``.keras`` model with outputs ``profile`` and ``logcounts``.

    ``no_bias=True`` returns the bias-free part of a bias-factorised model (a model without a bias
    part is returned as it is). Raises :class:`InputError` for a missing file, a file Keras cannot
    read, or a model without the two outputs.
    """
    from dream_keras.saving import load_model

    path = pathlib.Path(path)
    model = load_model(path, fix="give a .keras file written by `dream-keras train` (e.g. RUN/models/model.keras) "
                                 "or converted by `dream-keras import-chrombpnet`")
    outputs = model.output if isinstance(model.output, dict) else {}
    if not {"profile", "logcounts"} <= set(outputs):
        raise InputError(f"model {path} has outputs {sorted(outputs) or 'that are not named'}, not 'profile' and "
                         "'logcounts'; predict needs a model with the profile_count head")
    if no_bias and hasattr(model, "nobias_model"):
        from bias_models.factorised import without_bias

        model = without_bias(model)
    return model


def model_lengths(model) -> tuple[int, int]:
    """``(input_length, output_length)`` of a profile/count model."""
    return int(model.inputs[0].shape[1]), int(model.output["profile"].shape[1])


def load_profile_count_models(paths, *, no_bias: bool = False) -> list:
    """Load several models (:func:`load_profile_count_model`); they must share input and output lengths."""
    models = [load_profile_count_model(path, no_bias=no_bias) for path in paths]
    if not models:
        raise InputError("no model given; pass --model MODEL.keras [MORE.keras ...]")
    first = model_lengths(models[0])
    for path, model in zip(paths, models):
        if model_lengths(model) != first:
            raise InputError(f"model {path} takes {model_lengths(model)[0]} bp and predicts {model_lengths(model)[1]} "
                             f"bp, but {paths[0]} takes {first[0]} bp and predicts {first[1]} bp; averaged models "
                             "must have the same input and output lengths")
    return models


def predict_profile_count(model, sequences: np.ndarray, *, batch_size: int = 64, progress: bool | None = None,
                          desc: str = "predicting") -> tuple[np.ndarray, np.ndarray]:
    """Profile logits float32 ``(n, output_length)`` and log-counts float32 ``(n,)`` of ``sequences``.

    Args:
        model: a profile/count model.
        sequences: one-hot ``(n, input_length, channels)``, uint8 or float; converted batch by batch.
        batch_size: sequences per model call.
        progress: show a progress bar (``None``: only on a terminal).
        desc: the bar's label.
    """
    logits, logcounts = [], []
    batch_size = max(1, min(int(batch_size), len(sequences)))
    for start in tqdm(range(0, len(sequences), batch_size), desc=desc, unit="batch", leave=False,
                      disable=None if progress is None else not progress):
        batch = np.asarray(sequences[start:start + batch_size], dtype=np.float32)
        size = len(batch)
        if size < batch_size:
            # A batch of another shape would trace the predict function again: pad, then drop the padding.
            batch = np.concatenate([batch, np.zeros((batch_size - size, *batch.shape[1:]), np.float32)])
        outputs = model.predict_on_batch(batch)
        logits.append(np.asarray(outputs["profile"], dtype=np.float32)[:size])
        logcounts.append(np.asarray(outputs["logcounts"], dtype=np.float32).reshape(batch_size, -1)[:size, 0])
    if not logits:
        return np.zeros((0, model_lengths(model)[1]), np.float32), np.zeros(0, np.float32)
    return np.concatenate(logits), np.concatenate(logcounts)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64, returned as float32."""
    shifted = np.asarray(logits, dtype=np.float64) - np.max(logits, axis=1, keepdims=True)
    exponentials = np.exp(shifted)
    return (exponentials / exponentials.sum(axis=1, keepdims=True)).astype(np.float32)


def average_predictions(per_model: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """Average several models' ``(profile logits, log-counts)``.

    Returns ``(profile probabilities, log-counts)``: the mean of ``softmax(logits)`` and the log of
    the mean of ``exp(logcounts)``.
    """
    probabilities = np.mean([softmax(logits) for logits, _ in per_model], axis=0, dtype=np.float64)
    counts = np.mean([np.exp(np.asarray(lc, np.float64)) for _, lc in per_model], axis=0)
    return probabilities.astype(np.float32), np.log(counts).astype(np.float32)


@dataclasses.dataclass
class RegionPredictions:
    """Predictions over regions, in genome order (FASTA chromosome order, then summit).

    Attributes:
        regions: DataFrame with ``chrom``, ``summit``, ``region_index`` (the region's row in the input
            file, 0-based), and ``start``, ``end`` of the predicted output window (0-based, half-open).
        profile_probs: float32 ``(n, output_length)`` profile probabilities.
        logcounts: float32 ``(n,)`` log-counts.
        dropped: regions whose input window runs off the chromosome end (``reason`` column).
        chrom_sizes: ``{chrom: length}`` of the FASTA, in file order (the bigWig header).
    """

    regions: pd.DataFrame
    profile_probs: np.ndarray
    logcounts: np.ndarray
    dropped: pd.DataFrame
    chrom_sizes: dict

    @property
    def predicted_counts(self) -> np.ndarray:
        """softmax(profile) x exp(logcounts), float32 ``(n, output_length)``."""
        return self.profile_probs * np.exp(self.logcounts)[:, None]


def _read_prediction_regions(regions, sizes: dict, genome) -> pd.DataFrame:
    source = regions if isinstance(regions, (str, os.PathLike)) else "the regions"
    frame = read_regions(regions) if isinstance(regions, (str, os.PathLike)) else regions.reset_index(drop=True)
    missing = sorted(set(frame["chrom"]) - set(sizes))
    if missing:
        count = int(frame["chrom"].isin(missing).sum())
        raise InputError(f"{count} region(s) of {source} lie on {', '.join(missing[:5])}, which the FASTA {genome} "
                         f"does not have (it has {', '.join(list(sizes)[:8])}...); use the same chromosome naming, "
                         "or drop those regions")
    order = {chrom: rank for rank, chrom in enumerate(sizes)}
    frame = frame.assign(region_index=np.arange(len(frame)), _rank=frame["chrom"].map(order))
    return frame.sort_values(["_rank", "summit"], kind="stable").drop(columns="_rank").reset_index(drop=True)


def predict_regions(models: list, genome, regions, *, batch_size: int = 64,
                    progress: bool | None = None) -> RegionPredictions:
    """Predict every region (BED/narrowPeak path or DataFrame with ``chrom``, ``summit``) with ``models``.

    Windows are centred on the summit (narrowPeak column 10) or the midpoint (BED). Several models
    are averaged (:func:`average_predictions`). Regions too close to a chromosome end for the input
    window are dropped and listed in ``dropped``.
    """
    input_length, output_length = model_lengths(models[0])
    with opened_genome(genome) as fasta:
        sizes = genome_sizes(fasta)
        frame = _read_prediction_regions(regions, sizes, genome)
        kept, probs, logcounts, dropped = [], [], [], []
        chunks = range(0, len(frame), CHUNK_REGIONS)
        for first in tqdm(chunks, desc="predicting regions", unit="chunk", disable=None if progress is None
                          else not progress or len(chunks) < 2):
            windows = extract_windows(frame.iloc[first:first + CHUNK_REGIONS], fasta, None, input_length,
                                      output_length, 0, alphabet=getattr(models[0], "alphabet", "ACGT"),
                                      progress=False)
            dropped.append(windows.dropped)
            if len(windows.sequences) == 0:
                continue
            per_model = [predict_profile_count(model, windows.sequences, batch_size=batch_size, progress=progress,
                                               desc=f"model {i + 1}/{len(models)}") for i, model in enumerate(models)]
            chunk_probs, chunk_logcounts = average_predictions(per_model)
            kept.append(windows.regions)
            probs.append(chunk_probs)
            logcounts.append(chunk_logcounts)
    if not kept:
        raise InputError(f"every region of {regions} lies within {input_length // 2} bp of a chromosome end, so no "
                         f"{input_length} bp input window fits; nothing to predict")
    out = pd.concat(kept, ignore_index=True)
    out_start = out["summit"].to_numpy(np.int64) - output_length // 2
    columns = ["chrom", "summit", "region_index"] + [c for c in ("name",) if c in out]
    out = out[columns].assign(start=out_start, end=out_start + output_length)
    return RegionPredictions(out, np.concatenate(probs), np.concatenate(logcounts),
                             pd.concat(dropped, ignore_index=True), sizes)


def _clusters(starts: np.ndarray, ends: np.ndarray):
    """Yield index arrays of runs of overlapping intervals (``starts`` sorted)."""
    first, reach = 0, ends[0] if len(ends) else 0
    for i in range(1, len(starts)):
        if starts[i] >= reach:
            yield np.arange(first, i)
            first, reach = i, ends[i]
        else:
            reach = max(reach, ends[i])
    if len(starts):
        yield np.arange(first, len(starts))


def write_prediction_bigwig(predictions: RegionPredictions, path: str | os.PathLike) -> pathlib.Path:
    """Write predicted per-base counts as a bigWig (header: the FASTA's chromosomes, in its order).

    Each region contributes ``softmax(profile) x exp(logcounts)`` over its output window; where
    windows overlap, a base gets the mean of the windows covering it. Bases outside every window
    have no value.
    """
    import pyBigWig

    path = pathlib.Path(path)
    counts = predictions.predicted_counts
    def write(tmp: pathlib.Path) -> None:
        handle = pyBigWig.open(str(tmp), "w")
        try:
            handle.addHeader(list(predictions.chrom_sizes.items()))
            regions = predictions.regions
            for chrom in pd.unique(regions["chrom"]):
                rows = np.flatnonzero((regions["chrom"] == chrom).to_numpy())
                order = rows[np.argsort(regions["start"].to_numpy()[rows], kind="stable")]
                starts = regions["start"].to_numpy(np.int64)[order]
                ends = regions["end"].to_numpy(np.int64)[order]
                for cluster in _clusters(starts, ends):
                    lo, hi = int(starts[cluster].min()), int(ends[cluster].max())
                    total = np.zeros(hi - lo, dtype=np.float64)
                    covered = np.zeros(hi - lo, dtype=np.int64)
                    for row, start in zip(order[cluster], starts[cluster]):
                        total[start - lo:start - lo + counts.shape[1]] += counts[row]
                        covered[start - lo:start - lo + counts.shape[1]] += 1
                    handle.addEntries(str(chrom), lo, values=(total / covered).astype(np.float64), span=1, step=1)
        finally:
            handle.close()

    # libBigWig aborts the process on a failed write: it writes in a child process (data_prep.outputs.isolated)
    with atomic_path(path) as tmp:
        run_isolated(lambda: write(tmp), tmp, path)
    return path


def write_prediction_h5(predictions: RegionPredictions, path: str | os.PathLike, *, model_paths=()) -> pathlib.Path:
    """Write the predictions as HDF5 (rows in genome order, as :class:`RegionPredictions`).

    ``coords/coords_chrom`` (str), ``coords/coords_center`` (the summit), ``coords/coords_start`` and
    ``coords/coords_end`` (the output window), ``coords/region_index`` (row in the input region file);
    ``predictions/profs`` float32 ``(n, output_length)`` profile probabilities and
    ``predictions/logcounts`` float32 ``(n,)`` (the official names where the official file has them).
    Attributes: ``models`` (the model paths), ``averaging``.
    """
    import h5py

    path = pathlib.Path(path)
    regions = predictions.regions
    with atomic_path(path) as tmp:
        with h5py.File(tmp, "w") as handle:
            coords = handle.create_group("coords")
            coords.create_dataset("coords_chrom", data=regions["chrom"].astype(str).to_numpy().astype(object),
                                  dtype=h5py.string_dtype())
            for name, column in (("coords_center", "summit"), ("coords_start", "start"), ("coords_end", "end"),
                                 ("region_index", "region_index")):
                coords.create_dataset(name, data=regions[column].to_numpy(np.int64))
            group = handle.create_group("predictions")
            group.create_dataset("profs", data=predictions.profile_probs, compression="gzip")
            group.create_dataset("logcounts", data=predictions.logcounts)
            handle.attrs["models"] = [str(p) for p in model_paths]
            handle.attrs["averaging"] = ("profile probabilities averaged over the models; counts exp(logcounts) "
                                         "averaged, logcounts = log(mean counts)")
    return path
