"""``dream-keras pipeline``: run the stages in order into one folder, skipping finished ones on resume.

The pipeline folder holds ``logs/pipeline.json`` (the parameters, the size and SHA-256 of every input
file, and how many times the pipeline was started there), ``logs/stages.tsv`` (one line per stage per
start: ran or skipped, seconds) and one folder per stage (:mod:`dream_keras.tasks.atac.pipeline.stages`),
each with its completion record (:mod:`dream_keras.tasks.atac.pipeline.stage_records`), which keeps the
fingerprints of the input files the stage read.

``resume``: the input files are compared with the recorded sizes and SHA-256 first; a changed file
stops the pipeline, naming it, unless ``allow_changed_inputs``, and then every stage that read it runs
again. A stage whose record says it is complete (with the same inputs) is skipped, as long as no stage
before it ran in this start; the first incomplete stage continues what a killed run left in its folder
(a training run resumes from its last checkpoint), and every stage after a stage that ran runs again,
from a clean folder (its inputs changed). Without ``resume`` the folder must be new or empty;
``overwrite`` builds the new pipeline in a staging folder beside the old one and swaps it in once it
has finished. The folder is opened, locked and staged by :func:`data_prep.outputs.open_output`.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import time

from data_prep.errors import InputError
from data_prep.outputs import manifest, open_output, write_json_atomic
from data_prep.outputs.recorded_inputs import changed_inputs, fingerprints
from data_prep.outputs.run_folder import program_version
from dream_keras.tasks.atac.pipeline.parameters import PipelineParameters
from dream_keras.tasks.atac.pipeline.stage_records import StageRecord, clear_record, read_record, write_record

PIPELINE_JSON = "logs/pipeline.json"
STAGES_LOG = "logs/stages.tsv"
_LOG_HEADER = "invocation\tstage\taction\tseconds\ttime\n"


@dataclasses.dataclass
class PipelineResult:
    """A finished pipeline.

    Its folder, every stage's record, which stages ran in this start, the in-memory results of those (``{stage:
    StageOutput.result}``) and the report's path.
    """

    root: pathlib.Path
    records: dict
    ran: list
    results: dict
    report: pathlib.Path


def _changed_parameters(recorded: dict, params: PipelineParameters) -> list[str]:
    from dream_keras.tasks.atac.pipeline.parameters import PIPELINE_DEFAULTS

    current = json.loads(json.dumps(params.as_dict()))  # the same JSON types as the record
    # an option added after the pipeline was started counts as recorded at its default
    return [f"{key} (recorded {recorded.get(key)!r}, now {value!r})" for key, value in current.items()
            if recorded.get(key, PIPELINE_DEFAULTS.get(key)) != value]


def check_parameters(params: PipelineParameters) -> None:
    """Refuse missing or contradictory inputs before anything is written."""
    from dream_keras.tasks.atac.pipeline.parameters import DATA_TYPES, READ_FORMATS

    if bool(params.bigwig) == bool(params.reads):
        raise InputError("give the signal once: --bigwig FILE, or reads with --bam, --fragments or --tagalign")
    if params.reads and params.reads_format not in READ_FORMATS:
        raise InputError(f"reads format {params.reads_format!r} is not one of {', '.join(READ_FORMATS)}")
    if params.data_type not in DATA_TYPES:
        raise InputError(f"--data-type {params.data_type!r} is not one of {', '.join(DATA_TYPES)}")
    for option, path in (("--genome", params.genome), ("--peaks", params.peaks), ("--bigwig", params.bigwig),
                         (f"--{params.reads_format}", params.reads), ("--blacklist", params.blacklist),
                         ("--bias-model", params.bias_model), ("--motif-db", params.motif_db),
                         ("--nonpeaks", params.nonpeaks)):
        if path is not None and not pathlib.Path(path).is_file():
            raise InputError(f"{option} {path} does not exist; give the path of an existing file")
    for option in ("input_length", "output_length", "bias_epochs", "epochs", "batch_size", "nonpeak_ratio",
                   "nonpeak_stride", "motif_peaks", "motif_window", "motif_max_seqlets"):
        if int(getattr(params, option)) < 1:
            raise InputError(f"--{option.replace('_', '-')} must be at least 1, not {getattr(params, option)}")
    _check_motif_parameters(params)


def _check_motif_parameters(params: PipelineParameters) -> None:
    """The motifs stage's options, refused before training rather than after it."""
    from dream_keras.interpret.attributions import METHODS
    from dream_keras.interpret.motifs.matching import load_motif_database

    if params.motif_window > params.input_length:
        raise InputError(f"--motif-window {params.motif_window} is longer than the {params.input_length} bp input "
                         "windows; choose at most --input-length")
    if params.motif_contribution_method not in METHODS:
        raise InputError(f"contribution method {params.motif_contribution_method!r} of the motifs stage is not one "
                         f"of {', '.join(METHODS)}")
    if params.motif_output not in ("profile", "logcounts", "counts"):
        raise InputError(f"--motif-output {params.motif_output!r} is not profile or counts")
    if params.motif_db is not None:
        load_motif_database(params.motif_db)  # a file that does not parse stops here, its line named


def pipeline_inputs(params: PipelineParameters, folds) -> dict:
    """``{name: path}`` of every input file the pipeline reads (``None`` for those not given)."""
    files = {"genome": params.genome, "peaks": params.peaks, "bigwig": params.bigwig, "reads": params.reads,
             "blacklist": params.blacklist, "bias_model": params.bias_model, "motif_db": params.motif_db,
             "nonpeaks": params.nonpeaks}
    files.update({f"fold_{fold.number}" if len(folds) > 1 else "fold": fold.path for fold in folds})
    return files


def _check_inputs(record: dict, root: pathlib.Path, *, allow: bool) -> None:
    """Stop a resume whose recorded input files changed (named), unless ``allow`` (then say so)."""
    lines = changed_inputs(record.get("inputs", {}))
    if lines and not allow:
        raise InputError(f"--resume refused: input files of the pipeline in {root} changed since it started: "
                         f"{'; '.join(lines)}. No stage built from the old files is reused silently: restore the "
                         "files, or pass --allow-changed-inputs to run again every stage that reads them")
    if lines:
        print(f"note: going on with changed inputs (--allow-changed-inputs); the stages that read them run again: "
              f"{'; '.join(lines)}", flush=True)


def _prepare_folder(root: pathlib.Path, params: PipelineParameters, folds, *, resume: bool,
                    allow_changed_inputs: bool) -> tuple[int, dict]:
    """Write (or, resuming, check and update) ``logs/pipeline.json``.

    Return this start's number (1 for a new pipeline) and the fingerprints of the input files now.
    """
    record_path = root / PIPELINE_JSON
    if resume:
        record = json.loads(record_path.read_text())
        changed = _changed_parameters(record["parameters"], params)
        if changed:
            raise InputError(f"--resume with other options than the pipeline in {root} was started with: "
                             f"{'; '.join(changed)}. Leave them out (the recorded ones are used), or start again "
                             "with --overwrite")
        _check_inputs(record, root, allow=allow_changed_inputs)
        invocation = int(record.get("invocations", 1)) + 1
    else:
        record = {"command": "pipeline", "dream_keras_version": program_version(),
                  "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "parameters": params.as_dict()}
        invocation = 1
    inputs = fingerprints(pipeline_inputs(params, folds))
    record.update(invocations=invocation, inputs=inputs)
    write_json_atomic(record_path, record)
    return invocation, inputs


def _log(root: pathlib.Path, invocation: int, stage: str, action: str, seconds: float) -> None:
    path = root / STAGES_LOG
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    new = not path.is_file()
    manifest.expect(path)  # written in place: listed as the tool's before it is touched
    with open(path, "a") as handle:  # one short line per stage: appended, never rewritten
        if new:
            handle.write(_LOG_HEADER)
        handle.write(f"{invocation}\t{stage}\t{action}\t{seconds:.1f}\t{stamp}\n")


def run_pipeline(params: PipelineParameters, out, *, resume: bool = False, overwrite: bool = False,
                 allow_changed_inputs: bool = False, progress: bool | None = None) -> PipelineResult:
    """Run every stage of :data:`~dream_keras.tasks.atac.pipeline.stages.STAGES` into ``out`` (module docstring).

    Returns:
        :class:`PipelineResult`; ``report`` is ``out/report/report.html``.
    """
    from data_prep.atac.inputs import resolve_folds

    check_parameters(params)
    folds = resolve_folds(params.fold, params.fold_dir)
    # --overwrite builds the pipeline beside the old one and swaps it in once finished
    with open_output(out, overwrite=overwrite, resume=resume, resume_needs=(PIPELINE_JSON,)) as output:
        root = output.make()
        invocation, inputs = _prepare_folder(root, params, folds, resume=output.resumed,
                                             allow_changed_inputs=allow_changed_inputs)
        result = _run_stages(params, root, folds, invocation, inputs, resume=output.resumed, progress=progress)
    return dataclasses.replace(result, root=output.final, report=output.final_path(result.report))


def _run_stages(params: PipelineParameters, root: pathlib.Path, folds, invocation: int, inputs: dict, *,
                resume: bool, progress: bool | None) -> PipelineResult:
    """The stages of :func:`run_pipeline` in order into ``root``."""
    from dream_keras.tasks.atac.pipeline.stages import STAGES, StageContext

    records: dict[str, StageRecord] = {}
    ran, results = [], {}
    for number, stage in enumerate(STAGES, start=1):
        folder = root / stage.name
        stage_inputs = stage.input_fingerprints(inputs)
        done = read_record(root, folder, stage_inputs) if resume and not ran else None
        if done is not None:
            print(f"[{number}/{len(STAGES)}] {stage.title}: complete, skipped (finished {done.finished})", flush=True)
            records[stage.name] = done
            _log(root, invocation, stage.name, "skipped", 0.0)
            continue
        print(f"[{number}/{len(STAGES)}] {stage.title}", flush=True)
        clear_record(folder)
        started = time.time()
        context = StageContext(params=params, root=root, folds=folds, folder=folder,
                               continue_partial=resume and not ran, upstream=records, progress=progress)
        output = stage.run(context)
        seconds = time.time() - started
        record = StageRecord(stage.name, output.outputs, output.summary, seconds, invocation, inputs=stage_inputs)
        folder.mkdir(parents=True, exist_ok=True)
        write_record(root, folder, record)
        records[stage.name] = read_record(root, folder, stage_inputs)
        ran.append(stage.name)
        results[stage.name] = output.result
        _log(root, invocation, stage.name, "ran", seconds)
    return PipelineResult(root, records, ran, results, pathlib.Path(records["report"].outputs["report"]))
