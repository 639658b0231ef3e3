"""Benchmark: reads to bigWig, ``data_prep.reads_to_bigwig`` against the official ChromBPNet chain.

A synthetic tagAlign of ``--reads`` reads (default 20 million, 36 bp, both strands, sorted by
chromosome and start) on a synthetic genome of ``--chroms`` chromosomes of ``--chrom-size`` bp is
written to ``--workdir`` (default /tmp/dream_keras_reads_bench, never the repository). Then, each in
its own process, timed by wall clock with the peak resident memory of the process (tree):

- ours: :func:`data_prep.reads.reads_to_bigwig` (what ``dream-keras prep bigwig --tagalign ...
  --data-type ATAC --plus-shift 0 --minus-shift 0`` runs), tagAlign to finished bigWig;
- official: the shell chain of ChromBPNet's ``reads_to_bigwig.py`` for ATAC with input shift 0/0 (delta +4/-4):
  ``awk`` shift | ``sort -k1,1`` | ``bedtools genomecov -bg -5`` | ``LC_COLLATE=C sort -k1,1 -k2,2n``
  to a bedGraph. UCSC ``bedGraphToBigWig`` (the chain's last step) is neither in Debian nor on PyPI
  here, so the official time stops at the bedGraph (it flatters the official chain), and the
  official Python contig filter between the reader and awk is left out (it flatters it too).

The two outputs are compared base for base on every chromosome. Prints reads/s, peak memory and the
load average before and after.

    nice python benchmarks/reads.py                  # 20 M reads
    python benchmarks/reads.py --reads 1000000       # quick look
    nice python benchmarks/reads.py --bam            # the same reads as a BAM (pysam; bedtools bamtobed)

Measured 2026-12-02 on this project's 2-core AMD EPYC box (shared; load average 13-17 throughout, so
wall times mostly measure the other jobs; CPU seconds, user + system of all processes, are the
comparable figure), bedtools 2.30.0, pyBigWig 0.3.x, pysam 0.24.1:

    20 M reads, tagAlign, 4 x 50 Mb:
      official to bedGraph (no bedGraphToBigWig): wall 416 s, CPU 85.8 s (232,992 reads/CPU-s), peak 386 MiB
      ours, 10 zoom levels:  wall 120 s, CPU 26.5 s (754,432 reads/CPU-s), peak 524 MiB -> 3.2x in CPU
      ours, no zoom levels:  wall  50 s, CPU 16.9 s (1,182,033 reads/CPU-s), peak 414 MiB -> 5.1x in CPU
      sum |ours - official| over all bases: 0
    2 M reads, BAM, 4 x 10 Mb:
      official (bedtools bamtobed | ...): CPU 11.2 s (179,211 reads/CPU-s), peak 81 MiB
      ours, 10 zoom levels: CPU 5.0 s (396,825 reads/CPU-s), peak 165 MiB -> 2.2x in CPU

With bedGraphToBigWig's 10 zoom levels the 5x target is not met: pyBigWig takes about 60 % of our CPU
(1-bp entries, then libBigWig builds the zoom levels on close by re-reading the data), and the
official chain's untimed last step would add the same kind of work to its side. Without zoom levels
(``--zoom-levels 0``: the same values) ours reaches 5.1x. The BAM path is bound by pysam's per-read cost.

Grouped row (``--grouped``): single-cell fragments split into one bigWig per group of cells. A synthetic
10x-style fragments file (bgzip, ``#`` header, chrom/start/end/barcode/count; ``--fragments`` lines,
default 50 million, fragment lengths log-normal around 200 bp) over ``--groups`` groups (default 20) of
250 cells each, plus 20 % of fragments from background barcodes no group lists, is written to the
work folder with its groups table. Then, each step in its own process under GNU time:

- ours: ``dream-keras prep bigwig --fragments F --cell-groups T --out-dir D`` (one pass, all groups);
- the route users take today, both steps timed: (1) filter each group's fragments into its own file
  (``zcat F | awk`` keeping the group's barcodes, one pass per group), (2) convert each file
  (``dream-keras prep bigwig --fragments G --out G.bw``), 20 conversions;
- for comparison, the fastest filtering a user could script: one ``awk`` pass writing every group's file.

Both routes are given the shift (0/0: the synthetic genome is random, so it cannot be estimated) and
write 10 zoom levels; every group's bigWig of ours is compared with the route's, interval for interval.

    nice python benchmarks/reads.py --grouped            # 50 M fragments, 20 groups
    python benchmarks/reads.py --grouped --quick         # 2 M fragments, 20 groups (a quick look)

Measured 2026-12-07 on the same shared 2-core box (Intel Xeon; load average 7-10 from other jobs
throughout), pyarrow 26 installed:

    2 M fragments:  ours wall 13.0 s, CPU 4.6 s, peak 237 MiB; route filter 28.9 CPU s + 20 conversions
                    38.0 CPU s -> 11.7x wall, 14.5x CPU
    10 M fragments: ours wall 35.5 s (281,428 fragments/s), CPU 13.1 s, peak 371 MiB; route filter wall
                    295.8 s / CPU 110.2 s + conversions wall 98.4 s / CPU 41.4 s -> 11.1x wall, 11.6x CPU;
                    one-awk-pass filtering + the conversions: 3.6x wall, 4.0x CPU; 0 bigWig entries differ
    50 M fragments (run at nice 19, load 5-13: the wall ratio flatters ours): ours wall 92.9 s
                    (538,421 fragments/s), CPU 59.2 s, peak 414 MiB; route filter wall 1,538.7 s / CPU 574.5 s
                    + conversions wall 203.1 s / CPU 81.2 s -> 18.8x wall, 11.1x CPU; one-awk-pass filtering
                    (CPU 54.4 s) + the conversions: 4.2x wall, 2.3x CPU; 0 bigWig entries differ

The tagAlign/BAM figures above were taken with pyBigWig's writer; the bigWigs are now written by
data_prep.reads.bigwig_format (numpy/zlib level 1, zoom levels chosen from the data), so ours is faster
than they say: run the command again for today's figures.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import time

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]


def make_genome(workdir: pathlib.Path, n_chroms: int, chrom_size: int, seed: int) -> tuple:
    """Write genome.fa (random bases) and chrom.sizes; return their paths and the random generator after them."""
    rng = np.random.default_rng(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    genome, sizes = workdir / "genome.fa", workdir / "chrom.sizes"
    names = [f"chr{i + 1}" for i in range(n_chroms)]
    if not genome.exists():
        with open(genome, "w") as f:
            for name in names:
                f.write(f">{name}\n")
                bases = np.frombuffer(b"ACGT", dtype=np.uint8)[rng.integers(0, 4, chrom_size)]
                for first in range(0, chrom_size, 6_000_000):  # a multiple of the 60-base line
                    chunk = bases[first:first + 6_000_000]
                    usable = len(chunk) // 60 * 60
                    lines = chunk[:usable].reshape(-1, 60)
                    f.write("\n".join(row.tobytes().decode() for row in lines) + "\n")
                    if usable < len(chunk):
                        f.write(chunk[usable:].tobytes().decode() + "\n")
    sizes.write_text("".join(f"{name}\t{chrom_size}\n" for name in names))
    return genome, sizes, rng


def make_inputs(workdir: pathlib.Path, n_reads: int, n_chroms: int, chrom_size: int, seed: int) -> tuple:
    """Write genome.fa (+ chrom.sizes) and reads.tagAlign; return their paths."""
    import pandas as pd

    genome, sizes, rng = make_genome(workdir, n_chroms, chrom_size, seed)
    tagalign = workdir / "reads.tagAlign"
    names = [f"chr{i + 1}" for i in range(n_chroms)]
    if not tagalign.exists():
        per_chrom = np.full(n_chroms, n_reads // n_chroms)
        per_chrom[: n_reads % n_chroms] += 1
        with open(tagalign, "w") as f:
            for name, n in zip(names, per_chrom):
                start = np.sort(rng.integers(0, chrom_size - 36, n))
                frame = pd.DataFrame({"chrom": name, "start": start, "end": start + 36, "name": "N",
                                      "score": 1000, "strand": np.where(rng.random(n) < 0.5, "+", "-")})
                frame.to_csv(f, sep="\t", header=False, index=False)
    return genome, sizes, tagalign


def write_bam(tagalign: pathlib.Path, sizes_path: pathlib.Path, bam: pathlib.Path) -> None:
    """The tagAlign's reads as a coordinate-sorted BAM of 36M alignments (no sequence), written with pysam."""
    import pysam

    sizes = [line.split() for line in sizes_path.read_text().splitlines()]
    header = {"HD": {"VN": "1.6", "SO": "coordinate"}, "SQ": [{"SN": n, "LN": int(length)} for n, length in sizes]}
    index = {name: i for i, (name, _) in enumerate(sizes)}
    with pysam.AlignmentFile(str(bam), "wb", header=header) as out, open(tagalign) as reads:
        for number, line in enumerate(reads):
            chrom, start, _, _, _, strand = line.split("\t")
            read = pysam.AlignedSegment()
            read.query_name = f"r{number}"
            read.flag = 16 if strand.startswith("-") else 0
            read.reference_id = index[chrom]
            read.reference_start = int(start)
            read.mapping_quality = 42
            read.cigarstring = "36M"
            out.write(read)


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo)."""
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def timed(command: list[str] | str, report: pathlib.Path, shell: bool = False,
          quiet: bool = False) -> tuple[float, float, float]:
    """Run a command under GNU time.

    Returns (wall s, CPU s (user + system, all processes), peak MiB of the largest). ``quiet``: its standard
    output is not shown.
    """
    argv = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", str(report)]
    argv += ["/bin/bash", "-c", command] if shell else command
    start = time.perf_counter()
    subprocess.run(argv, check=True, env={**os.environ, "PYTHONPATH": str(REPO)},
                   stdout=subprocess.DEVNULL if quiet else None)
    seconds = time.perf_counter() - start
    _, user, system, peak_kib = report.read_text().split()[-4:]
    return seconds, float(user) + float(system), int(peak_kib) / 1024


def compare(bigwig: pathlib.Path, bedgraph: pathlib.Path, sizes: dict[str, int]) -> int:
    """Sum over all bases of |ours - official|."""
    import pandas as pd
    import pyBigWig

    official = pd.read_csv(bedgraph, sep="\t", header=None, names=["chrom", "start", "end", "value"])
    handle = pyBigWig.open(str(bigwig))
    total = 0
    for chrom, size in sizes.items():
        ours = np.nan_to_num(handle.values(chrom, 0, size, numpy=True).astype(np.float64))
        theirs = np.zeros(size)
        rows = official[official["chrom"] == chrom]
        start, length = rows["start"].to_numpy(), (rows["end"] - rows["start"]).to_numpy()
        before = np.repeat(np.cumsum(length) - length, length)
        where = np.repeat(start, length) + np.arange(length.sum()) - before
        theirs[where] = np.repeat(rows["value"].to_numpy(), length)
        total += int(np.abs(ours - theirs).sum())
    return total


def make_grouped_inputs(workdir: pathlib.Path, n_fragments: int, n_groups: int, n_chroms: int, chrom_size: int,
                        seed: int) -> tuple:
    """Write genome.fa, the 10x-style fragments.tsv.gz (bgzip + tabix) and groups.tsv; return their paths."""
    import pandas as pd
    import pysam

    genome, _, _ = make_genome(workdir, n_chroms, chrom_size, seed)
    rng = np.random.default_rng(seed + 1)
    folder = workdir / f"grouped_{n_fragments}_{n_groups}"
    folder.mkdir(parents=True, exist_ok=True)
    fragments, table = folder / "fragments.tsv.gz", folder / "groups.tsv"
    cells_per_group = 250
    barcodes = np.array(["".join(b) + "-1" for b in rng.choice(list("ACGT"), size=(n_groups * cells_per_group * 5 // 4,
                                                                                     16))])
    in_table = n_groups * cells_per_group
    if not table.exists():
        table.write_text("barcode\tgroup\n" + "".join(f"{b}\tgroup_{i // cells_per_group:02d}\n"
                                                    for i, b in enumerate(barcodes[:in_table])))
    if not fragments.exists():
        plain = folder / "fragments.tsv"
        names = [f"chr{i + 1}" for i in range(n_chroms)]
        per_chrom = np.full(n_chroms, n_fragments // n_chroms)
        per_chrom[: n_fragments % n_chroms] += 1
        # 80 % of fragments from the grouped cells, 20 % from background barcodes
        weights = np.where(np.arange(len(barcodes)) < in_table, 0.8 / in_table, 0.2 / (len(barcodes) - in_table))
        with open(plain, "w") as f:
            f.write("# id=synthetic\n# description=dream-keras benchmarks/reads.py --grouped\n")
            for name, n in zip(names, per_chrom):
                starts = np.sort(rng.integers(0, chrom_size - 1000, n))  # sorted by start, as 10x writes them
                for first in range(0, n, 2_000_000):
                    start = starts[first:first + 2_000_000]
                    m = len(start)
                    length = np.clip(rng.lognormal(np.log(200), 0.5, m).astype(np.int64), 20, 990)
                    frame = pd.DataFrame({"chrom": name, "start": start, "end": start + length,
                                          "barcode": barcodes[rng.choice(len(barcodes), m, p=weights)],
                                          "count": 1 + rng.poisson(0.5, m)})
                    frame.to_csv(f, sep="\t", header=False, index=False)
        pysam.tabix_index(str(plain), seq_col=0, start_col=1, end_col=2, meta_char="#", zerobased=True, force=True)
    return genome, fragments, table, folder


def compare_intervals(a: pathlib.Path, b: pathlib.Path) -> int:
    """Entries (1-bp intervals or runs) that differ between two bigWigs, over every chromosome."""
    import pyBigWig

    differing = 0
    with pyBigWig.open(str(a)) as x, pyBigWig.open(str(b)) as y:
        if x.chroms() != y.chroms():
            return -1
        for chrom in x.chroms():
            ours = np.array(x.intervals(chrom) or (), dtype=np.float64).reshape(-1, 3)
            theirs = np.array(y.intervals(chrom) or (), dtype=np.float64).reshape(-1, 3)
            if ours.shape != theirs.shape:
                differing += max(len(ours), len(theirs))
            else:
                differing += int((ours != theirs).any(axis=1).sum())
    return differing


def grouped_benchmark(args) -> None:
    """The grouped row (see the module docstring)."""
    n_fragments = 2_000_000 if args.quick else args.fragments
    workdir = pathlib.Path(args.workdir)
    t = time.perf_counter()
    genome, fragments, table, folder = make_grouped_inputs(workdir, n_fragments, args.groups, args.chroms,
                                                           args.chrom_size, args.seed)
    print(f"inputs ready in {time.perf_counter() - t:.0f} s: {n_fragments:,} fragments over {args.groups} groups "
          f"(+ background barcodes), {args.chroms} x {args.chrom_size:,} bp, {fragments.stat().st_size / 1e6:.0f} MB "
          "bgzip")
    subprocess.run([sys.executable, "-c", f"import pyfaidx; pyfaidx.Fasta({str(genome)!r})"], check=True)
    ours_dir = folder / "ours"
    shutil.rmtree(ours_dir, ignore_errors=True)
    cli = [sys.executable, "-m", "dream_keras.cli", "prep", "bigwig", "--genome", str(genome), "--data-type", "ATAC",
           "--plus-shift", "0", "--minus-shift", "0", "--zoom-levels", str(args.zoom_levels)]
    ours_s, ours_cpu, ours_mb = timed(cli + ["--fragments", str(fragments), "--cell-groups", str(table),
                                             "--out-dir", str(ours_dir)], folder / "ours.time", quiet=True)
    load = open('/proc/loadavg').read().split()[0]
    print(f"ours, one pass:   wall {ours_s:7.1f} s ({n_fragments / ours_s:10,.0f} fragments/s)  CPU {ours_cpu:7.1f} s  "
          f"peak {ours_mb:6.0f} MiB; load {load}")

    route = folder / "route"
    shutil.rmtree(route, ignore_errors=True)
    route.mkdir()
    groups = sorted({line.split("\t")[1] for line in table.read_text().splitlines()[1:]})
    for group in groups:
        (route / f"{group}.barcodes").write_text("".join(line.split("\t")[0] + "\n"
                                                         for line in table.read_text().splitlines()[1:]
                                                         if line.split("\t")[1] == group))
    filter_s = filter_cpu = filter_mb = 0.0
    for group in groups:
        s_, c_, m_ = timed(f"zcat {fragments} | awk -F'\\t' 'NR==FNR {{keep[$1]; next}} ($4 in keep)' "
                           f"{route / group}.barcodes - > {route / group}.tsv", route / "filter.time", shell=True)
        filter_s, filter_cpu, filter_mb = filter_s + s_, filter_cpu + c_, max(filter_mb, m_)
    print(f"route, filter:    wall {filter_s:7.1f} s  CPU {filter_cpu:7.1f} s  peak {filter_mb:6.0f} MiB  "
          f"({len(groups)} passes of zcat | awk, one per group); load {open('/proc/loadavg').read().split()[0]}")
    convert_s = convert_cpu = convert_mb = 0.0
    for group in groups:
        s_, c_, m_ = timed(cli + ["--fragments", str(route / f"{group}.tsv"), "--out", str(route / f"{group}.bw")],
                           route / "convert.time", quiet=True)
        convert_s, convert_cpu, convert_mb = convert_s + s_, convert_cpu + c_, max(convert_mb, m_)
    print(f"route, convert:   wall {convert_s:7.1f} s  CPU {convert_cpu:7.1f} s  peak {convert_mb:6.0f} MiB  "
          f"({len(groups)} x prep bigwig --fragments); load {open('/proc/loadavg').read().split()[0]}")
    split_dir = folder / "split"
    shutil.rmtree(split_dir, ignore_errors=True)
    split_dir.mkdir()
    split_s, split_cpu, split_mb = timed(
        f"zcat {fragments} | awk -F'\\t' 'NR==FNR {{group[$1] = $2; next}} ($4 in group) "
        f"{{print > (\"{split_dir}/\" group[$4] \".tsv\")}}' <(tail -n +2 {table}) -",
        split_dir / "split.time", shell=True)
    print(f"(one awk pass writing all {len(groups)} files instead: wall {split_s:.1f} s, CPU {split_cpu:.1f} s)")
    route_s, route_cpu = filter_s + convert_s, filter_cpu + convert_cpu
    print(f"speed-up of the one pass over the route (filter + convert): wall {route_s / ours_s:.1f}x, "
          f"CPU {route_cpu / ours_cpu:.1f}x; over one-pass awk filtering + the conversions: wall "
          f"{(split_s + convert_s) / ours_s:.1f}x, CPU {(split_cpu + convert_cpu) / ours_cpu:.1f}x")
    if not args.skip_compare:
        differing = {group: compare_intervals(ours_dir / f"{group}.bw", route / f"{group}.bw") for group in groups}
        print(f"bigWig entries differing between ours and the route, over all {len(groups)} groups: "
              f"{sum(differing.values())}")
    print(f"load average after: {open('/proc/loadavg').read().strip()}")


def main() -> None:
    """Generate reads, convert them with each tool and print the times and the comparison."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reads", type=int, default=20_000_000)
    parser.add_argument("--chroms", type=int, default=4)
    parser.add_argument("--chrom-size", type=int, default=50_000_000)
    parser.add_argument("--workdir", default="/tmp/dream_keras_reads_bench")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-compare", action="store_true")
    parser.add_argument("--zoom-levels", type=int, default=10, help="bigWig zoom levels of ours (default 10)")
    parser.add_argument("--skip-official", action="store_true", help="time ours only")
    parser.add_argument("--bam", action="store_true", help="time BAM input (the reads written as a BAM first)")
    parser.add_argument("--grouped", action="store_true",
                        help="the grouped row: single-cell fragments split into one bigWig per group")
    parser.add_argument("--fragments", type=int, default=50_000_000, help="--grouped: fragments (default 50 M)")
    parser.add_argument("--groups", type=int, default=20, help="--grouped: groups (default 20)")
    parser.add_argument("--quick", action="store_true", help="--grouped: 2 M fragments")
    args = parser.parse_args()
    workdir = pathlib.Path(args.workdir)
    print(f"load average before: {open('/proc/loadavg').read().strip()}; CPUs: {os.cpu_count()}; "
          f"CPU model: {cpu_model()}")
    if args.grouped:
        grouped_benchmark(args)
        return
    t = time.perf_counter()
    genome, sizes_path, tagalign = make_inputs(workdir, args.reads, args.chroms, args.chrom_size, args.seed)
    print(f"inputs ready in {time.perf_counter() - t:.0f} s: {args.reads:,} reads, "
          f"{args.chroms} x {args.chrom_size:,} bp")
    subprocess.run([sys.executable, "-c", f"import pyfaidx; pyfaidx.Fasta({str(genome)!r})"], check=True)

    ours_out = workdir / "ours.bw"
    source, kind = f"tagalign={str(tagalign)!r}", "tagAlign"
    if args.bam:
        bam = workdir / "reads.bam"
        if not bam.exists():
            t = time.perf_counter()
            write_bam(tagalign, sizes_path, bam)
            print(f"BAM written in {time.perf_counter() - t:.0f} s")
        source, kind = f"bam={str(bam)!r}", "BAM"
    code = ("from data_prep.reads import reads_to_bigwig; "
            f"print(reads_to_bigwig({str(ours_out)!r}, {str(genome)!r}, {source}, "
            f"data_type='ATAC', plus_shift=0, minus_shift=0, zoom_levels={args.zoom_levels}).line())")
    ours_s, ours_cpu, ours_mb = timed([sys.executable, "-c", code], workdir / "ours.time")
    print(f"ours:     wall {ours_s:7.1f} s ({args.reads / ours_s:10,.0f} reads/s)  CPU {ours_cpu:7.1f} s "
          f"({args.reads / ours_cpu:10,.0f} reads/CPU-s)  peak {ours_mb:6.0f} MiB  ({kind} -> bigWig, "
          f"{args.zoom_levels} zoom levels); "
          f"load {open('/proc/loadavg').read().split()[0]}")

    if args.skip_official:
        return
    if shutil.which("bedtools") is None:
        print("official: bedtools is not installed (apt-get install bedtools); not timed")
        return
    official_out = workdir / "official.bedGraph"
    reader = f"bedtools bamtobed -i {workdir / 'reads.bam'} |" if args.bam else f"cat {tagalign} |"
    chain = (f"{reader} awk -v OFS='\\t' '{{if ($6==\"+\"){{print $1,$2+4,$3,$4,$5,$6}} else if ($6==\"-\") "
             f"{{print $1,$2,$3-4,$4,$5,$6}}}}' | sort -k1,1 | bedtools genomecov -bg -5 -i stdin "
             f"-g {sizes_path} | LC_COLLATE=C sort -k1,1 -k2,2n > {official_out}")
    official_s, official_cpu, official_mb = timed(chain, workdir / "official.time", shell=True)
    print(f"official: wall {official_s:7.1f} s ({args.reads / official_s:10,.0f} reads/s)  CPU {official_cpu:7.1f} s "
          f"({args.reads / official_cpu:10,.0f} reads/CPU-s)  peak {official_mb:6.0f} MiB  ({kind} -> bedGraph; "
          f"bedGraphToBigWig not available, not timed); load {open('/proc/loadavg').read().split()[0]}")
    print(f"speed-up: wall {official_s / ours_s:.2f}x, CPU {official_cpu / ours_cpu:.2f}x")
    if not args.skip_compare:
        sizes = {line.split()[0]: int(line.split()[1]) for line in sizes_path.read_text().splitlines()}
        print(f"sum |ours - official| over all bases: {compare(ours_out, official_out, sizes)}")
    print(f"load average after: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
