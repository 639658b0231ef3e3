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
                "val_loss": 450.0, "val_profile_loss": 410.0, "val_logcounts_loss": 5.4} for e in range(1, 4)]
    plots.plot_loss_curves(history, tmp_path / "loss.png")
    (title, legend), = saved_figures
    # every validation loss ties, so the kept (best) epoch is the first, marked 1-based
    assert title == "loss = profile + 7.4 x logcounts" and legend == ["training", "validation", "best epoch 1"]


def test_profile_figure_draws_observed_and_predicted_reads_in_one_scale(tmp_path, monkeypatch):
    """Both curves are reads per bin on one axis.

    So a prediction equal to the expectation the reads were drawn from looks like the reads (per base,
    sparse reads make any prediction look flat).
    """
    from matplotlib.patches import StepPatch

    rng = np.random.default_rng(0)
    positions = np.arange(1000) - 500
    expected = 0.02 + 0.6 * np.exp(-(positions / 60.0) ** 2)  # a peak of 0.6 reads per base at the summit
    observed = rng.poisson(expected).astype(np.float64)
    drawn, original = [], plots._save
    monkeypatch.setattr(plots, "_save", lambda figure, path: drawn.append(figure) or original(figure, path))
    plots.plot_profiles([observed], [expected], ["a peak"], tmp_path / "profiles.png")
    (figure,) = drawn
    (axis,) = figure.axes  # one axis: one scale for both
    steps = [patch for patch in axis.patches if isinstance(patch, StepPatch)]
    assert len(steps) == 2 and axis.get_ylabel() == "reads per 20 bp"
    (seen, seen_edges, _), (guess, guess_edges, _) = [step.get_data() for step in steps]
    np.testing.assert_array_equal(seen_edges, guess_edges)  # the same 50 bins of 20 bp
    assert len(seen) == 50 and seen_edges[0] == -500 and seen_edges[-1] == 500
    assert seen.sum() == observed.sum() and guess.sum() == pytest.approx(expected.sum())  # reads, both
    assert np.corrcoef(seen, guess)[0, 1] > 0.9 and np.corrcoef(observed, expected)[0, 1] < 0.6
