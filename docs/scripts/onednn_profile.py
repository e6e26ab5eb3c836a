"""Where a training step's oneDNN time goes, per primitive, with AVX-512 and with AVX2 kernels.

    KERAS_MNIST_DATA_DIR=../shared/mnist python docs/scripts/onednn_profile.py [TRAIN FLAGS]

Runs `python -m keras_mnist.train` once per instruction set with ONEDNN_VERBOSE=1
(oneDNN prints every primitive it executes, with its implementation and
milliseconds), by default one epoch of the quick preset on 12,800 images, and
prints the largest primitives in ms per training step, side by side. The
validation split keeps the test set out of it. Timings include oneDNN's own
logging, so compare the two columns, not these with the benchmark's.
"""

import collections
import os
import subprocess
import sys

DEFAULT_FLAGS = ["--flagfile=flags/quick.flags", "--epochs=1", "--train_size=12800",
                 "--validation_size=1000", "--noevaluate_test", "--verbose=0", "--seed=1"]
ISAS = {"AVX-512": "AVX512_CORE", "AVX2": "AVX2"}
ROWS = 14


def primitive_ms(flags, isa):
    """{(kind, implementation, propagation, shape): ms summed over the run}, and the steps run."""
    env = {**os.environ, "ONEDNN_VERBOSE": "1", "ONEDNN_MAX_CPU_ISA": isa}
    out = subprocess.run([sys.executable, "-m", "keras_mnist.train", *flags], env=env, check=True,
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
    totals = collections.Counter()
    for line in out.splitlines():
        # onednn_verbose,v1,primitive,exec,cpu,KIND,IMPL,PROP,formats,attrs,alg,SHAPE,MS
        fields = line.split(",")
        if len(fields) < 13 or fields[3] != "exec":
            continue
        kind, impl, prop, shape = fields[5], fields[6].split(":")[0], fields[7], fields[-2]
        totals[kind, impl, prop, shape] += float(fields[-1])
    return totals


def main(argv):
    flags = argv or DEFAULT_FLAGS
    size = next((int(f.split("=")[1]) for f in flags if f.startswith("--train_size=")), None)
    batch = 256 if "--flagfile=flags/quick.flags" in flags else 128
    steps = -(-(size - 1000) // batch) if size else None  # The validation images leave the training set.
    steps = steps or 1
    by_isa = {name: primitive_ms(flags, isa) for name, isa in ISAS.items()}
    keys = collections.Counter()
    for totals in by_isa.values():
        keys.update(totals)
    print(f"ms per training step ({steps} steps), largest first\n")
    print("| primitive | pass | shape | " + " | ".join(by_isa) + " |\n|---|---|---|" + "---:|" * len(by_isa))
    for key, _ in keys.most_common(ROWS):
        kind, _, prop, shape = key
        cells = " | ".join(f"{by_isa[name][key] / steps:.2f}" for name in by_isa)
        print(f"| {kind} | {prop} | {shape} | {cells} |")
    print("| all primitives | | | " + " | ".join(f"{sum(t.values()) / steps:.1f}" for t in by_isa.values()) + " |")


if __name__ == "__main__":
    main(sys.argv[1:])
