"""One training run in a fresh `python -m keras_mnist.train` process, timed, and its metrics read back.

Used by `keras_mnist.seeds` and `keras_mnist.bench`: a fresh process per run,
so each run's wall time includes imports and data loading, and no run inherits
another's TensorFlow state.
"""

import json
import os
import subprocess
import sys
import time

from keras_mnist import contract


def run_training(train_args, workdir, env=None):
    """Trains with `train_args` in `workdir`; returns (metrics dict, wall seconds, process start to exit).

    `env`: the process's environment (default: this one's), e.g. ONEDNN_MAX_CPU_ISA=AVX2.
    """
    command = [sys.executable, "-m", "keras_mnist.train", *train_args, f"--workdir={workdir}"]
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    wall = time.perf_counter() - start
    with open(os.path.join(workdir, contract.METRICS_FILENAME)) as f:
        return json.load(f), wall
