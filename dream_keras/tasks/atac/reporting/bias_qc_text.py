"""The bias checks of ``evaluation/bias_qc.json`` in plain words.

What each measures, what its verdict means, and what to do when it fails (the numbers and bounds are those of
:mod:`bias_models.qc`, the official ChromBPNet pipeline's).
"""

from __future__ import annotations

import dataclasses

from bias_models.qc import (
    FOOTPRINT_DECIMALS,
    FOOTPRINT_FAILS_FROM,
    FOOTPRINT_THRESHOLD,
    PEAK_PEARSON_FAIL,
    PEAK_PEARSON_WARN,
    footprint_reaches_threshold,
)
from dream_keras.motif_settings import MATCH_Q_THRESHOLD


@dataclasses.dataclass(frozen=True)
class CheckText:
    """How one check reads in the report.

    Its title, what it measures, and per verdict a ``(meaning, what to do)`` pair (``what to do`` is empty when nothing
    needs doing).
    """

    title: str
    measures: str
    verdicts: dict


COUNT_CHECK = CheckText(
    title="Bias model against peak strength (count check)",
    measures=("The bias model should only learn the enzyme's own sequence preference. Its predicted read counts "
              "in the test peaks are compared with the observed counts (Pearson r of log counts). A bias model "
              "that learnt sequence content typical of peaks (e.g. GC-rich promoters) predicts fewer reads where "
              "peaks are strong, and r turns negative; such a bias model would remove real signal from the main "
              f"model. Bounds: pass above {PEAK_PEARSON_WARN}, warning down to {PEAK_PEARSON_FAIL}, fail at or "
              f"below {PEAK_PEARSON_FAIL} (where the official pipeline stops)."),
    verdicts={
        "pass": ("The bias model does not anti-correlate with peak strength: it did not learn peak sequence "
                 "content.", ""),
        "warn": ("The bias model anti-correlates somewhat with peak strength: it may have learnt part of the "
                 "sequence content of peaks.",
                 "Look at the bias-free model's footprints and motifs: if they are mostly GC-rich or look like the "
                 "enzyme motif, retrain the bias model with a higher --bias-threshold-factor."),
        "fail": ("The bias model predicts fewer reads where peaks are strong (or its predictions are constant): it "
                 "learnt peak sequence content, not the enzyme's preference. The official pipeline stops here.",
                 "Retrain the bias model with a higher --bias-threshold-factor (e.g. 0.6 to 0.8 for ATAC), check "
                 "that the nonpeaks are GC-matched background from `dream-keras prep nonpeaks` and that the peaks "
                 "belong to this bigWig; then train the main model again with the new bias model."),
    })

FOOTPRINT_CHECK = CheckText(
    title="Enzyme footprints of the bias-free model (footprint check)",
    measures=("The enzyme's motifs (Tn5 for ATAC, DNase I for DNase) are written into the centre of test "
              "background regions and the bias-free model (the main model without its bias part) predicts their "
              "profiles. If the bias model absorbed the enzyme's preference, the bias-free model barely responds. "
              "The number shown per motif is the largest value of the normalised footprint (a profile summing to "
              f"1); rounded to {FOOTPRINT_DECIMALS} decimals it must stay below the threshold {FOOTPRINT_THRESHOLD} "
              f"for every motif, as in the official check, so a maximum of {FOOTPRINT_FAILS_FROM:.4f} or more "
              "fails."),
    verdicts={
        "corrected": ("The bias-free model does not respond to the enzyme's motifs: its predictions and "
                      "contribution scores reflect the sequence grammar of the assay's proteins, not the enzyme.",
                      ""),
        "uncorrected": ("The bias-free model still responds to the enzyme's motifs: part of the enzyme's sequence "
                        "preference leaked into it, so its motifs and contribution scores may show enzyme "
                        "patterns.",
                        "Retrain the bias model (more epochs, or another --bias-threshold-factor; check that "
                        "--data-type matches the assay), then train the main model again with it. Very short runs "
                        "(one or two epochs) fail this check as a rule."),
    })

MOTIF_CHECK = CheckText(
    title="Enzyme motifs among the bias-free model's motifs (motif check)",
    measures=("TF-MoDISco gathers the recurring patterns of the bias-free model's contribution scores on the peaks, "
              "and each pattern is compared with a motif database that holds the enzymes' own motifs (Tn5 and "
              "DNase I, from ChromBPNet) besides the transcription-factor motifs of JASPAR. The official pipeline "
              "ends with these motifs, and a Tn5 or DNase motif among them means that the enzyme's preference is "
              "still in the model. A pattern counts as an enzyme motif when its best database match is one with a "
              f"q-value below {MATCH_Q_THRESHOLD}."),
    verdicts={
        "pass": ("No pattern of the bias-free model is an enzyme motif: its motifs are those of the proteins that "
                 "open the chromatin.", ""),
        "fail": ("A pattern of the bias-free model is an enzyme motif: part of the enzyme's sequence preference is in "
                 "the bias-free model, so its contribution scores and motifs are partly the enzyme's.",
                 "Retrain the bias model (more epochs, or a higher --bias-threshold-factor so that it sees more "
                 "background; check that --data-type matches the assay), then train the main model again with it. "
                 "Until then, read the bias-free model's motifs with the enzyme patterns set aside."),
        "no patterns": ("TF-MoDISco found no pattern (too few seqlets), so the check could not look for enzyme "
                        "motifs.",
                        "Give the motifs stage more peaks (--motif-peaks) or train the model longer; a model that "
                        "learnt little has few seqlets."),
    })

CHECKS = {"count": COUNT_CHECK, "footprint": FOOTPRINT_CHECK, "motif": MOTIF_CHECK}


def flat_profile_note(output_length: int | None) -> str:
    """Why the footprint bound may not apply: it assumes the official 1,000 bp output, where a flat profile is 0.001.

    A shorter output has a higher flat level, which can reach the bound alone.
    """
    if not output_length:
        return ""
    flat = 1.0 / int(output_length)
    if not footprint_reaches_threshold(flat):
        return f"A flat profile over this run's {output_length} bp output is {flat:.4f}."
    return (f"This run predicts {output_length} bp, where even a flat profile is {flat:.4f}: the bound "
            f"{FOOTPRINT_THRESHOLD} was set for the official 1,000 bp output and cannot pass here.")
