"""Reruns a recipe on several seeds and prints README's results table.

    python -m keras_mnist.seeds --seeds=1,2,3 -- --epochs=20
    python -m keras_mnist.seeds --seeds=1,2,3 -- --flagfile=flags/notebook.flags

Each seed is a fresh `python -m keras_mnist.train` process, run one after the
other (parallel runs on a small CPU slow each other and spoil the timings).
Wall time is process start to exit: imports, data loading, training, final
evaluation. Accuracy is the final epoch's on the 10,000 test images. Flags after
`--` go to every training run; exports go to a temporary folder.
"""

import json
import os
import tempfile

from absl import app, flags

from keras_mnist.speed import peer
from keras_mnist.training.subprocess_runner import run_training

_SEEDS = flags.DEFINE_list("seeds", ["1", "2", "3"], "Seeds to train, one run each.")
_OUTPUT = flags.DEFINE_string("output", None, "Also write the results as JSON here.")
_ISA = flags.DEFINE_enum("instruction_set", "native", sorted(peer.ISA_ENV),
                         "Instruction set of the runs: native; avx2 (oneDNN capped at AVX2 by "
                         "ONEDNN_MAX_CPU_ISA, the kernels of most laptops; results differ between them); "
                         "avx2_eigen (TensorFlow's own default on an AVX2-only CPU: oneDNN off, Eigen).")


def run_seed(seed, train_args, scratch, isa="native"):
    """Trains once in a subprocess; returns (metrics dict, wall seconds)."""
    return run_training([*train_args, f"--seed={seed}", f"--export_dir={os.path.join(scratch, 'exports')}",
                         "--verbose=2"], os.path.join(scratch, f"seed{seed}"), env=peer.isa_env(isa))


def table(rows):
    """Markdown table of (seed, metrics, wall seconds) rows."""
    lines = ["| seed | parameters | epochs | final test accuracy | wall time |",
             "|---:|---:|---:|---:|---:|"]
    for seed, metrics, wall in rows:
        lines.append(f"| {seed} | {metrics['trainable_params']:,} | {len(metrics['epochs'])} | "
                     f"{100 * metrics['final_test_accuracy']:.2f} % | {wall:.0f} s |")
    accuracies = [m["final_test_accuracy"] for _, m, _ in rows]
    lines.append(f"\nmin {100 * min(accuracies):.2f} %, mean {100 * sum(accuracies) / len(rows):.2f} %")
    return "\n".join(lines)


def main(argv):
    train_args = argv[1:]
    rows = []
    with tempfile.TemporaryDirectory(prefix="keras_mnist_seeds_") as scratch:
        for seed in _SEEDS.value:
            metrics, wall = run_seed(int(seed), train_args, scratch, _ISA.value)
            rows.append((int(seed), metrics, wall))
            print(f"seed {seed}: {100 * metrics['final_test_accuracy']:.2f} % in {wall:.0f} s", flush=True)
    cap = " ".join(f"{k}={v}" for k, v in peer.ISA_ENV[_ISA.value].items() if k.startswith(("ONEDNN", "TF_")))
    print(f"\n{cap + ' ' if cap else ''}python -m keras_mnist.train {' '.join(train_args)} "
          f"({peer.code_path('tensorflow', _ISA.value)})\n")
    print(table(rows))
    if _OUTPUT.value:
        with open(_OUTPUT.value, "w") as f:
            json.dump([{"seed": s, "wall_seconds": w, **m} for s, m, w in rows], f, indent=2)


def run():
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
