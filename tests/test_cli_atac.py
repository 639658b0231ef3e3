"""The ATAC command line end to end on the real mouse fixture, with tiny models.

prep splits / prep nonpeaks -> bias train -> train (bpnet, dream_rnn; one fold and all folds) ->
evaluate -> predict; --resume after a kill; --config repeats a run exactly; refused output folders;
every input mistake stopped before training with a message naming the file.
"""

import hashlib
import json
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pandas as pd
import pyBigWig
import pytest
from tiny_atac import INPUT, JITTER, OUTPUT, TINY_BPNET
from tiny_atac import data_args as _data_args
from tiny_atac import train_args as _train_args

import data_prep
from dream_keras.cli import main
from dream_keras.metrics import profile_count_metrics

# trains models end to end (minutes): outside the quick subset `pytest -m "not slow"`
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def work(tmp_path_factory):
    return tmp_path_factory.mktemp("cli_atac")


def _test_windows(atac, kind_path, split="test"):
    fold = data_prep.load_fold(atac / "folds" / "fold_0.json")
    regions = data_prep.read_regions(kind_path)
    regions = regions[regions["chrom"].isin(fold[split])]
    return data_prep.extract_windows(regions, atac / "genome.fa", atac / "tn5_insertions.bw", INPUT, OUTPUT,
                                     progress=False)


def _metrics(path):
    """metrics.json flattened to {"counts_metrics/peaks/pearsonr": value, ...} (for pytest.approx)."""
    document = json.loads(pathlib.Path(path).read_text())
    return {f"{group}/{subset}/{key}": value for group, subsets in document.items()
            for subset, values in subsets.items() for key, value in values.items()}


def _load(path):
    from dream_keras.tasks.atac.prediction import load_profile_count_model

    return load_profile_count_model(path)


# --- prep -------------------------------------------------------------------------------------------------


def test_prep_splits_writes_the_fold(atac, tmp_path):
    out = tmp_path / "fold.json"
    assert main(["prep", "splits", "--chrom-sizes", str(atac / "chrom.sizes"), "--test", "chr17_seg1",
                 "--valid", "chr17_seg2", "--out", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads((atac / "folds" / "fold_0.json").read_text())
    assert main(["prep", "splits", "--chrom-sizes", str(atac / "chrom.sizes"), "--test", "chr17_seg1",
                 "--valid", "chr17_seg2", "--out", str(out)]) == 2  # exists: refused without --overwrite


def test_prep_splits_excludes_present_chromosomes_and_notes_absent_ones(atac, tmp_path, capsys):
    out = tmp_path / "fold.json"
    assert main(["prep", "splits", "--chrom-sizes", str(atac / "chrom.sizes"), "--test", "chr17_seg1",
                 "--valid", "chr17_seg2", "--exclude", "chrM", "chr17_seg5", "chrY", "--out", str(out)]) == 0
    fold = json.loads(out.read_text())
    assert fold["train"] == ["chr17_seg3", "chr17_seg4"]
    printed = capsys.readouterr().out
    assert "--exclude chrM chrY: not in" in printed and "(1 excluded)" in printed


def test_prep_nonpeaks_matches_the_ratio_per_split(atac, atac_nonpeaks):
    regions = data_prep.read_narrowpeak(atac_nonpeaks)
    fold = data_prep.load_fold(atac / "folds" / "fold_0.json")
    peaks = data_prep.read_narrowpeak(atac / "peaks.narrowPeak")
    split = data_prep.split_of(regions, fold).value_counts()
    peak_split = data_prep.split_of(peaks, fold).value_counts()
    assert split["train"] == 4 * peak_split["train"] and split["valid"] == 4 * peak_split["valid"]
    assert split["test"] == peak_split["test"]
    assert (regions["end"] - regions["start"] == INPUT).all()


# --- bias train and train ------------------------------------------------------------------------------


def test_bias_run_folder(bias_run):
    record = json.loads((bias_run / "logs" / "run.json").read_text())
    params = record["parameters"]
    assert params["model_options"] == {"filters": 4, "n_dil_layers": 1}
    assert (params["epochs"], params["lr"], params["bias_threshold_factor"], params["patience"]) == (1, 1e-3, 0.5, 5)
    assert params["counts_loss_weight"] == record["data"]["counts_loss_weight_from_data"] >= 1.0
    model = _load(bias_run / "models" / "bias.keras")
    assert model.inputs[0].shape[1] == INPUT and model.output["profile"].shape[1] == OUTPUT
    metrics = json.loads((bias_run / "evaluation" / "metrics.json").read_text())
    assert set(metrics["counts_metrics"]) == {"peaks", "nonpeaks", "peaks_and_nonpeaks"}
    assert len(pd.read_csv(bias_run / "logs" / "training_log.csv")) == 1


def test_train_run_folder_and_run_json(atac, main_run, atac_nonpeaks, bias_run):
    for name in ("model.keras", "model_nobias.keras", "bias_scaled.keras"):
        assert (main_run / "models" / name).is_file()
    for name in ("metrics.json", "loss_curves.png", "logcounts_scatter.png", "profiles_best_and_median_peak.png"):
        assert (main_run / "evaluation" / name).stat().st_size > 0
    record = json.loads((main_run / "logs" / "run.json").read_text())
    params = record["parameters"]
    # Resolved defaults recorded, not None.
    assert (params["lr"], params["patience"], params["negative_ratio"], params["outlier_quantile"]) == \
        (1e-3, 5, 0.1, 0.9999)
    assert (params["epochs"], params["batch_size"], params["max_jitter"], params["seed"]) == (2, 64, JITTER, 0)
    assert params["backbone"] == "bpnet" and params["head"] == "profile_count"
    assert params["counts_loss_weight"] == pytest.approx(record["data"]["counts_loss_weight_from_data"])
    for name, path in (("peaks", atac / "peaks.narrowPeak"), ("nonpeaks", atac_nonpeaks),
                       ("bias_model", bias_run / "models" / "bias.keras")):
        assert record["inputs"][name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
        assert record["inputs"][name]["size"] == path.stat().st_size
    assert pd.read_csv(main_run / "logs" / "training_log.csv")["epoch"].tolist() == [1, 2]  # as printed


def test_metrics_json_equals_a_recomputation(atac, main_run, atac_nonpeaks):
    model = _load(main_run / "models" / "model.keras")
    assert hasattr(model, "nobias_model")  # model.keras is the bias-factorised model
    peaks = _test_windows(atac, atac / "peaks.narrowPeak")
    outputs = model.predict(peaks.sequences.astype(np.float32), verbose=0)
    expected = profile_count_metrics(peaks.counts, outputs["profile"], outputs["logcounts"])
    metrics = json.loads((main_run / "evaluation" / "metrics.json").read_text())
    assert metrics["counts_metrics"]["peaks"]["pearsonr"] == pytest.approx(expected["pearsonr"], rel=1e-4)
    assert metrics["counts_metrics"]["peaks"]["mse"] == pytest.approx(expected["mse"], rel=1e-4)
    assert metrics["profile_metrics"]["peaks"]["median_jsd"] == pytest.approx(expected["median_jsd"], rel=1e-4)


def test_evaluate_command_reproduces_metrics(main_run, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", "--run", str(main_run), "--out", str(out)]) == 0
    # float32 predictions: in the full suite the two evaluations came 1e-6 apart (relative) since the
    # profile head is a matrix product, whose sums TensorFlow may order differently from call to call
    assert _metrics(out / "metrics.json") == pytest.approx(_metrics(main_run / "evaluation" / "metrics.json"),
                                                           rel=1e-5)


def test_config_repeats_the_run_exactly_and_overwrite_is_accepted(atac, main_run, tmp_path, capsys):
    out = tmp_path / "again"
    out.mkdir()
    (out / "logs").mkdir()
    (out / "logs" / "old.csv").write_text("an earlier run")
    assert main(["train", "--config", str(main_run / "logs" / "run.json"), "--out", str(out)]) == 2
    assert "not empty" in capsys.readouterr().err
    # no manifest: dream-keras cannot tell its files from the user's, so nothing is deleted (issue 18)
    assert main(["train", "--config", str(main_run / "logs" / "run.json"), "--out", str(out), "--overwrite"]) == 2
    assert "has no logs/manifest.json" in capsys.readouterr().err and (out / "logs" / "old.csv").exists()
    shutil.rmtree(out)
    shutil.copytree(main_run, out)  # an earlier run, with its manifest: replaced
    assert main(["train", "--config", str(main_run / "logs" / "run.json"), "--out", str(out), "--overwrite"]) == 0
    first = json.loads((main_run / "evaluation" / "metrics.json").read_text())
    second = json.loads((out / "evaluation" / "metrics.json").read_text())
    assert second == first  # seeded runs repeat exactly on CPU
    again = json.loads((out / "logs" / "run.json").read_text())["parameters"]
    assert again == json.loads((main_run / "logs" / "run.json").read_text())["parameters"]


def test_foreign_files_and_nothing_to_resume_are_refused(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "thesis.tex").write_text("precious")
    args = _train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0", *TINY_BPNET, "--epochs", "1")
    assert main(args + ["--overwrite"]) == 2
    assert "thesis.tex" in capsys.readouterr().err and (out / "thesis.tex").exists()
    empty = tmp_path / "empty_resume"
    empty.mkdir()
    (empty / "models").mkdir()
    assert main(_train_args(atac, atac_nonpeaks, bias_run, empty, "--fold", "0", "--resume")) == 2
    assert "nothing to resume" in capsys.readouterr().err


# --- predict -------------------------------------------------------------------------------------------


def _bed(path, rows):
    path.write_text("".join(f"{c}\t{s}\t{e}\n" for c, s, e in rows))
    return path


def test_predict_bigwig_and_h5(atac, main_run, tmp_path):
    regions = _bed(tmp_path / "regions.bed", [("chr17_seg1", 10000, 10400), ("chr17_seg1", 50000, 50400),
                                              ("chr17_seg3", 20000, 20400), ("chr17_seg1", 100, 200)])
    model_path = main_run / "models" / "model_nobias.keras"
    assert main(["predict", "--model", str(model_path), "--genome", str(atac / "genome.fa"), "--regions",
                 str(regions), "--out", str(tmp_path / "pred")]) == 0
    with h5py.File(tmp_path / "pred.h5") as handle:
        chroms = [c.decode() if isinstance(c, bytes) else c for c in handle["coords/coords_chrom"][:]]
        starts, centres = handle["coords/coords_start"][:], handle["coords/coords_center"][:]
        probs, logcounts = handle["predictions/profs"][:], handle["predictions/logcounts"][:]
        index = handle["coords/region_index"][:]
    # Genome order; the region 100-200 lies too close to the chromosome start and is dropped.
    assert chroms == ["chr17_seg1", "chr17_seg1", "chr17_seg3"] and index.tolist() == [0, 1, 2]
    assert centres.tolist() == [10200, 50200, 20200] and (starts == centres - OUTPUT // 2).all()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-5)
    # The HDF5 holds what the model predicts for the centred windows.
    model = _load(model_path)
    windows = data_prep.extract_windows(data_prep.read_bed(regions).iloc[:3], atac / "genome.fa", None, INPUT, OUTPUT,
                                        progress=False)
    direct = model.predict(windows.sequences.astype(np.float32), verbose=0)
    np.testing.assert_allclose(logcounts, direct["logcounts"][:, 0], rtol=1e-5, atol=1e-5)
    bigwig = pyBigWig.open(str(tmp_path / "pred.bw"))
    assert bigwig.chroms() == data_prep.read_chrom_sizes(atac / "chrom.sizes")  # the FASTA's chromosomes
    for chrom, start, lc in zip(chroms, starts, logcounts):
        values = np.asarray(bigwig.values(chrom, int(start), int(start) + OUTPUT))
        assert np.isfinite(values).all()
        assert values.sum() == pytest.approx(float(np.exp(lc)), rel=1e-4)
    assert np.isnan(bigwig.values("chr17_seg2", 1000, 1010)).all()  # no prediction there
    bigwig.close()


def test_predict_overlaps_are_averaged_and_models_averaged(atac, main_run, bias_run, tmp_path):
    overlapping = _bed(tmp_path / "overlap.bed", [("chr17_seg1", 10000, 10400), ("chr17_seg1", 10100, 10500)])
    models = [str(main_run / "models" / "model.keras"), str(bias_run / "models" / "bias.keras")]
    assert main(["predict", "--model", *models, "--genome", str(atac / "genome.fa"), "--regions", str(overlapping),
                 "--bigwig-out", str(tmp_path / "mean.bw"), "--h5-out", str(tmp_path / "mean.h5")]) == 0
    singles = []
    for i, model in enumerate(models):
        assert main(["predict", "--model", model, "--genome", str(atac / "genome.fa"), "--regions", str(overlapping),
                     "--h5-out", str(tmp_path / f"single{i}.h5")]) == 0
        with h5py.File(tmp_path / f"single{i}.h5") as handle:
            singles.append((handle["predictions/profs"][:], handle["predictions/logcounts"][:]))
    with h5py.File(tmp_path / "mean.h5") as handle:
        probs, logcounts, starts = handle["predictions/profs"][:], handle["predictions/logcounts"][:], \
            handle["coords/coords_start"][:]
    np.testing.assert_allclose(probs, (singles[0][0] + singles[1][0]) / 2, rtol=1e-5, atol=1e-8)
    np.testing.assert_allclose(logcounts, np.log((np.exp(singles[0][1]) + np.exp(singles[1][1])) / 2), rtol=1e-5)
    counts = probs * np.exp(logcounts)[:, None]
    with pyBigWig.open(str(tmp_path / "mean.bw")) as bigwig:
        shift = int(starts[1] - starts[0])  # 100 bp: the windows overlap on OUTPUT - 100 bases
        overlap = np.asarray(bigwig.values("chr17_seg1", int(starts[1]), int(starts[0]) + OUTPUT))
        np.testing.assert_allclose(overlap, (counts[0, shift:] + counts[1, :OUTPUT - shift]) / 2, rtol=1e-5)
        alone = np.asarray(bigwig.values("chr17_seg1", int(starts[0]), int(starts[1])))
        np.testing.assert_allclose(alone, counts[0, :shift], rtol=1e-5)


# --- dream_rnn, with peaks near a chromosome end -----------------------------------------------------------


def test_dream_rnn_bias_train_train_evaluate_predict(atac, work, atac_nonpeaks, bias_run, tmp_path):
    peaks = data_prep.read_narrowpeak(atac / "peaks.narrowPeak")
    near_end = peaks.iloc[[0, 1]].copy()
    near_end["chrom"] = "chr17_seg3"  # a train chromosome
    near_end["start"], near_end["end"], near_end["summit"] = [50, 199700], [400, 199990], [200, 199900]
    peak_file = tmp_path / "peaks_near_ends.narrowPeak"
    data_prep.write_narrowpeak(pd.concat([peaks, near_end], ignore_index=True), peak_file)
    out = work / "dream_rnn"
    assert main(_train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0", "--backbone", "dream_rnn",
                            "--epochs", "1", "--model-option", "first_filters=4", "--model-option", "lstm_units=4",
                            "--model-option", "core_filters=4", peaks=peak_file)) == 0
    record = json.loads((out / "logs" / "run.json").read_text())
    assert record["data"]["peaks"]["dropped_near_chromosome_ends"]["train+valid"] == 2
    assert record["parameters"]["model_options"] == {"first_filters": 4, "lstm_units": 4, "core_filters": 4}
    nobias = _load(out / "models" / "model_nobias.keras")
    assert nobias.backbone_name == "dream_rnn"
    assert main(["evaluate", "--model", str(out / "models" / "model.keras"), *_data_args(atac, atac_nonpeaks),
                 "--fold", "0", "--out", str(tmp_path / "eval")]) == 0
    # the run evaluated with the steps --jit-compile auto chose (XLA or not); a loaded model predicts
    # without XLA: the same numbers up to float rounding
    assert _metrics(tmp_path / "eval" / "metrics.json") == pytest.approx(_metrics(out / "evaluation" / "metrics.json"),
                                                                         rel=1e-5)
    assert main(["predict", "--model", str(out / "models" / "model.keras"), "--no-bias", "--genome",
                 str(atac / "genome.fa"), "--regions", str(atac / "peaks.narrowPeak"), "--out",
                 str(tmp_path / "rnn")]) == 0
    fitting = data_prep.extract_windows(peaks, atac / "genome.fa", None, INPUT, OUTPUT, progress=False)
    with h5py.File(tmp_path / "rnn.h5") as handle:
        assert handle["predictions/profs"].shape == (len(fitting.sequences), OUTPUT)


# --- all folds -----------------------------------------------------------------------------------------


def test_all_folds_summary_table(atac, work, atac_nonpeaks, bias_run, capsys):
    # 'all' = every fold_N.json of --fold-dir: two of the five (numbers 0 and 3) test the same as five
    fold_dir = work / "two_folds"
    fold_dir.mkdir()
    for name in ("fold_0.json", "fold_3.json"):
        shutil.copy(atac / "folds" / name, fold_dir / name)
    out = work / "all_folds"
    assert main(_train_args(atac, atac_nonpeaks, bias_run, out, "--folds", "all", *TINY_BPNET, "--epochs", "1",
                            "--fold-dir", str(fold_dir))) == 0
    table = pd.read_csv(out / "summary.tsv", sep="\t")
    peaks = table[table["subset"] == "peaks"].set_index("metric")
    assert list(peaks.index) == ["spearmanr", "pearsonr", "mse", "median_jsd", "median_norm_jsd"]
    folds = ["fold_0", "fold_3"]
    assert list(table.columns) == ["subset", "metric", *folds, "mean", "std"]
    all_peaks = data_prep.read_narrowpeak(atac / "peaks.narrowPeak")
    for fold in folds:
        metrics = json.loads((out / fold / "evaluation" / "metrics.json").read_text())
        assert peaks.loc["pearsonr", fold] == pytest.approx(metrics["counts_metrics"]["peaks"]["pearsonr"], rel=1e-5)
        record = json.loads((out / fold / "logs" / "run.json").read_text())
        assert record["parameters"]["fold"] == fold[-1]
        # Each fold is tested on its own test chromosome's peaks.
        test_chroms = json.loads((atac / "folds" / f"{fold}.json").read_text())["test"]
        assert record["data"]["peaks"]["kept"]["test"] == int(all_peaks["chrom"].isin(test_chroms).sum())
    values = peaks.loc["mse", folds].to_numpy(float)
    assert peaks.loc["mse", "mean"] == pytest.approx(values.mean(), rel=1e-5)
    assert peaks.loc["mse", "std"] == pytest.approx(values.std(ddof=1), rel=1e-4)
    assert "metrics across folds" in capsys.readouterr().out


# --- resume after a kill -------------------------------------------------------------------------------


def test_resume_after_kill(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    out = tmp_path / "killed"
    args = _train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0", *TINY_BPNET, "--epochs", "200",
                       "--patience", "200")
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    errors = tmp_path / "killed_run.stderr"
    with open(errors, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "dream_keras.cli", *args], stdout=subprocess.DEVNULL,
                                   stderr=stderr, env=env)
    state = out / "logs" / "checkpoint" / "state.json"
    # a hang guard only: the first epoch ends within about 20 s on an idle machine
    deadline = time.time() + 1200
    while not state.exists() and process.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert state.exists(), f"the run never checkpointed an epoch:\n{errors.read_text()[-3000:]}"
    done = json.loads(state.read_text())["epoch"] + 1
    assert 1 <= done < 200 and not (out / "models" / "model.keras").exists()
    epochs = done + 2
    assert main(["train", "--out", str(out), "--resume", "--epochs", str(epochs)]) == 0
    printed = capsys.readouterr().out
    assert f"Epoch {done + 1}/{epochs}" in printed and f"Epoch 1/{epochs}" not in printed
    assert pd.read_csv(out / "logs" / "training_log.csv")["epoch"].tolist() == list(range(1, epochs + 1))
    assert (out / "models" / "model.keras").is_file() and (out / "evaluation" / "metrics.json").is_file()


# --- input mistakes, each stopped before training ----------------------------------------------------------


def _fails_before_training(args, out, capsys, *needles):
    assert main(args + TINY_BPNET) == 2
    err = capsys.readouterr().err
    for needle in needles:
        assert str(needle) in err, err
    assert not (out / "logs" / "checkpoint").exists()
    return err


def test_peaks_with_other_chromosome_names(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    peaks = data_prep.read_narrowpeak(atac / "peaks.narrowPeak")
    peaks["chrom"] = peaks["chrom"].str.replace("chr17_", "", regex=False)
    path = data_prep.write_narrowpeak(peaks, tmp_path / "renamed.narrowPeak")
    out = tmp_path / "run"
    _fails_before_training(_train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0", peaks=path), out, capsys,
                           path, "seg1", "chromosome naming")


def test_fold_chromosome_missing_from_fasta(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps({"train": ["chr17_seg3", "chr1"], "valid": ["chr17_seg2"], "test": ["chr17_seg1"]}))
    out = tmp_path / "run"
    _fails_before_training(_train_args(atac, atac_nonpeaks, bias_run, out, "--fold", str(fold)), out, capsys,
                           fold, "chr1", "genome.fa")


def _bigwig(path, chroms, entries=()):
    handle = pyBigWig.open(str(path), "w")
    handle.addHeader(list(chroms))
    for chrom, start, value in entries:
        handle.addEntries([chrom], [start], ends=[start + 1], values=[value])
    handle.close()
    return path


def test_bigwig_with_other_chromosome_names(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    sizes = data_prep.read_chrom_sizes(atac / "chrom.sizes")
    bigwig = _bigwig(tmp_path / "renamed.bw", [(c.replace("chr17_", ""), n) for c, n in sizes.items()],
                     [("seg1", 10, 1.0)])
    out = tmp_path / "run"
    _fails_before_training(_train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0", bigwig=bigwig), out, capsys,
                           bigwig, "chr17_seg")


def test_fold_whose_test_chromosomes_hold_no_peaks(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    peaks = data_prep.read_narrowpeak(atac / "peaks.narrowPeak")
    path = data_prep.write_narrowpeak(peaks[peaks["chrom"] != "chr17_seg1"], tmp_path / "no_test.narrowPeak")
    out = tmp_path / "run"
    _fails_before_training(_train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0", peaks=path), out, capsys,
                           path, "fold_0.json", "'test'")


def test_peaks_all_too_close_to_chromosome_ends(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    peaks = data_prep.read_narrowpeak(atac / "peaks.narrowPeak")
    valid = peaks["chrom"] == "chr17_seg2"
    peaks.loc[valid, "start"], peaks.loc[valid, "end"], peaks.loc[valid, "summit"] = 199700, 199990, 199800
    path = data_prep.write_narrowpeak(peaks, tmp_path / "ends.narrowPeak")
    out = tmp_path / "run"
    err = _fails_before_training(_train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0", peaks=path), out,
                                 capsys, path, "chromosome end")
    assert "--max-jitter" in err


def test_bigwig_empty_over_the_peaks(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    sizes = data_prep.read_chrom_sizes(atac / "chrom.sizes")
    bigwig = _bigwig(tmp_path / "empty.bw", sizes.items(), [("chr17_seg1", 5, 1.0)])
    out = tmp_path / "run"
    _fails_before_training(_train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0", bigwig=bigwig), out, capsys,
                           bigwig, "no signal")


def test_bias_model_of_the_wrong_input_length(atac, atac_nonpeaks, bias_run, tmp_path, capsys):
    out = tmp_path / "run"
    args = _train_args(atac, atac_nonpeaks, bias_run, out, "--fold", "0")
    args[args.index("--input-length") + 1] = "600"
    _fails_before_training(args, out, capsys, bias_run / "models" / "bias.keras", "takes 512 bp",
                           "--input-length 512")
    assert not out.exists()


def test_a_step_too_big_for_this_machine_is_refused_before_reading_the_data(atac, atac_nonpeaks, bias_run, tmp_path,
                                                                           capsys, monkeypatch):
    from dream_keras.training import memory_check

    # this machine's memory reading, made small: room for 40 examples of the tiny model's step
    per_example = {}
    real = memory_check.check_step_memory

    def room_for_40(model, **options):
        per_example["bytes"] = memory_check.step_bytes_per_example(model)
        return real(model, **{**options, "available": per_example["bytes"] * 40.5})

    monkeypatch.setattr("dream_keras.tasks.atac.fold_runner.check_step_memory", room_for_40)
    main_args = _train_args(atac, atac_nonpeaks, bias_run, tmp_path / "main", "--fold", "0")
    bias_args = ["bias", "train", *_data_args(atac, atac_nonpeaks), "--fold", "0", "--out", str(tmp_path / "bias"),
                 "--input-length", str(INPUT), "--output-length", str(OUTPUT), "--batch-size", "64"]
    for args, out in ((main_args, tmp_path / "main"), (bias_args, tmp_path / "bias")):
        assert main(args + TINY_BPNET) == 2
        printed = capsys.readouterr()
        assert "one training step at batch 64" in printed.err and "Fix: --batch-size 40 or smaller" in printed.err
        assert "reading windows" not in printed.out and not out.exists()
    assert per_example["bytes"] > 0
