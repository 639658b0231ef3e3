"""``logs/training_log.csv``: one row per epoch, epochs counted from 1 as the console counts them.

Columns: ``epoch`` first, then every quantity of the epoch's logs sorted by name (the layout of
Keras's ``CSVLogger``), then, for runs that name them, further names for some columns
(``column_aliases``): the official ChromBPNet log calls ``profile_loss`` ``logits_profile_predictions_loss``
and ``logcounts_loss`` ``logcount_predictions_loss``; both names are in the CSV (with their ``val_``
forms), while the console prints each loss once. After every epoch the whole file is written again
through a temporary name, so that a reader never meets half a row and a resumed run's log restarts
from its checkpoint's epochs.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping

import keras
import numpy as np

from data_prep.outputs import atomic_path


def epoch_row(epoch_index: int, logs: Mapping | None) -> dict:
    """The CSV row of the epoch Keras numbers ``epoch_index`` (from 0).

    ``epoch`` counted from 1, then the scalar entries of ``logs`` as floats.
    """
    scalars = {key: float(value) for key, value in dict(logs or {}).items()
               if np.isscalar(value) or np.ndim(value) == 0}
    return {"epoch": int(epoch_index) + 1, **scalars}


def with_aliases(row: Mapping, column_aliases: Mapping[str, str] | None) -> dict:
    """``row`` with each aliased column (and its ``val_`` form) repeated under its other name."""
    out = dict(row)
    for column, alias in (column_aliases or {}).items():
        for prefix in ("", "val_"):
            if prefix + column in row:
                out[prefix + alias] = row[prefix + column]
    return out


def write_training_log(path: str | os.PathLike, history: list[dict],
                       column_aliases: Mapping[str, str] | None = None) -> pathlib.Path:
    """Write ``history`` (rows of :func:`epoch_row`) as the CSV described in the module docstring.

    Args:
        path: the CSV file (written through a temporary name).
        history: one row per epoch, ``epoch`` counted from 1.
        column_aliases: ``{column: other name}`` repeated in the file (with ``val_`` forms).

    Returns:
        ``path``.
    """
    rows = [with_aliases(row, column_aliases) for row in history]
    keys = sorted({key for row in rows for key in row if key != "epoch"})
    lines = [",".join(["epoch", *keys])]
    lines += [",".join([str(int(row["epoch"]))] + [repr(float(row[key])) if key in row else "" for key in keys])
              for row in rows]
    path = pathlib.Path(path)
    with atomic_path(path) as tmp:
        tmp.write_text("\n".join(lines) + "\n")
    return path


def read_training_log(path: str | os.PathLike) -> list[dict]:
    """The rows of a training log (``[]`` when the file is missing or empty), ``epoch`` counted from 1."""
    import pandas as pd

    path = pathlib.Path(path)
    if not path.is_file() or path.stat().st_size == 0:
        return []
    return pd.read_csv(path).to_dict(orient="records")


class TrainingLogCSV(keras.callbacks.Callback):
    """Writes the training log after every epoch (:func:`write_training_log`).

    Args:
        path: the CSV file.
        history: the rows of epochs already trained (a resumed run's checkpoint), kept at the top.
        column_aliases: as for :func:`write_training_log`.
    """

    def __init__(self, path: str | os.PathLike, history: list[dict] | None = None,
                 column_aliases: Mapping[str, str] | None = None):
        super().__init__()
        self.path = pathlib.Path(path)
        self.rows = [dict(row) for row in history or []]
        self.column_aliases = dict(column_aliases or {})

    def on_epoch_end(self, epoch, logs=None):
        """Add the epoch's row and write the file again."""
        self.rows.append(epoch_row(epoch, logs))
        write_training_log(self.path, self.rows, self.column_aliases)


__all__ = ["TrainingLogCSV", "epoch_row", "read_training_log", "with_aliases", "write_training_log"]
