"""Benchmark: dream-keras DeepSHAP against the official ChromBPNet DeepSHAP, same model, sequences, references.

The official side runs the PyPI ``chrombpnet`` 1.0.1 interpretation code itself
(``chrombpnet.evaluation.interpret.interpret.interpret``: its ``shap.explainers.deep.TFDeepExplainer``
on the model's summed log-counts and on its softmax-weighted mean-normalised logits, its
``combine_mult_and_diffref``) with the shap release it pins (``kundajelab-shap==1``), in its own
virtual environment (``benchmarks/setup_official.sh``, then ``pip install kundajelab-shap==1
scikit-image "ipython<8.13"`` there) under ``TF_USE_LEGACY_KERAS=1``. Its reference function
(``shuffle_several_times``: deeplift's dinucleotide shuffle, unseeded) is replaced by one that hands
back the same references dream-keras draws (``dream_keras.interpret.deepshap.shuffled_references``),
so both sides explain the same sequence against the same 20 references; its HDF5 writer
(``deepdish``, float16) is bypassed and the float scores taken before it.

Models: the official small ``chrombpnet_nobias.h5`` (32 filters, 8 dilated layers, 2,114 -> 1,000) and
``bias.h5`` (16 / 2) from ``tests/data/chrombpnet_ref`` (written by the official code), and with
``--full-size N`` a ChromBPNet-size tower (512 filters, 8 dilated layers, random weights) built by the
official code's own model function and saved as ``.h5``, explained on the last ``N`` sequences (peak windows; its
DeepSHAP takes about a minute per sequence on a CPU); dream-keras loads each file with
``baselines.chrombpnet.load_official_h5``. Sequences: the six golden inputs of that folder (with N
runs) and windows around the first peaks of ``tests/data/atac_mm10``.

Prints, per model and target (counts, profile), the largest absolute difference of the
hypothetical scores (``shap``) and of the projected scores (``projected_shap``), the same relative to
the largest official score, and each side's sequences/s (the machine's CPU and load average too);
then each side's summation-to-delta error (float64 deltas from predictions) and, for the small
models, each side's distance from dream-keras DeepSHAP of the same model in float64.

    python benchmarks/deepshap_vs_official.py --official-python /work/official-venv-deepshap/bin/python
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
REFERENCE_MODELS = ROOT / "tests" / "data" / "chrombpnet_ref"
MODEL_FILES = {"nobias": "small_chrombpnet_nobias.h5", "bias": "small_bias.h5"}
TARGETS = ("counts", "profile")
OUR_OUTPUTS = {"counts": "logcounts", "profile": "profile"}


def _sequences(n_peaks: int):
    """The six golden one-hot inputs and ``n_peaks`` real windows, (n, 2114, 4) float32."""
    import numpy as np

    from data_prep import extract_windows

    golden = np.load(REFERENCE_MODELS / "small_golden.npz")["sequence_onehot"].astype(np.float32)
    atac = ROOT / "tests" / "data" / "atac_mm10"
    windows = extract_windows(atac / "peaks.narrowPeak", atac / "genome.fa", None, golden.shape[1], 1,
                              progress=False)
    return np.concatenate([golden, windows.sequences[:n_peaks].astype(np.float32)])


def _official_full_size(path: str) -> None:
    """Build the ChromBPNet-size tower with the official code's model function and save it as ``path``."""
    from chrombpnet.training.models.bpnet_model import getModelGivenModelOptionsAndWeightInits

    params = {"filters": 512, "n_dil_layers": 8, "counts_loss_weight": 10.0, "inputlen": 2114, "outputlen": 1000}
    getModelGivenModelOptionsAndWeightInits(argparse.Namespace(seed=1234, learning_rate=1e-3), params).save(path)


def official_worker(data_path: str, out_path: str) -> None:
    """Run the official interpretation (in the official virtual environment) on the saved inputs."""
    import numpy as np

    data = np.load(data_path)
    paths = json.loads(data["models"].item())
    if "full" in paths:  # saved before the official module switches eager execution off
        _official_full_size(paths["full"])
    if not hasattr(np, "ComplexWarning"):  # deepdish (imported by the official module) predates NumPy 2
        np.ComplexWarning = np.exceptions.ComplexWarning
    import chrombpnet.evaluation.interpret.input_utils as input_utils
    import chrombpnet.evaluation.interpret.interpret as official
    import chrombpnet.evaluation.interpret.shap_utils as shap_utils

    sequences, references = data["sequences"], data["references"]

    def same_references(s, numshuffles=20):
        # The official function's signature; the references of the sequence it is given.
        index = next(i for i, sequence in enumerate(sequences) if np.array_equal(sequence, s[0]))
        return [references[index]]

    captured = {}

    def capture(seqs, scores):
        captured[len(captured)] = np.asarray(scores, dtype=np.float64)
        return {}

    shap_utils.shuffle_several_times = same_references
    official.generate_shap_dict = capture
    official.dd.io.save = lambda *args, **kwargs: None
    results = {}
    for name, path in paths.items():
        model = input_utils.load_model_wrapper(argparse.Namespace(model_h5=path))
        chosen = sequences[-int(data["full_size"]):] if name == "full" else sequences
        for target in TARGETS:
            captured.clear()
            started = time.perf_counter()
            with tempfile.TemporaryDirectory() as folder:
                official.interpret(model, chosen, os.path.join(folder, "x"), [target])
            results[f"{name}_{target}_seconds"] = time.perf_counter() - started
            results[f"{name}_{target}"] = captured[0]
    np.savez(out_path, **results)


def _ours(path: str, sequences, references, batch_size: int):
    """dream-keras DeepSHAP of one official model file: ``{target: hypothetical}``, ``{target: seconds}``."""
    from baselines.chrombpnet import load_official_h5
    from dream_keras.interpret import deepshap_with_references

    model = load_official_h5(path)
    scores, seconds = {}, {}
    for target in TARGETS:
        deepshap_with_references(model, sequences, references, OUR_OUTPUTS[target], batch_size=batch_size)
        started = time.perf_counter()  # the second call: tracing and compiling are not timed
        scores[target] = deepshap_with_references(model, sequences, references, OUR_OUTPUTS[target],
                                                  batch_size=batch_size).hypothetical.astype("float64")
        seconds[target] = time.perf_counter() - started
    return scores, seconds


def _float64_model(path: str):
    """The official file loaded by dream-keras with every layer in float64."""
    import keras

    from baselines.chrombpnet import load_official_h5

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("float64")
    try:
        return load_official_h5(path)
    finally:
        keras.config.set_dtype_policy(previous)


def _float64_scores(path: str, sequences, references):
    """Dream-keras DeepSHAP hypothetical contributions with the model in float64.

    Returns ``{target: hypothetical}``: the rules computed with 16 digits, a yardstick for both float32 sides.
    """
    from dream_keras.interpret import deepshap_with_references

    model = _float64_model(path)
    return {target: deepshap_with_references(model, sequences.astype("float64"), references.astype("float64"),
                                             OUR_OUTPUTS[target], batch_size=40).hypothetical.astype("float64")
            for target in TARGETS}


def _mean_deltas(path: str, sequences, references):
    """Each target's prediction minus its mean prediction over the references, in float64.

    Returns ``{target: (n,)}``: target(x) - mean over references of target(r), from dream-keras's predictions
    of the model (the profile's weights held at the pair's mean, as DeepSHAP holds them).
    """
    import numpy as np

    from dream_keras.interpret.predict import predict_outputs

    # float64 predictions: the small models' log-counts change by 1e-5 between sequence and
    # reference, near float32's rounding of log-counts of order 1.
    model = _float64_model(path)
    n, k = references.shape[:2]
    own = {key: np.asarray(value) for key, value in model(sequences.astype(np.float64)).items()}
    other = predict_outputs(model, references.reshape(n * k, *references.shape[2:]).astype(np.float64),
                            batch_size=8)

    def centred(logits):
        logits = logits.astype(np.float64)
        return logits - logits.mean(axis=1, keepdims=True)

    def softmax(values):
        weights = np.exp(values - values.max(axis=1, keepdims=True))
        return weights / weights.sum(axis=1, keepdims=True)

    c_x, c_r = np.repeat(centred(own["profile"]), k, axis=0), centred(other["profile"])
    profile = ((softmax(c_x) + softmax(c_r)) / 2 * (c_x - c_r)).sum(axis=1).reshape(n, k).mean(axis=1)
    counts = own["logcounts"][:, 0].astype(np.float64) - other["logcounts"][:, 0].reshape(n, k).mean(axis=1)
    return {"counts": counts, "profile": profile}


def _machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
                 platform.processor())
    return f"{model}, {os.cpu_count()} CPU(s) visible, load average {open('/proc/loadavg').read().split()[:3]}"


def main(argv=None) -> int:
    """Compare dream-keras DeepSHAP with the official implementation and print the figures.

    Args:
        argv: command-line arguments (default: ``sys.argv[1:]``); ``--worker DATA OUT`` runs the official side.

    Returns:
        The exit status: 0, or 1 when the official side failed.
    """
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--official-python", default="/work/official-venv-deepshap/bin/python",
                        help="python of the official virtual environment (with kundajelab-shap)")
    parser.add_argument("--models", nargs="+", default=list(MODEL_FILES), choices=list(MODEL_FILES))
    parser.add_argument("--peaks", type=int, default=10, help="real peak windows besides the six golden inputs")
    parser.add_argument("--references", type=int, default=20, help="dinucleotide shuffles per sequence")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=40, help="dream-keras: references per call")
    parser.add_argument("--full-size", type=int, default=0, metavar="N",
                        help="also a 512-filter, 8-layer tower built by the official code, on the last N sequences")
    parser.add_argument("--worker", nargs=2, metavar=("DATA", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        official_worker(*args.worker)
        return 0

    import numpy as np

    from dream_keras.interpret.deepshap import shuffled_references

    sequences = _sequences(args.peaks)
    references = shuffled_references(sequences, 0, len(sequences), args.references, args.seed)
    print(f"{len(sequences)} sequences x {args.references} references, 2,114 bp; {_machine()}")
    with tempfile.TemporaryDirectory() as folder:
        data, out = os.path.join(folder, "inputs.npz"), os.path.join(folder, "official.npz")
        paths = {name: str(REFERENCE_MODELS / MODEL_FILES[name]) for name in args.models}
        if args.full_size:
            paths["full"] = os.path.join(folder, "full_size_bpnet.h5")
        np.savez(data, sequences=sequences, references=references, models=json.dumps(paths),
                 full_size=args.full_size)
        env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONPATH": ""}
        done = subprocess.run([args.official_python, os.path.abspath(__file__), "--worker", data, out], env=env,
                              capture_output=True, text=True)
        if done.returncode != 0:
            print(f"the official side failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
            return 1
        official = dict(np.load(out))

        print("\nmax |official|: the largest official score; diff: ours - official; summation error: largest\n"
              "|sum of projected scores - (target(x) - mean target(r))| / largest |delta| over the windows without\n"
              "N, deltas from float64 predictions")
        print(f"\n{'model':7s} {'target':8s} {'scores':10s} {'max |official|':>14s} {'max abs diff':>12s} "
              f"{'max rel diff':>12s} {'official seq/s':>14s} {'ours seq/s':>10s}")
        summation, yardstick = [], []
        for name, path in paths.items():
            # The full-size tower: the last N sequences (peak windows), one per call (memory).
            n = args.full_size if name == "full" else len(sequences)
            chosen, chosen_references = sequences[-n:], references[-n:]
            ours, seconds = _ours(path, chosen, chosen_references,
                                  args.references if name == "full" else args.batch_size)
            deltas = _mean_deltas(path, chosen, chosen_references)
            exact = _float64_scores(path, chosen, chosen_references) if name != "full" else None
            for target in TARGETS:
                theirs = official[f"{name}_{target}"]
                rates = (n / float(official[f"{name}_{target}_seconds"]), n / seconds[target])
                for label, transform in (("shap", lambda h: h), ("projected", lambda h, chosen=chosen: h * chosen)):
                    a, b = transform(ours[target]), transform(theirs)
                    scale = np.abs(b).max()
                    diff = np.abs(a - b).max()
                    print(f"{name:7s} {target:8s} {label:10s} {scale:14.6g} {diff:12.3g} {diff / scale:12.3g} "
                          f"{rates[0]:14.3f} {rates[1]:10.3f}")
                if exact is not None:
                    scale = np.abs(exact[target]).max()
                    yardstick.append((name, target, *(np.abs(h - exact[target]).max() / scale
                                                      for h in (official[f"{name}_{target}"], ours[target]))))
                # Windows without N only: at an N (no base) the projected score is 0 whatever the reference holds.
                whole = chosen.sum(axis=2).min(axis=1) == 1
                if whole.any():
                    scale = np.abs(deltas[target][whole]).max()
                    summation.append((name, target, *(
                        np.abs((h * chosen).sum(axis=(1, 2)) - deltas[target])[whole].max() / scale
                        for h in (theirs, ours[target]))))
    print(f"\n{'model':7s} {'target':8s} {'summation error: official':>26s} {'ours':>10s}")
    for name, target, theirs, mine in summation:
        print(f"{name:7s} {target:8s} {theirs:26.3g} {mine:10.3g}")
    print("\nlargest |shap - shap of the float64 model (dream-keras)| / largest |float64 shap|")
    print(f"{'model':7s} {'target':8s} {'official':>10s} {'ours':>10s}")
    for name, target, theirs, mine in yardstick:
        print(f"{name:7s} {target:8s} {theirs:10.3g} {mine:10.3g}")
    print(f"\nload average at the end: {open('/proc/loadavg').read().split()[:3]}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
