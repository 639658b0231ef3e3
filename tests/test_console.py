"""What commands print when the output is not a terminal: plain lines, each message once, no noise.

Under pytest the output is captured (not a terminal), as it is for ``dream-keras ... > log``.
"""

import logging

import pytest
from console_capture import console_to_file, noise_in, tensorflow_started

from dream_keras.cli import main
from dream_keras.console import plain_warning_line, retracing_notices_dropped


class _Records(logging.Handler):
    """The messages that get through the ``tensorflow`` logger's filters."""

    def __init__(self):
        super().__init__()
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def _trace_new_functions(offset):
    import tensorflow as tf

    for _ in range(7):  # a new tf.function of the same code each time: TensorFlow's retracing notice
        tf.function(lambda x: x + offset)(tf.constant(1.0))


def test_retracing_notices_are_dropped_and_other_tensorflow_messages_pass():
    logger = logging.getLogger("tensorflow")
    records = _Records()
    logger.addHandler(records)
    try:
        _trace_new_functions(1.0)  # control: without the filter the notice is logged
        assert any("triggered tf.function retracing" in message for message in records.messages)
        records.messages.clear()
        with retracing_notices_dropped():
            _trace_new_functions(2.0)
            logger.warning("another TensorFlow message")
        assert records.messages == ["another TensorFlow message"]
    finally:
        logger.removeHandler(records)


def test_a_warning_raised_in_a_command_is_one_plain_line(data_dir, tmp_path, capsys):
    """Too few background regions for the ratio asked: one plain warning line.

    The data layer warns; the command prints one line ``warning: ...``, without Python's file, line number
    and source line.
    """
    atac = data_dir / "atac_mm10"
    assert main(["prep", "nonpeaks", "--genome", str(atac / "genome.fa"), "--peaks", str(atac / "peaks.narrowPeak"),
                 "--fold", "0", "--fold-dir", str(atac / "folds"), "--ratio-test", "50",
                 "--out", str(tmp_path / "nonpeaks.narrowPeak")]) == 0
    printed = capsys.readouterr()
    lines = printed.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("warning: only ") and "test nonpeaks asked for" in lines[0]
    assert noise_in(printed.err + printed.out) == [] and ".py:" not in printed.err


def test_a_warning_of_another_package_names_the_package_in_one_line():
    message = "Your input ran out of data;\n  interrupting training."
    assert plain_warning_line(message, "/venv/lib/python3.11/site-packages/keras/src/trainers/epoch_iterator.py") \
        == "warning (keras): Your input ran out of data; interrupting training."
    assert plain_warning_line("only 3 of 5", "/src/dream-keras/data_prep/nonpeaks.py") == "warning: only 3 of 5"


def test_table_predictions_into_a_file_hold_no_progress_bar(data_dir, tmp_path):
    """``predict --task starrseq > log``: no Keras progress bar (carriage returns, colour codes), one line."""
    from dream_keras.tasks.tables.train import build_table_model

    model = build_table_model("starrseq", "deepstarr", "deepstarr", 4,
                              {"filters": [4, 4, 4, 4], "dense_units": [8, 8]})
    model.save(tmp_path / "model.keras")
    tensorflow_started()
    rows = (data_dir / "deepstarr" / "sample_val.txt").read_text().splitlines()[:41]
    (tmp_path / "table.txt").write_text("\n".join(rows) + "\n")
    with console_to_file(tmp_path / "console.txt"):
        status = main(["predict", "--task", "starrseq", "--model", str(tmp_path / "model.keras"),
                       "--data", str(tmp_path / "table.txt"), "--batch-size", "8", "--out", str(tmp_path / "p.tsv")])
    assert status == 0
    printed = (tmp_path / "console.txt").read_text()
    assert noise_in(printed) == []
    assert printed.splitlines() == [f"wrote 40 rows with pred_Dev, pred_Hk to {tmp_path / 'p.tsv'}"]


@pytest.mark.parametrize("stream_is_terminal, verbosity", [(True, 1), (False, 2)])
def test_training_shows_bars_only_on_a_terminal(monkeypatch, stream_is_terminal, verbosity):
    from dream_keras import console

    monkeypatch.setattr(console.sys.stdout, "isatty", lambda: stream_is_terminal, raising=False)
    assert console.fit_verbosity() == verbosity
    assert console.predict_verbosity() == (1 if stream_is_terminal else 0)
