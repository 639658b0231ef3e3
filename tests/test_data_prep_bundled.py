"""The data shipped inside the package: real ATAC data for the quickstart, motif files."""

import filecmp

from data_prep import bundled_atac_data, bundled_motif_path, check_fold, load_fold, read_meme, read_narrowpeak


def test_bundled_atac_data_is_the_fixture(data_dir):
    bundle = bundled_atac_data()
    fixture = data_dir / "atac_mm10"
    for path in (bundle.genome, bundle.chrom_sizes, bundle.bigwig, bundle.peaks, bundle.fold(0)):
        assert filecmp.cmp(path, fixture / path.relative_to(bundle.genome.parent), shallow=False), path
    assert (bundle.genome.parent / "LICENSE.resolwe-bio.txt").is_file()
    assert "resolwe-bio" in (bundle.genome.parent / "PROVENANCE.txt").read_text()
    assert len(read_narrowpeak(bundle.peaks)) == 87
    for number in range(5):
        fold = load_fold(bundle.fold(number))
        check_fold(fold, genome=bundle.genome, signal=bundle.bigwig)
        assert fold["test"] == [f"chr17_seg{number + 1}"]


def test_bundled_motifs():
    jaspar = read_meme(bundled_motif_path())
    assert [m.name for m in jaspar][:3] == ["CTCF", "GATA1", "Spi1"] and len(jaspar) == 10
    ctcf = jaspar[0].probabilities
    assert ctcf.shape == (15, 4) and ctcf[2].argmax() == 1  # the CCCTC core: position 3 is C
    bias = read_meme(bundled_motif_path("chrombpnet_bias_motifs.meme"))
    assert sum(m.identifier.startswith("TN5_") for m in bias) == 8
    assert (bundled_motif_path().parent / "NOTICE.txt").is_file()


def test_bundled_sample_tables_are_the_fixtures_and_load(data_dir):
    from data_prep.bundled import bundled_table
    from data_prep.tables import TASKS

    fixtures = {"dream_yeast": "dream_yeast", "starrseq": "deepstarr", "lentimpra": "lentimpra"}
    rows = {}
    for task, folder in fixtures.items():
        sample = bundled_table(task)
        for path in (sample.train, sample.valid):
            if path is not None:
                assert filecmp.cmp(path, data_dir / folder / path.name, shallow=False), path
        assert "PROVENANCE" not in sample.full_set and sample.full_set
        assert list(sample.train.parent.glob("LICENSE*")), task
        rows[task] = len(TASKS[task].load(sample.train).sequences)
    assert rows == {"dream_yeast": 6370, "starrseq": 1000, "lentimpra": 1000}
    assert bundled_table("dream_yeast").valid is None


def test_table_training_without_data_names_the_bundled_sample(tmp_path, capsys):
    from data_prep.bundled import bundled_table
    from dream_keras.cli import main

    assert main(["train", "--task", "lentimpra", "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    sample = bundled_table("lentimpra")
    assert f"--data {sample.train} --valid {sample.valid}" in error
    assert "Agarwal" in error and not (tmp_path / "run").exists()
