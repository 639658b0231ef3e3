"""``dream-keras pipeline``: run the stages in order into one folder, skipping finished ones on resume.

The pipeline folder holds ``logs/pipeline.json`` (the parameters and how many times the pipeline was
started there), ``logs/stages.tsv`` (one line per stage per start: ran or skipped, seconds) and one
folder per stage (:mod:`dream_keras.tasks.atac.pipeline.stages`), each with its completion record
(:mod:`dream_keras.tasks.atac.pipeline.stage_records`).

``resume``: a stage whose record says it is complete is skipped, as long as no stage before it ran
in this start; the first incomplete stage continues what a killed run left in its folder (a
training run resumes from its last checkpoint), and every stage after a stage that ran runs again,
from a clean folder (its inputs changed). Without ``resume`` the folder must be new or empty;
``overwrite`` builds the new pipeline in a staging folder beside the old one and swaps it in once it
has finished, deleting only the files the old folder's manifest lists
(:mod:`dream_keras.training.staging`, :mod:`dream_keras.training.manifest`).
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import pathlib
import time

from data_prep.errors import InputError
from dream_keras.tasks.atac.pipeline.parameters import PipelineParameters
from dream_keras.tasks.atac.pipeline.stage_records import StageRecord, clear_record, read_record, write_record
from dream_keras.training.run_folder import write_json_atomic

PIPELINE_JSON = "logs/pipeline.json"
STAGES_LOG = "logs/stages.tsv"
_LOG_HEADER = "invocation\tstage\taction\tseconds\ttime\n"


@dataclasses.dataclass
class PipelineResult:
    """A finished pipeline: its folder, every stage's record, which stages ran in this start, the
    in-memory results of those (``{stage: StageOutput.result}``) and the report's path."""

    root: pathlib.Path
    records: dict
    ran: list
    results: dict
    report: pathlib.Path


def _changed_parameters(recorded: dict, params: PipelineParameters) -> list[str]:
    current = json.loads(json.dumps(params.as_dict()))  # the same JSON types as the record
    return [f"{key} (recorded {recorded.get(key)!r}, now {value!r})" for key, value in current.items()
            if recorded.get(key) != value]


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
                         ("--bias-model", params.bias_model), ("--nonpeaks", getattr(params, "nonpeaks", None))):
        if path is not None and not pathlib.Path(path).is_file():
            raise InputError(f"{option} {path} does not exist; give the path of an existing file")
    for option in ("input_length", "output_length", "bias_epochs", "epochs", "batch_size", "nonpeak_ratio",
                   "nonpeak_stride"):
        if int(getattr(params, option)) < 1:
            raise InputError(f"--{option.replace('_', '-')} must be at least 1, not {getattr(params, option)}")


def _prepare_folder(root: pathlib.Path, params: PipelineParameters, *, resume: bool) -> int:
    """Create or reuse the pipeline folder; return this start's number (1 for a new pipeline).

    ``root`` is new or empty unless ``resume`` (an ``--overwrite`` writes into a new staging folder).
    """
    from dream_keras import __version__
    from dream_keras.training.manifest import start_recording

    if root.exists() and not root.is_dir():
        raise InputError(f"output folder {root} is a file; choose another --out")
    record_path = root / PIPELINE_JSON
    existing = sorted(p.name for p in root.iterdir()) if root.is_dir() else []
    if resume:
        if not record_path.is_file():
            raise InputError(f"nothing to resume in {root}: {record_path} is missing; start the pipeline without "
                             "--resume")
        record = json.loads(record_path.read_text())
        changed = _changed_parameters(record["parameters"], params)
        if changed:
            raise InputError(f"--resume with other options than the pipeline in {root} was started with: "
                             f"{'; '.join(changed)}. Leave them out (the recorded ones are used), or start again "
                             "with --overwrite")
        invocation = int(record.get("invocations", 1)) + 1
    else:
        if existing:
            raise InputError(f"output folder {root} is not empty (it holds {', '.join(existing[:5])}); pass "
                             "--resume to continue the pipeline there, --overwrite to start it again, or "
                             "choose another --out")
        record = {"command": "pipeline", "dream_keras_version": __version__,
                  "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                  "parameters": params.as_dict()}
        invocation = 1
    record["invocations"] = invocation
    # the manifest records from here on: everything the pipeline writes into root is the tool's
    start_recording(root, resume=resume)
    write_json_atomic(record_path, record)
    return invocation


def _log(root: pathlib.Path, invocation: int, stage: str, action: str, seconds: float) -> None:
    path = root / STAGES_LOG
    stamp = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    new = not path.is_file()
    with open(path, "a") as handle:  # one short line per stage: appended, never rewritten
        if new:
            handle.write(_LOG_HEADER)
        handle.write(f"{invocation}\t{stage}\t{action}\t{seconds:.1f}\t{stamp}\n")


def run_pipeline(params: PipelineParameters, out, *, resume: bool = False, overwrite: bool = False,
                 progress: bool | None = None) -> PipelineResult:
    """Run every stage of :data:`~dream_keras.tasks.atac.pipeline.stages.STAGES` into ``out`` (see the module docstring).

    Returns:
        :class:`PipelineResult`; ``report`` is ``out/report/report.html``.
    """
    from data_prep.atac.inputs import resolve_folds
    from dream_keras.training.staging import final_folder, staged_output

    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other: resume continues the pipeline in --out, "
                         "overwrite starts it again")
    check_parameters(params)
    folds = resolve_folds(params.fold, params.fold_dir)
    # --overwrite builds the pipeline beside the old one and swaps it in once finished
    with staged_output(pathlib.Path(out).resolve(), overwrite=overwrite, resume=resume) as root:
        invocation = _prepare_folder(root, params, resume=resume)
        result = _run_stages(params, root, folds, invocation, resume=resume, progress=progress)
    final = final_folder(root)
    if final != root:  # swapped in: the final paths
        result = _relocated_result(result, root, final)
    return result


def _relocated_result(result: PipelineResult, staging: pathlib.Path, final: pathlib.Path) -> PipelineResult:
    """``result`` with paths into the staging folder moved to the final folder."""
    return dataclasses.replace(result, root=final, report=final / result.report.relative_to(staging))


def _run_stages(params: PipelineParameters, root: pathlib.Path, folds, invocation: int, *, resume: bool,
                progress: bool | None) -> PipelineResult:
    """The stages of :func:`run_pipeline` in order into ``root``."""
    from dream_keras.tasks.atac.pipeline.stages import STAGES, StageContext

    records: dict[str, StageRecord] = {}
    ran, results = [], {}
    for number, stage in enumerate(STAGES, start=1):
        folder = root / stage.name
        done = read_record(root, folder) if resume and not ran else None
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
        record = StageRecord(stage.name, output.outputs, output.summary, seconds, invocation)
        folder.mkdir(parents=True, exist_ok=True)
        write_record(root, folder, record)
        records[stage.name] = read_record(root, folder)
        ran.append(stage.name)
        results[stage.name] = output.result
        _log(root, invocation, stage.name, "ran", seconds)
    return PipelineResult(root, records, ran, results, pathlib.Path(records["report"].outputs["report"]))
