"""Footprints on disk.

``footprints.tsv`` (one row per motif), ``footprints.h5`` (profiles) and one ``<motif>.footprint.png`` per motif
(``dream-keras footprints`` and the pipeline's footprints stage).

Every file is written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import pathlib

import numpy as np

#: Positions either side of the centre drawn in the footprint figures.
FIGURE_HALF_WIDTH = 100


def footprint_table(footprints: dict):
    """``{name: Footprint}`` -> DataFrame, one row per motif.

    Sequence, maxima (count-scaled and normalised), mean predicted counts, the same for the background without motif,
    sequences.
    """
    import pandas as pd

    return pd.DataFrame([{
        "motif": name, "sequence": fp.motif, "max": fp.max, "normalized_max": fp.normalized_max,
        "counts": fp.counts, "baseline_max": float(np.max(fp.baseline_profile)),
        "baseline_normalized_max": float(np.max(fp.baseline_normalized_profile)),
        "baseline_counts": fp.baseline_counts, "n_sequences": fp.n_sequences} for name, fp in footprints.items()])


def footprint_file_name(name: str) -> str:
    """The PNG file name of motif ``name`` (characters outside letters, digits and ``-_.`` become ``_``)."""
    return "".join(letter if letter.isalnum() or letter in "-_." else "_" for letter in name) + ".footprint.png"


def write_footprints(footprints: dict, out, *, plots: bool = True):
    """Write ``out/footprints.tsv``, ``out/footprints.h5`` and (``plots``) one PNG per motif.

    Args:
        footprints: ``{name: dream_keras.interpret.Footprint}`` (one background set).
        out: folder (created).
        plots: draw the PNGs (needs matplotlib).

    Returns:
        The table written to ``footprints.tsv`` (DataFrame).
    """
    import h5py

    from data_prep.outputs.atomic import atomic_path

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    table = footprint_table(footprints)
    with atomic_path(out / "footprints.tsv") as temporary:
        table.to_csv(temporary, sep="\t", index=False, float_format="%.6g")
    first = next(iter(footprints.values()))
    with atomic_path(out / "footprints.h5") as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.create_dataset("baseline/profile", data=first.baseline_profile)
            handle.create_dataset("baseline/normalized_profile", data=first.baseline_normalized_profile)
            for name, fp in footprints.items():
                handle.create_dataset(f"motifs/{name}/profile", data=fp.profile)
                handle.create_dataset(f"motifs/{name}/normalized_profile", data=fp.normalized_profile)
                handle[f"motifs/{name}"].attrs["sequence"] = fp.motif
    if plots:
        plot_footprints(footprints, out)
    return table


def plot_footprints(footprints: dict, out) -> list[pathlib.Path]:
    """One PNG per motif: the central 200 bp of the normalised footprint, with the background without motif.

    Returns the paths written.
    """
    from data_prep.errors import InputError
    from data_prep.outputs.atomic import atomic_path

    try:
        import matplotlib
    except ModuleNotFoundError:
        raise InputError("plots need matplotlib: pip install 'dream-keras[plots]', or pass --no-plots") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, fp in footprints.items():
        profile, baseline = np.asarray(fp.normalized_profile), np.asarray(fp.baseline_normalized_profile)
        if profile.ndim > 1:  # multi-task heads: the first task's track
            profile, baseline = profile[:, 0], baseline[:, 0]
        centre, half = len(profile) // 2, min(FIGURE_HALF_WIDTH, len(profile) // 2)
        offsets = np.arange(-half, half)
        figure, axis = plt.subplots(figsize=(5, 3))
        axis.plot(offsets, baseline[centre - half:centre + half], color="grey", label="no motif")
        axis.plot(offsets, profile[centre - half:centre + half], color="C0", label=f"{name} ({fp.motif})")
        axis.set_xlabel("position from the motif (bp)")
        axis.set_ylabel("probability")
        # The title quotes the TSV's column by its name: the peak of the normalised footprint.
        axis.set_title(f"{name}: normalized_max {fp.normalized_max:.4f}")
        axis.legend(fontsize=8)
        figure.tight_layout()
        path = out / footprint_file_name(name)
        with atomic_path(path) as temporary:
            figure.savefig(temporary, format="png", dpi=100)
        plt.close(figure)
        written.append(path)
    return written
