"""The run's output files, written chunk by chunk and visible under their names only when complete.

- :class:`TableFile`: a TSV (floats with 9 significant digits) and, when asked, the same table as
  Parquet (needs ``pyarrow``: ``pip install dream-keras[parquet]``).
- :class:`PredictionFile`: the HDF5 of the allele predictions (``--hdf5``), laid out as the
  official ``variant_predictions.h5`` with a leading model axis: ``observed/allele1_pred_counts``,
  ``observed/allele2_pred_counts`` ``(models, n)`` and ``observed/allele1_pred_profiles``,
  ``observed/allele2_pred_profiles`` ``(models, n, output_length)`` (strand-mean profile *logits*, as
  the official file holds; softmax gives probabilities), and ``variants/chr``, ``variants/pos``,
  ``variants/allele1``, ``variants/allele2``, ``variants/variant_id`` in the tables' row order.

Each file is written under a temporary name through :func:`data_prep.outputs.atomic_path`
(registered in an :class:`contextlib.ExitStack`), so a failed run leaves none of them.
"""

from __future__ import annotations

import contextlib
import os
import pathlib

import numpy as np
import pandas as pd

from data_prep.errors import InputError
from data_prep.outputs import atomic_path

FLOAT_FORMAT = "%.9g"


def check_parquet_available() -> None:
    """Raise :class:`InputError` with the fix when ``pyarrow`` is missing (before any work is done)."""
    try:
        import pyarrow  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise InputError("--parquet needs pyarrow, which is not installed: pip install 'dream-keras[parquet]' "
                         "(or pip install pyarrow), or leave out --parquet (the TSV holds the same table)") from None


class TableFile:
    """A table written in chunks: ``path`` (TSV) and, with ``parquet``, ``path`` with ``.parquet``."""

    def __init__(self, stack: contextlib.ExitStack, path: str | os.PathLike, parquet: bool = False):
        self.path = pathlib.Path(path)
        self._tsv = stack.enter_context(open(stack.enter_context(atomic_path(self.path)), "w", newline=""))
        self._parquet_path = stack.enter_context(atomic_path(self.path.with_suffix(".parquet"))) if parquet else None
        self._parquet = None
        self._header = True
        self.rows = 0
        if parquet:
            stack.callback(self._close_parquet)

    def write(self, frame: pd.DataFrame) -> None:
        """Append ``frame``'s rows to the TSV (the header with the first chunk) and, when asked, the Parquet file.

        Args:
            frame: the chunk's rows, the same columns in every chunk.
        """
        frame.to_csv(self._tsv, sep="\t", index=False, header=self._header, float_format=FLOAT_FORMAT)
        self._header = False
        self.rows += len(frame)
        if self._parquet_path is not None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.Table.from_pandas(frame, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self._parquet_path, table.schema)
            self._parquet.write_table(table)

    def _close_parquet(self) -> None:
        if self._parquet is not None:
            self._parquet.close()


class PredictionFile:
    """The HDF5 of the allele predictions (module docstring), filled chunk by chunk."""

    def __init__(self, stack: contextlib.ExitStack, path: str | os.PathLike, n_variants: int, n_models: int,
                 output_length: int, attributes: dict):
        import h5py

        self.path = pathlib.Path(path)
        self._file = stack.enter_context(h5py.File(stack.enter_context(atomic_path(self.path)), "w"))
        observed = self._file.create_group("observed")
        for allele in ("allele1", "allele2"):
            observed.create_dataset(f"{allele}_pred_counts", (n_models, n_variants), dtype="f8")
            observed.create_dataset(f"{allele}_pred_profiles", (n_models, n_variants, output_length), dtype="f4",
                                    chunks=(1, min(n_variants, 256), output_length), compression="gzip")
        strings = self._file.create_group("variants")
        for name in ("chr", "allele1", "allele2", "variant_id"):
            strings.create_dataset(name, (n_variants,), dtype=h5py.string_dtype())
        strings.create_dataset("pos", (n_variants,), dtype="i8")
        self._file.attrs.update(attributes)
        self.rows = 0

    def write(self, shown: pd.DataFrame, per_model: list[dict[str, np.ndarray]]) -> None:
        """Append a chunk: ``shown`` variants and, per model, ``allele{1,2}_pred_counts`` / ``_profiles``."""
        rows = slice(self.rows, self.rows + len(shown))
        for name in ("chr", "allele1", "allele2", "variant_id"):
            self._file["variants"][name][rows] = shown[name].astype(str).to_numpy(dtype=object)
        self._file["variants"]["pos"][rows] = shown["pos"].to_numpy()
        for model, columns in enumerate(per_model):
            for name, value in columns.items():
                self._file["observed"][name][model, rows] = value
        self.rows += len(shown)


__all__ = ["FLOAT_FORMAT", "PredictionFile", "TableFile", "check_parquet_available"]
