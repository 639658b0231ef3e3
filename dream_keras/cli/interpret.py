"""``dream-keras contribs | footprints | ism``: interpreting trained models (``variants``: its own module).

- ``contribs``: contribution scores of genome windows -> bigWig tracks and ChromBPNet-layout HDF5.
- ``footprints``: marginal footprints of named motifs on background windows -> TSV, HDF5, PNGs.
- ``ism``: in-silico mutagenesis of a sequence table (DREAM yeast, STARR-seq, lentiMPRA) -> HDF5.

Outputs are written under a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
import pathlib

from dream_keras.cli.number_arguments import positive_int
from dream_keras.console import progress_wanted  # tqdm bars only on a terminal

# --method choices (dream_keras.interpret.attributions.METHODS, listed here so --help imports no Keras).
CONTRIB_METHODS = ("auto", "deepshap", "integrated_gradients", "gradient_x_input")

CONTRIB_OUTPUTS = {"counts": ["logcounts"], "profile": ["profile"], "both": ["logcounts", "profile"]}
# ChromBPNet's file names for the two targets.
CONTRIB_FILE_STEMS = {"logcounts": "counts", "profile": "profile"}


def add_parser(sub) -> None:
    """Add ``contribs``, ``footprints``, ``variants`` and ``ism`` to the subcommands."""
    _add_contribs(sub)
    _add_footprints(sub)
    _add_ism(sub)


def _add_contribs(sub) -> None:
    p = sub.add_parser("contribs", help="contribution scores of regions -> bigWig + HDF5",
                       description="Contribution scores (DeepSHAP by default, as the official ChromBPNet code "
                                   "computes them) of windows centred on each region's summit (narrowPeak "
                                   "column 10, else the midpoint), averaged over the models given. Writes "
                                   "PREFIX.<counts|profile>_scores.bw (score of the base present; overlapping "
                                   "windows: nearest summit wins) and PREFIX.<counts|profile>_scores.h5 (raw/seq, "
                                   "shap/seq, projected_shap/seq in the official (n, 4, length) layout, coords/*; "
                                   "the method in the file's attributes).")
    p.add_argument("--model", nargs="+", required=True, metavar="M", help=".keras model file(s); scores averaged")
    p.add_argument("--genome", required=True, help="reference FASTA (chromosome sizes are taken from it)")
    p.add_argument("--regions", required=True, help="narrowPeak or BED file of regions")
    p.add_argument("--out", required=True, metavar="PREFIX", help="output prefix (folders are created)")
    p.add_argument("--output", default="both",
                   help="counts, profile, both (default), or the name of a scalar output (e.g. expression)")
    p.add_argument("--method", default="auto", choices=list(CONTRIB_METHODS),
                   help="auto (default): deepshap where every layer of the model has a DeepLIFT rule, else "
                        "integrated_gradients (DREAM-RNN's LSTM has none). deepshap: DeepLIFT's rescale rule against "
                        "--n-baselines dinucleotide-shuffled references, ChromBPNet's hypothetical-contribution "
                        "rule (the official method). integrated_gradients: the average gradient along paths from "
                        "the same references, --steps points each, combined by the same rule (about steps times "
                        "slower). gradient_x_input: one gradient per window (fastest, no references)")
    p.add_argument("--n-baselines", "--n-references", dest="n_baselines", type=positive_int, default=20,
                   help="dinucleotide-shuffled references per window (deepshap, integrated_gradients; default: 20)")
    p.add_argument("--steps", type=positive_int, default=32,
                   help="path points per reference (integrated gradients; default: 32)")
    p.add_argument("--seed", type=int, default=0, help="seed of the dinucleotide shuffles (default: 0)")
    p.add_argument("--batch-size", type=positive_int, default=64,
                   help="model inputs per call (default: 64): windows (gradient_x_input), path points "
                        "(integrated_gradients), or references (deepshap: batch-size // n-baselines windows, at "
                        "least one, with all their references)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace the PREFIX.*_scores.bw/.h5 files of an earlier run (without it they are refused)")
    p.set_defaults(func=run_contribs)


def _add_footprints(sub) -> None:
    p = sub.add_parser("footprints", help="marginal footprints of motifs -> TSV + PNG",
                       description="Insert each motif at the centre of the windows around the regions and "
                                   "average the predicted profiles (forward and reverse complement). Writes "
                                   "DIR/footprints.tsv, DIR/footprints.h5 and DIR/<motif>.footprint.png.")
    p.add_argument("--model", required=True, help=".keras model with profile and logcounts outputs")
    p.add_argument("--genome", required=True, help="reference FASTA")
    p.add_argument("--regions", required=True, help="narrowPeak or BED file of background regions")
    p.add_argument("--motifs", nargs="+", required=True, metavar="NAME|FILE",
                   help="bundled motif names (CTCF, tn5_1, dnase_2, TN5_1, ...), groups 'tn5' / 'dnase', or "
                        "files (MEME, or name<TAB>sequence lines)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--max-regions", type=positive_int, default=None,
                   help="use only the first N regions with a whole window (only their windows are read; "
                        "default: every region)")
    p.add_argument("--batch-size", type=positive_int, default=64, help="windows per model call (default: 64)")
    p.add_argument("--no-plots", action="store_true", help="skip the PNG plots (matplotlib not needed)")
    p.add_argument("--overwrite", action="store_true", help="replace a footprints folder written before")
    p.set_defaults(func=run_footprints)


def _add_ism(sub) -> None:
    p = sub.add_parser("ism", help="in-silico mutagenesis of a sequence table -> HDF5",
                       description="Every single-base substitution of every sequence of a table, encoded as "
                                   "its task does. Writes onehot (n, L, C) and, per output, scores "
                                   "(n, L, 4), position_scores (n, L) and reference (n,).")
    p.add_argument("--model", required=True, help=".keras model file")
    p.add_argument("--data", required=True, metavar="TABLE", help="sequence table of the task")
    p.add_argument("--task", required=True, help="the table's task (dream_yeast, starrseq, lentimpra)")
    p.add_argument("--out", required=True, metavar="H5", help="output HDF5 file")
    p.add_argument("--output", nargs="+", default=None,
                   help="outputs to score (default: every scalar output of the model)")
    p.add_argument("--max-sequences", type=positive_int, default=None, help="score only the first N sequences")
    p.add_argument("--batch-size", type=positive_int, default=256, help="mutants per model call (default: 256)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(func=run_ism)


def load_models(paths: list[str]) -> list:
    """Load ``.keras`` files; a missing or unreadable file raises InputError naming it."""
    from dream_keras.saving import load_model

    return [load_model(path) for path in paths]


def _first_regions(regions_path: str, genome: str, input_length: int, max_regions: int | None):
    """The regions file's rows up to its ``max_regions``-th region with a whole window.

    The regions file's rows up to its ``max_regions``-th region with a whole window (all rows when ``None``), so that
    only the windows used are read.
    """
    from data_prep.filters import edge_filter
    from data_prep.genome import genome_sizes, opened_genome
    from data_prep.peaks import read_regions

    regions = read_regions(regions_path)
    if max_regions is None or len(regions) <= max_regions:
        return regions
    with opened_genome(genome) as fasta:
        sizes = genome_sizes(fasta)
    # Rows on chromosomes the FASTA lacks stay in, so that extract_windows still names them.
    usable = edge_filter(regions, sizes, input_length) | ~regions["chrom"].isin(list(sizes)).to_numpy()
    positions = usable.nonzero()[0]
    return regions if len(positions) <= max_regions else regions.iloc[:positions[max_regions - 1] + 1]


def _windows(regions_path: str, genome: str, input_length: int, alphabet: str, max_regions: int | None = None):
    """Windows around the regions' summits (the first ``max_regions`` usable ones when given).

    Regions running off a chromosome are reported and skipped.
    """
    from data_prep.errors import InputError
    from data_prep.windows import extract_windows, window_starts

    regions = _first_regions(regions_path, genome, input_length, max_regions)
    windows = extract_windows(regions, genome, None, input_length=input_length, output_length=1,
                              alphabet=alphabet, progress=progress_wanted())
    if len(windows.dropped):
        print(f"skipped {len(windows.dropped)} region(s) whose {input_length} bp window leaves the chromosome "
              f"(first: {windows.dropped['reason'].iloc[0]})")
    if not len(windows.regions):
        raise InputError(f"no region of {regions_path} has a whole {input_length} bp window inside its chromosome")
    summits = windows.regions["summit"].to_numpy()
    return windows, windows.regions["chrom"].to_numpy(), window_starts(summits, input_length), summits


def _model_geometry(models, label: str) -> tuple[int, str]:
    from data_prep.errors import InputError
    from dream_keras.interpret.predict import model_input_shape

    shapes = {model_input_shape(model) for model in models}
    alphabets = {getattr(model, "alphabet", "ACGT") for model in models}
    if len(shapes) != 1 or len(alphabets) != 1:
        raise InputError(f"{label}: the models take different inputs ({sorted(map(str, shapes))}, alphabets "
                         f"{sorted(alphabets)}); give models of one kind")
    length, channels = shapes.pop()
    if length is None or channels != 4:
        raise InputError(f"{label}: genome windows need a model with a fixed input length and 4 channels; this "
                         f"one takes (length={length}, channels={channels})")
    return int(length), alphabets.pop()


def _contrib_method(models, requested: str) -> str:
    """The method for every model: ``requested``, or for ``auto`` deepshap where all models allow it."""
    from dream_keras.interpret import deepshap_refusal

    if requested != "auto":
        return requested
    refusals = [refusal for refusal in map(deepshap_refusal, models) if refusal is not None]
    if refusals:
        print(f"method: integrated_gradients ({refusals[0]})")
        return "integrated_gradients"
    return "deepshap"


def run_contribs(args) -> int:
    """Run ``dream-keras contribs``.

    Args:
        args: the parsed command line.

    Returns:
        The exit status.
    """
    from data_prep.outputs import open_output
    from dream_keras.interpret.targets import resolve_output

    models = load_models(args.model)
    targets = [resolve_output(models[0], name) for name in CONTRIB_OUTPUTS.get(args.output, [args.output])]
    prefix = pathlib.Path(args.out)
    paths = {}
    for target in targets:
        stem = f"{prefix.name}.{CONTRIB_FILE_STEMS.get(target, target)}_scores"
        paths[target] = (prefix.with_name(stem + ".h5"), prefix.with_name(stem + ".bw"))
    with open_output([path for pair in paths.values() for path in pair], kind="files", overwrite=args.overwrite):
        return _contribs(args, models, paths)


def _contribs(args, models, paths: dict) -> int:
    import numpy as np

    from data_prep.genome import genome_sizes, opened_genome
    from dream_keras.interpret import contributions
    from dream_keras.interpret.tracks import write_contribution_bigwig, write_contribution_hdf5

    input_length, alphabet = _model_geometry(models, "contribs")
    method = _contrib_method(models, args.method)
    windows, chroms, starts, summits = _windows(args.regions, args.genome, input_length, alphabet)
    with opened_genome(args.genome) as fasta:
        sizes = genome_sizes(fasta)
    onehot = windows.sequences
    settings = {"method": method, "seed": args.seed}
    if method != "gradient_x_input":
        settings["n_references"] = args.n_baselines
    if method == "integrated_gradients":
        settings["steps"] = args.steps
    for target, (h5_path, bw_path) in paths.items():
        total = np.zeros((*onehot.shape[:2], 4), dtype=np.float32)
        for model in models:
            total += contributions(model, onehot, method, target, n_baselines=args.n_baselines,
                                   steps=args.steps, seed=args.seed, batch_size=args.batch_size,
                                   hypothetical=True, progress=progress_wanted())
        hypothetical = total / len(models)
        write_contribution_hdf5(h5_path, onehot, hypothetical, chroms, starts, summits, alphabet,
                                {**settings, "output": target, "models": [str(m) for m in args.model]})
        per_base = (hypothetical * onehot[..., :4]).sum(axis=2)
        write_contribution_bigwig(bw_path, chroms, starts, summits, per_base, sizes)
        print(f"wrote {bw_path} and {h5_path} ({len(onehot)} windows of {input_length} bp, {method})")
    return 0


def run_footprints(args) -> int:
    """Run ``dream-keras footprints``; returns the exit status."""
    from data_prep.outputs import open_output

    with open_output(args.out, overwrite=args.overwrite) as output:
        return _footprints(args, output)


def _footprints(args, output) -> int:
    from dream_keras.interpret import marginal_footprints
    from dream_keras.interpret.footprint_files import write_footprints
    from dream_keras.interpret.motif_sequences import resolve_motifs

    motifs = resolve_motifs(args.motifs)
    (model,) = load_models([args.model])
    input_length, alphabet = _model_geometry([model], "footprints")
    windows, *_ = _windows(args.regions, args.genome, input_length, alphabet, args.max_regions)
    background = windows.sequences
    footprints = marginal_footprints(model, background, motifs, batch_size=args.batch_size, alphabet=alphabet,
                                     progress=progress_wanted())
    table = write_footprints(footprints, output.make(), plots=not args.no_plots)
    out = output.final
    print(table.to_string(index=False))
    print(f"wrote {out / 'footprints.tsv'}, {out / 'footprints.h5'}"
          + ("" if args.no_plots else f" and {len(footprints)} PNG plot(s)"))
    return 0


def run_ism(args) -> int:
    """Run ``dream-keras ism``; returns the exit status."""
    from data_prep.outputs import open_output

    with open_output(args.out, kind="files", overwrite=args.overwrite):
        return _ism(args)


def _ism(args) -> int:
    import h5py
    import numpy as np

    from data_prep.errors import InputError
    from data_prep.outputs import atomic_path
    from data_prep.tables import TASKS
    from dream_keras.interpret.ism import ism_outputs
    from dream_keras.interpret.targets import scalar_output_names

    if args.task not in TASKS:
        raise InputError(f"unknown task {args.task!r}; the sequence-table tasks are {sorted(TASKS)}")
    spec = TASKS[args.task]
    table = spec.load(args.data, require_targets=False, dtype=np.uint8)
    sequences = table.sequences[:args.max_sequences] if args.max_sequences else table.sequences
    (model,) = load_models([args.model])
    outputs = args.output or scalar_output_names(model)
    results = ism_outputs(model, sequences, outputs, batch_size=args.batch_size, progress=progress_wanted())
    with atomic_path(args.out) as temporary:
        with h5py.File(temporary, "w") as handle:
            handle.create_dataset("onehot", data=np.asarray(sequences, dtype=np.uint8), compression="gzip")
            for name, result in results.items():
                handle.create_dataset(f"{name}/scores", data=result.scores, compression="gzip")
                handle.create_dataset(f"{name}/position_scores", data=result.position_scores, compression="gzip")
                handle.create_dataset(f"{name}/reference", data=result.reference)
            handle.attrs.update({"task": args.task, "alphabet": spec.alphabet, "model": os.fspath(args.model),
                                 "data": os.fspath(args.data), "channel_names": list(table.channel_names)})
    print(f"wrote {args.out}: ISM of {len(sequences)} sequence(s), output(s) {', '.join(results)}")
    return 0
