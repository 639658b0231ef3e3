"""Evaluation figures say what they show: the count scatter carries its Pearson r."""

import numpy as np
import pytest

from dream_keras import plots


@pytest.fixture
def saved_figures(monkeypatch):
    """The figures the plot functions save, kept open for reading (they are written as usual)."""
    figures = []
    original = plots._save

    def keep(figure, path):
        figures.append((figure.axes[0].get_title(), [t.get_text() for t in figure.axes[0].get_legend().get_texts()]))
        return original(figure, path)

    monkeypatch.setattr(plots, "_save", keep)
    return figures


def test_count_scatter_prints_pearson_r_overall_and_per_group(tmp_path, saved_figures):
    rng = np.random.default_rng(0)
    true = rng.normal(3, 1, 60)
    predicted = 0.7 * true + rng.normal(0, 0.6, 60)
    is_peak = np.arange(60) < 40
    path = plots.plot_logcounts(true, predicted, is_peak, tmp_path / "scatter.png", title="fold 0")
    assert path.stat().st_size > 1000
    (title, legend), = saved_figures
    overall = np.corrcoef(true, predicted)[0, 1]
    peaks = np.corrcoef(true[is_peak], predicted[is_peak])[0, 1]
    nonpeaks = np.corrcoef(true[~is_peak], predicted[~is_peak])[0, 1]
    assert title == f"fold 0\ncount r = {overall:.2f} (all 60)"
    assert legend == [f"nonpeaks (n=20, r={nonpeaks:.2f})", f"peaks (n=40, r={peaks:.2f})"]


def test_count_scatter_of_a_constant_prediction_says_r_is_undefined(tmp_path, saved_figures):
    plots.plot_logcounts(np.array([1.0, 2.0, 3.0]), np.zeros(3), np.ones(3, bool), tmp_path / "flat.png")
    (title, legend), = saved_figures
    assert title.endswith("count r = nan (all 3)") and legend == ["peaks (n=3, r=nan)"]


def test_loss_curve_title_gives_the_weight_the_log_implies(tmp_path, saved_figures):
    history = [{"epoch": e, "profile_loss": 400.0 - e, "logcounts_loss": 8.0 - e, "loss": 400.0 - e + 7.4 * (8.0 - e),
                "val_loss": 450.0, "val_profile_loss": 410.0, "val_logcounts_loss": 5.4} for e in range(3)]
    plots.plot_loss_curves(history, tmp_path / "loss.png")
    (title, legend), = saved_figures
    # every validation loss ties, so the kept (best) epoch is the first, marked 1-based
    assert title == "loss = profile + 7.4 x logcounts" and legend == ["training", "validation", "best epoch 1"]
