"""``dream-keras prep``: data preparation for the ATAC task.

``prep splits`` writes a fold JSON (test and validation chromosomes given, every other chromosome
trains); ``prep nonpeaks`` writes GC-matched background regions for a fold as narrowPeak; ``prep bigwig``
makes the official per-base Tn5/DNase bigWig from reads (BAM, fragments or tagAlign), or, with
``--cell-groups``, one bigWig per group of cells from a single-cell fragments file in one pass.
"""

from __future__ import annotations

import argparse
import pathlib

from data_prep.nonpeaks import NONPEAK_STRIDE, NONPEAKS_PER_PEAK, NONPEAKS_PER_TEST_PEAK
from data_prep.windows import CHROMBPNET_INPUT_LENGTH
from dream_keras.cli.run_arguments import help_text

EXAMPLES = """examples:
  dream-keras prep splits --chrom-sizes hg38.chrom.sizes --test chr1 chr3 chr6 --valid chr8 chr20 \\
      --exclude chrM chrY --out folds/fold_0.json
  dream-keras prep nonpeaks --genome hg38.fa --peaks peaks.narrowPeak --fold folds/fold_0.json \\
      --out nonpeaks.narrowPeak
  dream-keras prep bigwig --genome hg38.fa --bam sample.bam --data-type ATAC --out sample.bw
  dream-keras prep bigwig --genome hg38.fa --fragments fragments.tsv.gz --cell-groups clusters.tsv \
      --data-type ATAC --out-dir bigwigs/          (one bigWig per cluster, groups_summary.tsv, samples.tsv)
"""


def add_parser(sub) -> None:
    """Add ``dream-keras prep splits|nonpeaks|bigwig`` to the subcommands."""
    p = sub.add_parser("prep", help="prepare data: folds (prep splits), background regions (prep nonpeaks), reads "
                            "to an insertion bigWig (prep bigwig)",
                       description=help_text(__doc__),
                       epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    prep_sub = p.add_subparsers(dest="prep_command", required=True, metavar="PREP_COMMAND")

    s = prep_sub.add_parser("splits", help="write a fold JSON from chromosome sizes and test/valid chromosomes")
    sizes = s.add_mutually_exclusive_group(required=True)
    sizes.add_argument("--chrom-sizes", help="chrom.sizes file (name<TAB>length)")
    sizes.add_argument("--genome", help="FASTA whose chromosomes to split (instead of --chrom-sizes)")
    s.add_argument("--test", nargs="+", required=True, metavar="CHROM", help="test chromosomes")
    s.add_argument("--valid", nargs="+", required=True, metavar="CHROM", help="validation chromosomes")
    s.add_argument("--exclude", nargs="+", default=[], metavar="CHROM",
                   help="chromosomes in no split (e.g. chrM chrY; names the genome lacks are noted and ignored); "
                        "all others train")
    s.add_argument("--out", required=True, help="fold JSON to write (e.g. folds/fold_0.json)")
    s.add_argument("--overwrite", action="store_true", help="replace an existing file")
    s.set_defaults(func=run_splits)

    n = prep_sub.add_parser("nonpeaks", help="GC-matched background regions for a fold (narrowPeak)")
    n.add_argument("--genome", required=True, help="reference FASTA")
    n.add_argument("--peaks", required=True, help="peaks (narrowPeak or BED); background avoids them")
    n.add_argument("--fold", required=True, help="fold number (fold_N.json in --fold-dir) or a fold JSON file")
    n.add_argument("--fold-dir", help="folder of fold_N.json files (default: bundled hg38 folds)")
    n.add_argument("--chrom-sizes", help="chrom.sizes (default: the FASTA's lengths)")
    n.add_argument("--blacklist", help="BED of regions to avoid")
    n.add_argument("--out", required=True, help="narrowPeak file to write")
    n.add_argument("--input-length", type=int, default=CHROMBPNET_INPUT_LENGTH,
                   help=f"window width (bp, default {CHROMBPNET_INPUT_LENGTH})")
    n.add_argument("--stride", type=int, default=NONPEAK_STRIDE,
                   help=f"candidate bins every this many bp (default {NONPEAK_STRIDE})")
    n.add_argument("--ratio", type=int, default=NONPEAKS_PER_PEAK,
                   help=f"nonpeaks per train/valid peak (default {NONPEAKS_PER_PEAK})")
    n.add_argument("--ratio-test", type=int, default=NONPEAKS_PER_TEST_PEAK,
                   help=f"nonpeaks per test peak (default {NONPEAKS_PER_TEST_PEAK})")
    n.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    n.add_argument("--overwrite", action="store_true", help="replace an existing file")
    n.set_defaults(func=run_nonpeaks)

    b = prep_sub.add_parser("bigwig", help="reads (BAM, fragments or tagAlign) to the official per-base bigWig")
    b.add_argument("--genome", required=True, help="reference FASTA (its chromosomes make the bigWig)")
    reads = b.add_mutually_exclusive_group(required=True)
    reads.add_argument("--bam", help="BAM or SAM, sorted by coordinate")
    reads.add_argument("--fragments", help="fragments file chrom/start/end[/...] (.tsv or .tsv.gz), sorted")
    reads.add_argument("--tagalign", help="tagAlign chrom/start/end/name/score/strand (plain or .gz), sorted")
    b.add_argument("--data-type", required=True, choices=["ATAC", "DNASE"], type=str.upper,
                   help="ATAC (Tn5, shifted to +4/-4) or DNASE (shifted to 0/+1)")
    b.add_argument("--plus-shift", type=int, help="shift the + strand reads already have (default: estimated)")
    b.add_argument("--minus-shift", type=int, help="shift the - strand reads already have (default: estimated)")
    b.add_argument("--num-samples", type=int, default=10_000,
                   help="reads per strand sampled to estimate the shift (default 10000)")
    b.add_argument("--seed", type=int, default=0, help="random seed of that sample (default 0)")
    b.add_argument("--zoom-levels", type=int, default=10,
                   help="most bigWig zoom levels (default 10, as bedGraphToBigWig); 0 writes none: same values, "
                        "faster writing, slower zoomed-out browser views")
    outputs = b.add_mutually_exclusive_group(required=True)
    outputs.add_argument("--out", help="bigWig to write")
    outputs.add_argument("--out-dir", help="with --cell-groups: folder of the per-group bigWigs")
    b.add_argument("--overwrite", action="store_true",
                   help="replace an existing file (--out-dir: the earlier run's outputs)")
    cells = b.add_argument_group("single-cell fragments: one bigWig per group of cells, in one pass")
    cells.add_argument("--cell-groups", metavar="TABLE",
                       help="barcode -> group table (TSV or CSV, plain or gzip; two columns barcode, group, with or "
                            "without header, or a cell metadata export: see --group-column); needs --fragments "
                            "and --out-dir")
    cells.add_argument("--group-column", metavar="NAME",
                       help="column of --cell-groups holding the group (e.g. Clusters, seurat_clusters, leiden, "
                            "cell_type; or a number, 1 = first); needed when the table has more than two columns")
    cells.add_argument("--barcode-column", metavar="NAME",
                       help="column of --cell-groups holding the barcodes (default: the first)")
    cells.add_argument("--barcode-prefix", metavar="TEXT",
                       help="use only the table's barcodes that start with TEXT, with TEXT removed (ArchR names "
                            "cells SAMPLE#BARCODE: --barcode-prefix 'SAMPLE#')")
    cells.add_argument("--min-fragments", type=int, default=0, metavar="N",
                       help="groups with fewer fragments get no bigWig (listed as skipped; default 0)")
    cells.add_argument("--resume", action="store_true",
                       help="finish an interrupted --cell-groups run in --out-dir (its finished bigWigs are kept)")
    b.set_defaults(func=run_bigwig)


def run_splits(args) -> int:
    """Run ``dream-keras prep splits``; returns the exit status."""
    from data_prep.outputs import open_output

    with open_output(args.out, kind="files", overwrite=args.overwrite) as output:
        return _write_splits(args, output.final)


def _write_splits(args, out: pathlib.Path) -> int:
    from data_prep import make_splits, write_fold
    from data_prep.errors import InputError
    from data_prep.genome import genome_sizes, opened_genome

    if args.genome:
        with opened_genome(args.genome) as fasta:
            sizes = genome_sizes(fasta)
    else:
        from data_prep import read_chrom_sizes

        sizes = read_chrom_sizes(args.chrom_sizes)
    source = args.genome or args.chrom_sizes
    # Excluding a chromosome the genome lacks changes nothing; say so (it may be a typo) and go on, so
    # that one command (e.g. --exclude chrM chrY) serves genomes with and without those chromosomes.
    absent = [c for c in args.exclude if c not in sizes]
    if absent:
        print(f"note: --exclude {' '.join(absent)}: not in {source}, nothing to exclude for "
              f"{'it' if len(absent) == 1 else 'them'}")
    clash = sorted(set(args.exclude) & (set(args.test) | set(args.valid)))
    if clash:
        raise InputError(f"{', '.join(clash)} are both excluded and in --test/--valid; name each chromosome once")
    fold = make_splits({c: n for c, n in sizes.items() if c not in args.exclude}, args.test, args.valid)
    write_fold(out, fold)
    excluded = len(args.exclude) - len(absent)
    print(f"wrote {out}: train {len(fold['train'])}, valid {len(fold['valid'])}, test {len(fold['test'])} "
          f"chromosomes{f' ({excluded} excluded)' if excluded else ''}")
    return 0


def run_nonpeaks(args) -> int:
    """Run ``dream-keras prep nonpeaks``; returns the exit status."""
    from data_prep.outputs import open_output

    with open_output(args.out, kind="files", overwrite=args.overwrite) as output:
        return _write_nonpeaks(args, output.final)


def _write_nonpeaks(args, out: pathlib.Path) -> int:
    from data_prep import make_nonpeaks, write_narrowpeak
    from data_prep.atac.inputs import resolve_folds
    from data_prep.errors import InputError

    folds = resolve_folds(args.fold, args.fold_dir)
    if len(folds) != 1:
        raise InputError("prep nonpeaks makes the background of one fold; pass --fold N or a fold JSON file")
    # a shortage of background regions is a warning, printed by the command line as one plain line
    nonpeaks = make_nonpeaks(args.genome, args.peaks, args.chrom_sizes, folds[0].splits,
                             input_length=args.input_length, stride=args.stride, blacklist=args.blacklist,
                             ratio_trainvalid=args.ratio, ratio_test=args.ratio_test, seed=args.seed)
    write_narrowpeak(nonpeaks, out)
    counts = nonpeaks["split"].value_counts()
    print(f"wrote {out}: {len(nonpeaks)} GC-matched nonpeaks (train {counts.get('train', 0)}, valid "
          f"{counts.get('valid', 0)}, test {counts.get('test', 0)}), {args.input_length} bp each")
    return 0


def run_bigwig(args) -> int:
    """Run ``dream-keras prep bigwig``; returns the exit status."""
    # data_prep only: this command must not import TensorFlow or Keras.
    from data_prep.errors import InputError
    from data_prep.outputs import open_output
    from data_prep.reads import reads_to_bigwig

    if args.cell_groups or args.out_dir:
        return run_group_bigwigs(args)
    for option in ("group_column", "barcode_column", "barcode_prefix", "resume"):
        if getattr(args, option):
            raise InputError(f"--{option.replace('_', '-')} belongs to --cell-groups (one bigWig per group of cells)")
    if not args.out:
        raise InputError("prep bigwig needs --out FILE.bw (or --cell-groups with --out-dir for one bigWig per group)")
    with open_output(args.out, kind="files", overwrite=args.overwrite) as output:
        summary = reads_to_bigwig(output.final, args.genome, data_type=args.data_type, bam=args.bam,
                                  fragments=args.fragments, tagalign=args.tagalign, plus_shift=args.plus_shift,
                                  minus_shift=args.minus_shift, num_samples=args.num_samples, seed=args.seed,
                                  zoom_levels=args.zoom_levels)
    print(summary.line())
    return 0


def _groups_record(args, groups) -> dict:
    """What ``prep_bigwig.json`` records of this run: its parameters, its input files and the files it writes."""
    return {"parameters": {"data_type": args.data_type, "plus_shift": args.plus_shift,
                           "minus_shift": args.minus_shift, "num_samples": args.num_samples, "seed": args.seed,
                           "zoom_levels": args.zoom_levels, "min_fragments": args.min_fragments,
                           "group_column": args.group_column, "barcode_column": args.barcode_column,
                           "barcode_prefix": args.barcode_prefix},
            "inputs": {"fragments": args.fragments, "cell_groups": args.cell_groups, "genome": args.genome},
            "files": groups.file_stems()}


def run_group_bigwigs(args) -> int:
    """``prep bigwig --fragments F --cell-groups T --out-dir D``: one bigWig per group, in one pass."""
    from data_prep.errors import InputError
    from data_prep.outputs import open_output
    from data_prep.reads.cell_groups import read_cell_groups
    from data_prep.reads.grouped_convert import fragments_to_group_bigwigs
    from data_prep.reads.grouped_folder import RECORD_NAME, start_groups_folder

    if not (args.cell_groups and args.out_dir and args.fragments):
        raise InputError("one bigWig per group of cells needs --fragments (a single-cell fragments file), "
                         "--cell-groups (barcode -> group) and --out-dir together")
    for option in ("fragments", "cell_groups", "genome"):
        if not pathlib.Path(getattr(args, option)).is_file():
            raise InputError(f"--{option.replace('_', '-')} {getattr(args, option)} does not exist")
    if args.min_fragments < 0:
        raise InputError(f"--min-fragments must be 0 or more, not {args.min_fragments}")
    groups = read_cell_groups(args.cell_groups, barcode_column=args.barcode_column, group_column=args.group_column,
                              barcode_prefix=args.barcode_prefix)
    with open_output(args.out_dir, overwrite=args.overwrite, resume=args.resume, option="--out-dir",
                     resume_needs=(RECORD_NAME,)) as output:
        done = start_groups_folder(output.make(), _groups_record(args, groups), resume=output.resumed)
        if done == ["*"]:
            print(f"{output.final}: the run finished already (its groups_summary.tsv is there); nothing to do")
            return 0
        if done:
            print(f"resuming in {output.final}: {len(done)} of {len(groups.groups)} bigWigs were finished and are "
                  "kept")
        summary = fragments_to_group_bigwigs(output.path, args.genome, args.fragments, groups,
                                             data_type=args.data_type, plus_shift=args.plus_shift,
                                             minus_shift=args.minus_shift, min_fragments=args.min_fragments,
                                             done_groups=done, num_samples=args.num_samples, seed=args.seed,
                                             zoom_levels=args.zoom_levels)
    print(output.relocated("\n".join(summary.lines())))
    return 0
