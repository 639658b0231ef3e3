"""Reads (BAM, fragments or tagAlign) to the official ChromBPNet unstranded Tn5/DNase bigWig.

The official ``reads_to_bigwig``: estimate (or take) the shift already applied to the reads, add the
delta that brings them to the ChromBPNet convention (ATAC +4/-4, DNase 0/+1), and count read 5' ends
per base on the chromosomes of the genome. See :mod:`data_prep.reads.counting` for the counting rule.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import pathlib

import numpy as np

from data_prep.errors import InputError
from data_prep.genome import genome_sizes, opened_genome
from data_prep.outputs.atomic import scratch_folder
from data_prep.reads.bam import BamReads
from data_prep.reads.bigwig_writing import write_counts_bigwig
from data_prep.reads.contig_names import naming_mismatch_message
from data_prep.reads.counting import InsertionCounter
from data_prep.reads.fragments import FragmentReads
from data_prep.reads.sampling import ReadSample
from data_prep.reads.shift_estimation import ShiftEstimate, estimate_shift
from data_prep.reads.tagalign import TagAlignReads
from data_prep.reads.text_blocks import first_data_line

# The shift the ChromBPNet convention wants on each strand, per data type.
TARGET_SHIFT = {"ATAC": (4, -4), "DNASE": (0, 1)}


def shift_delta(data_type: str, plus_shift: int, minus_shift: int) -> tuple[int, int]:
    """The (+, -) shift to add to reads already shifted by ``plus_shift``/``minus_shift``."""
    target_plus, target_minus = TARGET_SHIFT[data_type]
    return target_plus - plus_shift, target_minus - minus_shift


@dataclasses.dataclass
class ReadsSummary:
    """What :func:`reads_to_bigwig` did.

    Attributes:
        source: the input file.
        reads: reads read (BAM records, tagAlign lines, or two per fragment).
        kept: reads counted in the bigWig.
        dropped: reason -> reads dropped (``unmapped``, ``no strand``, ``contig not in genome``,
            ``shifted off the chromosome``).
        unknown_contigs: contig -> reads dropped because the genome lacks it.
        input_shift: (+, -) shift the reads already had.
        estimated: whether ``input_shift`` was estimated (else given).
        delta: (+, -) shift applied.
        data_type: ``"ATAC"`` or ``"DNASE"``.
        output: the bigWig written.
        fragments: fragment lines read (a fragments input only; each gives two reads).
        estimate: the evidence behind an estimated shift (None when given).
    """

    source: pathlib.Path
    reads: int
    kept: int
    dropped: dict
    unknown_contigs: dict
    input_shift: tuple[int, int]
    estimated: bool
    delta: tuple[int, int]
    data_type: str
    output: pathlib.Path
    fragments: int | None = None
    estimate: ShiftEstimate | None = None

    def line(self) -> str:
        """One line for the user."""
        dropped = ", ".join(f"{count} {reason}" for reason, count in self.dropped.items() if count) or "none"
        contigs = ""
        if self.unknown_contigs:
            names = sorted(self.unknown_contigs, key=self.unknown_contigs.get, reverse=True)
            contigs = f" (contigs not in the genome: {', '.join(names[:5])}{', ...' if len(names) > 5 else ''})"
        how = "given"
        if self.estimate is not None:
            how = (f"estimated from {self.estimate.reads[0]} + and {self.estimate.reads[1]} - strand reads, "
                   f"{len(self.estimate.plus_votes)} + and {len(self.estimate.minus_votes)} - reference motifs "
                   "agreeing")
        fragments = f" ({self.fragments} fragments)" if self.fragments is not None else ""
        return (f"{self.source}: read {self.reads} reads{fragments}, kept {self.kept}, dropped {dropped}{contigs}; "
                f"input shift {self.input_shift[0]:+d}/{self.input_shift[1]:+d} ({how}), applied "
                f"{self.delta[0]:+d}/{self.delta[1]:+d} to reach the {self.data_type} convention "
                f"{TARGET_SHIFT[self.data_type][0]:+d}/{TARGET_SHIFT[self.data_type][1]:+d}; wrote {self.output}")


def check_reads_match_genome(reads, genome, sizes: dict, unknown_contigs: dict, on_genome: int) -> None:
    """Stop with the real reason when a pass over ``reads`` found (almost) nothing to use.

    Args:
        reads: the reader after a pass (its ``tally``).
        genome: the FASTA path, for messages.
        sizes: the genome's chromosome sizes.
        unknown_contigs: contig -> reads on contigs the genome lacks, in that pass.
        on_genome: reads of that pass on the genome's chromosomes (with a usable strand).

    Raises:
        InputError: the reads' chromosome names differ from the genome's by the ``chr`` prefix (and no
            read matched), no read has a strand (a tagAlign whose strand column is ``.``), or every read
            lies on contigs the genome lacks.
    """
    total = reads.tally["reads"]
    if on_genome or not total:
        return
    ordered = sorted(unknown_contigs, key=unknown_contigs.get, reverse=True)
    mismatch = naming_mismatch_message(reads.path, genome, ordered, sizes, getattr(reads, "option", ""))
    if mismatch:
        raise InputError(mismatch)
    no_strand = reads.tally["no_strand"]
    if no_strand and no_strand + sum(unknown_contigs.values()) >= total:
        line = first_data_line(reads.path, reads.option)
        raise InputError(f"{reads.path}: none of its {total} reads has a strand: the sixth column must be '+' or "
                         f"'-' (the first line reads {line!r}), and the 5' end of a read without a strand is "
                         "unknown. If the file holds fragments (both ends of paired reads), pass it with "
                         "--fragments; if it is a BED of reads, rewrite it with the strand of each read "
                         "(`bedtools bamtobed` from the BAM gives it)")
    if ordered:
        names = ", ".join(ordered[:5]) + (", ..." if len(ordered) > 5 else "")
        raise InputError(f"{reads.path}: no read falls on the chromosomes of {genome} (all {total} reads lie on "
                         f"contigs it lacks: {names}; the genome has {', '.join(list(sizes)[:5])}"
                         f"{', ...' if len(sizes) > 5 else ''}); check that the reads were aligned to this genome")


def open_reads(bam=None, fragments=None, tagalign=None):
    """The reader for the one input given: :class:`BamReads`, :class:`FragmentReads` or :class:`TagAlignReads`."""
    given = [(path, kind) for path, kind in ((bam, BamReads), (fragments, FragmentReads), (tagalign, TagAlignReads))
             if path is not None]
    if len(given) != 1:
        raise InputError("give exactly one input: --bam, --fragments or --tagalign")
    path, kind = given[0]
    return kind(path)


def reads_to_bigwig(out: str | os.PathLike, genome: str | os.PathLike, *, data_type: str,
                    bam: str | os.PathLike | None = None, fragments: str | os.PathLike | None = None,
                    tagalign: str | os.PathLike | None = None, plus_shift: int | None = None,
                    minus_shift: int | None = None, num_samples: int = 10_000, seed: int = 0,
                    zoom_levels: int = 10) -> ReadsSummary:
    """Make the official unstranded per-base 5'-end count bigWig from reads.

    Args:
        out: bigWig to write (written under a temporary name, renamed when complete).
        genome: reference FASTA; its chromosomes (names and lengths) make the bigWig's header, and reads on
            other contigs are dropped.
        data_type: ``"ATAC"`` (Tn5, target shift +4/-4) or ``"DNASE"`` (target 0/+1).
        bam: BAM/SAM reads (sorted by coordinate, no index needed). Exactly one of ``bam``, ``fragments``
            and ``tagalign`` is given; reads must be grouped by chromosome (any sorted file).
        fragments: fragments ``chrom start end ...`` (plain or gzip).
        tagalign: tagAlign ``chrom start end name score strand`` (plain or gzip).
        plus_shift: shift the plus-strand reads already have (given with ``minus_shift``, or neither);
            estimated from a sample of the reads when absent.
        minus_shift: shift the minus-strand reads already have (see ``plus_shift``).
        num_samples: reads sampled per strand to estimate the shift (``2 * num_samples`` in all, as the
            official code).
        seed: random seed of the sample.
        zoom_levels: bigWig zoom levels (see :func:`data_prep.reads.bigwig_writing.write_counts_bigwig`).

    Memory: reads are streamed in 4 MB blocks (BAM in 262,144-read batches); counts are one uint32 array of the
    current chromosome; finished chromosomes wait on disk beside ``out``. Writing holds one chromosome's counted
    bases and their zoom summaries (:mod:`data_prep.reads.bigwig_format`).

    Returns:
        A :class:`ReadsSummary` (its ``line()`` is the one-line report).

    Raises:
        InputError: a bad input (named with its line or record), an unsortable order, or a shift that cannot
            be estimated.
    """
    data_type = data_type.upper()
    if data_type not in TARGET_SHIFT:
        raise InputError(f"--data-type must be ATAC or DNASE, not {data_type!r}")
    if (plus_shift is None) != (minus_shift is None):
        raise InputError("give both --plus-shift and --minus-shift, or neither (then the shift is estimated)")
    reads = open_reads(bam, fragments, tagalign)
    out = pathlib.Path(out)
    with opened_genome(genome) as fasta:
        sizes = genome_sizes(fasta)
        estimated = plus_shift is None
        estimate = None
        if estimated:
            sample = ReadSample(2 * num_samples, seed=seed)
            unknown: collections.Counter = collections.Counter()
            for ends in reads:
                if ends.chrom in sizes:
                    sample.add(ends)
                else:
                    unknown[ends.chrom] += len(ends)
            # what makes the sample small says more than the estimation would (issue: wrong names, no strand)
            check_reads_match_genome(reads, genome, sizes, unknown, sample.seen)
            estimate = estimate_shift(sample.reads(), fasta, data_type)
            plus_shift, minus_shift = estimate.plus, estimate.minus
    delta = shift_delta(data_type, plus_shift, minus_shift)
    out.parent.mkdir(parents=True, exist_ok=True)
    # named after this process, so that a killed run's spill is removed by the next command writing there
    with scratch_folder(out, "spill") as spill:
        counter = InsertionCounter(sizes, delta[0], delta[1], spill, str(reads.path))
        for ends in reads:
            counter.add(ends)
        saved = counter.finish()
        if not counter.kept:
            check_reads_match_genome(reads, genome, sizes, counter.unknown_contigs, counter.kept)
            raise InputError(f"{reads.path}: no read falls on the chromosomes of {genome} "
                             f"({reads.tally['reads']} reads read, {counter.off_chromosome} shifted off their "
                             "chromosome); check that the reads were aligned to this genome")
        write_counts_bigwig(out, sizes, lambda chrom: np.load(saved[chrom]) if chrom in saved else None,
                            zoom_levels=zoom_levels)
    dropped = {"unmapped": reads.tally["unmapped"], "without + or - strand": reads.tally["no_strand"],
               "on contigs not in the genome": sum(counter.unknown_contigs.values()),
               "shifted off the chromosome": counter.off_chromosome}
    return ReadsSummary(source=reads.path, reads=reads.tally["reads"], kept=counter.kept, dropped=dropped,
                        unknown_contigs=dict(counter.unknown_contigs), input_shift=(plus_shift, minus_shift),
                        estimated=estimated, delta=delta, data_type=data_type, output=out,
                        fragments=reads.tally["fragments"] if isinstance(reads, FragmentReads) else None,
                        estimate=estimate)
