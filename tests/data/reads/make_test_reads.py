"""Recipe for the test reads in this folder (run once by hand; needs bowtie2 and bedtools on PATH).

    python tests/data/reads/make_test_reads.py R1.fastq.gz R2.fastq.gz OUT_DIR

R1/R2: genialis/resolwe-bio resolwe_bio/tests/files/atac_R{1,2}.fastq.gz. See PROVENANCE.txt.
"""

import gzip
import pathlib
import subprocess
import sys

import pysam

GENOME = pathlib.Path(__file__).resolve().parents[3] / "data_prep" / "data" / "atac_mm10" / "genome.fa"


def main(r1: str, r2: str, out: str) -> None:
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / "work"
    work.mkdir(exist_ok=True)
    subprocess.run(["bowtie2-build", "-q", str(GENOME), str(work / "genome")], check=True)
    sam = work / "aln.sam"
    subprocess.run(["bowtie2", "-p", "2", "-X", "2000", "-x", str(work / "genome"), "-1", r1, "-2", r2,
                    "-S", str(sam)], check=True)
    # Keep primary alignments of proper pairs whose mates both have MAPQ >= 30; keep the first pair of
    # each (chromosome, + mate start, - mate end) fragment (de-duplication).
    pairs: dict[str, list] = {}
    with pysam.AlignmentFile(str(sam)) as inp:
        header = inp.header.to_dict()
        for read in inp:
            if read.is_unmapped or read.is_secondary or read.is_supplementary or not read.is_proper_pair:
                continue
            pairs.setdefault(read.query_name, []).append(read)
    seen, kept, fragments = set(), [], []
    for mates in pairs.values():
        if len(mates) != 2 or min(m.mapping_quality for m in mates) < 30:
            continue
        plus = [m for m in mates if not m.is_reverse]
        minus = [m for m in mates if m.is_reverse]
        if len(plus) != 1:
            continue
        key = (plus[0].reference_name, plus[0].reference_start, minus[0].reference_end)
        if key in seen:
            continue
        seen.add(key)
        kept.extend(mates)
        fragments.append(key)
    header["HD"] = {"VN": "1.6", "SO": "coordinate"}
    header.pop("PG", None)
    names = [sq["SN"] for sq in header["SQ"]]
    kept.sort(key=lambda r: (r.reference_id, r.reference_start))
    bam = out / "atac_mm10_reads.bam"
    with pysam.AlignmentFile(str(bam), "wb", header=header) as dst:
        for read in kept:
            read.query_qualities = None  # quality strings are not used; dropping them halves the file
            read.set_tags([])
            dst.write(read)
    pysam.index(str(bam))
    fragments.sort(key=lambda f: (names.index(f[0]), f[1], f[2]))
    with gzip.open(out / "atac_mm10_fragments.tsv.gz", "wt") as f:
        for chrom, start, end in fragments:
            f.write(f"{chrom}\t{start}\t{end}\tresolwe_atac\t1\n")
    with open(out / "atac_mm10_reads.tagAlign", "w") as f:
        subprocess.run(["bedtools", "bamtobed", "-i", str(bam)], stdout=f, check=True)
    subprocess.run(["gzip", "-n", "-f", str(out / "atac_mm10_reads.tagAlign")], check=True)
    print(f"{len(kept)} reads, {len(fragments)} fragments")


if __name__ == "__main__":
    main(*sys.argv[1:])
