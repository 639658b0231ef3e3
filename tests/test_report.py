"""evaluation/report.html of real tiny runs (bias train and train on the mouse ATAC fixture, 1 epoch).

One self-contained file, every image decodes, the tables hold metrics.json, the bias checks are explained, user strings
are escaped, and a real browser (headless Chromium, where installed) renders it.
"""

import json
import math
import shutil

import numpy as np
import pytest
from report_checks import chromium, chromium_dom, chromium_screenshot, decoded_image_sizes, metric_cells, parse_report

from dream_keras.cli import main

# every test here trains tiny models end to end (a pipeline or a run): not part of the quick subset
pytestmark = pytest.mark.slow

INPUT, OUTPUT, JITTER = 512, 256, 32
TINY = ["--filters", "4", "--n-dil-layers", "1", "--epochs", "1", "--batch-size", "64",
        "--input-length", str(INPUT), "--output-length", str(OUTPUT)]


@pytest.fixture(scope="module")
def runs(data_dir, tmp_path_factory):
    """``{"bias": run folder, "main": run folder}`` trained through the command line."""
    atac, work = data_dir / "atac_mm10", tmp_path_factory.mktemp("report_runs")
    nonpeaks = work / "nonpeaks.narrowPeak"
    assert main(["prep", "nonpeaks", "--genome", str(atac / "genome.fa"), "--peaks", str(atac / "peaks.narrowPeak"),
                 "--fold", "0", "--fold-dir", str(atac / "folds"), "--out", str(nonpeaks),
                 "--input-length", str(INPUT), "--stride", "256", "--ratio", "4"]) == 0
    data = ["--genome", str(atac / "genome.fa"), "--bigwig", str(atac / "tn5_insertions.bw"), "--peaks",
            str(atac / "peaks.narrowPeak"), "--nonpeaks", str(nonpeaks), "--fold-dir", str(atac / "folds"),
            "--fold", "0"]
    assert main(["bias", "train", *data, "--out", str(work / "bias"), *TINY]) == 0
    assert main(["train", *data, "--bias-model", str(work / "bias" / "models" / "bias.keras"),
                 "--out", str(work / "main"), "--max-jitter", str(JITTER), *TINY]) == 0
    return {"bias": work / "bias", "main": work / "main"}


@pytest.mark.parametrize("kind, n_figures", [("bias", 3), ("main", 4)])
def test_report_is_one_file_whose_images_decode(runs, kind, n_figures):
    report = parse_report(runs[kind] / "evaluation" / "report.html")
    assert report.external == [] and report.scripts == 0
    sizes = decoded_image_sizes(report)
    # loss curves, log-count scatter, profiles (+ the footprint-check chart of the main model)
    assert len(sizes) == n_figures
    assert all(width > 200 and height > 200 for width, height in sizes)


@pytest.mark.parametrize("kind", ["bias", "main"])
def test_report_tables_hold_the_metrics_json_values(runs, kind):
    metrics = json.loads((runs[kind] / "evaluation" / "metrics.json").read_text())
    cells = {key: (shown, exact) for key, shown, exact in
             metric_cells(parse_report(runs[kind] / "evaluation" / "report.html"))}
    expected = {(group, subset, key): value for group, subsets in metrics.items()
                for subset, values in subsets.items() for key, value in values.items()}
    assert set(cells) == set(expected) and len(expected) == 15
    for key, value in expected.items():
        shown, exact = cells[key]
        if math.isnan(value):
            assert shown == "NaN" and math.isnan(exact)
        else:
            assert exact == value
            assert float(shown) == pytest.approx(value, abs=5.1e-5)


def test_report_overview_and_best_epoch(runs):
    report = parse_report(runs["main"] / "evaluation" / "report.html")
    result = json.loads((runs["main"] / "logs" / "result.json").read_text())
    overview = [text for _, text in report.cells]
    best = overview[overview.index("best epoch") + 1]
    assert int(best) == result["best_epoch"] == 1  # counted from 1 in logs/result.json too
    assert f"Pearson r in peaks = {result['metrics']['peaks']['pearsonr']:.3f}" in report.text
    params = json.loads((runs["main"] / "logs" / "run.json").read_text())["parameters"]
    assert params["bigwig"] in overview and json.dumps(params["model_options"], sort_keys=True) in overview


def test_report_explains_every_bias_check(runs):
    for kind in ("bias", "main"):
        qc = json.loads((runs[kind] / "evaluation" / "bias_qc.json").read_text())
        page = (runs[kind] / "evaluation" / "report.html").read_text()
        text = parse_report(runs[kind] / "evaluation" / "report.html").text
        checks = {name: check for name, check in qc.items() if check}
        assert checks, "the fixture's test chromosome holds peaks, so the count check runs"
        for name, check in checks.items():
            assert f'data-check="{name}" data-verdict="{check["verdict"]}"' in page
            if check["verdict"] in ("warn", "fail", "uncorrected"):
                assert "What to do:" in text
    main_qc = json.loads((runs["main"] / "evaluation" / "bias_qc.json").read_text())
    assert set(main_qc) == {"count", "footprint"}
    # at 256 bp a flat profile is 1/256 > 0.003: the report says the bound cannot pass
    assert "0.0039" in parse_report(runs["main"] / "evaluation" / "report.html").text


def test_user_strings_are_escaped(runs, tmp_path):
    from dream_keras.tasks.atac.reporting import write_run_report

    copy = tmp_path / "run"
    shutil.copytree(runs["main"], copy)
    hostile = '<script>alert("x")</script> & <img src=http://example.org/a.png>'
    record = json.loads((copy / "logs" / "run.json").read_text())
    record["parameters"]["fold"] = hostile
    (copy / "logs" / "run.json").write_text(json.dumps(record))
    qc = json.loads((copy / "evaluation" / "bias_qc.json").read_text())
    qc["count"]["message"] = hostile
    (copy / "evaluation" / "bias_qc.json").write_text(json.dumps(qc))
    report = parse_report(write_run_report(copy))
    assert report.scripts == 0 and report.external == []
    assert hostile in report.text  # shown as text, literally


def test_loss_curve_marks_the_lowest_validation_loss():
    from dream_keras.plots import best_epoch_of

    history = [{"epoch": i, "loss": 3.0 - i, "val_loss": v} for i, v in enumerate([2.0, 1.5, float("nan"), 1.5, 1.7])]
    assert best_epoch_of(history) == 1  # first of the tied minima, NaN ignored
    assert best_epoch_of([{"epoch": 0, "loss": 1.0}]) is None


@pytest.mark.skipif(chromium() is None, reason="no headless Chromium on this machine (Debian: apt-get install "
                                               "chromium); the parser tests above still check the page")
def test_report_renders_in_headless_chromium(runs, tmp_path):
    from PIL import Image

    page = runs["main"] / "evaluation" / "report.html"
    dom = chromium_dom(page)
    assert 'id="run-metrics"' in dom and dom.count("<img") == len(parse_report(page).images) == 4
    shot = tmp_path / "report.png"
    chromium_screenshot(page, shot)
    pixels = np.asarray(Image.open(shot).convert("RGB"), dtype=np.int16)
    assert pixels.shape == (3000, 1200, 3)
    # the rendered page is not blank: text, table borders and the figures' coloured lines
    ink = (pixels.min(axis=2) < 200).mean()
    coloured = ((pixels.max(axis=2) - pixels.min(axis=2)) > 80).mean()
    assert ink > 0.01 and coloured > 0.001
