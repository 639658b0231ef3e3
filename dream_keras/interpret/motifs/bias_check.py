"""The official pipeline's motif bias check: no enzyme motif among the bias-free model's patterns.

The ChromBPNet pipeline ends with TF-MoDISco on the bias-free model's contributions and its users
look there for the Tn5 (or DNase I) motif: a bias-free model that still carries the enzyme's
preference shows it as a pattern. Here that look is a verdict: the check fails when a pattern is
named after an enzyme-bias motif, i.e. its best database match is a TN5_*/DNASE_* motif with a
q-value below :data:`~dream_keras.motif_settings.MATCH_Q_THRESHOLD` (0.05).
"""

from __future__ import annotations

from dream_keras.motif_settings import MATCH_Q_THRESHOLD

PASS, FAIL, NO_PATTERNS = "pass", "fail", "no patterns"


def motif_bias_check(table, q_threshold: float = MATCH_Q_THRESHOLD) -> dict:
    """The verdict of the motif check on a ``motifs.tsv`` table of a bias-free model.

    Args:
        table: the table of :func:`~dream_keras.interpret.motifs.discovery.motif_table` (a data
            frame with ``pattern``, ``n_seqlets``, ``match_1``, ``match_1_q`` and ``enzyme_motif``).
        q_threshold: the naming threshold the table was made with (recorded in the result).

    Returns:
        ``{"verdict": "pass" | "fail" | "no patterns", "patterns": n, "q_threshold": ...,
        "enzyme_patterns": [{"pattern", "match", "q_value", "n_seqlets"}, ...], "message": ...}``.
    """
    enzyme = [{"pattern": str(row.pattern), "match": str(row.match_1), "q_value": float(row.match_1_q),
               "n_seqlets": int(row.n_seqlets)}
              for row in table.itertuples() if bool(row.enzyme_motif)]
    if len(table) == 0:
        verdict, message = NO_PATTERNS, "TF-MoDISco found no pattern, so no enzyme motif could be looked for"
    elif enzyme:
        verdict = FAIL
        message = "enzyme motif among the bias-free model's patterns: " + ", ".join(
            f"{e['pattern']} ~ {e['match']} (q = {e['q_value']:.2g}, {e['n_seqlets']} seqlets)" for e in enzyme)
    else:
        verdict, message = PASS, f"none of the {len(table)} patterns is named after an enzyme motif"
    return {"verdict": verdict, "patterns": int(len(table)), "q_threshold": float(q_threshold),
            "enzyme_patterns": enzyme, "message": message}
