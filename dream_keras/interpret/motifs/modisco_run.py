"""TF-MoDISco through the maintained package (``modisco-lite`` on PyPI, import name ``modiscolite``).

:func:`run_modisco` calls ``modiscolite.tfmodisco.TFMoDISco`` with the options the ``modisco
motifs`` command passes (:data:`~dream_keras.motif_settings.MODISCO_OPTIONS`) and
writes its results with ``modiscolite.io.save_hdf5``, so ``modisco report`` and every other
reader of TF-MoDISco results read the file. No seqlet, or too few for a pattern, is a result too:
the file then holds no pattern group (as ``modisco motifs`` writes it).
"""

from __future__ import annotations

import dataclasses
import os

import numpy as np

from data_prep.outputs.atomic import atomic_path
from dream_keras.motif_settings import MAX_SEQLETS, MIN_METACLUSTER_SEQLETS, MODISCO_OPTIONS


@dataclasses.dataclass
class ModiscoRun:
    """What one TF-MoDISco run found: seqlets per sign (before the cap) and patterns per sign."""

    positive_seqlets: int
    negative_seqlets: int
    positive_patterns: int
    negative_patterns: int


_KERNELS_CACHED = False


def _cache_compiled_kernels(modules) -> None:
    """Keep TF-MoDISco's numba kernels in numba's on-disk cache.

    modisco-lite turns the cache on only when it can compile in forked children (a process with
    one thread, e.g. its own command line); in a process with threads (TensorFlow, a test runner)
    every run compiled every kernel anew, about a minute on 2 cores. With the cache on, the first
    run compiles and later runs load the kernels in milliseconds. A kernel whose cache cannot be
    written (a read-only installation) simply compiles as before.
    """
    global _KERNELS_CACHED
    if _KERNELS_CACHED:
        return
    from numba.core.dispatcher import Dispatcher

    for module in modules:
        for kernel in vars(module).values():
            if isinstance(kernel, Dispatcher):
                try:
                    kernel.enable_caching()
                except Exception:  # no writable cache location: compile in memory, as before
                    pass
    _KERNELS_CACHED = True


def _import_modisco():
    try:
        import modiscolite.io
        import modiscolite.tfmodisco
        from modiscolite import affinitymat, aggregator, core, extract_seqlets, gapped_kmer, tfmodisco, util
    except ModuleNotFoundError as missing:
        from data_prep.errors import InputError

        raise InputError(f"motif discovery needs TF-MoDISco (modisco-lite) and its dependencies ({missing}); "
                         "pip install modisco-lite memelite") from None
    _cache_compiled_kernels([affinitymat, aggregator, core, extract_seqlets, gapped_kmer, tfmodisco, util])
    return modiscolite


def count_seqlets(onehot: np.ndarray, hypothetical: np.ndarray, options: dict) -> tuple[int, int]:
    """Positive and negative seqlets TF-MoDISco's seqlet caller finds (its own code and thresholds).

    Returns ``(0, 0)`` when the scores have no signal to call seqlets from (all zero).
    """
    _import_modisco()
    from modiscolite import extract_seqlets

    contributions = (onehot * hypothetical).sum(axis=2)
    if not np.any(contributions):
        return 0, 0
    window = options["sliding_window_size"]
    coordinates, threshold = extract_seqlets.extract_seqlets(
        attribution_scores=contributions, window_size=window, flank=options["flank_size"],
        suppress=int(0.5 * window) + options["flank_size"], target_fdr=options["target_seqlet_fdr"],
        min_passing_windows_frac=0.03, max_passing_windows_frac=0.2, weak_threshold_for_counting_sign=0.8)
    flank = options["flank_size"]
    sums = np.array([contributions[c.example_idx, c.start + flank:c.end - flank].sum() for c in coordinates])
    return int((sums > threshold).sum()), int((sums < -threshold).sum())


def run_modisco(onehot: np.ndarray, hypothetical: np.ndarray, out: str | os.PathLike, *, window: int,
                max_seqlets: int = MAX_SEQLETS, options: dict | None = None, verbose: bool = False,
                source: str = "these regions") -> ModiscoRun:
    """Run TF-MoDISco on windows of one-hot bases and hypothetical scores; write its results file.

    Args:
        onehot: ``(n, window, 4)`` float32 one-hot.
        hypothetical: ``(n, window, 4)`` float32 hypothetical contributions.
        out: the results HDF5 (TF-MoDISco's layout: ``pos_patterns/pattern_N/...``,
            ``neg_patterns/...``, attribute ``window_size``); written under a temporary name.
        window: recorded as the file's ``window_size`` attribute.
        max_seqlets: most seqlets per metacluster (sign).
        options: ``modisco motifs`` options overriding
            :data:`~dream_keras.motif_settings.MODISCO_OPTIONS`.
        verbose: TF-MoDISco's own progress lines.
        source: what the scores are (a file name), for messages.

    Returns:
        :class:`ModiscoRun`.

    Raises:
        InputError: TF-MoDISco failed on the scores (its message, and the share of zero scores).
    """
    modiscolite = _import_modisco()
    settings = {**MODISCO_OPTIONS, **(options or {})}
    positive, negative = count_seqlets(onehot, hypothetical, settings)
    patterns = (None, None)
    # TF-MoDISco clusters a metacluster only above this many seqlets; below it there is nothing to
    # run (and an all-zero track has no seqlet at all, where its seqlet caller cannot fit a null)
    if max(positive, negative) > MIN_METACLUSTER_SEQLETS:
        try:
            patterns = modiscolite.tfmodisco.TFMoDISco(
                one_hot=np.ascontiguousarray(onehot, dtype=np.float32),
                hypothetical_contribs=np.ascontiguousarray(hypothetical, dtype=np.float32),
                max_seqlets_per_metacluster=int(max_seqlets), min_metacluster_size=MIN_METACLUSTER_SEQLETS,
                verbose=verbose, **settings)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as error:  # leidenalg raises bare BaseException
            from data_prep.errors import InputError

            zero = float((onehot * hypothetical).sum(axis=2).__eq__(0).mean())
            raise InputError(f"TF-MoDISco (modisco-lite) failed on the contributions of {source}: {error}. "
                             f"{zero:.0%} of their per-base scores are exactly zero; scores that are zero over long "
                             "stretches (a model with few active units) are a known cause: compute the "
                             "contributions of a trained model, or with another method") from error
    with atomic_path(out) as temporary:
        modiscolite.io.save_hdf5(str(temporary), patterns[0], patterns[1], int(window))
    return ModiscoRun(positive, negative, len(patterns[0] or []), len(patterns[1] or []))
