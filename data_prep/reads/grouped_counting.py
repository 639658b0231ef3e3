"""Per-base 5'-end counts of many groups of reads at once, from one pass over a fragments file.

The rule is :mod:`data_prep.reads.counting`'s (the official one): a fragment gives a + read whose 5'
end is ``start`` and a - read whose 5' end is ``end - 1``; a + read counts at ``5' end + plus_delta``,
a - read at ``5' end + minus_delta``; a count outside its chromosome is dropped (``off_chromosome``),
and so is a read on a contig the genome lacks. Here the reads are counted per group *before* the
shift, per strand, so that the shift can be estimated from the same pass and applied when each
group's counts are read back (:meth:`GroupedInsertionCounter.counts`).

How: each read becomes one int64 key ``group << 33 | (5' end + 1) << 1 | strand``. Keys are gathered,
sorted and run-length counted about four million at a time. In a file sorted by chromosome and
start, no later read can have a 5' end below the current start minus one, so every key below it is
final: it is appended to its group's spill file of this chromosome (``<chrom>_<group>.bin``) and
never touched again; the rest is carried to the next round. A file whose chromosome comes back, or
whose starts go down, is still counted right: its spill runs are merged when read back.

Memory: about four million keys and their sort (under 200 MB), whatever the file's size or the
number of groups; reading a group back holds that group's counted bases of one chromosome.
"""

from __future__ import annotations

import collections
import pathlib

import numpy as np

from data_prep.errors import InputError

GROUP_SHIFT = 33
POSITION_MASK = (1 << GROUP_SHIFT) - 1
#: raw keys gathered before they are counted and the final ones spilled
PENDING_KEYS = 1 << 22
#: one spilled run: the key without its group (``(5' end + 1) << 1 | strand``) and its count
RECORD = np.dtype([("code", "<i8"), ("count", "<u4")])
MAX_GROUPS = 1 << 29


def _run_lengths(sorted_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values of a sorted array and how often each occurs."""
    if not len(sorted_keys):
        return sorted_keys, np.zeros(0, dtype=np.uint32)
    first = np.flatnonzero(np.concatenate([[True], sorted_keys[1:] != sorted_keys[:-1]]))
    counts = np.diff(np.append(first, len(sorted_keys))).astype(np.uint32)
    return sorted_keys[first], counts


class GroupedInsertionCounter:
    """Counts fragment ends per group and strand, chromosome by chromosome, spilled to disk.

    Args:
        sizes: chromosome name -> length (bp) of the genome.
        n_groups: number of groups (group indices are ``0 .. n_groups - 1``).
        spill_dir: folder for the spilled runs (must exist; the caller removes it).
        source: the fragments file, for messages.
        skip_groups: bool array (n_groups,): groups tallied (``reads_by_group``, contigs) but not counted
            per base (their bigWigs exist already).

    Attributes:
        unknown_contigs: Counter, contig -> reads dropped because the genome lacks it.
        unknown_by_group: int64 array (n_groups,), reads each group lost to such contigs.
        reads_by_group: int64 array (n_groups,), reads counted on the genome's chromosomes (before
            the shift drops those it moves off their chromosome).
    """

    def __init__(self, sizes: dict[str, int], n_groups: int, spill_dir: str | pathlib.Path, source: str,
                 skip_groups: np.ndarray | None = None):
        if n_groups > MAX_GROUPS:
            raise InputError(f"{n_groups} groups: at most {MAX_GROUPS} can be counted in one pass")
        too_long = [name for name, size in sizes.items() if size + 1 >= 1 << (GROUP_SHIFT - 1)]
        if too_long:
            raise InputError(f"chromosome {too_long[0]} is {sizes[too_long[0]]:,} bp long; grouped counting takes "
                             f"chromosomes under {(1 << (GROUP_SHIFT - 1)) - 1:,} bp")
        self.sizes = sizes
        self.n_groups = n_groups
        self.spill_dir = pathlib.Path(spill_dir)
        self.source = source
        self.unknown_contigs: collections.Counter = collections.Counter()
        self.unknown_by_group = np.zeros(n_groups, dtype=np.int64)
        self.reads_by_group = np.zeros(n_groups, dtype=np.int64)
        self._skip = np.zeros(n_groups, dtype=bool) if skip_groups is None else np.asarray(skip_groups, dtype=bool)
        self._chrom: str | None = None
        self._chrom_ids: dict[str, int] = {}
        self._pending: list[np.ndarray] = []
        self._pending_keys = 0
        self._carry = np.zeros(0, dtype=np.int64)
        self._last_start = -1
        self._merge_on_read: set[str] = set()

    def add(self, chrom: str, start: np.ndarray, end: np.ndarray, group: np.ndarray) -> None:
        """Count fragments on one chromosome.

        Args:
            chrom: their chromosome.
            start: int64 array (n,), BED start of each fragment.
            end: int64 array (n,), BED end of each fragment.
            group: int array (n,), group index of each fragment (``0 <= group < n_groups``).
        """
        if chrom != self._chrom:
            self._switch_to(chrom)
        if not len(start):
            return
        if chrom not in self.sizes:
            self.unknown_contigs[chrom] += 2 * len(start)
            self.unknown_by_group += 2 * np.bincount(group, minlength=self.n_groups)
            return
        self.reads_by_group += 2 * np.bincount(group, minlength=self.n_groups)
        if self._skip.any():
            counted = ~self._skip[group]
            start, end, group = start[counted], end[counted], group[counted]
            if not len(start):
                return
        group_key = group.astype(np.int64) << GROUP_SHIFT
        # 5' ends + 1, so that end - 1 of an empty fragment at 0 (-1) still encodes
        plus = group_key | ((start + 1) << 1)
        minus = group_key | (end << 1) | 1
        if int(start.min()) < self._last_start:
            self._merge_on_read.add(chrom)  # starts went down: spilled runs may overlap
        self._last_start = max(self._last_start, int(start.max()))
        self._pending += [plus, minus]
        self._pending_keys += 2 * len(start)
        if self._pending_keys >= PENDING_KEYS:
            self._spill(final=False)

    def _switch_to(self, chrom: str) -> None:
        self._spill(final=True)
        if chrom in self._chrom_ids:
            self._merge_on_read.add(chrom)  # the chromosome comes back: its runs are merged when read
        elif chrom in self.sizes:
            self._chrom_ids[chrom] = len(self._chrom_ids)
        self._chrom = chrom
        self._last_start = -1

    def _spill(self, final: bool) -> None:
        """Count the gathered keys and append the final ones to the groups' spill files."""
        if not self._pending_keys and not len(self._carry):
            return
        keys = np.concatenate(self._pending + [self._carry])
        self._pending, self._pending_keys = [], 0
        keys.sort()
        if final:
            done, self._carry = keys, np.zeros(0, dtype=np.int64)
        else:
            # a later fragment starts at the last start or after, so its 5' ends are >= last start - 1, i.e.
            # encoded >= last start: the keys below are final
            later = (keys & POSITION_MASK) >= (self._last_start << 1)
            done, self._carry = keys[~later], keys[later]
        distinct, counts = _run_lengths(done)
        groups = distinct >> GROUP_SHIFT
        bounds = np.searchsorted(groups, np.arange(self.n_groups + 1))
        chrom_id = self._chrom_ids[self._chrom]
        for group in np.flatnonzero(np.diff(bounds)):
            part = slice(bounds[group], bounds[group + 1])
            records = np.empty(part.stop - part.start, dtype=RECORD)
            records["code"] = distinct[part] & POSITION_MASK
            records["count"] = counts[part]
            with open(self.spill_dir / f"{chrom_id}_{group}.bin", "ab") as handle:
                records.tofile(handle)

    def finish(self) -> None:
        """Spill what is left; call once, after the last :meth:`add`."""
        self._spill(final=True)
        self._chrom = None

    def chromosomes(self) -> list[str]:
        """The genome's chromosomes that had reads, in the order they came."""
        return list(self._chrom_ids)

    def counts(self, chrom: str, group: int, plus_delta: int, minus_delta: int) -> tuple[np.ndarray | None, int]:
        """One group's shifted counts on one chromosome.

        Returns:
            ``(counts, off_chromosome)``: uint32 array (2, n) of increasing 0-based positions and their
            counts (as :func:`data_prep.reads.counting.nonzero_counts`), or None without reads; and the
            reads the shift moved off the chromosome.
        """
        chrom_id = self._chrom_ids.get(chrom)
        path = self.spill_dir / f"{chrom_id}_{group}.bin"
        if chrom_id is None or not path.is_file():
            return None, 0
        records = np.fromfile(path, dtype=RECORD)
        code, count = records["code"], records["count"].astype(np.int64)
        if chrom in self._merge_on_read:
            code, where = np.unique(code, return_inverse=True)
            count = np.bincount(where, weights=count).astype(np.int64)
        minus = (code & 1).astype(bool)
        position = (code >> 1) - 1 + np.where(minus, minus_delta, plus_delta)
        inside = (position >= 0) & (position < self.sizes[chrom])
        off = int(count[~inside].sum())
        position, count = position[inside], count[inside]
        # each strand is sorted; the two shifted strands are merged (a stable sort of two runs)
        order = np.argsort(position, kind="stable")
        position, count = position[order], count[order]
        if not len(position):
            return None, off
        first = np.flatnonzero(np.concatenate([[True], position[1:] != position[:-1]]))
        result = np.empty((2, len(first)), dtype=np.uint32)
        result[0] = position[first]
        result[1] = np.add.reduceat(count, first)
        return result, off
