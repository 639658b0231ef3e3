"""``dream-keras quickstart --synthetic``: the ATAC chain on a generated data set a model can learn.

The bundled mouse data hold 87 peaks: enough to run every step, too few to learn counts. Here the
data come from :func:`data_prep.make_synthetic_dataset` with ``planted_motif="CTCF"``: four 2 Mb
chromosomes (test chr1, valid chr2, train chr3-chr4), 4,000 peaks whose height grows with the number
(0-4) and match of the CTCF sites planted near each summit, and Tn5 insertions biased towards the
Tn5 sequence preference. The chain is the real one (nonpeaks, bias model, bias-factorised BPNet,
evaluation) with 1,024 bp inputs and 512 bp outputs, then the bias-free model's marginal footprints
of CTCF and of the Tn5 motifs: a model that learned the sequence rule responds to CTCF and, the bias
being factorised out, hardly to Tn5. The models need about 500 steps before the counts follow the
sites (both the official code and dream-keras, see benchmarks/vs_official_training.py): 20 epochs
of ~34 steps. Last, the official pipeline's motif step on 600 sampled peaks: profile contributions
of the bias-free model and of the bias model, TF-MoDISco, patterns named against the bundled
database (motifs/bias_free/motifs.html, motifs/bias/motifs.html): the bias-free model's top pattern
is CTCF and none is a Tn5 motif, while the bias model's patterns are Tn5's. The contributions take
10 references and 8 path steps per peak (the defaults: 20 and 32) to stay within minutes.
"""

from __future__ import annotations

import json
import pathlib
import time

import numpy as np

#: The synthetic quickstart's sizes (see the module docstring).
SYNTHETIC = {"n_chroms": 4, "chrom_size": 2_000_000, "n_peaks": 4000, "planted_motif": "CTCF", "data_seed": 3,
             "input_length": 1024, "output_length": 512, "max_jitter": 128, "nonpeak_ratio": 2,
             "bias_options": {"filters": 16, "n_dil_layers": 3}, "bias_epochs": 4,
             "main_options": {"filters": 32, "n_dil_layers": 4}, "main_epochs": 20, "patience": 5,
             "batch_size": 64, "seed": 0, "footprint_backgrounds": 64,
             "motif_peaks": 600, "motif_contribution_options": {"n_baselines": 10, "steps": 8}}
#: What the synthetic quickstart writes in its folder.


def footprint_summary(nobias_model, backgrounds, planted: str, batch_size: int) -> dict:
    """Marginal footprints of the planted motif and the Tn5 motifs on the bias-free model.

    Args:
        nobias_model: model with ``profile`` and ``logcounts`` outputs.
        backgrounds: one-hot ``(n, L, 4)`` background sequences (test nonpeaks).
        planted: name of the planted motif (a bundled motif name, e.g. ``CTCF``).
        batch_size: sequences per model call.

    Returns:
        ``{motif: {"count_gain": (predicted total + 1) with the motif / without, "profile_max_gain": the
        footprint's peak / the baseline's, "normalized_max": the official footprint max}}``.
    """
    from dream_keras.interpret import marginal_footprints
    from dream_keras.interpret.motif_sequences import resolve_motifs

    motifs = resolve_motifs([planted, "tn5"])
    footprints = marginal_footprints(nobias_model, backgrounds, motifs, batch_size=batch_size)
    # (counts + 1) ratios: exp of the log-count change, defined even where a model predicts ~0 counts
    return {name: {"count_gain": float((f.counts + 1.0) / (f.baseline_counts + 1.0)),
                   "profile_max_gain": float(f.max / max(float(f.baseline_profile.max()), 1e-12)),
                   "normalized_max": float(f.normalized_max), "profile": f.profile.tolist(),
                   "baseline_profile": f.baseline_profile.tolist()}
            for name, f in footprints.items()}


def plot_footprints(summary: dict, planted: str, path: pathlib.Path) -> pathlib.Path:
    """Predicted counts around the inserted motif, planted motif against the Tn5 motifs."""
    from dream_keras.plots import _pyplot, _save

    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(7, 3.6))
    for name, values in summary.items():
        profile = np.asarray(values["profile"])
        positions = np.arange(len(profile)) - len(profile) // 2
        axis.plot(positions, profile, linewidth=2.0 if name == planted else 0.9,
                  label=f"{name} (counts x{values['count_gain']:.2f})")
    axis.plot(positions, np.asarray(next(iter(summary.values()))["baseline_profile"]), "k:", linewidth=0.8,
              label="no motif")
    axis.set_xlabel("position from the inserted motif (bp)")
    axis.set_ylabel("predicted counts")
    axis.set_title(f"bias-free model: marginal footprints ({planted} planted; Tn5 is the enzyme bias)", fontsize=9)
    axis.legend(fontsize=7)
    return _save(figure, path)


def motif_summary(models: dict, genome, peaks, folder: pathlib.Path, input_length: int, most_peaks: int,
                  contribution_options: dict) -> dict:
    """The official pipeline's motif step on each model, on the same sampled peaks.

    Args:
        models: ``{label: .keras path}``, e.g. ``{"bias_free": ..., "bias": ...}``.
        genome: the FASTA.
        peaks: the narrowPeak file.
        folder: one subfolder per label (``motifs.html``, ``motifs.tsv``, ``modisco_results.h5``, ...).
        input_length: the models' input length.
        most_peaks: peaks sampled (the official pipeline's sampling).
        contribution_options: more arguments of the contributions (references, path steps).

    Returns:
        ``{label: {"patterns", "top_positive", "top_match", "top_match_q", "named", "enzyme_patterns",
        "motif_check", "page"}}`` (``top_*`` are ``None`` without a positive pattern).
    """
    from data_prep import extract_windows, read_regions
    from dream_keras.interpret.motifs.bias_check import motif_bias_check
    from dream_keras.motif_settings import MOTIF_CONTRIBUTION_METHOD, MOTIF_OUTPUT
    from dream_keras.tasks.atac.model_motifs import model_motifs, sample_peaks
    from dream_keras.tasks.atac.prediction import load_profile_count_model

    chosen = sample_peaks(read_regions(peaks), genome, input_length, most_peaks)
    windows = extract_windows(chosen, genome, None, input_length=input_length, output_length=1, progress=False)
    summary = {}
    for label, path in models.items():
        print(f"      {label.replace('_', '-')} model:", flush=True)
        discovery, _ = model_motifs(load_profile_count_model(path), windows, folder / label,
                                    method=MOTIF_CONTRIBUTION_METHOD, output=MOTIF_OUTPUT,
                                    contribution_options=contribution_options, model_path=path,
                                    title="dream-keras quickstart --synthetic: motifs of the "
                                          f"{label.replace('_', '-')} model")
        table = discovery.table
        positive = table[table["sign"] == "pos"]
        top = positive.iloc[0] if len(positive) else None
        summary[label] = {"patterns": int(len(table)), "top_positive": None if top is None else str(top["pattern"]),
                          "top_seqlets": None if top is None else int(top["n_seqlets"]),
                          "top_match": None if top is None else " ".join(dict.fromkeys([str(top["match_1"]),
                                                                                         str(top["match_1_name"])])),
                          "top_match_q": None if top is None else float(top["match_1_q"]),
                          "top_match_p": None if top is None else float(top["match_1_p"]),
                          "named": discovery.summary["named"], "enzyme_patterns": discovery.enzyme_patterns,
                          "motif_check": motif_bias_check(table, discovery.summary["q_threshold"]),
                          "page": str(discovery.folder / "motifs.html")}
    return summary


def _motif_lines(summary: dict) -> str:
    lines = []
    for label, found in summary.items():
        top = (f"top positive pattern {found['top_positive']} ({found['top_seqlets']} seqlets) = {found['top_match']} "
               f"(q {found['top_match_q']:.2g}, p {found['top_match_p']:.2g})" if found["top_positive"]
               else "no positive pattern")
        named = found["motif_check"]["enzyme_patterns"]
        enzyme = ", ".join(f"{e['pattern']} ~ {e['match']} (q {e['q_value']:.2g})" for e in named[:3]) or "none"
        if len(named) > 3:
            enzyme += f" and {len(named) - 3} more"
        lines.append(f"  {label.replace('_', '-')} model: {found['patterns']} pattern(s); {top}; Tn5/DNase "
                     f"motifs among them: {enzyme}")
    check = summary.get("bias_free", {}).get("motif_check", {})
    if check:
        lines.append(f"  motif check (no enzyme motif among the bias-free model's patterns): {check['verdict']}")
    return "\n".join(lines)


def run(args) -> int:
    """Generate the data, train bias and main model, evaluate, footprint, find motifs; print what was learned.

    ``--overwrite`` builds the new folder beside the old one and swaps it in once finished
    (:func:`data_prep.outputs.open_output`).
    """
    from data_prep.errors import InputError
    from data_prep.outputs import open_output

    if getattr(args, "resume", False):
        raise InputError("quickstart --synthetic always starts afresh (it takes minutes); --resume continues the "
                         "bundled-data quickstart only")
    started = time.time()
    with open_output(args.out, overwrite=args.overwrite) as output:
        summary = _run_in(args, output.make(), started)
    print(output.relocated(summary))
    return 0


def _run_in(args, out: pathlib.Path, started: float) -> str:
    """The five steps into ``out``; returns the closing summary."""
    from data_prep import make_nonpeaks, make_synthetic_dataset, read_regions, write_narrowpeak
    from data_prep.atac.inputs import resolve_folds
    from data_prep.folds import load_fold, write_fold
    from data_prep.outputs import write_json_atomic
    from dream_keras.tasks.atac.bias_stage import BiasTrainParameters, format_bias_summary, train_bias
    from dream_keras.tasks.atac.train import AtacTrainParameters, format_fold_summary, train_fold

    q = SYNTHETIC
    print(f"dream-keras quickstart --synthetic: {q['n_chroms']} x {q['chrom_size'] / 1e6:.1f} Mb, "
          f"{q['n_peaks']:,} peaks "
          f"whose height follows the planted {q['planted_motif']} sites, Tn5-biased insertions -> {out}\n", flush=True)
    print("[1/5] synthetic data (data_prep.make_synthetic_dataset)", flush=True)
    data = make_synthetic_dataset(out / "data", n_chroms=q["n_chroms"], chrom_size=q["chrom_size"],
                                  n_peaks=q["n_peaks"], planted_motif=q["planted_motif"], seed=q["data_seed"],
                                  progress=False)
    write_fold(out / "data" / "folds" / "fold_0.json", load_fold(data.fold))
    (fold,) = resolve_folds("0", out / "data" / "folds")
    nonpeaks_path = out / "nonpeaks.narrowPeak"
    nonpeaks = make_nonpeaks(data.genome, data.peaks, data.chrom_sizes, fold.splits,
                             input_length=q["input_length"], stride=q["input_length"] // 2,
                             ratio_trainvalid=q["nonpeak_ratio"], ratio_test=q["nonpeak_ratio"], seed=q["seed"])
    write_narrowpeak(nonpeaks, nonpeaks_path)
    print(f"      {q['n_peaks']:,} peaks, {len(nonpeaks):,} GC-matched nonpeaks; planted sites in "
          f"{data.planted}\n", flush=True)

    common = {"genome": str(data.genome), "bigwig": str(data.bigwig), "peaks": str(data.peaks),
              "nonpeaks": str(nonpeaks_path), "fold": "0", "fold_dir": str(out / "data" / "folds"),
              "input_length": q["input_length"], "output_length": q["output_length"], "patience": q["patience"],
              "batch_size": q["batch_size"], "seed": q["seed"]}
    print("[2/5] bias model (dream-keras bias train)", flush=True)
    bias = train_bias(BiasTrainParameters(**common, model_options=dict(q["bias_options"]),
                                          epochs=args.bias_epochs or q["bias_epochs"]), fold, out / "bias")
    print("\n[3/5] bias-factorised BPNet (dream-keras train)", flush=True)
    main = train_fold(AtacTrainParameters(**common, bias_model=str(bias.model_path), max_jitter=q["max_jitter"],
                                          model_options=dict(q["main_options"]),
                                          epochs=args.epochs or q["main_epochs"]), fold, out / "chrombpnet")

    print("\n[4/5] marginal footprints of the bias-free model on test nonpeaks (dream-keras footprints)", flush=True)
    from data_prep import extract_windows
    from dream_keras.tasks.atac.prediction import load_profile_count_model

    test_nonpeaks = read_regions(nonpeaks_path)
    test_nonpeaks = test_nonpeaks[test_nonpeaks["chrom"].isin(fold.splits["test"])].head(q["footprint_backgrounds"])
    backgrounds = extract_windows(test_nonpeaks, data.genome, data.bigwig, q["input_length"], q["output_length"],
                                  progress=False).sequences
    nobias = load_profile_count_model(main.run.models / "model_nobias.keras")
    summary = footprint_summary(nobias, backgrounds, q["planted_motif"], q["batch_size"])
    write_json_atomic(out / "footprints.json", summary)
    figure = plot_footprints(summary, q["planted_motif"], out / "footprints.png")

    print("\n[5/5] motifs of the bias-free and the bias model (dream-keras contribs + motifs)", flush=True)
    motifs = motif_summary({"bias_free": main.run.models / "model_nobias.keras", "bias": bias.model_path},
                           data.genome, data.peaks, out / "motifs", q["input_length"], q["motif_peaks"],
                           dict(q["motif_contribution_options"]))
    write_json_atomic(out / "motifs" / "summary.json", motifs)

    counts = json.loads((main.run.evaluation / "metrics.json").read_text())["counts_metrics"]
    planted = summary[q["planted_motif"]]
    tn5 = max(summary[name]["count_gain"] for name in summary if name != q["planted_motif"])
    return "\n".join(["", "=" * 78, format_bias_summary(bias), "", format_fold_summary(main), "=" * 78,
                      f"what was learned (test chromosome {', '.join(fold.splits['test'])}):\n"
          f"  count Pearson r: peaks {counts['peaks']['pearsonr']:.3f}, peaks and nonpeaks "
          f"{counts['peaks_and_nonpeaks']['pearsonr']:.3f} (scatter: {main.run.evaluation / 'logcounts_scatter.png'})\n"
          f"  bias-free model, predicted counts with the motif inserted / without: {q['planted_motif']} "
          f"x{planted['count_gain']:.2f}, strongest Tn5 motif x{tn5:.2f} ({figure})\n"
          f"motifs (TF-MoDISco on profile contributions, named against JASPAR 2024 and the enzyme motifs; "
          f"{out / 'motifs' / 'bias_free' / 'motifs.html'}, {out / 'motifs' / 'bias' / 'motifs.html'}):\n"
          f"{_motif_lines(motifs)}\n"
          f"quickstart --synthetic finished in {(time.time() - started) / 60:.1f} min. Everything is in {out}."])


__all__ = ["SYNTHETIC", "footprint_summary", "motif_summary", "plot_footprints", "run"]
