"""Every default of motif discovery, declared once (read by the command line without importing TF-MoDISco).

The official ChromBPNet pipeline (``chrombpnet pipeline``, ``chrombpnet/pipelines.py`` of 1.0.1)
samples at most 30,000 peaks (``pandas.DataFrame.sample(30000, random_state=1234)``), computes the
bias-free model's profile contributions there, and runs ``modisco motifs -n 50000 -w 500`` (at most
50,000 seqlets per metacluster, the central 500 bp) with every other option of the ``modisco``
command at its default, then ``modisco report`` against its motif database. The values below are
those; the rest are the ``modisco motifs`` command's defaults (modisco-lite).
"""

from __future__ import annotations

#: central window of each region that TF-MoDISco looks at (``modisco motifs -w``)
MODISCO_WINDOW = 500
#: most seqlets per metacluster, positive and negative (``modisco motifs -n``)
MAX_SEQLETS = 50_000
#: most peaks whose contributions the pipeline computes, and the seed of their sampling
MOTIF_PEAKS = 30_000
PEAK_SAMPLE_SEED = 1234
#: the output whose contributions the pipeline explains (the official pipeline: profile)
MOTIF_OUTPUT = "profile"
#: the contribution method of the pipeline's motifs stage: "auto" is DeepSHAP (the official method)
#: wherever every layer of the model has a DeepLIFT rule, else integrated gradients
MOTIF_CONTRIBUTION_METHOD = "auto"

#: the other ``modisco motifs`` options, at that command's defaults
MODISCO_OPTIONS = {"n_leiden_runs": 2, "sliding_window_size": 20, "flank_size": 5, "trim_to_window_size": 30,
                   "initial_flank_to_add": 10, "final_flank_to_add": 0, "target_seqlet_fdr": 0.05}
#: TF-MoDISco makes patterns of a metacluster only with more seqlets than this (its own default)
MIN_METACLUSTER_SEQLETS = 100

#: ``modisco report``: a pattern is trimmed to the positions whose summed |CWM| reaches this
#: fraction of its maximum, for the logos and for the database query
TRIM_THRESHOLD = 0.3
#: database matches reported per pattern
TOP_MATCHES = 3
#: the bundled database (data_prep/data/motifs, see NOTICE.txt there)
DEFAULT_DATABASE = "motif_database.meme.gz"
#: database identifiers of enzyme (bias) motifs
ENZYME_MOTIF_PREFIXES = ("TN5_", "DNASE_")
#: a pattern is named after its best match when that match's q-value is below this; the motif
#: bias check fails when a bias-free model's pattern is so named after an enzyme motif
MATCH_Q_THRESHOLD = 0.05
