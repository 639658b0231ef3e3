"""Reads and a genome that name the same chromosomes differently (``1`` against ``chr1``).

Reads aligned to an Ensembl or NCBI assembly name their chromosomes ``1``, ``2``, ``X``, ``MT``; the
UCSC FASTA of the same assembly names them ``chr1``, ``chr2``, ``chrX``, ``chrM`` (and the other way
round). Every such read is dropped as "on a contig the genome lacks", so the conversion finds no
reads at all; this module recognises the case, so that the message says what is wrong and how to fix
it instead of reporting a failure further down (too few reads to estimate the shift, say).
"""

from __future__ import annotations

from typing import Iterable

# Mitochondrial names that differ by more than the prefix.
_MITOCHONDRIA = {"MT": "chrM", "chrM": "MT", "M": "chrM", "chrMT": "MT"}


def genome_name_of(contig: str, genome_names: Iterable[str]) -> str | None:
    """The genome's name for ``contig`` when it differs only by the ``chr`` prefix, else None.

    That is when the genome lacks ``contig`` itself but holds it with ``chr`` added or removed (or as the
    other mitochondrial name).
    """
    names = set(genome_names)
    if contig in names:
        return None
    candidates = [contig[3:]] if contig.startswith("chr") else [f"chr{contig}"]
    if contig in _MITOCHONDRIA:
        candidates.append(_MITOCHONDRIA[contig])
    return next((name for name in candidates if name in names), None)


def renamed_contigs(contigs: Iterable[str], genome_names: Iterable[str]) -> dict[str, str]:
    """``{reads' name: genome's name}`` for every contig of ``contigs`` the genome names differently."""
    names = list(genome_names)
    found = {contig: genome_name_of(contig, names) for contig in contigs}
    return {contig: name for contig, name in found.items() if name is not None}


def naming_mismatch_message(reads_path, genome_path, contigs: Iterable[str], genome_names: Iterable[str],
                            option: str = "") -> str | None:
    """The message for reads whose chromosome names differ from the genome's by the ``chr`` prefix.

    None when the names do not differ that way.

    Args:
        reads_path: the reads file, for the message.
        genome_path: the FASTA, for the message.
        contigs: contig names of the reads that the genome lacks (most reads first).
        genome_names: the genome's chromosome names.
        option: the reads' option (``--bam``, ``--fragments``, ``--tagalign``), to suggest the fix.
    """
    contigs = list(contigs)
    renamed = renamed_contigs(contigs, genome_names)
    if not renamed:
        return None
    shown = ", ".join(f"{ours} (the genome's {theirs})" for ours, theirs in list(renamed.items())[:3])
    adds = next(iter(renamed)).startswith("chr") is False
    if option == "--bam":
        fix = ("or rename the chromosomes in the BAM header to the FASTA's names (`samtools view -H in.bam > h.sam`, "
               "edit the SN: names, `samtools reheader h.sam in.bam > renamed.bam`)")
    elif adds:
        fix = ("or add the prefix to the reads' first column, e.g. `zcat in.gz | awk -v OFS='\\t' "
               "'/^#/ {print; next} {$1 = \"chr\" $1; print}' | bgzip > renamed.gz` (then rename MT to chrM)")
    else:
        fix = ("or remove the prefix from the reads' first column, e.g. `zcat in.gz | awk -v OFS='\\t' "
               "'/^#/ {print; next} {sub(/^chr/, \"\", $1); print}' | bgzip > renamed.gz` (then rename M to MT)")
    side = "without" if adds else "with"
    return (f"{reads_path} names its chromosomes {side} the 'chr' prefix ({shown}) but {genome_path} names them "
            f"{'with' if adds else 'without'} it, so no read matches a chromosome of the genome: the reads were "
            "aligned to the same assembly with other chromosome names (UCSC 'chr1' against Ensembl/NCBI '1'). "
            f"Use the FASTA the reads were aligned to, {fix}")
