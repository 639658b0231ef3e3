"""``dream-keras variants``: variant effects with the official variant scorer's columns, resumable.

Each variant (VCF, or the official schemas chrombpnet/bed/plink/original) is scored with each model:
windows of both alleles (the official layout: the allele at the centre, the right flank after the
reference allele), both strands, in one batched pass, chunk by chunk, chromosome by chromosome.

Columns of OUT/variant_scores.tsv (one row per variant and model; "model" is its position in --model):
  official (kundajelab/variant-scorer, same names and definitions):
    allele1_pred_counts, allele2_pred_counts  strand mean of exp(logcounts) (1 + predicted reads)
    logfc, abs_logfc                          log2(allele2 / allele1 counts), its absolute value
    jsd                                       Jensen-Shannon distance (base 2) of the profiles, indel-adjusted
    original_jsd                              the same without the indel adjustment
    logfc_x_jsd, abs_logfc_x_jsd
    with --peaks: allele1_quantile, allele2_quantile, active_allele_quantile, quantile_change,
      abs_quantile_change and logfc/abs_logfc/jsd/logfc_x_jsd/abs_logfc_x_jsd _x_active_allele_quantile
    with --num-shuffles: <score>.pval against the scores of shuffled-context variants (official tails)
  added here (the official definition has a defect; the official column is kept as it is):
    <score>.pval_capped  beside each two-sided .pval (logfc, logfc_x_jsd, quantile_change, ...): the official
                         two-sided p-value is twice the smaller tail and can exceed 1; this is min(1, .pval)
  models with single-value outputs o (no profile): allele1_<o>, allele2_<o>, <o>_diff
OUT/variant_scores.mean.tsv: the official summary across models: <score>.mean, <score>.mean.pval
(geometric mean of the models' p-values). Also peak_scores.tsv, shuffled_scores.tsv, skipped_variants.tsv,
variant_predictions.h5 (--hdf5), *.parquet (--parquet), plots/<id>.png (--plot), logs/run.json.

Bad variants (allele not A/C/G/T such as N, unknown chromosome, window off the chromosome end,
reference allele differing from the FASTA, duplicates) are refused, each named with its line, or
skipped and counted with --skip-bad. A bias model is refused (--allow-bias-model scores it); a
bias-factorised model is scored with a warning (--no-bias scores its bias-free part).
"""

from __future__ import annotations

import argparse
import pathlib

from dream_keras.cli.number_arguments import non_negative_int, positive_int
from dream_keras.cli.run_arguments import absolute, help_text
from dream_keras.interpret.variants.parameters import VariantScoringParameters, parameter_default
from dream_keras.interpret.variants.variant_files import SCHEMAS

EXAMPLES = """examples:
  dream-keras variants --model runs/bpnet/models/model_nobias.keras --genome demo/atac/genome.fa \\
      --variants demo/atac/variants.vcf --out runs/variants
  dream-keras variants --model runs/fold_*/models/model_nobias.keras --genome hg38.fa --variants snps.tsv \\
      --schema chrombpnet --peaks peaks.narrowPeak --num-shuffles 10 --out runs/snp_scores
  dream-keras variants ... --out runs/snp_scores --resume        # continue a killed run
"""


def add_parser(sub) -> None:
    """Add ``dream-keras variants`` to the subcommands.

    Args:
        sub: the subcommands (``argparse`` sub-parsers) to add it to.
    """
    p = sub.add_parser("variants", help="variant effects (official variant-scorer columns, p-values, fold summary)",
                       description=help_text(__doc__), epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", nargs="+", required=True, metavar="M",
                   help=".keras model file(s), e.g. one per fold (RUN/models/model_nobias.keras)")
    p.add_argument("--genome", required=True, help="reference FASTA (reference alleles are checked against it)")
    p.add_argument("--variants", "--vcf", "--list", dest="variants", required=True, metavar="FILE",
                   help="VCF (plain or gzip) or an official variant list (see --schema)")
    p.add_argument("--schema", choices=SCHEMAS, default=parameter_default("schema"),
                   help="the variant file's layout: vcf; chrombpnet (chr pos allele1 allele2 variant_id); bed (chr "
                        "start end allele1 allele2 variant_id, 0-based); plink (chr variant_id ignored pos allele1 "
                        "allele2); original (chr pos variant_id allele1 allele2); '-' is an empty allele. auto "
                        "(default): a VCF by name or header, else chrombpnet")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--peaks", default=None, help="narrowPeak/BED of the assay's peaks: adds the allele quantiles")
    p.add_argument("--max-peaks", type=positive_int, default=None, help="use a sample of N peaks (seeded)")
    p.add_argument("--num-shuffles", type=non_negative_int, default=parameter_default("num_shuffles"),
                   help="shuffled-context variants per variant for the .pval columns (official default 10; "
                        f"default here: {parameter_default('num_shuffles')}, no p-values)")
    p.add_argument("--total-shuffles", type=positive_int, default=None,
                   help="the total number of shuffled variants instead (wins over --num-shuffles)")
    p.add_argument("--seed", type=int, default=parameter_default("seed"),
                   help=f"seed of the shuffles and the peak sample (default: {parameter_default('seed')}, the "
                        "official scorer's)")
    p.add_argument("--batch-size", type=positive_int, default=parameter_default("batch_size"),
                   help=f"variants per model call, 4 windows each (default: {parameter_default('batch_size')})")
    p.add_argument("--chunk-size", type=positive_int, default=parameter_default("chunk_size"),
                   help=f"variants per chunk: memory bound and --resume unit (default: "
                        f"{parameter_default('chunk_size')})")
    p.add_argument("--no-snv-reuse", action="store_true",
                   help="predict SNVs' alternate windows in full (default for BPNet models: only the positions that "
                        "differ from the reference's activations, the same numbers up to float32 rounding)")
    p.add_argument("--skip-bad", action="store_true", help="skip bad variants (counted, listed in "
                                                             "skipped_variants.tsv) instead of refusing them")
    p.add_argument("--no-bias", action="store_true", help="score the bias-free part of bias-factorised models")
    p.add_argument("--allow-bias-model", action="store_true", help="score a bias model (refused otherwise)")
    p.add_argument("--hdf5", action="store_true", help="also write variant_predictions.h5 (counts and profiles)")
    p.add_argument("--parquet", action="store_true", help="also write the tables as Parquet (needs pyarrow)")
    p.add_argument("--plot", nargs="+", default=[], metavar="ID",
                   help="draw plots/<ID>.png: predicted profiles and contribution tracks of both alleles")
    p.add_argument("--resume", action="store_true", help="continue a killed run in --out from its last finished chunk")
    p.add_argument("--overwrite", action="store_true", help="replace --out (the old one stays until this one is done)")
    p.set_defaults(func=run)


def parameters(args: argparse.Namespace) -> VariantScoringParameters:
    """The run's parameters from the parsed flags (paths made absolute for run.json)."""
    return VariantScoringParameters(
        models=[absolute(m) for m in args.model], genome=absolute(args.genome), variants=absolute(args.variants),
        out=absolute(args.out), schema=args.schema, peaks=absolute(args.peaks), max_peaks=args.max_peaks,
        num_shuffles=args.num_shuffles, total_shuffles=args.total_shuffles, seed=args.seed,
        batch_size=args.batch_size, chunk_size=args.chunk_size, snv_reuse=not args.no_snv_reuse,
        skip_bad=args.skip_bad, no_bias=args.no_bias,
        allow_bias_model=args.allow_bias_model, hdf5=args.hdf5, parquet=args.parquet, plot=list(args.plot),
        resume=args.resume, overwrite=args.overwrite)


def run(args) -> int:
    """Run ``dream-keras variants`` and print what was scored and written.

    Args:
        args: the parsed command line.

    Returns:
        The exit status (0).
    """
    from data_prep.outputs import open_output
    from dream_keras.interpret.variants.scoring import prepare_run, score_run

    params = parameters(args)
    # --out is refused (or opened) before any work; --overwrite builds the run beside the old one
    with open_output(params.out, overwrite=params.overwrite, resume=params.resume,
                     resume_needs=("logs/run.json",)) as output:
        prepared = prepare_run(params)
        results = score_run(prepared, output.make())
    folder_text = str(output.final)
    print(f"scored {results['variants_scored']} variant(s) with {results['models']} model(s)"
          + (f", {results['shuffled_variants']} shuffled variant(s)" if results["shuffled_variants"] else "")
          + (f", {results['variants_skipped']} skipped" if results["variants_skipped"] else "")
          + f"; wrote {folder_text}/" + ", ".join(sorted(pathlib.Path(p).name for p in results["paths"].values())))
    return 0
