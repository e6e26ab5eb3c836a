"""Training-speed benchmark: `python -m keras_mnist.bench`.

Measures, in one run on this machine:
  1. the default recipe's steady-state training speed (s/epoch) with exactly
     the model, augmentation and optimizer `keras_mnist.train` uses, and
  2. the same network trained the notebook's way in PyTorch (SGD, batch 128,
     NumPy tensors in memory), when torch is installed (`pip install torch`),
     by a script that imports neither TensorFlow nor keras_mnist
     (keras_mnist/speed/torch_peer.py); the two alternate, --rounds runs each,
     every run a fresh process; per-run times, medians, their ratio, and each
     network's FLOPs per image and GFLOP/s against the CPU's fp32 peak;
  3. with --fast_preset: wall time of `python -m keras_mnist.train
     --flagfile=FLAGFILE` per seed (flags/quick.flags), process start to final evaluation,
     and its final test accuracy;
  4. with --profile_steps: where a training step's time goes, per TensorFlow
     op, from the TensorFlow profiler.
Speed is measured here, never in timed tests. Run nothing else meanwhile.
"""

import collections
import json
import os
import tempfile

from absl import app, flags

from keras_mnist.speed import peer
from keras_mnist.training.subprocess_runner import run_training

_EPOCHS = flags.DEFINE_integer("bench_epochs", 2, "Epochs to time; the first is warm-up.", lower_bound=2)
_TORCH = flags.DEFINE_boolean("torch", True, "Also time the PyTorch reference, if torch is installed.")
_FAST = flags.DEFINE_string("fast_preset", None, "Flagfile to time end to end, e.g. flags/quick.flags.")
_FAST_SEEDS = flags.DEFINE_list("fast_seeds", ["1", "2", "3"], "Seeds for --fast_preset.")
_PROFILE_STEPS = flags.DEFINE_integer("profile_steps", 0,
                                      "Profile this many training steps and print the ops "
                                      "that take the most time (0: no profile).", lower_bound=0)
_ROUNDS = flags.DEFINE_integer("rounds", 3, "Keras and PyTorch runs, each a fresh process, in "
                               "alternation: Keras, PyTorch, Keras, PyTorch ... (0: none, e.g. "
                               "to time only --fast_preset).", lower_bound=0)
_ISA = flags.DEFINE_list("isa", ["native"], "Instruction sets to measure, each in its own series of "
                        "alternating runs: native (what this CPU has) and/or avx2 (oneDNN and "
                        "PyTorch's ATen capped at AVX2, as on most laptops).")
flags.register_validator("isa", lambda values: set(values) <= set(peer.ISA_ENV),
                         message=f"--isa takes {' and/or '.join(peer.ISA_ENV)}, comma-separated")
_KERAS_ONLY = flags.DEFINE_boolean("keras_only", False,
                                   "Internal: time only the Keras recipe and print its epoch "
                                   "seconds after the warm-up as JSON (the benchmark runs this "
                                   "in fresh processes).")


def fast_preset_runs(flagfile, seeds, isa="native"):
    """(seed, wall seconds, fit seconds, parameters, final accuracy) of full training processes."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="keras_mnist_bench_") as scratch:
        for seed in seeds:
            metrics, wall = run_training([f"--flagfile={flagfile}", f"--seed={seed}", "--noexport", "--verbose=0"],
                                         os.path.join(scratch, f"seed{seed}"), env=peer.isa_env(isa))
            rows.append((int(seed), wall, metrics["train_seconds"], metrics["trainable_params"],
                         metrics["final_test_accuracy"]))
    return rows


def main(argv):
    from keras_mnist import data
    from keras_mnist.speed import keras_timing, report

    mnist = data.load(None)
    if _KERAS_ONLY.value:
        seconds, _ = keras_timing.keras_epoch_seconds(report.subset(mnist, argv[1:]), argv[1:], _EPOCHS.value)
        print(json.dumps(seconds))
        return
    if _ROUNDS.value:
        summary = {isa: report.print_comparison(mnist, argv[1:], _ROUNDS.value, _EPOCHS.value, _TORCH.value, isa)
                   for isa in _ISA.value}
        report.print_isa_summary(summary)
    for isa in _ISA.value if _FAST.value else ():
        print(f"\n{_FAST.value} ({isa}), one fresh process per seed:", flush=True)
        rows = fast_preset_runs(_FAST.value, _FAST_SEEDS.value, isa)  # Each run prints its final line.
        print(f"\n{_FAST.value} ({isa}): wall time of `python -m keras_mnist.train`, process start to exit "
              "(the final test evaluation comes at its end; --noexport)\n")
        print("| seed | parameters | wall time | of which fit() | final test accuracy |\n|---:|---:|---:|---:|---:|")
        for seed, wall, fit, params, accuracy in rows:
            print(f"| {seed} | {params:,} | {wall:.1f} s | {fit:.1f} s | {100 * accuracy:.2f} % |")
    if _PROFILE_STEPS.value:
        totals = keras_timing.op_milliseconds_per_step(mnist, argv[1:], _PROFILE_STEPS.value)
        step = sum(totals.values())
        print(f"\nTensorFlow profiler, {_PROFILE_STEPS.value} steps: {step:.1f} ms of kernel time "
              "per step (both cores' threads summed), the 15 largest:\n")
        print("| layer | op | ms/step | share |\n|---|---|---:|---:|")
        for (layer, op), ms in totals.most_common(15):
            print(f"| {layer} | {op} | {ms:.2f} | {100 * ms / step:.0f} % |")
        by_op = collections.Counter()
        for (_, op), ms in totals.items():
            by_op[op] += ms
        print("\nThe same, summed over layers:\n\n| op | ms/step | share |\n|---|---:|---:|")
        for op, ms in by_op.most_common(10):
            print(f"| {op} | {ms:.2f} | {100 * ms / step:.0f} % |")


def run():
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
