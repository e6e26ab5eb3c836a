"""Keras and its PyTorch peer timed in alternation, each run a fresh process.

Machine noise (other work on a shared 2-core machine) drifts over minutes;
alternating Keras, PyTorch, Keras, PyTorch ... lets it hit both alike, and
the medians of the runs are compared.
"""

import json
import os
import re
import subprocess
import sys
import tempfile

import numpy as np

# The standalone peer script (imports torch and numpy only), run as a file.
PEER_SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "torch_peer.py")


# The instruction sets the benchmark can measure. "avx2" caps an AVX-512 machine at
# the AVX2 code paths most laptops run: oneDNN's (TensorFlow and PyTorch both use it
# for convolutions) by ONEDNN_MAX_CPU_ISA, ATen's vectorised kernels by ATEN_CPU_CAPABILITY.
# "avx2_eigen" is what TensorFlow itself picks on an AVX2-only CPU: oneDNN off, the
# Eigen kernels (keras_mnist turns oneDNN on, see keras_mnist/__init__.py; this series
# shows what that buys); the PyTorch peer runs as in "avx2".
_AVX2 = {"ONEDNN_MAX_CPU_ISA": "AVX2", "ATEN_CPU_CAPABILITY": "avx2"}
ISA_ENV = {"native": {}, "avx2": _AVX2, "avx2_eigen": {**_AVX2, "TF_ENABLE_ONEDNN_OPTS": "0"}}

# One training step's worth of work for each framework, run with ONEDNN_VERBOSE=1 to
# read which instruction set oneDNN dispatched to (its "info,cpu,isa:" line).
_TF_PROBE = ("import keras_mnist\n"  # First, as in every Keras run: it sets TensorFlow's oneDNN switch.
             "import tensorflow as tf\n"
             "from keras_mnist.speed import flops\n"
             "x = tf.random.normal([8, 28, 28, 16]); k = tf.random.normal([3, 3, 16, 16])\n"
             "tf.nn.conv2d(x, k, 1, 'VALID')\n"
             "print('tf:' + flops.tensorflow_kernels())\n")
_TORCH_PROBE = ("import torch\n"
                "x = torch.randn(8, 16, 28, 28, requires_grad=True); k = torch.randn(16, 16, 3, 3)\n"
                "torch.nn.functional.conv2d(x, k).sum().backward()\n"
                "print('aten:' + torch.backends.cpu.get_cpu_capability())\n")


def isa_env(isa):
    """The environment of a timed process for `isa` ("native" or "avx2")."""
    if isa not in ISA_ENV:
        raise ValueError(f"unknown instruction set {isa!r}; expected one of {', '.join(ISA_ENV)}")
    return dict(os.environ, **ISA_ENV[isa])


def code_path(framework, isa, python=sys.executable):
    """What `framework` ("tensorflow" or "torch") runs on under `isa`, as text, e.g. "oneDNN Intel AVX2".

    Read off the libraries themselves in a fresh process: oneDNN's verbose
    output for a convolution, and for PyTorch also ATen's CPU capability.
    None if the framework is not installed.
    """
    probe = _TF_PROBE if framework == "tensorflow" else _TORCH_PROBE
    env = dict(isa_env(isa), ONEDNN_VERBOSE="1", TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([python, "-c", probe], capture_output=True, text=True, env=env)
    if result.returncode != 0:
        return None
    out = result.stdout + result.stderr
    onednn = re.search(r"info,cpu,isa:(.+)", out)
    aten = re.search(r"^aten:(\S+)", out, re.M)
    isa_text = onednn.group(1).strip() if onednn else None
    if re.search(r"^tf:Eigen", out, re.M):
        # Eigen's convolutions still multiply their matrices with oneDNN's sgemm.
        parts = [f"Eigen (oneDNN off; its matrix products {isa_text})" if isa_text else "Eigen (oneDNN off)"]
    else:
        parts = [f"oneDNN {isa_text}" if isa_text else "oneDNN not used"]
    if aten:
        parts.append(f"ATen {aten.group(1)}")
    return ", ".join(parts)


class RunFailed(Exception):
    """A timed process failed; the message holds the end of its error output."""


def run_json(command, env=None):
    """Runs `command`; the JSON value on its last line of output."""
    result = subprocess.run(command, capture_output=True, text=True, env=env)
    lines = result.stdout.strip().splitlines()
    if result.returncode != 0 or not lines:
        tail = " | ".join(result.stderr.strip().splitlines()[-3:])
        raise RunFailed(f"{' '.join(command[:4])} … exited {result.returncode}: {tail}")
    return json.loads(lines[-1])


def peer_command(images, labels, epochs, train_size=0, python=sys.executable):
    """The command line of one PyTorch peer run."""
    return [python, PEER_SCRIPT, f"--images={images}", f"--labels={labels}", f"--epochs={epochs}",
            f"--train_size={train_size}"]


def keras_command(epochs, train_args=(), python=sys.executable):
    """The command line of one Keras timing run (`keras_mnist.bench --keras_only`).

    It prints the seconds of each epoch after the first (warm-up) as JSON.
    """
    return [python, "-m", "keras_mnist.bench", "--keras_only", f"--bench_epochs={epochs}", "--",
            *train_args]


def alternate(runners, rounds, on_result=None):
    """Calls each of `runners` (name -> callable) in turn, `rounds` times over.

    Returns {name: [result of each call]}; the call order is
    a, b, a, b, ... in the order `runners` lists them. `on_result(name, run
    number, result)` is called after each call (progress for long runs).
    """
    results = {name: [] for name in runners}
    for i in range(rounds):
        for name, run in runners.items():
            results[name].append(run())
            if on_result:
                on_result(name, i + 1, results[name][-1])
    return results


def saved_training_arrays(mnist, folder):
    """(images path, labels path): `mnist`'s training arrays as .npy files in `folder`."""
    images, labels = os.path.join(folder, "x_train.npy"), os.path.join(folder, "y_train.npy")
    np.save(images, mnist.x_train)
    np.save(labels, mnist.y_train)
    return images, labels


def compare(mnist, rounds, epochs, train_args=(), train_size=0, with_torch=True, on_result=None,
            isa="native"):
    """{"keras": [s/epoch per run], "torch": [...] or None}: medians of each run's timed epochs.

    Each run's first epoch is warm-up and is left out. "torch" is None when
    torch is not installed or `with_torch` is False. `train_args` already
    carry any --train_size; `train_size` cuts the peer's data alike. Both
    frameworks run with the code paths of `isa` (`ISA_ENV`).
    """
    env = isa_env(isa)
    with tempfile.TemporaryDirectory(prefix="keras_mnist_peer_") as folder:
        images, labels = saved_training_arrays(mnist, folder)

        def keras_run():
            return float(np.median(run_json(keras_command(epochs, train_args), env)))  # warm-up left out

        def torch_run():
            result = run_json(peer_command(images, labels, epochs, train_size), env)
            return None if result is None else float(np.median(result["epoch_seconds"][1:]))

        runners = {"keras": keras_run, "torch": torch_run} if with_torch else {"keras": keras_run}
        results = alternate(runners, rounds, on_result)
    if not with_torch or any(t is None for t in results["torch"]):
        results["torch"] = None
    return results
