"""Motifs from contribution scores: TF-MoDISco patterns named against a motif database.

- :func:`discover_motifs`: a contributions HDF5 (``dream-keras contribs``) -> TF-MoDISco results,
  ``motifs.tsv``, logos and ``motifs.html`` (:mod:`~dream_keras.interpret.motifs.discovery`).
- :func:`read_contribution_windows`: the checked central window of a contributions file.
- :func:`run_modisco`: TF-MoDISco through the maintained package (``modisco-lite``).
- :func:`match_patterns`: TOMTOM from pip (``memelite``) against the bundled database
  (ChromBPNet's enzyme-bias motifs and JASPAR 2024 CORE vertebrates non-redundant) or any MEME file.

Defaults (the official ChromBPNet pipeline's) are in :mod:`~dream_keras.motif_settings`.
"""

from dream_keras.interpret.motifs.contribution_file import ContributionWindows, read_contribution_windows
from dream_keras.interpret.motifs.discovery import MotifDiscovery, discover_motifs, named_match
from dream_keras.interpret.motifs.matching import MotifMatch, is_enzyme_motif, load_motif_database, match_patterns
from dream_keras.interpret.motifs.modisco_run import ModiscoRun, run_modisco
from dream_keras.interpret.motifs.patterns import Pattern, read_patterns

__all__ = ["ContributionWindows", "ModiscoRun", "MotifDiscovery", "MotifMatch", "Pattern", "discover_motifs",
           "is_enzyme_motif", "load_motif_database", "match_patterns", "named_match", "read_contribution_windows",
           "read_patterns", "run_modisco"]
