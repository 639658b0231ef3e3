"""Train the official ChromBPNet (PyPI ``chrombpnet`` 1.0.1) through its own training entry points.

Runs inside the official virtual environment (``benchmarks/setup_official.sh``) with
``TF_USE_LEGACY_KERAS=1``; ``benchmarks/vs_official_training.py`` starts it. The steps are those of
``chrombpnet bias pipeline`` and ``chrombpnet pipeline`` without the read preprocessing, reports,
interpretation and footprinting (inputs here are already a bigWig of Tn5 insertions):

1. ``helpers.hyperparameters.find_bias_hyperparams.main``: bias threshold, filtered nonpeaks, params TSV;
2. ``training.train.main`` with ``training/models/bpnet_model.py``: the bias model (``bias.h5``);
3. ``helpers.hyperparameters.find_chrombpnet_hyperparams.main``: outlier filter, counts loss weight,
   the bias model's log-counts rescaled on the nonpeaks, params TSV;
4. ``training.train.main`` with ``training/models/chrombpnet_with_bias_model.py``
   (``chrombpnet.h5``, ``chrombpnet_nobias.h5``);
5. the evaluation the official pipelines run after training, timed apart (``eval_*`` keys):
   ``training.predict.main`` of the bias model on its filtered peaks and nonpeaks (test chromosomes),
   of the ChromBPNet model on the filtered peaks and nonpeaks, and
   ``evaluation.marginal_footprints.marginal_footprinting.main`` of the bias-free model on the
   nonpeaks with the five Tn5 motifs (the bias-factorisation check). ``--evaluate-only`` runs just
   this step on a folder trained before.

Writes ``timing.json`` (seconds per step, epochs trained) into ``--out``.

Usage (in the official venv): python official_chrombpnet_run.py --genome G --bigwig B --peaks P
    --nonpeaks N --fold F --out DIR [--inputlen 2114 --outputlen 1000 --bias-filters 128 ...]
"""

import argparse
import json
import os
import pathlib
import time
import types


def _parse():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("genome", "bigwig", "peaks", "nonpeaks", "fold", "out"):
        p.add_argument(f"--{name}", required=True)
    p.add_argument("--inputlen", type=int, default=2114)
    p.add_argument("--outputlen", type=int, default=1000)
    p.add_argument("--bias-filters", type=int, default=128)
    p.add_argument("--bias-layers", type=int, default=4)
    p.add_argument("--filters", type=int, default=512)
    p.add_argument("--layers", type=int, default=8)
    p.add_argument("--max-jitter", type=int, default=500)
    p.add_argument("--negative-ratio", type=float, default=0.1)
    p.add_argument("--bias-threshold-factor", type=float, default=0.5)
    p.add_argument("--epochs", type=int, default=50)
    p.add_argument("--bias-epochs", type=int, default=50)
    p.add_argument("--patience", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--seed", type=int, default=1234)
    p.add_argument("--bias-model", default=None, help="skip steps 1-2 and use this bias .h5")
    p.add_argument("--evaluate-only", action="store_true", help="only step 5, on the models already in --out")
    return p.parse_args()


def _epochs_trained(log_path):
    lines = pathlib.Path(log_path).read_text().strip().splitlines()
    return len(lines) - 1


#: The Tn5 motifs the official ATAC pipeline footprints (chrombpnet/pipelines.py).
TN5_MOTIFS = [("tn5_1", "GCACAGTACAGAGCTG"), ("tn5_2", "GTGCACAGTTCTAGAGTGTGCAG"), ("tn5_3", "CCTCTACACTGTGCAGAA"),
              ("tn5_4", "GCACAGTTCTAGACTGTGCAG"), ("tn5_5", "CTGCACAGTGTAGAGTTGTGC")]


def evaluate(args, out: pathlib.Path) -> dict:
    """Step 5: the official code's test predictions, metrics and footprints; seconds per part."""
    import numpy

    # deepdish 0.3.7 (the official footprinting saves with it) still uses names NumPy 2 removed
    # (ComplexWarning, unicode_, string_, object): put them back under their NumPy 2 meanings
    for name, value in (("ComplexWarning", numpy.exceptions.ComplexWarning), ("unicode_", numpy.str_),
                        ("string_", numpy.bytes_), ("object", object)):
        if name not in numpy.__dict__:
            setattr(numpy, name, value)
    import chrombpnet.evaluation.marginal_footprints.marginal_footprinting as marginal_footprinting
    import chrombpnet.training.predict as predict

    evaluation = out / "evaluation"
    evaluation.mkdir(exist_ok=True)
    common = dict(genome=args.genome, bigwig=args.bigwig, chr_fold_path=args.fold, inputlen=args.inputlen,
                  outputlen=args.outputlen, batch_size=args.batch_size, seed=args.seed)
    timing = {}
    # (timing key, model, peaks, nonpeaks, prefix): the bias model (when trained here), then ChromBPNet
    predictions = [("eval_bias_predict_s", "bias", "bias_filtered.bias_peaks.bed", "bias_filtered.bias_nonpeaks.bed",
                    "bias"),
                   ("eval_main_predict_s", "chrombpnet", "main_filtered.peaks.bed", "main_filtered.nonpeaks.bed",
                    "chrombpnet")]
    for key, model, peaks, nonpeaks, prefix in predictions:
        if not (out / f"{model}.h5").is_file():
            continue
        began = time.time()
        predict.main(types.SimpleNamespace(**common, model_h5=str(out / f"{model}.h5"), peaks=str(out / peaks),
                                           nonpeaks=str(out / nonpeaks), output_prefix=str(evaluation / prefix)))
        timing[key] = time.time() - began
    motifs = evaluation / "motif_to_pwm.tsv"
    motifs.write_text("".join(f"{name}\t{consensus}\n" for name, consensus in TN5_MOTIFS))
    began = time.time()
    marginal_footprinting.main(types.SimpleNamespace(
        genome=args.genome, chr_fold_path=args.fold, model_h5=str(out / "chrombpnet_nobias.h5"),
        regions=args.nonpeaks, output_prefix=str(evaluation / "chrombpnet_nobias"), motifs_to_pwm=str(motifs),
        batch_size=args.batch_size, ylim=None))
    timing["eval_footprints_s"] = time.time() - began
    return timing


def main():
    """Train (or evaluate) the official ChromBPNet as its pipelines do and write the timings."""
    args = _parse()
    out = pathlib.Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    timing = json.loads((out / "timing.json").read_text()) if args.evaluate_only else train_models(args, out)
    timing.update(evaluate(args, out))
    (out / "timing.json").write_text(json.dumps(timing, indent=1))
    print(json.dumps(timing))


def train_models(args, out: pathlib.Path) -> dict:
    """Steps 1-4; returns their seconds and the epochs trained."""
    import chrombpnet.helpers.hyperparameters.find_bias_hyperparams as find_bias_hyperparams
    import chrombpnet.helpers.hyperparameters.find_chrombpnet_hyperparams as find_chrombpnet_hyperparams
    import chrombpnet.training.models.bpnet_model as bpnet_model
    import chrombpnet.training.models.chrombpnet_with_bias_model as chrombpnet_with_bias_model
    import chrombpnet.training.train as train

    timing = {}
    common = dict(genome=args.genome, bigwig=args.bigwig, chr_fold_path=args.fold, inputlen=args.inputlen,
                  outputlen=args.outputlen, outlier_threshold=0.9999)
    bias_h5 = args.bias_model
    if bias_h5 is None:
        began = time.time()
        find_bias_hyperparams.main(types.SimpleNamespace(
            **common, peaks=args.peaks, nonpeaks=args.nonpeaks, bias_threshold_factor=args.bias_threshold_factor,
            max_jitter=0, filters=args.bias_filters, n_dilation_layers=args.bias_layers,
            output_prefix=str(out / "bias_")))
        timing["bias_hyperparams_s"] = time.time() - began
        began = time.time()
        train.main(types.SimpleNamespace(
            genome=args.genome, bigwig=args.bigwig, peaks="None", nonpeaks=str(out / "bias_filtered.bias_nonpeaks.bed"),
            output_prefix=str(out / "bias"), chr_fold_path=args.fold, epochs=args.bias_epochs,
            early_stop=args.patience, batch_size=args.batch_size, learning_rate=args.lr,
            params=str(out / "bias_bias_model_params.tsv"), trackables=["loss", "val_loss"], seed=args.seed,
            architecture_from_file=bpnet_model.__file__))
        timing["bias_train_s"] = time.time() - began
        timing["bias_epochs"] = _epochs_trained(out / "bias.log")
        bias_h5 = str(out / "bias.h5")

    began = time.time()
    find_chrombpnet_hyperparams.main(types.SimpleNamespace(
        **common, peaks=args.peaks, nonpeaks=args.nonpeaks, negative_sampling_ratio=args.negative_ratio,
        max_jitter=args.max_jitter, filters=args.filters, n_dilation_layers=args.layers, bias_model_path=bias_h5,
        output_prefix=str(out / "main_")))
    timing["main_hyperparams_s"] = time.time() - began
    began = time.time()
    train.main(types.SimpleNamespace(
        genome=args.genome, bigwig=args.bigwig, peaks=str(out / "main_filtered.peaks.bed"),
        nonpeaks=str(out / "main_filtered.nonpeaks.bed"), output_prefix=str(out / "chrombpnet"),
        chr_fold_path=args.fold, epochs=args.epochs, early_stop=args.patience, batch_size=args.batch_size,
        learning_rate=args.lr, params=str(out / "main_chrombpnet_model_params.tsv"),
        trackables=["logcount_predictions_loss", "loss", "logits_profile_predictions_loss",
                    "val_logcount_predictions_loss", "val_loss", "val_logits_profile_predictions_loss"],
        seed=args.seed, architecture_from_file=chrombpnet_with_bias_model.__file__))
    timing["main_train_s"] = time.time() - began
    timing["main_epochs"] = _epochs_trained(out / "chrombpnet.log")
    return timing


if __name__ == "__main__":
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    main()
