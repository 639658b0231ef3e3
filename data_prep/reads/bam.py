"""BAM (or SAM) reads through pysam, as read 5' ends, in file order (no index needed).

As the official chain (``bedtools bamtobed``), every mapped record is a read: secondary,
supplementary, duplicate-flagged and QC-failed records included; unmapped records (flag 4) are
skipped and counted in ``tally["unmapped"]``. A read's 5' end is its aligned ``reference_start`` on
the + strand and ``reference_end - 1`` on the - strand (soft clips excluded, deletions and skips
included, as bedtools computes the end).
"""

from __future__ import annotations

import collections
import os
import pathlib
from typing import Iterator

import numpy as np

from data_prep.errors import InputError
from data_prep.reads.read_ends import ReadEnds
from data_prep.reads.text_blocks import bgzf_lacks_eof

BATCH = 1 << 18
UNMAPPED, REVERSE = 0x4, 0x10


def check_bam_complete(path: pathlib.Path) -> None:
    """Raise :class:`InputError` when a BGZF file lacks its end-of-file block (a truncated copy)."""
    # plain gzip or SAM text are left to pysam
    if bgzf_lacks_eof(path):
        raise InputError(f"{path} has no BGZF end-of-file block: the BAM file is truncated (an interrupted "
                         "copy or download); copy it again or re-run the aligner/sorter that wrote it")


class BamReads:
    """Iterable over the reads of a BAM/SAM file; each pass re-reads the file.

    Attributes:
        path: the file.
        tally: counts of the last pass: ``reads`` (all records), ``unmapped`` (skipped records).
    """

    option = "--bam"

    def __init__(self, path: str | os.PathLike):
        self.path = pathlib.Path(path)
        self.tally: collections.Counter = collections.Counter()

    def _open(self):
        import pysam

        if not self.path.is_file():
            raise InputError(f"--bam file {self.path} does not exist")
        check_bam_complete(self.path)
        try:
            return pysam.AlignmentFile(str(self.path), check_sq=False)
        except (ValueError, OSError) as error:
            raise InputError(f"{self.path} is not a BAM or SAM file pysam can read ({error}); pass a tagAlign "
                             "with --tagalign or a fragments file with --fragments") from error

    def __iter__(self) -> Iterator[ReadEnds]:
        self.tally = collections.Counter()
        bam = self._open()
        names = bam.references
        five: list[int] = []
        minus: list[bool] = []
        current, first_record, record = -1, 0, 0
        try:
            for record, read in enumerate(bam.fetch(until_eof=True), start=1):
                flag = read.flag
                if flag & UNMAPPED:
                    self.tally["unmapped"] += 1
                    continue
                tid = read.reference_id
                if (tid != current or len(five) >= BATCH) and five:
                    yield self._batch(names[current], five, minus, first_record)
                    five, minus = [], []
                if not five:
                    current, first_record = tid, record
                if flag & REVERSE:
                    end = read.reference_end
                    # No CIGAR: bamtools' GetEndPosition gives the start, so the 5' end is start - 1.
                    five.append((read.reference_start if end is None else end) - 1)
                    minus.append(True)
                else:
                    five.append(read.reference_start)
                    minus.append(False)
        except OSError as error:
            raise InputError(f"{self.path}: reading stopped after record {record} ({error}); the BAM file is "
                             "truncated or corrupt: copy it again or re-run the tool that wrote it") from error
        finally:
            bam.close()
        self.tally["reads"] = record
        if five:
            yield self._batch(names[current], five, minus, first_record)

    def _batch(self, chrom: str, five: list[int], minus: list[bool], first_record: int) -> ReadEnds:
        return ReadEnds(chrom, np.array(five, dtype=np.int64), np.array(minus, dtype=bool), f"record {first_record}")
