"""Sequence-table training and prediction on the real fixtures, with tiny models and two epochs.

Each recipe is run once (module fixtures) and its run folder is checked by several tests: the DREAM
recipe on a 300-row slice of the DREAM yeast demo data, the DeepSTARR recipe through the command line
on the STARR-seq samples, the MPRAnn recipe on two lentiMPRA cross-validation folds (``--fold all``
restricted to two folds to keep the suite fast; the split of all ten folds is checked without training).
"""

import json

import keras
import numpy as np
import pandas as pd
import pytest
from console_capture import console_to_file, noise_in, tensorflow_started

from data_prep.errors import InputError
from data_prep.tables import load_lentimpra
from dream_keras.cli import main as cli_main
from dream_keras.metrics import pearson_r, spearman_r
from dream_keras.tasks.tables.train import predict_table_task, prepare_table_data, train_table_task

# trains models end to end (minutes): outside the quick subset `pytest -m "not slow"`
pytestmark = pytest.mark.slow

TINY_RNN = {"first_filters": 8, "lstm_units": 4, "core_filters": 8}
TINY_DEEPSTARR = ["--model-option", "filters=[8,8,8,8]", "--model-option", "dense_units=[16,16]"]
TINY_MPRANN = {"filters": [8, 8, 8, 4], "dense_units": [16, 8]}


def _losses(history):
    return [row["loss"] for row in history]


@pytest.fixture(scope="module")
def yeast_run(tmp_path_factory, data_dir):
    folder = tmp_path_factory.mktemp("yeast")
    rows = (data_dir / "dream_yeast" / "demo_train.txt").read_text().splitlines()[:300]
    table = folder / "yeast_300.txt"
    table.write_text("\n".join(rows) + "\n")
    run = train_table_task("dream_yeast", table, out=folder / "run", backbone="dream_rnn", epochs=2, batch_size=40,
                           valid_fraction=0.2, model_options=TINY_RNN, verbose=0)
    return run, table


@pytest.fixture(scope="module")
def starr_run(tmp_path_factory, data_dir, xla_off):
    """The DeepSTARR recipe through the command line, its console output in ``console.txt``.

    ``console.txt`` lies beside the run folder, as a redirected run writes it (with the real XLA choice and
    its own, empty XLA-choice cache: the timing runs).
    """
    from dream_keras.training import jit_choice

    out = tmp_path_factory.mktemp("starr") / "run"
    tensorflow_started()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(jit_choice, "choose_jit_compile", xla_off)
        patch.setenv("DREAM_KERAS_CACHE_DIR", str(tmp_path_factory.mktemp("starr_jit_cache")))
        with console_to_file(out.parent / "console.txt"):
            starr = data_dir / "deepstarr"
            status = cli_main(["train", "--task", "starrseq", "--data", str(starr / "sample_train.txt"),
                               "--valid", str(starr / "sample_val.txt"), "--backbone", "deepstarr", "--epochs", "2",
                               "--batch-size", "100", *TINY_DEEPSTARR, "--out", str(out)])
    assert status == 0
    return out


@pytest.fixture(scope="module")
def lenti_folds(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("lenti") / "runs"
    runs = train_table_task("lentimpra", data_dir / "lentimpra" / "sample_train.txt", out=out, backbone="mprann",
                            fold="all", folds=[0, 9], epochs=2, model_options=TINY_MPRANN, verbose=0)
    return runs, out


def test_dream_recipe_lowers_the_training_loss_and_writes_the_run_folder(yeast_run):
    run, table = yeast_run
    losses = _losses(run.fit.history)
    assert len(losses) == 2 and losses[1] < losses[0]
    root = run.folder.root
    for name in ("models/model.keras", "logs/run.json", "logs/training_log.csv", "evaluation/metrics.json",
                 "evaluation/scatter_valid.png", "evaluation/predictions_valid.tsv"):
        assert (root / name).is_file(), name
    record = json.loads((root / "logs" / "run.json").read_text())
    parameters = record["parameters"]
    assert (parameters["recipe"], parameters["head"], parameters["batch_size"], parameters["lr"]) == \
        ("dream", "soft_bins", 40, 0.005)
    assert parameters["recipe_settings"]["weight_decay"] == 0.01
    assert parameters["split"]["n_valid_rows"] == 60 and parameters["split"]["augmented_with_reverse_complements"]
    assert len(record["inputs"]["data"]["sha256"]) == 64
    model = keras.saving.load_model(root / "models" / "model.keras")
    assert model.optimizer.__class__.__name__ == "OneCycleAdamW"
    assert model.input_shape == (None, 150, 6) and sorted(model.output) == ["bins", "expression"]


def test_dream_recipe_keeps_the_epoch_with_the_best_validation_pearson(yeast_run):
    run, _ = yeast_run
    log = pd.read_csv(run.folder.logs / "training_log.csv")
    assert {"val_pearson_r", "val_expression_pearson_r", "val_expression_spearman_r"} <= set(log.columns)
    best = int(np.argmax(log["val_pearson_r"].to_numpy()))
    assert run.fit.best_epoch == best
    metrics = json.loads((run.folder.evaluation / "metrics.json").read_text())
    assert metrics["best_epoch"] == best + 1 and metrics["monitor"] == "val_pearson_r"  # counted from 1
    assert metrics["best_value"] == pytest.approx(log["val_pearson_r"].max())


def test_yeast_metrics_are_those_of_the_reverse_complement_averaged_predictions(yeast_run):
    run, _ = yeast_run
    metrics = json.loads((run.folder.evaluation / "metrics.json").read_text())
    predictions = pd.read_csv(run.folder.evaluation / "predictions_valid.tsv", sep="\t")
    assert len(predictions) == 60 and "is_singleton" not in predictions.columns
    measured, predicted = predictions["expression"].to_numpy(), predictions["pred_expression"].to_numpy()
    scores = metrics["sets"]["valid"]["tasks"]["expression"]
    assert scores["pearson_r"] == pytest.approx(pearson_r(measured, predicted), abs=1e-4)
    assert scores["spearman_r"] == pytest.approx(spearman_r(measured, predicted), abs=1e-4)
    dream = metrics["sets"]["valid"]["dream_score"]
    assert dream["subsets"]["all"]["n"] == 60
    assert dream["pearson_score"] == pytest.approx(scores["pearson_r"] ** 2, abs=1e-6)


def test_predict_yeast_from_the_command_line_adds_the_expression_column(yeast_run, tmp_path):
    run, table = yeast_run
    out = tmp_path / "pred.tsv"
    assert cli_main(["predict", "--task", "dream_yeast", "--model", str(run.folder.models / "model.keras"),
                     "--data", str(table), "--out", str(out), "--batch-size", "64"]) == 0
    written = pd.read_csv(out, sep="\t")
    assert list(written.columns) == ["sequence", "expression", "pred_expression"] and len(written) == 300
    assert written["pred_expression"].between(0, 17).all()
    # The validation rows' predictions equal those written at evaluation (is_singleton = 0 in both).
    evaluated = pd.read_csv(run.folder.evaluation / "predictions_valid.tsv", sep="\t")
    merged = evaluated.merge(written, on="sequence", suffixes=("_evaluation", ""))
    np.testing.assert_allclose(merged["pred_expression"], merged["pred_expression_evaluation"], atol=1e-4)


def test_deepstarr_recipe_from_the_command_line(starr_run):
    parameters = json.loads((starr_run / "logs" / "run.json").read_text())["parameters"]
    assert (parameters["recipe"], parameters["head"], parameters["lr"], parameters["batch_size"]) == \
        ("deepstarr", "deepstarr", 0.002, 100)
    log = pd.read_csv(starr_run / "logs" / "training_log.csv")
    assert log["loss"].iloc[1] < log["loss"].iloc[0]
    # the logged totals are the sums of the logged parts (one MSE per task), training and validation
    for prefix in ("", "val_"):
        np.testing.assert_allclose(log[prefix + "loss"], log[prefix + "Dev_loss"] + log[prefix + "Hk_loss"], rtol=1e-4)
    # each task's loss is its MSE, logged once (no second column under another name)
    assert "val_Dev_mse" not in log.columns and "val_Hk_mse" not in log.columns
    metrics = json.loads((starr_run / "evaluation" / "metrics.json").read_text())
    # the log counts epochs from 1, as the console and metrics.json do
    assert log["epoch"].tolist() == [1, 2]
    assert metrics["monitor"] == "val_loss" and metrics["best_epoch"] == log["epoch"][int(np.argmin(log["val_loss"]))]
    assert sorted(metrics["sets"]["valid"]["tasks"]) == ["Dev", "Hk"]
    assert metrics["sets"]["valid"]["n"] == 1000 and "dream_score" not in metrics["sets"]["valid"]


def test_deepstarr_console_is_plain_when_xla_cannot_compile(starr_run):
    """DeepSTARR's max pooling has no deterministic XLA gradient: the console says so once.

    The XLA timing fails, and the console says it in words, without TensorFlow's C++ lines; redirected, the
    epochs are plain lines.
    """
    printed = (starr_run.parent / "console.txt").read_text()
    assert noise_in(printed) == []
    decisions = [line for line in printed.splitlines() if line.startswith("--jit-compile auto:")]
    assert len(decisions) == 1 and "XLA cannot compile it here" in decisions[0] and "max pooling" in decisions[0]
    assert decisions[0].endswith("-> XLA off")
    assert [line.split(" - ")[0] for line in printed.splitlines() if " - loss: " in line] == ["10/10", "10/10"]


def _one_hot_acgt(sequences):
    lookup = {base: index for index, base in enumerate("ACGT")}
    encoded = np.zeros((len(sequences), len(sequences[0]), 4), dtype=np.float32)
    for row, sequence in enumerate(sequences):
        for position, base in enumerate(sequence.upper()):
            if base in lookup:
                encoded[row, position, lookup[base]] = 1.0
    return encoded


def test_predict_averages_models_and_both_strands(starr_run, data_dir, tmp_path):
    first = keras.saving.load_model(starr_run / "models" / "model.keras", compile=False)
    second = keras.saving.load_model(starr_run / "models" / "model.keras", compile=False)
    rng = np.random.default_rng(0)
    second.set_weights([w + rng.normal(scale=0.05, size=w.shape).astype(w.dtype) for w in second.get_weights()])
    second_path = tmp_path / "second.keras"
    second.save(second_path)
    out = tmp_path / "pred.tsv"
    data = tmp_path / "val_200.txt"
    data.write_text("".join((data_dir / "deepstarr" / "sample_val.txt").open().readlines()[:201]))
    assert cli_main(["predict", "--task", "starrseq", "--model", str(starr_run / "models" / "model.keras"),
                     str(second_path), "--data", str(data), "--out", str(out)]) == 0
    written = pd.read_csv(out, sep="\t")
    original = pd.read_csv(data, sep="\t")
    assert list(written.columns) == list(original.columns) + ["pred_Dev", "pred_Hk"]
    forward = _one_hot_acgt(original["Sequence"].tolist())
    reverse = forward[:, ::-1, ::-1].copy()  # ACGT: complement = reversed channel order
    outputs = {(index, strand): model.predict(x, verbose=0) for index, model in enumerate((first, second))
               for strand, x in (("forward", forward), ("reverse", reverse))}
    for task in ("Dev", "Hk"):
        expected = np.mean([o[task][:, 0] for o in outputs.values()], axis=0)
        np.testing.assert_allclose(written[f"pred_{task}"], expected, rtol=1e-4, atol=1e-5)
        first_only = (outputs[0, "forward"][task][:, 0] + outputs[0, "reverse"][task][:, 0]) / 2
        forward_only = (outputs[0, "forward"][task][:, 0] + outputs[1, "forward"][task][:, 0]) / 2
        # Both the second model and the reverse strand change the written values.
        assert np.abs(first_only - written[f"pred_{task}"]).max() > 1e-4
        assert np.abs(forward_only - written[f"pred_{task}"]).max() > 1e-4


def test_mprann_recipe_on_two_cross_validation_folds(lenti_folds, data_dir):
    runs, out = lenti_folds
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    assert summary["fold"].tolist() == [0, 9]
    table = load_lentimpra(data_dir / "lentimpra" / "sample_train.txt")
    fold_sizes = table.table["fold"].value_counts()
    assert summary["n_test"].tolist() == [fold_sizes[0], fold_sizes[9]]
    assert summary["n_valid"].tolist() == [fold_sizes[1], fold_sizes[0]]  # the next fold, wrapping after 9
    for fold, run in runs.runs.items():
        losses = _losses(run.fit.history)
        assert losses[1] < losses[0], (fold, losses)
        assert run.parameters["recipe"] == "mprann" and run.parameters["batch_size"] == 32
        metrics = json.loads((out / f"fold_{fold}" / "evaluation" / "metrics.json").read_text())
        assert metrics["primary_set"] == "test"
        assert summary.loc[summary["fold"] == fold, "test_activity_pearson_r"].item() == \
            pytest.approx(metrics["sets"]["test"]["tasks"]["activity"]["pearson_r"], abs=1e-5)
    assert json.loads((out / "logs" / "run.json").read_text())["parameters"]["folds"] == [0, 9]


def test_all_ten_folds_partition_the_table_and_keep_pairs_together(data_dir):
    path = data_dir / "lentimpra" / "sample_train.txt"
    table = load_lentimpra(path)
    seen = []
    for fold in range(10):
        data = prepare_table_data("lentimpra", path, fold=fold, table=table)
        test_ids = set(data.evaluation["test"].table["seq_id"])
        train_ids = set(data.train.table["seq_id"])
        assert not test_ids & train_ids and not set(data.evaluation["valid"].table["seq_id"]) & train_ids
        keys = {i.replace("_Reversed:", "").removesuffix("_F") for i in test_ids}
        assert not {i.replace("_Reversed:", "").removesuffix("_F") for i in train_ids} & keys
        seen.extend(test_ids)
    assert len(seen) == len(set(seen)) == len(table)


def test_user_mistakes_are_refused_with_a_fix(starr_run, data_dir):
    train = data_dir / "deepstarr" / "sample_train.txt"
    with pytest.raises(InputError, match="not empty"):
        train_table_task("starrseq", train, valid=data_dir / "deepstarr" / "sample_val.txt", out=starr_run,
                         backbone="deepstarr")
    with pytest.raises(InputError, match="no bin targets"):
        train_table_task("starrseq", train, out=starr_run, head="soft_bins")
    with pytest.raises(InputError, match="--fold is for lentimpra"):
        train_table_task("starrseq", train, out=starr_run, fold=1)
    with pytest.raises(InputError, match="no validation rows"):
        train_table_task("starrseq", train, out=starr_run / "new", backbone="deepstarr")
    with pytest.raises(InputError, match="check the model options"):
        train_table_task("starrseq", train, valid=data_dir / "deepstarr" / "sample_val.txt", out=starr_run.parent / "x",
                         backbone="deepstarr", model_options={"lstm_units": 4})
    with pytest.raises(InputError, match="trained for --task lentimpra"):
        predict_table_task("lentimpra", [starr_run / "models" / "model.keras"],
                           data_dir / "lentimpra" / "sample_valid.txt")
