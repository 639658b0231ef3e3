"""The motifs of a trained ATAC model: contributions on peak windows, then TF-MoDISco and matching.

Shared by the pipeline's ``motifs`` stage and ``quickstart --synthetic``: :func:`sample_peaks`
chooses the peaks as the official pipeline does, :func:`model_motifs` explains them with
``dream_keras.interpret.contributions`` (hypothetical scores, written as ``dream-keras contribs``
writes them) and runs :func:`~dream_keras.interpret.motifs.discover_motifs` on the file.
"""

from __future__ import annotations

import os
import pathlib

import pandas as pd

from data_prep.errors import InputError
from dream_keras.motif_settings import (
    MATCH_Q_THRESHOLD,
    MAX_SEQLETS,
    MODISCO_WINDOW,
    MOTIF_CONTRIBUTION_METHOD,
    MOTIF_OUTPUT,
    PEAK_SAMPLE_SEED,
)


def sample_peaks(peaks: pd.DataFrame, genome: str | os.PathLike, input_length: int, most: int) -> pd.DataFrame:
    """The peaks whose ``input_length`` window lies inside its chromosome, at most ``most`` of them.

    They are sampled as the official pipeline samples (``DataFrame.sample(n, random_state=1234)``).
    """
    from data_prep.filters import edge_filter
    from data_prep.genome import genome_sizes, opened_genome

    with opened_genome(genome) as fasta:
        sizes = genome_sizes(fasta)
    usable = peaks[edge_filter(peaks, sizes, input_length)]
    if not len(usable):
        raise InputError(f"no peak has a whole {input_length} bp window inside its chromosome, so there is nothing "
                         "to find motifs in")
    return usable.sample(most, random_state=PEAK_SAMPLE_SEED) if len(usable) > most else usable


def model_motifs(model, windows, folder: str | os.PathLike, *, method: str = MOTIF_CONTRIBUTION_METHOD,
                 output: str = MOTIF_OUTPUT, window: int = MODISCO_WINDOW, max_seqlets: int = MAX_SEQLETS,
                 motif_db: str | os.PathLike | None = None, q_threshold: float = MATCH_Q_THRESHOLD,
                 contribution_options: dict | None = None, model_path: str | os.PathLike | None = None,
                 title: str | None = None, progress: bool | None = None):
    """Contributions of ``model`` on ``windows`` into ``folder``, then the motifs found in them.

    Args:
        model: a model with ``profile`` and ``logcounts`` outputs (e.g. a bias-free model).
        windows: :class:`data_prep.windows.Windows` of the peaks (``sequences`` and ``regions``).
        folder: output folder: ``contributions.<profile|counts>_scores.h5`` and the files of
            :func:`~dream_keras.interpret.motifs.discover_motifs`.
        method: the contribution method, passed to ``dream_keras.interpret.contributions`` (``"auto"``
            resolved first, so that the file records the method used).
        output: ``profile`` or ``counts``/``logcounts``.
        window: central bases of each region TF-MoDISco reads (as
            :func:`~dream_keras.interpret.motifs.discover_motifs`).
        max_seqlets: most seqlets per metacluster (as :func:`~dream_keras.interpret.motifs.discover_motifs`).
        motif_db: a MEME file to match against (``None``: the bundled database; as
            :func:`~dream_keras.interpret.motifs.discover_motifs`).
        q_threshold: a pattern is named after its best match when that match's q-value is below this (as
            :func:`~dream_keras.interpret.motifs.discover_motifs`).
        contribution_options: more arguments of ``contributions`` (``n_baselines``, ``steps``, ``seed``).
        model_path: recorded in the contributions file.
        title: the motifs page's title.
        progress: a progress bar for the contributions.

    Returns:
        ``(discovery, contributions path)``.
    """
    from data_prep.windows import window_starts
    from dream_keras.interpret import contributions, default_method
    from dream_keras.interpret.motifs import discover_motifs
    from dream_keras.interpret.targets import resolve_output
    from dream_keras.interpret.tracks import write_contribution_hdf5

    folder = pathlib.Path(folder)
    method = default_method(model) if method == "auto" else method
    explained = resolve_output(model, output)
    sequences = windows.sequences
    print(f"      {method} contributions ({explained}) on {len(sequences):,} peaks", flush=True)
    hypothetical = contributions(model, sequences, method=method, output=explained, hypothetical=True,
                                 progress=bool(progress), **(contribution_options or {}))
    summits = windows.regions["summit"].to_numpy()
    scores = folder / f"contributions.{'profile' if explained == 'profile' else 'counts'}_scores.h5"
    alphabet = getattr(model, "alphabet", "ACGT")
    write_contribution_hdf5(scores, sequences, hypothetical, windows.regions["chrom"].to_numpy(),
                            window_starts(summits, sequences.shape[1]), summits, alphabet,
                            {"method": method, "output": explained, "models": [str(model_path or model.name)]})
    discovery = discover_motifs(scores, folder, window=window, max_seqlets=max_seqlets, motif_db=motif_db,
                                q_threshold=q_threshold, title=title)
    return discovery, scores
