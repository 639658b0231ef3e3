"""Benchmark: in-silico mutagenesis and contribution scores against plain prediction.

Rows (one model each, random one-hot sequences, weights as built):

- ``bpnet`` 512 filters / 8 dilated layers, ``profile_count``, 2,114 bp (6,342 mutants per sequence);
- ``dream_cnn`` + ``soft_bins``, 150 bp x 6 channels (450 mutants per sequence).

For each: the model's plain prediction throughput (``predict_on_batch`` on ready-made batches of
the same size as ISM uses, after a warm-up; timed before and after ISM and averaged), ISM's
throughput in mutants/s over its mutant loop (building batches in a background thread +
predicting + scoring), their ratio (the target is at least 0.90), ISM sequences/s (mutants/s
divided by the mutants of a whole sequence), and where the ISM time went: inside the model, and
building mutants (in the background thread, so it overlaps the model). On a CPU a whole bpnet
sequence takes an hour, so ISM runs over ``--positions`` central positions of each sequence and
sequences/s is extrapolated from mutants/s. The parents' own predictions (one per sequence,
amortised over 6,342 mutants in a whole-sequence run) are reported separately.

Contribution rows (TensorFlow backend only): gradient x input sequences/s (one gradient per
sequence), and integrated gradients on one sequence: dream_cnn with ``--ig-baselines`` x
``--ig-steps`` gradients (default 20 x 32 = 640; 20 x 4 with --quick), bpnet with 1 x 16 (1 x 8)
to keep a CPU run short (its cost grows in proportion to the gradients per sequence).

DeepSHAP rows: regions/s with ``--deepshap-references`` (20, the official number) dinucleotide-shuffled
references per region, all of a region's references in one call (XLA), the counts and the profile
target of bpnet 512/8 at 2,114 bp and the expression of dream_cnn; timed on ``--deepshap-sequences``
regions (2; 1 with --quick) after an untimed call of the same shape (tracing, compiling), the
references drawn as part of the timed call. Each row also gives the hours for 10,000 peaks at that
rate. ``--tiny`` swaps in tiny models (a smoke run of this script, the figures meaningless).

    python benchmarks/interpret.py            # about ten minutes on 2 CPU cores
    python benchmarks/interpret.py --quick    # fewer positions and sequences (about ten minutes too on a loaded CPU)
    # on a GPU, whole sequences; batch sizes that divide the mutants of a sequence (6,342 = 21 x 302,
    # 2 x 450 = 900), so that no short last batch is compiled inside the timed loop:
    KERAS_BACKEND=jax python benchmarks/interpret.py --positions 0 --sequences 8 --bpnet-batch 302 \
        --dream-batch 900 --dream-sequences 64
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _random_onehot(n: int, length: int, channels: int, seed: int):
    import numpy as np

    x = np.zeros((n, length, channels), dtype=np.float32)
    x[..., :4] = np.eye(4, dtype=np.float32)[np.random.default_rng(seed).integers(0, 4, (n, length))]
    return x


def _plain_throughput(model, batch, repeats: int) -> float:
    model.predict_on_batch(batch)  # warm-up: traces the predict function for this batch shape
    started = time.perf_counter()
    for _ in range(repeats):
        model.predict_on_batch(batch)
    return repeats * len(batch) / (time.perf_counter() - started)


def _ism_row(name, model, length, channels, batch_size, n_sequences, positions, repeats):
    from dream_keras.interpret.ism import IsmTiming, ism_outputs

    sequences = _random_onehot(n_sequences, length, channels, seed=1)
    batch = _random_onehot(batch_size, length, channels, seed=2)
    centre = length // 2
    chosen = slice(centre - positions // 2, centre - positions // 2 + positions) if positions else None
    # Plain prediction is timed before and after ISM and averaged: the machine's load drifts.
    plain_before = _plain_throughput(model, batch, repeats)
    timing = IsmTiming()
    started = time.perf_counter()
    ism_outputs(model, sequences, None, batch_size=batch_size, positions=chosen, timing=timing)
    wall = time.perf_counter() - started
    plain = (plain_before + _plain_throughput(model, batch, repeats)) / 2
    mutants_per_s = timing.mutants / timing.total_s
    per_sequence = 3 * length
    return {
        "model": name, "length": length, "batch": batch_size, "mutants": timing.mutants,
        "plain_mutants_per_s": plain, "ism_mutants_per_s": mutants_per_s, "ratio": mutants_per_s / plain,
        "ism_sequences_per_s": mutants_per_s / per_sequence, "model_share": timing.model_s / timing.total_s,
        "build_share": timing.build_s / timing.total_s, "parents_s": wall - timing.total_s,
        "extrapolated": bool(positions), "positions": positions or length,
    }


def _contribution_rows(name, model, length, channels, batch_size, n_sequences, ig_sequences, ig_baselines,
                       ig_steps):
    from dream_keras.interpret import contributions

    sequences = _random_onehot(n_sequences, length, channels, seed=3)
    # Warm-ups compile the gradient for the batch shapes the timed calls use.
    contributions(model, sequences[:batch_size], "gradient_x_input", batch_size=batch_size)
    started = time.perf_counter()
    contributions(model, sequences, "gradient_x_input", batch_size=batch_size)
    gradient_rate = n_sequences / (time.perf_counter() - started)
    contributions(model, sequences[:1], "integrated_gradients", n_baselines=ig_baselines, steps=ig_steps,
                  batch_size=batch_size)
    started = time.perf_counter()
    contributions(model, sequences[:ig_sequences], "integrated_gradients", n_baselines=ig_baselines, steps=ig_steps,
                  batch_size=batch_size)
    ig_rate = ig_sequences / (time.perf_counter() - started)
    return [{"model": name, "method": "gradient_x_input", "gradients_per_sequence": 1,
             "sequences_per_s": gradient_rate},
            {"model": name, "method": f"integrated_gradients {ig_baselines}x{ig_steps}",
             "gradients_per_sequence": ig_baselines * ig_steps, "sequences_per_s": ig_rate}]


def _deepshap_rows(name, model, length, channels, outputs, n_sequences, n_references, batch_size):
    from dream_keras.interpret import contributions

    sequences = _random_onehot(n_sequences, length, channels, seed=4)
    rows = []
    for output in outputs:
        # Untimed: traces and compiles the explain function for this batch shape.
        contributions(model, sequences, "deepshap", output, n_baselines=n_references, batch_size=batch_size)
        started = time.perf_counter()
        contributions(model, sequences, "deepshap", output, n_baselines=n_references, batch_size=batch_size)
        rate = n_sequences / (time.perf_counter() - started)
        rows.append({"model": name, "method": f"deepshap {output}, {n_references} refs",
                     "gradients_per_sequence": n_references, "sequences_per_s": rate,
                     "hours_per_10k": 10_000 / rate / 3600, "load": _load_average()})
    return rows


def _load_average() -> str:
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def _cpu_model() -> str:
    import platform

    try:
        return next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or "unknown CPU"


def main(argv=None) -> int:
    """Time ISM and contribution scores and print the rows."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer positions and sequences")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny models and inputs: a smoke run of the script (figures meaningless)")
    parser.add_argument("--positions", type=int, default=None,
                        help="bpnet: central positions mutated per sequence (default 32; 8 with --quick; 0: all)")
    parser.add_argument("--sequences", type=int, default=1, help="bpnet sequences in its ISM row (default 1)")
    parser.add_argument("--dream-sequences", type=int, default=None,
                        help="dream_cnn sequences in its ISM row (default 2; 1 with --quick)")
    parser.add_argument("--bpnet-batch", type=int, default=None, help="bpnet mutants per call (default 32; 24 quick)")
    parser.add_argument("--dream-batch", type=int, default=None,
                        help="dream_cnn mutants per call (default 150; 90 quick)")
    parser.add_argument("--ig-baselines", type=int, default=20)
    parser.add_argument("--ig-steps", type=int, default=32)
    parser.add_argument("--deepshap-references", type=int, default=20,
                        help="DeepSHAP references per region (default 20, the official number)")
    parser.add_argument("--deepshap-sequences", type=int, default=None,
                        help="regions timed per DeepSHAP row (default 2; 1 with --quick)")
    parser.add_argument("--deepshap-batch", type=int, default=None,
                        help="DeepSHAP references per call (default: one region's, --deepshap-references; on a "
                             "GPU several regions' fit)")
    args = parser.parse_args(argv)

    import keras

    import baselines.bpnet  # noqa: F401  (registers bpnet without the installed entry points)
    from dream_keras import build_model

    quick = args.quick or args.tiny
    positions = args.positions if args.positions is not None else (8 if quick else 32)
    bpnet_batch = args.bpnet_batch or (24 if quick else 32)
    dream_batch = args.dream_batch or (90 if quick else 150)
    n_references = args.deepshap_references
    deepshap_sequences = args.deepshap_sequences or (1 if quick else 2)
    deepshap_batch = args.deepshap_batch or n_references
    print(f"keras {keras.__version__} ({keras.backend.backend()}), {os.cpu_count()} CPU(s) visible, {_cpu_model()}, "
          f"load average {_load_average()}{', quick' if args.quick else ''}{', TINY models' if args.tiny else ''}")

    keras.utils.set_random_seed(0)
    if args.tiny:
        bpnet_length, bpnet = 200, build_model("bpnet", filters=8, n_dil_layers=2, input_length=200, output_length=90)
        dream = build_model("dream_cnn", "soft_bins", first_filters=8, core_channels=[4])
        label = "bpnet 8/2 profile_count"
    else:
        bpnet_length, bpnet = 2114, build_model("bpnet", filters=512, n_dil_layers=8)
        dream = build_model("dream_cnn", "soft_bins")
        label = "bpnet 512/8 profile_count"
    rows = [
        _ism_row(label, bpnet, bpnet_length, 4, bpnet_batch, args.sequences, positions or None, 1 if quick else 2),
        _ism_row("dream_cnn soft_bins", dream, 150, 6, dream_batch, args.dream_sequences or (1 if quick else 2),
                 None, 2 if quick else 3),
    ]
    print("\nISM (mutants/s; ratio = ISM / plain prediction; shares of the ISM loop's wall time)")
    print(f"{'model':28s} {'batch':>5s} {'mutants':>7s} {'plain/s':>9s} {'ISM/s':>9s} {'ratio':>6s} "
          f"{'seq/s':>10s} {'model':>6s} {'build':>6s} {'parents':>8s}")
    for row in rows:
        note = f"  (extrapolated from {row['positions']} positions)" if row["extrapolated"] else ""
        print(f"{row['model']:28s} {row['batch']:5d} {row['mutants']:7d} {row['plain_mutants_per_s']:9.2f} "
              f"{row['ism_mutants_per_s']:9.2f} {row['ratio']:6.3f} {row['ism_sequences_per_s']:10.5f} "
              f"{row['model_share']:6.1%} {row['build_share']:6.1%} {row['parents_s']:7.2f}s{note}")

    if keras.backend.backend() != "tensorflow":
        print(f"\nContribution scores need the TensorFlow backend; skipped on {keras.backend.backend()}.")
        return 0
    contribution_rows = (
        _contribution_rows(label, bpnet, bpnet_length, 4, 8, 4 if quick else 8, 1, 1, 8 if quick else 16)
        + _contribution_rows("dream_cnn soft_bins", dream, 150, 6, 64, 32 if quick else 64, 1,
                             args.ig_baselines, args.ig_steps if not quick else 4))
    for row in contribution_rows:
        row["hours_per_10k"], row["load"] = 10_000 / row["sequences_per_s"] / 3600, _load_average()
    contribution_rows += (
        _deepshap_rows(label, bpnet, bpnet_length, 4, ("logcounts", "profile"), deepshap_sequences, n_references,
                       deepshap_batch)
        + _deepshap_rows("dream_cnn soft_bins", dream, 150, 6, ("expression",), 8 * deepshap_sequences,
                         n_references, 8 * n_references))
    print("\nContribution scores (logcounts for bpnet unless named, expression for dream_cnn; h/10k: hours for "
          "10,000 regions; load: 1-minute load average after the row)")
    print(f"{'model':28s} {'method':32s} {'gradients/seq':>13s} {'seq/s':>9s} {'h/10k':>8s} {'load':>6s}")
    for row in contribution_rows:
        print(f"{row['model']:28s} {row['method']:32s} {row['gradients_per_sequence']:13d} "
              f"{row['sequences_per_s']:9.4f} {row['hours_per_10k']:8.2f} {row['load']:>6s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
