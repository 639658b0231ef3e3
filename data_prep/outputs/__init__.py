"""Outputs and file safety: how every command opens, writes, records and replaces what it writes.

One room for one promise: nothing of the user's is lost, and nothing is half-written.

- :func:`open_output` (:mod:`~data_prep.outputs.opening`): the one entry point every command calls to
  open its output folder or files: place checked, lock, clean-up of killed runs, ``--overwrite`` /
  ``--resume`` rules, manifest.
- :func:`atomic_path`, :func:`write_text_atomic`, :func:`write_json_atomic`
  (:mod:`~data_prep.outputs.atomic`): every file written under a temporary name, checked whole
  (:mod:`~data_prep.outputs.completeness`), renamed into place; a failed write becomes
  :class:`OutputWriteError` (:mod:`~data_prep.outputs.write_failures`); writers whose C library can
  crash run in a child process (:mod:`~data_prep.outputs.isolated`).
- :func:`paired_paths` (:mod:`~data_prep.outputs.paired`): outputs that become visible together.
- :mod:`~data_prep.outputs.manifest`, :mod:`~data_prep.outputs.swap`,
  :mod:`~data_prep.outputs.containment`, :mod:`~data_prep.outputs.lock`,
  :mod:`~data_prep.outputs.temporaries`: what ``open_output`` is made of.
- :class:`RunFolder` (:mod:`~data_prep.outputs.run_folder`) and
  :mod:`~data_prep.outputs.recorded_inputs`: a training run's folder, its ``run.json`` and the input
  checks of ``--resume`` and ``--config``.

Keras-free and TensorFlow-free, so that ``data_prep`` writes through it too.
"""

from data_prep.outputs.atomic import atomic_path, temporary_name, write_json_atomic, write_text_atomic
from data_prep.outputs.isolated import run_isolated
from data_prep.outputs.opening import OpenedOutput, open_output
from data_prep.outputs.paired import paired_paths
from data_prep.outputs.run_folder import TRAINING_LOG, RunFolder, read_run_json
from data_prep.outputs.write_failures import OutputWriteError

__all__ = ["OpenedOutput", "OutputWriteError", "RunFolder", "TRAINING_LOG", "atomic_path", "open_output",
           "paired_paths", "read_run_json", "run_isolated", "temporary_name", "write_json_atomic",
           "write_text_atomic"]
