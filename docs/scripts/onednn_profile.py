"""Where a training step's oneDNN time goes, per primitive, with AVX-512 and with AVX2 kernels.

    KERAS_MNIST_DATA_DIR=../shared/mnist python docs/scripts/onednn_profile.py [TRAIN FLAGS]

Runs `python -m keras_mnist.train` once per instruction set with ONEDNN_VERBOSE=1
(oneDNN prints every primitive it executes, with its implementation and
milliseconds), by default one epoch of the quick preset on 12,800 images of
which 1,000 are held out (so the test set stays out of it), and prints the
largest primitives in ms per full training batch, side by side. Only primitives
on full batches count (the epoch's last, smaller batch and the validation pass
do not). "AVX-512" is oneDNN capped at AVX512_CORE: its fp32 AVX-512 kernels,
without the AMX and VNNI extensions some CPUs add. Timings include oneDNN's own
logging, so compare the two columns, not these with the benchmark's. Each run
trains in a scratch folder of its own (as `keras_mnist.seeds` runs do), so the
second never resumes from the first's backup, and exports nothing.
"""

import collections
import os
import subprocess
import sys
import tempfile

from keras_mnist import config

DEFAULT_FLAGS = ["--flagfile=flags/quick.flags", "--epochs=1", "--train_size=12800",
                 "--validation_size=1000", "--noevaluate_test", "--verbose=0", "--seed=1"]
ISAS = {"AVX-512": "AVX512_CORE", "AVX2": "AVX2"}
ROWS = 14


def primitive_ms(flags, isa, batch_size):
    """{(kind, propagation, shape): ms summed over the run's full batches of `batch_size`}."""
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "ONEDNN_MAX_CPU_ISA": isa}
    with tempfile.TemporaryDirectory(prefix="onednn_profile_") as workdir:
        command = [sys.executable, "-m", "keras_mnist.train", *flags, f"--workdir={workdir}"]
        out = subprocess.run(command, env=env, check=True, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
    totals = collections.Counter()
    for line in out.splitlines():
        # onednn_verbose,v1,primitive,exec,cpu,KIND,IMPLEMENTATION,PASS,formats,attrs,alg,SHAPE,MS
        fields = line.split(",")
        if len(fields) < 13 or fields[3] != "exec" or not fields[-2].startswith(f"mb{batch_size}"):
            continue
        totals[fields[5], fields[7], fields[-2]] += float(fields[-1])
    return totals


def main(argv):
    flags = [*(argv or DEFAULT_FLAGS), "--noexport"]
    cfg = config.parse(flags)
    images = (cfg.train_size or 60_000) - cfg.validation_size
    steps = images // cfg.batch_size  # Full batches of one epoch.
    by_isa = {name: primitive_ms(flags, isa, cfg.batch_size) for name, isa in ISAS.items()}
    keys = collections.Counter()
    for totals in by_isa.values():
        keys.update(totals)
    print(f"ms per training step (batch {cfg.batch_size}, {steps} steps x {cfg.epochs} epoch(s)), largest first\n")
    print("| primitive | pass | shape | " + " | ".join(by_isa) + " |\n|---|---|---|" + "---:|" * len(by_isa))
    per_step = steps * cfg.epochs
    for key, _ in keys.most_common(ROWS):
        kind, prop, shape = key
        cells = " | ".join(f"{by_isa[name][key] / per_step:.2f}" for name in by_isa)
        print(f"| {kind} | {prop} | {shape} | {cells} |")
    print("| all primitives | | | " + " | ".join(f"{sum(t.values()) / per_step:.1f}" for t in by_isa.values()) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
