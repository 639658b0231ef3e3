"""A variant-scoring run, from the variant list to the output folder, resumable chunk by chunk.

:func:`prepare_run` does everything that can refuse the inputs (loading the models, reading and
checking the variants, peaks and plot IDs) before any file is written. :func:`score_run` then
scores the chunks that are not done yet (:mod:`.chunk_scoring`, one pass over the genome),
assembles the tables (:mod:`.score_tables`, :mod:`.output_files`), draws the figures and removes
the chunk files. The output folder (``OUT``):

- ``variant_scores.tsv``: one row per variant and model (``model`` = the position in ``--model``);
- ``variant_scores.mean.tsv``: one row per variant, the mean over the models (official summary);
- ``peak_scores.tsv`` (``--peaks``), ``shuffled_scores.tsv`` (``--num-shuffles``/``--total-shuffles``),
  ``skipped_variants.tsv`` (``--skip-bad``, when any), ``variant_predictions.h5`` (``--hdf5``),
  ``*.parquet`` (``--parquet``), ``plots/<id>.png`` (``--plot``);
- ``logs/run.json`` (parameters, input sizes and SHA-256, counts) and ``logs/manifest.json``.

:func:`score_variants` is the same computation in memory, for Python users and tests.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import pathlib
from typing import Callable

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from data_prep.errors import InputError
from dream_keras.interpret.variants.allele_predictions import AllelePredictor
from dream_keras.interpret.variants.chromosomes import ChromosomeReader
from dream_keras.interpret.variants.chunk_scoring import (
    PROFILE_KEYS,
    Chunk,
    plan_chunks,
    score_peak_chunk,
    score_variant_chunk,
)
from dream_keras.interpret.variants.chunk_store import ChunkStore, model_columns
from dream_keras.interpret.variants.fold_summary import summarise_models
from dream_keras.interpret.variants.output_files import PredictionFile, TableFile, check_parquet_available
from dream_keras.interpret.variants.parameters import VariantScoringParameters
from dream_keras.interpret.variants.peak_scores import read_peaks
from dream_keras.interpret.variants.score_tables import (
    complete_columns,
    long_table,
    null_scores,
    score_columns,
    shown_variants,
    sorted_peak_scores,
)
from dream_keras.interpret.variants.shuffled_variants import shuffled_variant_table
from dream_keras.interpret.variants.variant_checks import (
    apply_bad_variant_rule,
    find_bad_variants,
    reconcile_chromosomes,
)
from dream_keras.interpret.variants.variant_files import VARIANT_COLUMNS, read_variant_list, resolve_schema

OUTPUT_FILES = {"scores": "variant_scores.tsv", "summary": "variant_scores.mean.tsv", "peaks": "peak_scores.tsv",
                "shuffled": "shuffled_scores.tsv", "skipped": "skipped_variants.tsv",
                "predictions": "variant_predictions.h5", "plots": "plots"}
CHUNK_FOLDER = "logs/chunks"


@dataclasses.dataclass
class PreparedRun:
    """A run whose inputs passed every check; nothing written yet."""

    params: VariantScoringParameters
    models: list
    predictor: AllelePredictor
    schema: str
    variants: pd.DataFrame
    skipped: pd.DataFrame
    shuffled: pd.DataFrame
    peaks: pd.DataFrame | None
    notes: list[str]


def _check_options(params: VariantScoringParameters, predictor: AllelePredictor) -> None:
    for name in ("batch_size", "chunk_size"):
        if getattr(params, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} is {getattr(params, name)}; give a positive number")
    if params.num_shuffles < 0 or (params.total_shuffles is not None and params.total_shuffles < 1):
        raise InputError("--num-shuffles must be 0 or more and --total-shuffles 1 or more")
    if params.parquet:
        check_parquet_available()
    if not predictor.kind.profile_count:
        offered = [f"--{flag}" for flag, value in (("peaks", params.peaks), ("hdf5", params.hdf5),
                                                 ("plot", params.plot)) if value]
        if offered:
            raise InputError(f"{', '.join(offered)} need(s) a profile/count model (outputs profile and logcounts); "
                             f"these models predict {', '.join(predictor.kind.scalar_outputs)}")


def _check_plot_ids(ids, variants: pd.DataFrame, skipped: pd.DataFrame) -> None:
    known = set(variants["variant_id"])
    missing = [name for name in ids if name not in known]
    if missing:
        reasons = dict(zip(skipped.get("variant_id", []), skipped.get("detail", [])))
        described = [f"{name} (skipped: {reasons[name]})" if name in reasons else name for name in missing[:5]]
        raise InputError(f"--plot names variant ID(s) that are not scored: {', '.join(described)}; give IDs of the "
                         "variant list's variant_id (VCF: ID) column")


def prepare_run(params: VariantScoringParameters, models=None, say: Callable[[str], None] = print) -> PreparedRun:
    """Load and check every input (module docstring); ``models`` may be given already loaded.

    Raises:
        InputError: anything wrong with the inputs, named (see :mod:`.variant_checks` for variants).
    """
    from dream_keras.interpret.variants.scoring_models import load_scoring_models

    if models is None:
        models = load_scoring_models(params.models, no_bias=params.no_bias,
                                     allow_bias_model=params.allow_bias_model, say=say)
    predictor = AllelePredictor(models, params.batch_size, snv_reuse=params.snv_reuse)
    _check_options(params, predictor)
    schema = resolve_schema(params.variants, params.schema)
    table = read_variant_list(params.variants, schema)
    notes = []
    with ChromosomeReader(params.genome) as reader:
        table, renamed = reconcile_chromosomes(table, reader.sizes)
        if renamed:
            shown = ", ".join(f"{a} -> {b}" for a, b in list(renamed.items())[:5])
            notes.append(f"chromosome names matched to the FASTA's: {shown}{' ...' if len(renamed) > 5 else ''}")
        bad = find_bad_variants(table, reader, predictor.kind.input_length)
        good, skipped = apply_bad_variant_rule(table, bad, skip_bad=params.skip_bad, source=str(params.variants),
                                               genome=str(params.genome))
        peaks = None
        if params.peaks:
            peaks, unusable = read_peaks(params.peaks, reader.sizes, predictor.kind.input_length, params.max_peaks,
                                         params.seed)
            if unusable:
                notes.append(f"{unusable} peak row(s) of {params.peaks} not used (duplicates, or a window that leaves "
                             "the chromosome), as the official scorer drops them")
    if len(skipped):
        counts = skipped["reason"].value_counts()
        notes.append(f"skipped {len(skipped)} of {len(table)} variant(s) (--skip-bad): "
                     + ", ".join(f"{count} {reason}" for reason, count in counts.items()))
    _check_plot_ids(params.plot, good, skipped)
    shuffled = shuffled_variant_table(good, params.num_shuffles, params.total_shuffles, params.seed)
    return PreparedRun(params, models, predictor, schema, good, skipped, shuffled, peaks, notes)


class MemoryChunkStore:
    """:class:`~.chunk_store.ChunkStore`'s interface in memory, for :func:`score_variants`.

    It has ``has``, ``save`` and ``load``.
    """

    def __init__(self):
        self._chunks: dict[tuple[str, int], dict] = {}

    def has(self, kind: str, index: int) -> bool:
        """Whether the chunk is held."""
        return (kind, index) in self._chunks

    def save(self, kind: str, index: int, arrays: dict) -> None:
        """Hold a finished chunk's arrays."""
        self._chunks[(kind, index)] = arrays

    def load(self, kind: str, index: int) -> dict:
        """A held chunk's arrays."""
        return self._chunks[(kind, index)]


def _tables(run: PreparedRun) -> dict[str, pd.DataFrame]:
    empty_peaks = pd.DataFrame({"chr": pd.Series([], dtype=object)})
    return {"peaks": run.peaks if run.peaks is not None else empty_peaks, "shuffled": run.shuffled,
            "variants": run.variants}


def score_chunks(run: PreparedRun, store, chunks: list[Chunk]) -> int:
    """Score the chunks the store lacks, chromosome by chromosome; returns how many were scored."""
    tables = _tables(run)
    todo = [chunk for chunk in chunks if not store.has(chunk.kind, chunk.index)]
    total = sum(len(chunk.rows) for chunk in todo)
    bar = tqdm(total=total, desc="scoring (peaks, shuffled, variants)", unit="row", smoothing=0.1,
               disable=None if run.params.progress else True)
    with ChromosomeReader(run.params.genome) as reader, bar:
        for chunk in todo:
            bases = reader.sequence(chunk.chrom)
            rows = tables[chunk.kind].iloc[chunk.rows]
            if chunk.kind == "peaks":
                arrays = score_peak_chunk(run.predictor, bases, rows)
            else:
                seeds = rows["random_seed"].to_numpy() if chunk.kind == "shuffled" else None
                arrays = score_variant_chunk(run.predictor, bases, rows, shuffle_seeds=seeds,
                                             keep_profiles=chunk.kind == "variants" and run.params.hdf5)
            store.save(chunk.kind, chunk.index, arrays)
            bar.update(len(chunk.rows))
    return len(todo)


def _chunks_of(chunks: list[Chunk], kind: str) -> list[Chunk]:
    return sorted((c for c in chunks if c.kind == kind), key=lambda c: c.index)


def _peak_table(run: PreparedRun, store, chunks: list[Chunk]) -> pd.DataFrame:
    frames = []
    n_models = len(run.models)
    for chunk in _chunks_of(chunks, "peaks"):
        rows = run.peaks.iloc[chunk.rows]
        arrays = store.load("peaks", chunk.index)
        scores = np.stack([model_columns(arrays, model)["peak_score"] for model in range(n_models)], axis=1)
        frame = rows.loc[rows.index.repeat(n_models)].reset_index(drop=True)
        frames.append(frame.assign(model=np.tile(np.arange(n_models), len(rows)), peak_score=scores.reshape(-1)))
    return pd.concat(frames, ignore_index=True)


def assemble(run: PreparedRun, store, chunks: list[Chunk], write_scores, write_shuffled=None, write_predictions=None):
    """Build the tables from the stored chunks and hand each chunk's frames to the writers.

    Returns:
        ``(sorted peak counts per model or None, the peak table or None)``.
    """
    n_models = len(run.models)
    sorted_peaks, peak_table = None, None
    if run.peaks is not None:
        sorted_peaks = sorted_peak_scores((store.load("peaks", c.index) for c in _chunks_of(chunks, "peaks")),
                                          n_models)
        peak_table = _peak_table(run, store, chunks)
    nulls = None
    if len(run.shuffled):
        collected = [[] for _ in range(n_models)]
        for chunk in _chunks_of(chunks, "shuffled"):
            arrays = store.load("shuffled", chunk.index)
            for model in range(n_models):
                collected[model].append(complete_columns(score_columns(arrays, model),
                                                         None if sorted_peaks is None else sorted_peaks[model], None))
            if write_shuffled is not None:
                rows = run.shuffled.iloc[chunk.rows]
                write_shuffled(long_table(rows, arrays, n_models, run.schema, sorted_peaks, None,
                                          extra={"random_seed": rows["random_seed"].to_numpy()}))
        nulls = null_scores(collected)
    for chunk in _chunks_of(chunks, "variants"):
        arrays = store.load("variants", chunk.index)
        rows = run.variants.iloc[chunk.rows]
        table = long_table(rows, arrays, n_models, run.schema, sorted_peaks, nulls)
        write_scores(table, summarise_models(table, n_models))
        if write_predictions is not None:
            per_model = []
            for model in range(n_models):
                columns = model_columns(arrays, model)
                per_model.append({"allele1_pred_counts": columns["allele1_pred_counts"],
                                  "allele2_pred_counts": columns["allele2_pred_counts"],
                                  **{key: columns[key] for key in PROFILE_KEYS}})
            write_predictions(shown_variants(rows, run.schema), per_model)
    return sorted_peaks, peak_table


def score_variants(models, genome, variants, *, schema: str = "auto", peaks=None, max_peaks=None,
                   num_shuffles: int = 0, total_shuffles=None, seed: int | None = None, batch_size: int | None = None,
                   chunk_size: int | None = None, skip_bad: bool = False, snv_reuse: bool = True,
                   progress: bool = False) -> pd.DataFrame:
    """Score variants in memory: the long table that ``variant_scores.tsv`` holds.

    Args:
        models: a Keras model or a list (e.g. one per fold).
        genome: FASTA path.
        variants: a VCF / variant-list path, or a DataFrame with ``chr``/``chrom``, ``pos`` (1-based),
            ``allele1``/``ref``, ``allele2``/``alt`` (optional ``variant_id``/``id``).
        schema: ``auto``, ``vcf``, ``chrombpnet``, ``bed``, ``plink`` or ``original``.
        peaks: narrowPeak/BED of the assay's peaks for the allele quantiles (``None``: no quantiles).
        max_peaks: sample this many peaks (the official ``--max_peaks``; ``None``: all).
        num_shuffles: shuffled variants per variant for the p-values (0: no p-values).
        total_shuffles: the total number of shuffled variants instead (wins over ``num_shuffles``).
        seed: the seed of the shuffles and of the peak sample (``None``: the default of
            :class:`~.parameters.VariantScoringParameters`, as for ``batch_size`` and ``chunk_size``).
        batch_size: variants per model call (each is 4 windows: 2 alleles x 2 strands).
        chunk_size: variants scored as one unit (bounds memory).
        skip_bad: skip and count bad variants instead of refusing them.
        snv_reuse: compute SNVs' alternate alleles from the reference's activations where the model
            allows it (BPNet).
        progress: a progress bar.

    Returns:
        DataFrame, one row per variant and model: ``chr, pos, allele1, allele2, variant_id, model``
        and the score columns (:mod:`.scores`).

    Raises:
        InputError: bad variants (unless ``skip_bad``) or other unusable inputs, named.
    """
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if not models:
        raise InputError("score_variants needs at least one model")
    overrides = {name: value for name, value in (("seed", seed), ("batch_size", batch_size),
                                                 ("chunk_size", chunk_size)) if value is not None}
    path = variants
    if not isinstance(variants, (str, pathlib.Path)):
        from dream_keras.interpret.variants.variant_files import variant_table

        path = None
        frame = variant_table(variants)
    params = VariantScoringParameters(models=[getattr(m, "name", "model") for m in models], genome=str(genome),
                                      variants=str(path) if path is not None else "<DataFrame>", out="", schema=schema,
                                      peaks=None if peaks is None else str(peaks), max_peaks=max_peaks,
                                      num_shuffles=num_shuffles, total_shuffles=total_shuffles, skip_bad=skip_bad,
                                      snv_reuse=snv_reuse, progress=progress, **overrides)
    if path is None:
        with _variant_list_of(frame) as temporary:
            run = prepare_run(dataclasses.replace(params, variants=str(temporary), schema="chrombpnet"), models,
                              say=lambda text: None)
    else:
        run = prepare_run(params, models, say=lambda text: None)
    store = MemoryChunkStore()
    chunks = plan_chunks(_tables(run), run.params.chunk_size)
    score_chunks(run, store, chunks)
    frames = []
    assemble(run, store, chunks, lambda table, summary: frames.append(table))
    return pd.concat(frames, ignore_index=True)


@contextlib.contextmanager
def _variant_list_of(frame: pd.DataFrame):
    """A DataFrame of variants as a temporary ``chrombpnet`` list (one code path for files and frames)."""
    import tempfile

    from dream_keras.interpret.variants.variant_files import shown_allele

    with tempfile.TemporaryDirectory(prefix="dream-keras-variants-") as folder:
        path = pathlib.Path(folder) / "variants.tsv"
        rows = [f"{c}\t{p}\t{shown_allele(a)}\t{shown_allele(b)}\t{i}" for c, p, a, b, i in
                zip(frame["chr"], frame["pos"], frame["allele1"], frame["allele2"], frame["variant_id"])]
        path.write_text("\n".join(rows) + "\n")
        yield path


def _fingerprints(params: VariantScoringParameters, say) -> dict:
    from data_prep.outputs.recorded_inputs import fingerprints

    inputs = {f"model_{i}": path for i, path in enumerate(params.models)}
    inputs.update(genome=params.genome, variants=params.variants)
    if params.peaks:
        inputs["peaks"] = params.peaks
    return fingerprints(inputs, say=say)


def _check_resumable(recorded: dict, params: VariantScoringParameters, fingerprints: dict, run_json) -> None:
    """Refuse ``--resume`` when the parameters or an input file differ from what the run recorded."""
    before = recorded.get("parameters", {})
    now = params.recorded()
    changed = [f"--{name.replace('_', '-')} {before.get(name)!r} -> {value!r}" for name, value in now.items()
               if name in before and before[name] != value and name not in ("models", "genome", "variants", "peaks",
                                                                            "out")]
    old_inputs = recorded.get("inputs", {})
    for name in sorted(set(old_inputs) | set(fingerprints)):
        old, new = old_inputs.get(name), fingerprints.get(name)
        if old is None or new is None:
            changed.append(f"{name}: {'added' if old is None else 'removed'}")
        elif (old.get("size"), old.get("sha256")) != (new["size"], new["sha256"]):
            changed.append(f"{name} {new['path']} differs from the file the run started with ({old.get('path')}, "
                           f"{old.get('size')} bytes)")
    if changed:
        raise InputError(f"--resume refused: the run in {run_json.parent.parent} was started with other inputs ("
                         f"{'; '.join(changed)}); its finished chunks would not fit. Start again with --overwrite, "
                         "or resume with the same inputs and options")


def _start_or_resume(run: PreparedRun, folder: pathlib.Path, say) -> dict:
    from data_prep.outputs import RunFolder, write_json_atomic
    from data_prep.outputs.run_folder import program_version

    params = run.params
    run_folder = RunFolder.create(folder, resume=params.resume, subfolders=("logs",))
    fingerprints = _fingerprints(params, say)
    run_json = run_folder.logs / "run.json"
    if params.resume and run_json.is_file():
        recorded = run_folder.read_run_json()
        _check_resumable(recorded, params, fingerprints, run_json)
        if "results" in recorded:
            say(f"note: the run in {folder} had finished; --resume scores it again (a finished run keeps no chunks)")
        return recorded
    record = {"command": "variants", "dream_keras_version": program_version(), "parameters": params.as_dict(),
              "inputs": fingerprints}
    write_json_atomic(run_json, record)
    return record


def score_run(run: PreparedRun, folder: str | pathlib.Path, say: Callable[[str], None] = print) -> dict:
    """Score a prepared run into ``folder`` (already opened for writing: new, or the run being resumed).

    Returns:
        counts and output paths (also recorded in ``logs/run.json`` under ``results``).
    """
    from data_prep.outputs import write_json_atomic

    folder = pathlib.Path(folder)
    params = run.params
    record = _start_or_resume(run, folder, say)
    for note in run.notes:
        say(f"note: {note}")
    store = ChunkStore(folder / CHUNK_FOLDER, root=folder)
    chunks = plan_chunks(_tables(run), params.chunk_size)
    done_before = sum(store.has(c.kind, c.index) for c in chunks)
    if params.resume and done_before:
        say(f"resuming: {done_before} of {len(chunks)} chunk(s) done")
    score_chunks(run, store, chunks)
    for reason in run.predictor.reuse_refused.values():
        say(f"note: {reason}")
    paths = {key: folder / name for key, name in OUTPUT_FILES.items()}
    n_models = len(run.models)
    with contextlib.ExitStack() as stack:
        scores = TableFile(stack, paths["scores"], params.parquet)
        summary = TableFile(stack, paths["summary"], params.parquet)
        shuffled = TableFile(stack, paths["shuffled"], params.parquet) if len(run.shuffled) else None
        predictions = None
        if params.hdf5:
            predictions = PredictionFile(stack, paths["predictions"], len(run.variants), n_models,
                                         run.predictor.kind.output_length,
                                         {"models": json.dumps([str(m) for m in params.models]),
                                          "genome": str(params.genome), "variants": str(params.variants)})

        def write_scores(table, summary_table):
            scores.write(table)
            summary.write(summary_table)

        _, peak_table = assemble(run, store, chunks, write_scores, shuffled.write if shuffled else None,
                                 predictions.write if predictions else None)
        if peak_table is not None:
            TableFile(stack, paths["peaks"], params.parquet).write(peak_table)
        if len(run.skipped):
            TableFile(stack, paths["skipped"]).write(run.skipped[[*VARIANT_COLUMNS, "line", "reason", "detail"]])
    plotted = _draw_plots(run, folder, paths["plots"], say) if params.plot else []
    results = {"variants_scored": len(run.variants), "variants_skipped": len(run.skipped), "models": n_models,
               "shuffled_variants": len(run.shuffled), "peaks": 0 if run.peaks is None else len(run.peaks),
               "chunks": len(chunks), "chunks_done_before": done_before, "plots": len(plotted)}
    write_json_atomic(folder / "logs" / "run.json", {**record, "results": results})
    store.remove()
    return {**results, "paths": {k: str(v) for k, v in paths.items() if v.exists()}}


def _draw_plots(run: PreparedRun, folder: pathlib.Path, plots: pathlib.Path, say) -> list[pathlib.Path]:
    from dream_keras.interpret.variants.variant_plots import plot_file_name, plot_variant, variant_figure_data

    table = pd.read_csv(folder / OUTPUT_FILES["summary"], sep="\t", dtype={"variant_id": str},
                        usecols=lambda c: c in ("variant_id", "logfc.mean", "jsd.mean"))
    means = {name: {"logfc": a, "jsd": b} for name, a, b in
             zip(table["variant_id"], table["logfc.mean"], table["jsd.mean"])}
    written = []
    wanted = run.variants[run.variants["variant_id"].isin(run.params.plot)]
    with ChromosomeReader(run.params.genome) as reader:
        for row in wanted.itertuples(index=False):
            data = variant_figure_data(run.models, run.predictor, reader.sequence(row.chr), row)
            written.append(plot_variant(plots / plot_file_name(row.variant_id), data, row, means[row.variant_id],
                                        run.predictor.kind.output_length))
    say(f"drew {len(written)} figure(s) in {plots}")
    return written


__all__ = ["OUTPUT_FILES", "PreparedRun", "assemble", "prepare_run", "score_chunks", "score_run", "score_variants"]
