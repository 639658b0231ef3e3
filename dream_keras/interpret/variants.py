"""Variant effects: each SNV or short indel predicted with the reference and the alternate allele.

Windows. Each allele's window is ``input_length`` bp with the allele starting at the centre index
``input_length // 2`` (variant-scorer's layout): the left flank is the genome before the variant,
the same for both alleles; the right flank is the genome after the *reference* allele, read for as
many bases as fill the window. So a deletion pulls more downstream sequence into its window and an
insertion pushes the end out, and both windows keep the model's input length. Bases beyond a
chromosome end read as N (all-zero one-hot). An allele longer than the right half of the window is
refused.

Scores (several models: their predictions are averaged; each model's predictions are the mean of
the window and its reverse complement, the reverse profile flipped back):

- ``logfc``: ``log2`` fold change of predicted counts, ``(logcounts_alt - logcounts_ref) / ln 2``.
  The models predict ``log(1 + counts)``, so this is the fold change of ``1 + counts``; variant-
  scorer's ``log2(counts_alt / counts_ref)`` with ``counts = exp(logcounts) - 1`` is undefined when a
  prediction is below one count, which this is not. Log-counts are averaged over strands and models.
- ``jsd``: Jensen-Shannon distance (natural log, ``scipy.spatial.distance.jensenshannon``) between
  the reference and alternate profile probabilities (softmax of the logits, averaged over strands
  and models); for multi-task profiles, the mean over tasks.
- for every output of width 1 (``logcounts``, ``expression``, ``Dev``, ...): ``<output>_ref``,
  ``<output>_alt`` and ``<output>_diff = alt - ref``.

Variants come from a VCF (``CHROM POS ID REF ALT``; lines starting with ``#`` skipped; several
comma-separated ALT alleles give one row each) or a table with a header naming ``chrom``, ``pos``
(1-based), ``ref``, ``alt`` (and optionally ``id``); ``-`` in a table means an empty allele. The
reference allele must match the FASTA (case-insensitive), else :class:`InputError` names the variant.
"""

from __future__ import annotations

import gzip
import math
import os
import pathlib
import re

import numpy as np
import pandas as pd
from scipy.spatial.distance import jensenshannon
from tqdm.auto import tqdm

from data_prep.errors import InputError
from data_prep.genome import genome_name, genome_sizes, opened_genome
from data_prep.onehot import one_hot_encode, reverse_complement
from dream_keras.interpret.predict import model_input_shape, predict_outputs
from dream_keras.interpret.targets import LOGCOUNTS, PROFILE, output_widths

VARIANT_COLUMNS = ["chrom", "pos", "id", "ref", "alt"]
_ALLELE = re.compile(r"^[ACGTNacgtn]*$")
_MAX_LISTED = 5


def _open_text(path: pathlib.Path):
    return gzip.open(path, "rt") if path.suffix == ".gz" else open(path)


def _check_allele(allele: str, where: str, what: str) -> str:
    allele = "" if allele == "-" else allele
    if not _ALLELE.match(allele):
        raise InputError(f"{where}: {what} allele {allele!r} is not a DNA sequence; only sequence alleles "
                         f"(A/C/G/T/N, '-' for empty in a table) are scored, not symbolic ones like <DEL> or *")
    return allele.upper()


def read_vcf(path: str | os.PathLike) -> pd.DataFrame:
    """Read the first five columns of a VCF (plain or gzipped) -> DataFrame ``chrom, pos, id, ref, alt``.

    Raises:
        InputError: naming the file and line of a row with fewer than 5 columns, a non-integer
            position, or a non-sequence allele; or a file without variants.
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"variant file {path} does not exist")
    rows = []
    with _open_text(path) as handle:
        for number, line in enumerate(handle, start=1):
            if line.startswith("#") or not line.strip():
                continue
            fields = line.rstrip("\r\n").split("\t")
            where = f"{path}, line {number}"
            if len(fields) < 5:
                raise InputError(f"{where}: a VCF line needs at least 5 tab-separated columns (CHROM POS ID REF "
                                 f"ALT); found {len(fields)}")
            try:
                pos = int(fields[1])
            except ValueError:
                raise InputError(f"{where}: POS {fields[1]!r} is not an integer") from None
            ref = _check_allele(fields[3], where, "REF")
            for alt in fields[4].split(","):
                rows.append((fields[0], pos, fields[2], ref, _check_allele(alt, where, "ALT")))
    if not rows:
        raise InputError(f"VCF {path} holds no variants")
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS).astype({"pos": np.int64})


def read_variant_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a tab-separated table with a header naming ``chrom, pos, ref, alt`` (optionally ``id``).

    ``pos`` is 1-based (as in a VCF). Returns a DataFrame ``chrom, pos, id, ref, alt`` (``id``:
    ``chrom:pos:ref:alt`` when the table has none).
    """
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"variant file {path} does not exist")
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False, comment=None)
    table.columns = [column.strip().lower().lstrip("#") for column in table.columns]
    missing = [column for column in ("chrom", "pos", "ref", "alt") if column not in table.columns]
    if missing:
        raise InputError(f"variant table {path} lacks the column(s) {missing}; its header must name chrom, pos "
                         f"(1-based), ref and alt (tab-separated), or give a VCF")
    if table.empty:
        raise InputError(f"variant table {path} holds no variants")
    rows = []
    for index, row in table.iterrows():
        where = f"{path}, line {index + 2}"
        try:
            pos = int(row["pos"])
        except ValueError:
            raise InputError(f"{where}: pos {row['pos']!r} is not an integer") from None
        ref, alt = _check_allele(row["ref"], where, "ref"), _check_allele(row["alt"], where, "alt")
        name = row["id"] if "id" in table.columns and row["id"] else f"{row['chrom']}:{pos}:{ref}:{alt}"
        rows.append((row["chrom"], pos, name, ref, alt))
    return pd.DataFrame(rows, columns=VARIANT_COLUMNS).astype({"pos": np.int64})


def read_variants(path: str | os.PathLike) -> pd.DataFrame:
    """A VCF (by suffix ``.vcf``/``.vcf.gz`` or a ``##fileformat=VCF`` first line) or a variant table."""
    path = pathlib.Path(path)
    if not path.is_file():
        raise InputError(f"variant file {path} does not exist")
    if path.name.endswith((".vcf", ".vcf.gz")):
        return read_vcf(path)
    with _open_text(path) as handle:
        first = handle.readline()
    return read_vcf(path) if first.startswith("##fileformat=VCF") else read_variant_table(path)


def _as_variants(variants) -> pd.DataFrame:
    if isinstance(variants, (str, os.PathLike)):
        return read_variants(variants)
    frame = pd.DataFrame(variants).copy()
    if not {"chrom", "pos", "ref", "alt"} <= set(frame.columns):
        raise InputError("variants must be a VCF/table path or a DataFrame with columns chrom, pos, ref, alt")
    frame["ref"] = [_check_allele(str(a), "variants", "ref") for a in frame["ref"]]
    frame["alt"] = [_check_allele(str(a), "variants", "alt") for a in frame["alt"]]
    if "id" not in frame:
        frame["id"] = [f"{c}:{p}:{r}:{a}" for c, p, r, a in zip(frame.chrom, frame.pos, frame.ref, frame.alt)]
    return frame[VARIANT_COLUMNS].reset_index(drop=True).astype({"pos": np.int64})


def _label(variant) -> str:
    return f"{variant.chrom}:{variant.pos} {variant.ref or '-'}>{variant.alt or '-'}"


def _fetch_padded(fasta, chrom: str, start: int, end: int, size: int) -> str:
    """Bases ``[start, end)`` with N where the range leaves the chromosome."""
    text = str(fasta[chrom][max(start, 0):min(end, size)]).upper()
    return "N" * max(0, -start) + text + "N" * max(0, end - max(size, start))


def allele_windows(variants, genome, input_length: int) -> tuple[list[str], list[str]]:
    """Reference and alternate window sequences (strings of ``input_length``) for each variant.

    Raises:
        InputError: a chromosome the FASTA lacks, a position outside it, an allele longer than
            the window's right half, or reference alleles that differ from the FASTA (all listed,
            up to five, with the FASTA's bases).
    """
    variants = _as_variants(variants)
    centre = input_length // 2
    ref_windows, alt_windows, mismatches = [], [], []
    with opened_genome(genome) as fasta:
        sizes = genome_sizes(fasta)
        for variant in variants.itertuples(index=False):
            if variant.chrom not in sizes:
                raise InputError(f"variant {_label(variant)}: chromosome {variant.chrom} is not in "
                                 f"{genome_name(genome)} (it has {', '.join(list(sizes)[:10])}...); check the naming")
            start = variant.pos - 1
            if start < 0 or start + len(variant.ref) > sizes[variant.chrom]:
                raise InputError(f"variant {_label(variant)} lies outside {variant.chrom} "
                                 f"(1..{sizes[variant.chrom]}); positions are 1-based")
            right_ref, right_alt = input_length - centre - len(variant.ref), input_length - centre - len(variant.alt)
            if min(right_ref, right_alt) < 0:
                raise InputError(f"variant {_label(variant)}: an allele is longer than the {input_length - centre} "
                                 f"bp right half of the {input_length} bp window; only short indels are scored")
            right = max(right_ref, right_alt)
            text = _fetch_padded(fasta, variant.chrom, start - centre, start + len(variant.ref) + right,
                                 sizes[variant.chrom])
            found = text[centre:centre + len(variant.ref)]
            if found != variant.ref:
                mismatches.append(f"{_label(variant)} (the FASTA has {found} at {variant.chrom}:{variant.pos})")
                continue
            left, after = text[:centre], text[centre + len(variant.ref):]
            ref_windows.append(left + variant.ref + after[:right_ref])
            alt_windows.append(left + variant.alt + after[:right_alt])
    if mismatches:
        listed = "; ".join(mismatches[:_MAX_LISTED])
        more = f" and {len(mismatches) - _MAX_LISTED} more" if len(mismatches) > _MAX_LISTED else ""
        raise InputError(f"{len(mismatches)} variant(s) have a reference allele that differs from "
                         f"{genome_name(genome)}: {listed}{more}. Check that the variants and the FASTA use the "
                         f"same assembly, and that REF is the forward-strand reference base(s)")
    return ref_windows, alt_windows


def _softmax_profile(logits: np.ndarray, tasks: int) -> np.ndarray:
    logits = np.asarray(logits, dtype=np.float64).reshape(len(logits), -1, tasks)
    probabilities = np.exp(logits - logits.max(axis=1, keepdims=True))
    return probabilities / probabilities.sum(axis=1, keepdims=True)


def _strand_averaged(model, sequences: np.ndarray, scalar_names: list[str], tasks: int, has_profile: bool,
                     alphabet: str, batch_size: int) -> dict[str, np.ndarray]:
    """Mean of forward and reverse-complement predictions: scalars ``(n,)``, profile ``(n, L, T)``."""
    forward = predict_outputs(model, sequences, batch_size=batch_size)
    reverse = predict_outputs(model, sequences, batch_size=batch_size,
                              transform=lambda batch: reverse_complement(batch, alphabet))
    def scalar(outputs, name):
        return outputs[name].astype(np.float64).reshape(len(sequences), -1).sum(axis=1)

    averaged = {name: (scalar(forward, name) + scalar(reverse, name)) / 2 for name in scalar_names}
    if has_profile:
        averaged[PROFILE] = (_softmax_profile(forward[PROFILE], tasks)
                             + _softmax_profile(reverse[PROFILE], tasks)[:, ::-1]) / 2
    return averaged


def _check_models(models) -> tuple[int, str, list[str], int, bool]:
    lengths = {model_input_shape(model)[0] for model in models}
    channels = {model_input_shape(model)[1] for model in models}
    alphabets = {getattr(model, "alphabet", "ACGT") for model in models}
    outputs = [output_widths(model) for model in models]
    if len(lengths) != 1 or None in lengths or channels != {4} or len(alphabets) != 1:
        raise InputError(f"variant scoring needs models of one fixed input length, 4 channels and one alphabet "
                         f"(windows are read from a genome); got lengths {sorted(map(str, lengths))}, channels "
                         f"{sorted(map(str, channels))}, alphabets {sorted(alphabets)}")
    if any(set(widths) != set(outputs[0]) for widths in outputs):
        raise InputError(f"the models have different outputs ({[sorted(w) for w in outputs]}); average only "
                         f"models of one kind (e.g. the folds of one run)")
    widths = outputs[0]
    scalar_names = [name for name, width in widths.items() if width == 1 or name == LOGCOUNTS]
    tasks = widths.get(LOGCOUNTS, 1)
    return lengths.pop(), alphabets.pop(), scalar_names, tasks, PROFILE in widths


def score_variants(models, genome, variants, *, batch_size: int = 64, chunk_size: int = 1024,
                   progress: bool = False) -> pd.DataFrame:
    """Predicted effects of SNVs and short indels (see the module docstring for windows and scores).

    Args:
        models: one Keras model or a list (e.g. the five folds); predictions are averaged.
        genome: FASTA path or open ``pyfaidx.Fasta``.
        variants: a VCF or table path, or a DataFrame with ``chrom, pos`` (1-based), ``ref, alt``
            (optional ``id``).
        batch_size: windows per model call.
        chunk_size: variants encoded at a time (bounds memory).
        progress: a tqdm bar over variant chunks.

    Returns:
        DataFrame, one row per variant in input order: ``chrom, pos, id, ref, alt``, then ``logfc``
        and ``jsd`` (profile/count models), then ``<output>_ref, <output>_alt, <output>_diff`` for
        every output of width 1.

    Raises:
        InputError: see :func:`allele_windows`; models of different input lengths or outputs.
    """
    models = list(models) if isinstance(models, (list, tuple)) else [models]
    if not models:
        raise InputError("score_variants needs at least one model")
    input_length, alphabet, scalar_names, tasks, has_profile = _check_models(models)
    variants = _as_variants(variants)
    ref_windows, alt_windows = allele_windows(variants, genome, input_length)

    columns: dict[str, list[np.ndarray]] = {}
    chunks = range(0, len(variants), chunk_size)
    for start in tqdm(chunks, desc="variants", unit="chunk", disable=not progress):
        alleles = {}
        for allele, windows in (("ref", ref_windows), ("alt", alt_windows)):
            encoded = one_hot_encode(windows[start:start + chunk_size], alphabet)
            total: dict[str, np.ndarray] = {}
            for model in models:
                predicted = _strand_averaged(model, encoded, scalar_names, tasks, has_profile, alphabet, batch_size)
                for name, value in predicted.items():
                    total[name] = total.get(name, 0) + value / len(models)
            alleles[allele] = total
        ref, alt = alleles["ref"], alleles["alt"]
        chunk_columns = {}
        if LOGCOUNTS in scalar_names:
            chunk_columns["logfc"] = (alt[LOGCOUNTS] - ref[LOGCOUNTS]) / math.log(2)
        if has_profile:
            chunk_columns["jsd"] = jensenshannon(ref[PROFILE], alt[PROFILE], axis=1).mean(axis=1)
        for name in scalar_names:
            chunk_columns[f"{name}_ref"] = ref[name]
            chunk_columns[f"{name}_alt"] = alt[name]
            chunk_columns[f"{name}_diff"] = alt[name] - ref[name]
        for name, value in chunk_columns.items():
            columns.setdefault(name, []).append(np.asarray(value, dtype=np.float64))
    scores = pd.DataFrame({name: np.concatenate(values) for name, values in columns.items()})
    return pd.concat([variants.reset_index(drop=True), scores], axis=1)

