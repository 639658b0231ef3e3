"""``dream-keras motifs``: TF-MoDISco motifs of a contributions file, named against a motif database.

Reads the HDF5 that ``dream-keras contribs`` writes (raw/seq, shap/seq, projected_shap/seq, each
(regions, 4, length)) and runs TF-MoDISco (the modisco-lite package) on the hypothetical scores of
the central --window bases, as the official ChromBPNet pipeline does (``modisco motifs -n 50000 -w
500``); then names each pattern by TOMTOM (the memelite package, no MEME binary) against the
bundled database (ChromBPNet's Tn5/DNase bias motifs and JASPAR 2024 CORE vertebrates
non-redundant) or --motif-db. Writes into --out: modisco_results.h5 (TF-MoDISco's layout, read by
`modisco report`), motifs.tsv, motifs.json, logos/*.png and motifs.html.
"""

from __future__ import annotations

import argparse
import pathlib

from dream_keras.cli.number_arguments import fraction, positive_int
from dream_keras.cli.run_arguments import help_text
from dream_keras.motif_settings import MATCH_Q_THRESHOLD, MAX_SEQLETS, MODISCO_OPTIONS, MODISCO_WINDOW, TOP_MATCHES

EXAMPLE = """example:
  dream-keras contribs --model model_nobias.keras --genome genome.fa --regions peaks.narrowPeak \\
      --output profile --out contribs/sample
  dream-keras motifs --contribs contribs/sample.profile_scores.h5 --out motifs_sample
  -> motifs_sample/motifs.html, motifs.tsv, modisco_results.h5, logos/
"""


def add_parser(sub) -> None:
    """Add ``dream-keras motifs`` to the subcommands.

    Args:
        sub: the subcommands (``argparse`` sub-parsers) to add it to.
    """
    p = sub.add_parser("motifs", help="TF-MoDISco motifs of contribution scores, named against a motif database",
                       description=help_text(__doc__), epilog=EXAMPLE,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--contribs", required=True, metavar="H5",
                   help="contributions HDF5 of `dream-keras contribs` (its *_scores.h5)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (new or empty)")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier motifs folder")
    p.add_argument("--motif-db", metavar="MEME", default=None,
                   help="MEME motif file to match against, plain or .gz (default: the bundled database)")
    p.add_argument("--window", type=positive_int, default=MODISCO_WINDOW,
                   help=f"central bases of each region TF-MoDISco reads (default {MODISCO_WINDOW}, the official)")
    p.add_argument("--max-seqlets", type=positive_int, default=MAX_SEQLETS,
                   help=f"most seqlets per metacluster (sign) (default {MAX_SEQLETS:,}, the official)")
    p.add_argument("--n-leiden-runs", type=positive_int, default=MODISCO_OPTIONS["n_leiden_runs"],
                   help=f"Leiden clusterings with different seeds (default {MODISCO_OPTIONS['n_leiden_runs']})")
    p.add_argument("--top-matches", type=positive_int, default=TOP_MATCHES,
                   help=f"database matches listed per pattern (default {TOP_MATCHES})")
    p.add_argument("--q-threshold", type=fraction, default=MATCH_Q_THRESHOLD,
                   help=f"a pattern is named after its best match when its q-value is below this (default "
                        f"{MATCH_Q_THRESHOLD})")
    p.set_defaults(func=run)


def run(args) -> int:
    """Run ``dream-keras motifs`` and print the patterns found.

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    from data_prep.outputs import open_output
    from dream_keras.interpret.motifs.discovery import read_motif_inputs, write_motifs

    with open_output(args.out, overwrite=args.overwrite) as output:
        # inputs are read and checked before the folder is created: a bad file leaves nothing behind
        inputs = read_motif_inputs(args.contribs, window=args.window, motif_db=args.motif_db)
        discovery = write_motifs(inputs, output.make(), max_seqlets=args.max_seqlets, top=args.top_matches,
                                 q_threshold=args.q_threshold, modisco_options={"n_leiden_runs": args.n_leiden_runs})
        table = discovery.table  # read before an --overwrite moves the folder
    final = pathlib.Path(args.out).resolve()
    if table.empty:
        print(f"no pattern found ({discovery.summary['seqlets']['pos']} positive and "
              f"{discovery.summary['seqlets']['neg']} negative seqlets); the report says so: {final / 'motifs.html'}")
    else:
        shown = table[["pattern", "n_seqlets", "consensus", "match_1", "match_1_name", "match_1_q"]]
        print(shown.to_string(index=False))
        print(f"wrote {final / 'motifs.html'}, motifs.tsv, modisco_results.h5 and logos/ ({len(table)} pattern(s))")
    return 0
