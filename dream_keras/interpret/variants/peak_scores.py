"""The peaks behind the allele quantiles (``--peaks``), chosen and windowed as the official scorer does.

The official scorer reads the peak file (narrowPeak, or BED with 3-9 columns whose summit is then
the midpoint ``(end - start) // 2``), sorts it by chromosome, start, end, summit and descending
rank (column 9), drops duplicates of (chromosome, start, end, summit), keeps the peaks whose window
fits the chromosome (``start + summit - L//2 > 0`` and ``start + summit + L//2 <= length``) and,
with ``--max-peaks N``, samples ``N`` of them (pandas, ``random_state`` = the seed). Its peak
window is read with ``pyfaidx.Fasta.get_seq(chrom, summit - L//2, summit + L//2 - 1)``, 1-based and
inclusive: the 0-based window ``[summit - L//2 - 1, summit + L//2 - 1)``, one base left of the
summit-centred window that training uses. The same window is used here, so that the quantiles
match the official ones. A peak's score is the strand mean of ``exp(logcounts)``, per model.
"""

from __future__ import annotations

import os
import pathlib

import numpy as np
import pandas as pd

from data_prep.errors import InputError

PEAK_COLUMNS = ["chr", "start", "end", "peak_id", "peak_score", "col5", "col6", "col7", "rank", "summit"]


def read_peaks(path: str | os.PathLike, sizes: dict, input_length: int, max_peaks: int | None = None,
               seed: int = 1234) -> tuple[pd.DataFrame, int]:
    """The peaks the quantiles are taken over (module docstring).

    Returns:
        ``(peaks, dropped)``: DataFrame ``chr, start, end, summit, peak_id`` (``peak_id`` =
        ``chr:start-end``) in the official order, and how many rows were dropped as duplicates or
        for a window outside the chromosome.

    Raises:
        InputError: a missing file, fewer than 3 or more than 10 columns, non-integer coordinates,
            or no usable peak.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"peak file {path} does not exist; give a narrowPeak or BED file of the assay's peaks")
    try:
        table = pd.read_csv(path, sep="\t", header=None, comment="#", dtype=str)
    except pd.errors.EmptyDataError:
        raise InputError(f"peak file {path} is empty; give a narrowPeak or BED file") from None
    if not 3 <= table.shape[1] <= 10:
        raise InputError(f"peak file {path} has {table.shape[1]} columns; a narrowPeak has 10, a BED 3 to 9")
    table.columns = PEAK_COLUMNS[:table.shape[1]]
    for column in ("start", "end", "summit", "rank"):
        if column in table:
            values = pd.to_numeric(table[column], errors="coerce")
            if column in ("start", "end", "summit") and values.isna().any():
                line = int(np.flatnonzero(values.isna())[0]) + 1
                raise InputError(f"{path}, line {line}: column {column} {table[column].iloc[line - 1]!r} is not an "
                                 "integer; give a narrowPeak or BED file without a header")
            table[column] = values
    if "summit" not in table:
        table["summit"] = (table["end"] - table["start"]) // 2
    if "rank" not in table:
        table["rank"] = 0
    table = table.astype({"start": np.int64, "end": np.int64, "summit": np.int64})
    total = len(table)
    table = table.sort_values(["chr", "start", "end", "summit", "rank"], ascending=[True, True, True, True, False])
    table = table.drop_duplicates(subset=["chr", "start", "end", "summit"])
    centre = table["start"].to_numpy() + table["summit"].to_numpy()
    size = table["chr"].map(sizes).to_numpy(dtype=np.float64)  # NaN: a chromosome the FASTA lacks
    flank = input_length // 2
    table = table[(centre - flank > 0) & (centre + flank <= size)].reset_index(drop=True)
    unusable = total - len(table)
    if max_peaks is not None and len(table) > max_peaks:
        table = table.sample(max_peaks, random_state=seed, ignore_index=True)
    if table.empty:
        raise InputError(f"no peak of {path} has a whole {input_length} bp window on a chromosome of the FASTA; "
                         "check the chromosome names")
    table["peak_id"] = table["chr"] + ":" + table["start"].astype(str) + "-" + table["end"].astype(str)
    return table[["chr", "start", "end", "summit", "peak_id"]], unusable


def peak_windows(bases: np.ndarray, starts: np.ndarray, summits: np.ndarray, input_length: int) -> np.ndarray:
    """The official peak windows ``(n, L)`` ``uint8`` of peaks on one chromosome (module docstring)."""
    first = np.asarray(starts) + np.asarray(summits) - input_length // 2 - 1
    return bases[first[:, None] + np.arange(input_length)]


__all__ = ["read_peaks", "peak_windows"]
