"""keras_mnist asks TensorFlow for its oneDNN kernels on every CPU (issues 20, 21).

TensorFlow turns oneDNN on by default only on CPUs with AVX512_VNNI/BF16,
AVX_VNNI or AMX; on an AVX2-only laptop it would train with the Eigen kernels,
twice as slow and with other rounding. Checked in fresh processes, since
TensorFlow reads the switch once, when it loads.
"""

import os
import subprocess
import sys

PROBE = ("import os, keras_mnist, tensorflow\n"
         "from keras_mnist.speed import flops\n"
         "print(os.environ['TF_ENABLE_ONEDNN_OPTS'], flops.tensorflow_kernels())\n")


def probe(**env):
    base = {k: v for k, v in os.environ.items() if k != "TF_ENABLE_ONEDNN_OPTS"}
    result = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                            env={**base, **env}, check=True)
    return result.stdout.split()


def test_importing_keras_mnist_first_turns_onednn_on():
    assert probe() == ["1", "oneDNN"]


def test_the_users_own_setting_wins():
    assert probe(TF_ENABLE_ONEDNN_OPTS="0") == ["0", "Eigen"]
