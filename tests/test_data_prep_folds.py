"""Folds: bundled hg38 folds, fold files, the splits helper and the fold checks."""

import json

import pytest

from data_prep import InputError, check_fold, load_fold, make_splits, open_genome, open_signal, write_fold

HG38 = [f"chr{i}" for i in range(1, 23)] + ["chrX", "chrY"]


def test_bundled_hg38_fold_0():
    fold = load_fold("hg38", 0)
    assert fold["test"] == ["chr1", "chr3", "chr6"]
    assert fold["valid"] == ["chr8", "chr20"]
    assert sorted(fold["train"] + fold["valid"] + fold["test"], key=HG38.index) == HG38
    assert load_fold("hg38:0") == fold


def test_all_bundled_folds_partition_hg38():
    tested = []
    for number in range(5):
        fold = load_fold("hg38", number)
        chroms = fold["train"] + fold["valid"] + fold["test"]
        assert len(chroms) == len(set(chroms)) == 24
        tested += fold["test"]
    assert len(set(tested)) == len(tested)  # no chromosome is tested twice across the five folds
    with pytest.raises(InputError, match="fold 5 of hg38 does not exist"):
        load_fold("hg38", 5)
    with pytest.raises(InputError, match="no bundled folds for genome 'mm10'"):
        load_fold("mm10", 0)


def test_fold_file_by_path(data_dir):
    fold = load_fold(data_dir / "atac_mm10" / "folds" / "fold_0.json")
    assert fold == {"train": ["chr17_seg3", "chr17_seg4", "chr17_seg5"], "valid": ["chr17_seg2"],
                    "test": ["chr17_seg1"]}


@pytest.mark.parametrize("content, message", [
    ('{"train": ["chr1"], "valid": ["chr2"]}', "'test' must be a list"),
    ('{"train": ["chr1", "chr2"], "valid": ["chr2"], "test": ["chr3"]}',
     "chromosome chr2 is in both 'train' and 'valid'"),
    ('{"train": ["chr1"], "valid": ["chr2"], "test": ["chr3"]', "not valid JSON"),
])
def test_bad_fold_files(tmp_path, content, message):
    path = tmp_path / "fold.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as error:
        load_fold(path)
    assert str(path) in str(error.value)
    with pytest.raises(InputError, match="does not exist"):
        load_fold(tmp_path / "missing.json")


def test_make_splits_and_write(tmp_path, data_dir):
    sizes = data_dir / "atac_mm10" / "chrom.sizes"
    fold = make_splits(sizes, test=["chr17_seg5"], valid=["chr17_seg1"])
    assert fold == {"train": ["chr17_seg2", "chr17_seg3", "chr17_seg4"], "valid": ["chr17_seg1"],
                    "test": ["chr17_seg5"]}
    path = write_fold(tmp_path / "out" / "fold.json", fold)
    assert json.loads(path.read_text()) == fold and load_fold(path) == fold
    with pytest.raises(InputError, match="test chromosome chr9 is not in .*chrom.sizes"):
        make_splits(sizes, test=["chr9"], valid=["chr17_seg1"])
    with pytest.raises(InputError, match="chromosome chr17_seg1 is in both 'valid' and 'test'"):
        make_splits(sizes, test=["chr17_seg1"], valid=["chr17_seg1"])


def test_check_fold_against_fasta_and_bigwig(data_dir):
    atac = data_dir / "atac_mm10"
    fold = load_fold(atac / "folds" / "fold_2.json")
    check_fold(fold, genome=atac / "genome.fa", signal=atac / "tn5_insertions.bw")
    check_fold(fold, genome=open_genome(atac / "genome.fa"), signal=open_signal(atac / "tn5_insertions.bw"))
    with pytest.raises(InputError, match=r"chromosome chr2 in 'train', but .*genome.fa has no chr2"):
        check_fold(load_fold("hg38", 0), genome=atac / "genome.fa")
    extra = dict(fold, test=fold["test"] + ["chr17_seg6"])
    with pytest.raises(InputError, match=r"chr17_seg6 in 'test', but the bigWig has no chr17_seg6"):
        check_fold(extra, signal=open_signal(atac / "tn5_insertions.bw"))
    with pytest.raises(InputError, match="chromosome chr17_seg2 is in both 'train' and 'test'"):
        check_fold(dict(fold, test=["chr17_seg2"], train=["chr17_seg2"]), genome=atac / "genome.fa")
