"""The stages of ``dream-keras pipeline``, in order; each works in its own folder of the pipeline folder.

=============  ==============  ===========================================================================
stage          folder          what it does
=============  ==============  ===========================================================================
bigwig         ``bigwig/``     reads -> per-base insertion bigWig (``prep bigwig``), or records ``--bigwig``
nonpeaks       ``nonpeaks/``   GC-matched background regions (``prep nonpeaks``), or records ``--nonpeaks``
bias           ``bias/``       the bias model run (``bias train``), or records ``--bias-model``
chrombpnet     ``chrombpnet/`` the bias-factorised model (``train``): fit, evaluation (metrics.json) and
                               the bias QC (bias_qc.json), one run folder per fold with ``--fold all``
footprints     ``footprints/`` marginal footprints of the enzyme's and a few TF motifs on the bias-free model
motifs         ``motifs/``     contributions of the bias-free model on (at most 30,000) peaks, TF-MoDISco,
                               patterns named against a motif database, the motif bias check
report         ``report/``     ``report.html``, the whole pipeline on one page
=============  ==============  ===========================================================================

A stage function takes a :class:`StageContext` and returns a :class:`StageOutput`; the runner
(:mod:`dream_keras.tasks.atac.pipeline.runner`) writes its completion record. Evaluation and bias QC are part
of the training stage because ``train`` writes them into its run folder; their files are among its
recorded outputs, so a run missing them is not complete.
"""

from __future__ import annotations

import dataclasses
import pathlib

from data_prep.errors import InputError


@dataclasses.dataclass
class StageContext:
    """What a stage gets.

    The parameters, the pipeline folder, the folds, its own folder, whether it may continue work a killed run left in
    that folder, and the records of earlier stages.
    """

    params: object
    root: pathlib.Path
    folds: list
    folder: pathlib.Path
    continue_partial: bool
    upstream: dict
    progress: bool | None = None

    def output(self, stage: str, name: str) -> pathlib.Path:
        """Path of output ``name`` of the earlier stage ``stage``."""
        return pathlib.Path(self.upstream[stage].outputs[name])


@dataclasses.dataclass
class StageOutput:
    """A finished stage.

    ``outputs`` ``{name: path}`` (checked on ``--resume``), a ``summary`` of plain values for the report and the log,
    and the in-memory ``result`` of the call (``None`` if none).
    """

    outputs: dict
    summary: dict
    result: object = None


def bigwig_stage(ctx: StageContext) -> StageOutput:
    """The insertion bigWig: ``--bigwig`` as given, or made from the reads into ``bigwig/signal.bw``."""
    params = ctx.params
    if params.bigwig:
        return StageOutput({"bigwig": params.bigwig}, {"source": "given", "path": str(params.bigwig)})
    from dream_keras.tasks.atac.pipeline.reads_adapter import make_bigwig_from_reads

    out = ctx.folder / "signal.bw"
    ctx.folder.mkdir(parents=True, exist_ok=True)
    print(f"      {params.reads_format} {params.reads} ({params.data_type}) -> {out}", flush=True)
    summary = make_bigwig_from_reads(params, out)
    return StageOutput({"bigwig": out}, {"source": params.reads_format, "reads": str(params.reads),
                                         "data_type": params.data_type, "reads_summary": summary})


def nonpeaks_stage(ctx: StageContext) -> StageOutput:
    """GC-matched nonpeaks, ``nonpeak_ratio`` per peak, or ``--nonpeaks`` recorded as given.

    The nonpeaks are drawn on every chromosome of the first fold's splits.

    The ratio is the same in every split, so the file serves every fold of a fold set (``--fold
    all``): which split a nonpeak falls in depends only on its chromosome.
    """
    import warnings

    from data_prep import make_nonpeaks, write_narrowpeak

    params = ctx.params
    if params.nonpeaks:
        return StageOutput({"nonpeaks": params.nonpeaks}, {"source": "given", "path": str(params.nonpeaks)})
    fold = ctx.folds[0].splits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nonpeaks = make_nonpeaks(params.genome, params.peaks, None, fold, input_length=params.input_length,
                                 stride=params.nonpeak_stride, blacklist=params.blacklist,
                                 ratio_trainvalid=params.nonpeak_ratio, ratio_test=params.nonpeak_ratio,
                                 seed=params.seed, progress=ctx.progress)
    out = write_narrowpeak(nonpeaks, ctx.folder / "nonpeaks.narrowPeak")
    notes = [str(w.message) for w in caught]
    for note in notes:
        print(f"      warning: {note}", flush=True)
    print(f"      {len(nonpeaks)} nonpeaks -> {out}", flush=True)
    return StageOutput({"nonpeaks": out}, {"nonpeaks": int(len(nonpeaks)), "warnings": notes})


def bias_stage(ctx: StageContext) -> StageOutput:
    """Train the bias model on the first fold (it serves every fold), or record ``--bias-model``."""
    params = ctx.params
    if params.bias_model:
        return StageOutput({"bias_model": params.bias_model}, {"source": "given", "path": str(params.bias_model)})
    from bias_models import bias_threshold_factor
    from dream_keras.tasks.atac.bias_stage import BiasTrainParameters, train_bias

    fold = ctx.folds[0]
    resume = ctx.continue_partial and (ctx.folder / "logs" / "run.json").is_file()
    factor = params.bias_threshold_factor
    bias_params = BiasTrainParameters(
        genome=params.genome, bigwig=str(ctx.output("bigwig", "bigwig")), peaks=params.peaks,
        nonpeaks=str(ctx.output("nonpeaks", "nonpeaks")), fold=fold.argument, fold_dir=params.fold_dir,
        model_options=params.bias_model_options(),
        input_length=params.input_length, output_length=params.output_length,
        bias_threshold_factor=factor if factor is not None else bias_threshold_factor(params.data_type),
        epochs=params.bias_epochs, patience=params.patience, lr=params.lr, batch_size=params.batch_size,
        seed=params.seed)
    # not resumed: the stage starts from a clean folder (what the pipeline's manifest owns there is deleted)
    result = train_bias(bias_params, fold, ctx.folder, resume=resume, overwrite=not resume, progress=ctx.progress)
    evaluation = result.run.evaluation
    return StageOutput({"bias_model": result.model_path, "metrics": evaluation / "metrics.json",
                        "bias_qc": evaluation / "bias_qc.json"},
                       {"source": "trained", "fold": fold.label, "best_epoch": result.best_epoch + 1,
                        "epochs_trained": result.epochs_trained, "metrics": result.metrics,
                        "count_qc": result.count_qc}, result)


def _fold_outputs(folder: pathlib.Path, prefix: str = "") -> dict:
    return {f"{prefix}model": folder / "models" / "model.keras",
            f"{prefix}model_nobias": folder / "models" / "model_nobias.keras",
            f"{prefix}metrics": folder / "evaluation" / "metrics.json",
            f"{prefix}bias_qc": folder / "evaluation" / "bias_qc.json",
            f"{prefix}result": folder / "logs" / "result.json"}


def train_stage(ctx: StageContext) -> StageOutput:
    """The bias-factorised model of ``--fold``, or of every fold, evaluated with the bias QC.

    The bias-factorised model of ``--fold`` (one run folder), or of every fold (``--fold all``: ``fold_N/`` run folders
    and ``summary.tsv``), evaluated with the bias QC.
    """
    from data_prep.atac.inputs import ALL_FOLDS
    from dream_keras.tasks.atac.train import AtacTrainParameters, train_fold, train_folds

    params = ctx.params
    resume = ctx.continue_partial and (ctx.folder / "logs" / "run.json").is_file()
    train_params = AtacTrainParameters(
        genome=params.genome, bigwig=str(ctx.output("bigwig", "bigwig")), peaks=params.peaks,
        nonpeaks=str(ctx.output("nonpeaks", "nonpeaks")), bias_model=str(ctx.output("bias", "bias_model")),
        fold=str(params.fold), fold_dir=params.fold_dir, backbone=params.backbone,
        model_options=params.main_model_options(),
        input_length=params.input_length, output_length=params.output_length, max_jitter=params.max_jitter,
        epochs=params.epochs, patience=params.patience, lr=params.lr, batch_size=params.batch_size,
        seed=params.seed)
    if str(params.fold).strip() == ALL_FOLDS:
        results, _ = train_folds(train_params, ctx.folder, resume=resume, overwrite=not resume,
                                 progress=ctx.progress)
        outputs = {"summary": ctx.folder / "summary.tsv"}
        for result in results:
            outputs.update(_fold_outputs(result.run.root, f"{result.run.root.name}/"))
        first = results[0].run.root
    else:
        fold = ctx.folds[0]
        results = [train_fold(dataclasses.replace(train_params, fold=fold.argument), fold, ctx.folder,
                              resume=resume, overwrite=not resume, progress=ctx.progress)]
        outputs = _fold_outputs(ctx.folder)
        first = ctx.folder
    # the footprints stage reads the first fold's bias-free model
    outputs["first_model_nobias"] = first / "models" / "model_nobias.keras"
    summary = {"folds": [{"fold": r.fold, "run": str(r.run.root.resolve().relative_to(ctx.root)),
                          "best_epoch": r.best_epoch + 1, "epochs_trained": r.epochs_trained, "metrics": r.metrics,
                          "bias_qc": r.bias_qc}
                         for r in results]}
    return StageOutput(outputs, summary, results)


def footprint_motifs(params) -> tuple[dict, list[str]]:
    """``({name: consensus}, enzyme motif names)``: the assay's enzyme motifs, then the TF motifs."""
    from bias_models import enzyme_motifs
    from dream_keras.interpret.motif_sequences import resolve_motifs

    enzyme = enzyme_motifs(params.data_type)
    motifs = {**enzyme, **resolve_motifs(list(params.footprint_motifs))}
    return motifs, list(enzyme)


def footprints_stage(ctx: StageContext) -> StageOutput:
    """Marginal footprints on the first fold's bias-free model, on its test-chromosome nonpeaks."""
    import importlib.util

    from data_prep import extract_windows, read_regions
    from dream_keras.interpret import marginal_footprints
    from dream_keras.interpret.footprint_files import write_footprints
    from dream_keras.tasks.atac.prediction import load_profile_count_model
    from dream_keras.tasks.atac.profile_count_fit import quiet_retracing_warnings

    params = ctx.params
    model = load_profile_count_model(ctx.output("chrombpnet", "first_model_nobias"))
    fold = ctx.folds[0]
    regions = read_regions(ctx.output("nonpeaks", "nonpeaks"))
    background = regions[regions["chrom"].isin(fold.splits["test"])]
    where = f"nonpeaks on the test chromosomes of {fold.label}"
    if not len(background):
        background, where = regions, "all nonpeaks (none lies on the test chromosomes)"
    if params.footprint_regions:
        background = background.iloc[:params.footprint_regions]
    windows = extract_windows(background, params.genome, None, input_length=params.input_length, output_length=1,
                              alphabet=getattr(model, "alphabet", "ACGT"), progress=ctx.progress)
    if not len(windows.sequences):
        raise InputError(f"no nonpeak of {ctx.output('nonpeaks', 'nonpeaks')} has a whole {params.input_length} bp "
                         "window inside its chromosome, so there is no background to footprint on")
    motifs, enzyme = footprint_motifs(params)
    print(f"      {len(motifs)} motifs on {len(windows.sequences)} {where}", flush=True)
    with quiet_retracing_warnings():  # batches of several sizes retrace the predict step: expected
        footprints = marginal_footprints(model, windows.sequences, motifs, batch_size=params.batch_size,
                                         alphabet=getattr(model, "alphabet", "ACGT"), progress=ctx.progress)
    # without matplotlib the numbers are still written (training runs skip their figures alike)
    drawable = importlib.util.find_spec("matplotlib") is not None
    if not drawable:
        print("      note: footprint figures skipped: matplotlib is not installed (pip install matplotlib)", flush=True)
    table = write_footprints(footprints, ctx.folder, plots=drawable)
    summary = {"background": where, "n_sequences": int(len(windows.sequences)), "enzyme_motifs": enzyme,
               "motifs": {row["motif"]: {"sequence": row["sequence"], "normalized_max": float(row["normalized_max"]),
                                         "counts": float(row["counts"]),
                                         "baseline_counts": float(row["baseline_counts"])}
                          for row in table.to_dict(orient="records")}}
    return StageOutput({"table": ctx.folder / "footprints.tsv", "profiles": ctx.folder / "footprints.h5"}, summary)


def motifs_stage(ctx: StageContext) -> StageOutput:
    """Motif discovery on the first fold's bias-free model.

    Contributions of that model on (a sample of) the peaks, TF-MoDISco, the patterns named against the motif
    database, and the motif bias check (``motif_check.json``).
    """
    from data_prep import extract_windows, read_regions
    from data_prep.outputs import manifest, write_json_atomic
    from dream_keras.interpret.motifs.bias_check import motif_bias_check
    from dream_keras.tasks.atac.model_motifs import model_motifs, sample_peaks
    from dream_keras.tasks.atac.prediction import load_profile_count_model

    params = ctx.params
    # a new start of this stage: what an earlier one left there goes (only what the pipeline's manifest owns)
    manifest.clear_below(ctx.root, ctx.folder)
    model_path = ctx.output("chrombpnet", "first_model_nobias")
    model = load_profile_count_model(model_path)
    peaks = sample_peaks(read_regions(params.peaks), params.genome, params.input_length, params.motif_peaks)
    windows = extract_windows(peaks, params.genome, None, input_length=params.input_length, output_length=1,
                              alphabet=getattr(model, "alphabet", "ACGT"), progress=False)
    discovery, scores = model_motifs(
        model, windows, ctx.folder, method=params.motif_contribution_method, output=params.motif_output,
        window=params.motif_window, max_seqlets=params.motif_max_seqlets, motif_db=params.motif_db,
        contribution_options={"seed": params.seed}, model_path=model_path,
        title="dream-keras pipeline: motifs of the bias-free model", progress=ctx.progress)
    check = motif_bias_check(discovery.table, discovery.summary["q_threshold"])
    write_json_atomic(ctx.folder / "motif_check.json", check)
    print(f"      motif check: {check['verdict']}: {check['message']}", flush=True)
    outputs = {name: ctx.folder / name for name in ("motifs.html", "motifs.tsv", "motifs.json", "modisco_results.h5",
                                                     "motif_check.json")}
    outputs["contributions"] = scores
    # the method used ("auto" resolved), as the contributions file records it
    summary = {"peaks": int(len(windows.sequences)),
               "method": discovery.summary["attributes"].get("method", params.motif_contribution_method),
               "output": discovery.summary["attributes"].get("output", params.motif_output),
               "seqlets": discovery.summary["seqlets"], "patterns": discovery.summary["patterns"],
               "named": discovery.summary["named"], "motif_check": check}
    return StageOutput(outputs, summary, discovery)


def report_stage(ctx: StageContext) -> StageOutput:
    """``report/report.html``: every stage on one page."""
    from dream_keras.tasks.atac.reporting import write_pipeline_report

    path = write_pipeline_report(ctx.root, ctx.folder / "report.html", stage_names=[s.name for s in STAGES])
    print(f"      {path}", flush=True)
    return StageOutput({"report": path}, {"path": str(path)})


@dataclasses.dataclass(frozen=True)
class Stage:
    """A stage.

    Its name (also its folder's), a one-line title, its function and the pipeline input files it reads (names of
    :func:`~dream_keras.tasks.atac.pipeline.runner.pipeline_inputs`; ``fold`` stands for every fold file).
    """

    name: str
    title: str
    run: object
    inputs: tuple = ()

    def input_fingerprints(self, fingerprints: dict) -> dict:
        """The fingerprints of the files this stage reads, out of those of every pipeline input."""
        return {name: value for name, value in fingerprints.items()
                if name in self.inputs or ("fold" in self.inputs and name.startswith("fold"))}


_TRAINING_INPUTS = ("genome", "bigwig", "reads", "peaks", "fold", "bias_model", "nonpeaks")

STAGES = (
    Stage("bigwig", "insertion bigWig (dream-keras prep bigwig)", bigwig_stage, ("genome", "bigwig", "reads")),
    Stage("nonpeaks", "GC-matched nonpeaks (dream-keras prep nonpeaks)", nonpeaks_stage,
          ("genome", "peaks", "blacklist", "fold", "nonpeaks")),
    Stage("bias", "bias model (dream-keras bias train)", bias_stage, _TRAINING_INPUTS),
    Stage("chrombpnet", "bias-factorised model, evaluation and bias QC (dream-keras train)", train_stage,
          _TRAINING_INPUTS),
    Stage("footprints", "footprints of enzyme and TF motifs (dream-keras footprints)", footprints_stage,
          ("genome",)),
    Stage("motifs", "TF-MoDISco motifs of the bias-free model (dream-keras contribs + motifs)", motifs_stage,
          ("genome", "peaks", "motif_db")),
    Stage("report", "HTML report", report_stage),
)
