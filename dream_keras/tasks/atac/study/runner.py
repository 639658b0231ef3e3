"""``dream-keras pipeline --samples``: the pipeline of every sample of a sheet, each in ``STUDY/<name>/``.

Each sample is one ordinary pipeline run (:func:`dream_keras.tasks.atac.pipeline.run_pipeline`), so
it resumes stage by stage as a single pipeline does and its folder is a pipeline folder like any
other. What the study adds:

- the parameters of each sample: the sheet's row (signal, peaks, nonpeaks, bias model), then the
  options given on the command line (shared by every sample), then, for a sample started before,
  what it was started with, then the defaults;
- one bias model for many samples: ``--bias-model FILE`` for all, or ``--bias-from NAME``: the named
  sample trains its bias model first, and every other sample reuses it (the training stage rescales
  its log-counts to each sample's depth, as the official pipeline does with a given bias model);
- ``only``: one sample (a job of a Slurm array); the summary is left to ``--summarize``;
- after the samples: ``STUDY/summary.tsv`` and ``STUDY/report.html``
  (:mod:`dream_keras.tasks.atac.study.summary`).
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import traceback

from data_prep.errors import InputError
from dream_keras.tasks.atac.pipeline.parameters import PIPELINE_DEFAULTS, PipelineParameters
from dream_keras.tasks.atac.study.sample_sheet import SampleRow, SampleSheet

PIPELINE_RECORD = pathlib.Path("logs") / "pipeline.json"


@dataclasses.dataclass
class StudyRun:
    """What :func:`run_study` did.

    The samples run (in order), those that failed with their message, and the summary written (None with
    ``only``).
    """

    ran: list
    failed: dict
    summary: object = None


def _recorded(folder: pathlib.Path) -> dict:
    path = folder / PIPELINE_RECORD
    return json.loads(path.read_text()).get("parameters", {}) if path.is_file() else {}


def sample_parameters(row: SampleRow, shared: dict, recorded: dict,
                      bias_model: str | None = None) -> PipelineParameters:
    """The pipeline parameters of one sample.

    Args:
        row: the sheet's row.
        shared: options given on the command line (``{PipelineParameters field: value}``, paths absolute).
        recorded: the parameters the sample was started with (``{}`` for a new one).
        bias_model: the bias model another sample trained (``--bias-from``), used unless the row has its own.

    Raises:
        InputError: no peaks (neither the row nor ``--peaks``), no ``--genome`` or no ``--fold``.
    """
    values = {key: value for key, value in PIPELINE_DEFAULTS.items()}
    values.update(recorded)
    values.update(shared)
    if row.signal == "bigwig":
        values.update(bigwig=row.path, reads=None, reads_format=None)
    else:
        values.update(bigwig=None, reads=row.path, reads_format=row.signal)
    for field in ("peaks", "nonpeaks"):
        if getattr(row, field):
            values[field] = getattr(row, field)
    if row.bias_model or bias_model:
        values["bias_model"] = row.bias_model or bias_model
    if not values.get("peaks"):
        raise InputError(f"sample {row.name!r} has no peaks: fill its peaks column in the sheet or give --peaks for "
                         "every sample")
    for field in ("genome", "fold"):
        if values.get(field) is None:
            raise InputError(f"sample {row.name!r} needs --{field} (given once for every sample)")
    values["fold"] = str(values["fold"])
    fields = {field.name for field in dataclasses.fields(PipelineParameters)}
    return PipelineParameters(**{key: value for key, value in values.items() if key in fields})


def open_study_folder(out: pathlib.Path, names: list[str], *, resume: bool, overwrite: bool) -> dict[str, str]:
    """Create the study folder; say how each selected sample's folder is used (the one place that does).

    Returns:
        ``{name: "start" | "resume" | "overwrite"}``.

    Raises:
        InputError: the study path is a file; a sample folder holds an earlier run and neither
            ``resume`` nor ``overwrite`` is given; both are given.
    """
    if resume and overwrite:
        raise InputError("--resume and --overwrite exclude each other: --resume continues the samples started in "
                         "--out (and starts the others), --overwrite starts them again")
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file; give the study folder (created when missing)")
    modes, started = {}, []
    for name in names:
        folder = out / name
        used = folder.is_dir() and any(folder.iterdir())
        if not used:
            modes[name] = "start"
        elif overwrite:
            modes[name] = "overwrite"
        elif resume and (folder / PIPELINE_RECORD).is_file():
            modes[name] = "resume"
        elif resume:
            raise InputError(f"{folder} is not empty but holds no pipeline ({PIPELINE_RECORD} is missing); move it "
                             "away or choose another --out")
        else:
            started.append(str(folder))
    if started:
        raise InputError(f"{', '.join(started[:5])}{', ...' if len(started) > 5 else ''} hold(s) an earlier run: "
                         "pass --resume to continue the samples started there (finished stages are skipped), "
                         "--overwrite to start them again, or choose another --out")
    out.mkdir(parents=True, exist_ok=True)
    return modes


def trained_bias_model(out: pathlib.Path, reference: str) -> str:
    """The bias model the sample ``reference`` trained (its completed bias stage's output).

    Raises:
        InputError: its bias stage has not finished.
    """
    from dream_keras.tasks.atac.pipeline.stage_records import read_record

    root = out / reference
    record = read_record(root, root / "bias") if (root / PIPELINE_RECORD).is_file() else None
    if record is None:
        raise InputError(f"the bias model of sample {reference!r} (--bias-from {reference}) is not trained yet: "
                         f"{root / 'bias'} has no completed stage. Run that sample first (`--only {reference}`; "
                         "in a Slurm array, a job that the array depends on)")
    return str(record.outputs["bias_model"])


def run_study(sheet: SampleSheet, out, shared: dict, *, bias_from: str | None = None, only: str | None = None,
              resume: bool = False, overwrite: bool = False, progress: bool | None = None) -> StudyRun:
    """Run the pipeline of every sample of ``sheet`` (or of ``only``) into ``out/<name>/``.

    Args:
        sheet: the read sample sheet.
        out: the study folder.
        shared: options for every sample (``{PipelineParameters field: value}``, paths absolute).
        bias_from: a sample that trains the bias model every other sample reuses.
        only: run this sample only (no summary).
        resume: continue samples started before (others start).
        overwrite: start the selected samples again.
        progress: progress bars (None: on a terminal).

    Returns:
        :class:`StudyRun`. A sample that fails is reported and the others run (except that a failed
        ``bias_from`` sample stops those that need its bias model).

    Raises:
        InputError: before anything runs: an unknown ``only``/``bias_from``, a ``bias_from`` sample with
            its own bias model, ``--bias-model`` with ``--bias-from``, a sample without peaks, folders
            that hold earlier runs (see :func:`open_study_folder`).
    """
    from dream_keras.tasks.atac.pipeline import run_pipeline
    from dream_keras.tasks.atac.study.summary import summarize_study

    out = pathlib.Path(out).resolve()
    names = sheet.names()
    if only is not None:
        sheet.row(only)
    if bias_from is not None:
        reference = sheet.row(bias_from)
        if reference.bias_model:
            raise InputError(f"--bias-from {bias_from}: that sample has its own bias_model in {sheet.path} (line "
                             f"{reference.line}); the bias model to share is the one it trains: empty its cell")
        if shared.get("bias_model"):
            raise InputError("--bias-model and --bias-from exclude each other: share a trained bias model, or train "
                             "one on a sample")
        names = [bias_from] + [n for n in names if n != bias_from]
    selected = [only] if only is not None else names
    modes = open_study_folder(out, selected, resume=resume, overwrite=overwrite)
    # every sample's parameters are checked before the first one runs
    for name in selected:
        row = sheet.row(name)
        recorded = _recorded(out / name) if modes[name] == "resume" else {}
        sample_parameters(row, shared, recorded, bias_model="(from --bias-from)" if bias_from else None)
    ran, failed = [], {}
    for number, name in enumerate(selected, start=1):
        row = sheet.row(name)
        print(f"\n=== sample {name} ({number}/{len(selected)}): {row.signal} {row.path} -> {out / name}", flush=True)
        try:
            shared_bias = None
            if bias_from is not None and name != bias_from and not row.bias_model:
                if bias_from in failed:
                    raise InputError(f"its bias model comes from sample {bias_from!r}, which failed")
                shared_bias = trained_bias_model(out, bias_from)
                print(f"    bias model of sample {bias_from}: {shared_bias} (rescaled to this sample's depth when "
                      "the main model trains)", flush=True)
            recorded = _recorded(out / name) if modes[name] == "resume" else {}
            params = sample_parameters(row, shared, recorded, bias_model=shared_bias)
            run_pipeline(params, out / name, resume=modes[name] == "resume", overwrite=modes[name] == "overwrite",
                         progress=progress)
            ran.append(name)
        except Exception as error:  # noqa: BLE001 - one sample's failure must not stop the others
            if only is not None:
                raise
            failed[name] = str(error)
            if not isinstance(error, InputError):
                traceback.print_exc()
            print(f"sample {name} failed: {error}", flush=True)
    summary = None
    if only is None:
        summary = summarize_study(sheet, out)
    return StudyRun(ran=ran, failed=failed, summary=summary)
