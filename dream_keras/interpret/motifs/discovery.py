"""Motif discovery from a contributions file: TF-MoDISco, database matching, table, logos and page.

:func:`discover_motifs` does what the official pipeline's ``modisco motifs`` + ``modisco report``
do, in one call and without a MEME binary, and writes into one folder:

==========================  =====================================================================
``modisco_results.h5``      TF-MoDISco's results in its own layout (``modisco report`` reads it)
``motifs.tsv``              one row per pattern: sign, seqlets, width, consensus, best matches
``motifs.json``             the run: regions, window, seqlets found per sign, database, threshold
``logos/*.png``             per pattern a CWM and a PWM logo; per matched database motif its logo
``motifs.html``             one offline page: logos, seqlet counts, the three best matches
==========================  =====================================================================

Inputs are checked before anything is written (a contributions file of another layout or too
short for the window, a motif database that does not parse), and every file is written under a
temporary name and renamed, so a failed call leaves no half-written file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib

import pandas as pd

from data_prep.outputs.atomic import write_text_atomic
from dream_keras.interpret.motifs.contribution_file import ContributionWindows, read_contribution_windows
from dream_keras.interpret.motifs.logos import draw_logo, file_stem, pwm_heights
from dream_keras.interpret.motifs.matching import MotifMatch, load_motif_database, match_patterns
from dream_keras.interpret.motifs.modisco_run import run_modisco
from dream_keras.interpret.motifs.patterns import Pattern, consensus, read_patterns
from dream_keras.motif_settings import (
    MATCH_Q_THRESHOLD,
    MAX_SEQLETS,
    MIN_METACLUSTER_SEQLETS,
    MODISCO_OPTIONS,
    MODISCO_WINDOW,
    TOP_MATCHES,
    TRIM_THRESHOLD,
)

RESULTS_NAME = "modisco_results.h5"
TABLE_NAME = "motifs.tsv"
SUMMARY_NAME = "motifs.json"
PAGE_NAME = "motifs.html"
LOGO_FOLDER = "logos"


@dataclasses.dataclass
class MotifDiscovery:
    """A finished motif discovery: its folder, the patterns and their best database matches.

    Attributes:
        folder: where the files were written (see the module docstring).
        patterns: every pattern, positive ones first.
        matches: per pattern, its best database matches (best first).
        summary: the content of ``motifs.json``.
    """

    folder: pathlib.Path
    patterns: list
    matches: list
    summary: dict

    @property
    def table(self) -> pd.DataFrame:
        """``motifs.tsv`` as a data frame."""
        return pd.read_csv(self.folder / TABLE_NAME, sep="\t", keep_default_na=False)

    @property
    def enzyme_patterns(self) -> list[str]:
        """Patterns named after an enzyme-bias motif.

        Their best match is a TN5_*/DNASE_* motif with q below the threshold.
        """
        return list(self.summary["enzyme_patterns"])


def named_match(matches: list[MotifMatch], q_threshold: float = MATCH_Q_THRESHOLD) -> MotifMatch | None:
    """The match a pattern is named after: its best one, when its q-value is below ``q_threshold``."""
    return matches[0] if matches and matches[0].q_value < q_threshold else None


def motif_table(patterns: list[Pattern], matches: list[list[MotifMatch]], top: int, trim_threshold: float,
                q_threshold: float) -> pd.DataFrame:
    """The motif table: one row per pattern.

    Columns ``pattern, sign, n_seqlets, width, consensus, name, enzyme_motif`` and per rank ``k``
    ``match_k, match_k_name, match_k_p, match_k_q, match_k_strand`` (``+``: the motif as in the database
    aligns to the pattern, ``-``: its reverse complement; empty when there are fewer matches).
    """
    columns = ["pattern", "sign", "n_seqlets", "width", "consensus", "name", "enzyme_motif"]
    for rank in range(1, top + 1):
        columns += [f"match_{rank}", f"match_{rank}_name", f"match_{rank}_p", f"match_{rank}_q",
                    f"match_{rank}_strand"]
    rows = []
    for pattern, found in zip(patterns, matches):
        kept = pattern.trimmed(trim_threshold)
        named = named_match(found, q_threshold)
        row = {"pattern": pattern.name, "sign": pattern.sign, "n_seqlets": pattern.n_seqlets,
               "width": kept.stop - kept.start, "consensus": consensus(pattern.ppm[kept]),
               "name": named.name if named else "", "enzyme_motif": bool(named and named.is_enzyme)}
        for rank in range(1, top + 1):
            match = found[rank - 1] if rank <= len(found) else None
            row.update({f"match_{rank}": match.identifier if match else "",
                        f"match_{rank}_name": match.name if match else "",
                        f"match_{rank}_p": match.p_value if match else "",
                        f"match_{rank}_q": match.q_value if match else "",
                        f"match_{rank}_strand": ("-" if match.reverse_complement else "+") if match else ""})
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)


def match_logo_name(identifier: str, reverse_complement: bool) -> str:
    """File name of a database motif's logo in ``logos/``.

    ``motif.MA0139.2.png``, or ``motif.MA0139.2.rc.png`` when drawn reverse-complemented.
    """
    return f"motif.{file_stem(identifier)}{'.rc' if reverse_complement else ''}.png"


def _draw_logos(folder: pathlib.Path, patterns, matches, motifs, trim_threshold: float) -> None:
    by_identifier = {motif.identifier: motif for motif in motifs}
    drawn = set()
    for pattern, found in zip(patterns, matches):
        kept = pattern.trimmed(trim_threshold)
        draw_logo(pattern.cwm[kept], folder / f"{pattern.name}.cwm.png", f"{pattern.name} CWM")
        draw_logo(pwm_heights(pattern.ppm[kept]), folder / f"{pattern.name}.pwm.png", f"{pattern.name} PWM")
        for match in found:
            # each motif drawn as it aligns to the pattern: as in the database, or reverse-complemented
            name = match_logo_name(match.identifier, match.reverse_complement)
            if name not in drawn:
                drawn.add(name)
                probabilities = by_identifier[match.identifier].probabilities
                if match.reverse_complement:
                    probabilities = probabilities[::-1, ::-1]
                draw_logo(pwm_heights(probabilities), folder / name,
                          match.label + (" (reverse complement)" if match.reverse_complement else ""))


@dataclasses.dataclass
class MotifInputs:
    """Checked inputs of a motif discovery: the contribution windows and the database motifs."""

    windows: ContributionWindows
    motifs: list
    database: str


def read_motif_inputs(contributions: str | os.PathLike, *, window: int = MODISCO_WINDOW,
                      motif_db: str | os.PathLike | None = None) -> MotifInputs:
    """Read and check a contributions file and a motif database (nothing is written).

    Raises:
        InputError: the contributions file is of another layout or shorter than ``window``, or
            the database is missing or does not parse (its line named).
    """
    windows = read_contribution_windows(contributions, window)
    motifs, source = load_motif_database(motif_db)
    return MotifInputs(windows, motifs, source)


def discover_motifs(contributions: str | os.PathLike, out: str | os.PathLike, *, window: int = MODISCO_WINDOW,
                    max_seqlets: int = MAX_SEQLETS, motif_db: str | os.PathLike | None = None,
                    top: int = TOP_MATCHES, trim_threshold: float = TRIM_THRESHOLD,
                    q_threshold: float = MATCH_Q_THRESHOLD, modisco_options: dict | None = None,
                    title: str | None = None, say=print) -> MotifDiscovery:
    """TF-MoDISco on the hypothetical scores of a contributions file, patterns matched to a database.

    Args:
        contributions: HDF5 of ``dream-keras contribs`` (``raw/seq``, ``shap/seq``, ``(n, 4, L)``).
        out: output folder (created; files already there with the same names are replaced).
        window: central bases of each region TF-MoDISco reads (official: 500).
        max_seqlets: most seqlets per metacluster (official: 50,000).
        motif_db: a MEME file to match against (default: the bundled database, enzyme-bias motifs
            and JASPAR 2024 CORE vertebrates non-redundant).
        top: database matches reported per pattern.
        trim_threshold: patterns are trimmed to positions whose summed |CWM| reaches this fraction
            of the maximum before matching and drawing.
        q_threshold: a pattern is named after its best match when that match's q-value is below this.
        modisco_options: other ``modisco motifs`` options
            (:data:`~dream_keras.motif_settings.MODISCO_OPTIONS`).
        title: the page's title (default: names the contributions file).
        say: where progress lines go (``print`` or a function taking the same arguments; ``None``
            for silence).

    Returns:
        :class:`MotifDiscovery`.

    Raises:
        InputError: the contributions file or the database is unusable (checked before writing).
    """
    inputs = read_motif_inputs(contributions, window=window, motif_db=motif_db)
    return write_motifs(inputs, out, max_seqlets=max_seqlets, top=top, trim_threshold=trim_threshold,
                        q_threshold=q_threshold, modisco_options=modisco_options, title=title, say=say)


def write_motifs(inputs: MotifInputs, out: str | os.PathLike, *, max_seqlets: int = MAX_SEQLETS,
                 top: int = TOP_MATCHES, trim_threshold: float = TRIM_THRESHOLD,
                 q_threshold: float = MATCH_Q_THRESHOLD, modisco_options: dict | None = None,
                 title: str | None = None, say=print) -> MotifDiscovery:
    """:func:`discover_motifs` on inputs already read (:func:`read_motif_inputs`); same arguments."""
    from dream_keras.interpret.motifs.motif_page import write_motif_page

    say = say or (lambda *_args, **_kwargs: None)
    windows, motifs, source = inputs.windows, inputs.motifs, inputs.database
    window = windows.onehot.shape[1]
    folder = pathlib.Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    n_regions = len(windows.onehot)
    say(f"      TF-MoDISco on {n_regions:,} regions, central {window} bp of {windows.length} bp, at most "
        f"{max_seqlets:,} seqlets per sign", flush=True)
    run = run_modisco(windows.onehot, windows.hypothetical, folder / RESULTS_NAME, window=window,
                      max_seqlets=max_seqlets, options=modisco_options, source=str(windows.path))
    patterns = read_patterns(folder / RESULTS_NAME)
    say(f"      {run.positive_seqlets:,} positive and {run.negative_seqlets:,} negative seqlets -> "
        f"{run.positive_patterns} positive and {run.negative_patterns} negative patterns; matching against "
        f"{len(motifs):,} motifs of {pathlib.Path(source).name}", flush=True)
    matches = match_patterns(patterns, motifs, top, trim_threshold)
    _draw_logos(folder / LOGO_FOLDER, patterns, matches, motifs, trim_threshold)
    table = motif_table(patterns, matches, top, trim_threshold, q_threshold)
    write_text_atomic(folder / TABLE_NAME, table.to_csv(sep="\t", index=False, float_format="%.4g"))
    summary = {"contributions": str(windows.path.resolve()), "attributes": windows.attributes,
               "regions": n_regions, "length": windows.length, "window": window, "max_seqlets": max_seqlets,
               "modisco_options": {**MODISCO_OPTIONS, **(modisco_options or {})},
               "min_metacluster_seqlets": MIN_METACLUSTER_SEQLETS,
               "seqlets": {"pos": run.positive_seqlets, "neg": run.negative_seqlets},
               "patterns": {"pos": run.positive_patterns, "neg": run.negative_patterns},
               "database": source, "database_motifs": len(motifs), "top_matches": top,
               "trim_threshold": trim_threshold, "q_threshold": q_threshold,
               "named": {row.pattern: row.name for row in table.itertuples() if row.name},
               "enzyme_patterns": [row.pattern for row in table.itertuples() if row.enzyme_motif]}
    write_text_atomic(folder / SUMMARY_NAME, json.dumps(summary, indent=1, default=str) + "\n")
    page = write_motif_page(folder, folder / PAGE_NAME, title=title)
    say(f"      {page}", flush=True)
    return MotifDiscovery(folder, patterns, matches, summary)
