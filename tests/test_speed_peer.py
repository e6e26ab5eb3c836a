"""The benchmark's PyTorch peer and its alternation with Keras (keras_mnist/speed/peer.py, torch_peer.py)."""

import importlib.util
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from keras_mnist.speed import peer


def poisoned_path(tmp_path):
    """A folder of fake `tensorflow`, `keras` and `keras_mnist` packages that fail on import."""
    for name in ("tensorflow", "keras", "keras_mnist"):
        os.makedirs(tmp_path / "poison" / name)
        (tmp_path / "poison" / name / "__init__.py").write_text(
            f"raise RuntimeError('the PyTorch peer imported {name}')\n")
    return str(tmp_path / "poison")


def test_peer_imports_neither_tensorflow_nor_keras_mnist(mnist, tmp_path):
    images, labels = peer.saved_training_arrays(
        type(mnist)(mnist.x_train[:256], mnist.y_train[:256], None, None), str(tmp_path))
    # The poison folder first on the path: any import of those packages fails the run.
    env = dict(os.environ, PYTHONPATH=poisoned_path(tmp_path))
    command = peer.peer_command(images, labels, epochs=2) + ["--print_modules"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    modules_line, result_line = result.stdout.strip().splitlines()[-2:]
    modules = set(json.loads(modules_line))
    assert "numpy" in modules  # the list is real
    assert not modules & {"tensorflow", "keras", "keras_mnist", "tensorflow_core", "jax"}
    timing = json.loads(result_line)
    try:
        import torch  # noqa: F401
    except ImportError:
        assert timing is None and "torch" not in modules
    else:
        assert len(timing["epoch_seconds"]) == 2 and min(timing["epoch_seconds"]) > 0
        assert timing["params"] == 16_848  # the notebook's network


def test_peer_reads_idx_files_like_the_loader(mnist):
    folder = os.environ["KERAS_MNIST_DATA_DIR"]
    spec = importlib.util.spec_from_file_location("torch_peer", peer.PEER_SCRIPT)
    torch_peer = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(torch_peer)
    stem = os.path.join(folder, "train-labels-idx1-ubyte")
    path = stem if os.path.exists(stem) else stem + ".gz"
    np.testing.assert_array_equal(torch_peer.read_array(path), mnist.y_train)


def test_peer_rejects_a_bad_file_in_one_line(tmp_path):
    bad = tmp_path / "x.npy"
    bad.write_bytes(b"not an array")
    result = subprocess.run(peer.peer_command(str(bad), str(bad), epochs=2),
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert result.stderr.strip().startswith("error: cannot read the training data")
    assert len(result.stderr.strip().splitlines()) == 1


def test_alternation_order():
    calls = []
    runners = {"keras": lambda: calls.append("keras") or len(calls),
               "torch": lambda: calls.append("torch") or len(calls)}
    reported = []
    results = peer.alternate(runners, rounds=3, on_result=lambda *r: reported.append(r))
    assert calls == ["keras", "torch"] * 3
    assert results == {"keras": [1, 3, 5], "torch": [2, 4, 6]}
    assert reported[:3] == [("keras", 1, 1), ("torch", 1, 2), ("keras", 2, 3)]


def test_keras_run_prints_its_epoch_seconds(mnist):
    seconds = peer.run_json(peer.keras_command(2, ["--train_size=256", "--batch_size=128"]))
    assert len(seconds) == 1 and seconds[0] > 0  # the warm-up epoch left out


def test_failed_run_says_why():
    with pytest.raises(peer.RunFailed, match="exited 3: boom"):
        peer.run_json([sys.executable, "-c", "import sys; sys.exit('boom') if False else "
                       "(sys.stderr.write('boom\\n'), sys.exit(3))"])


def test_code_path_reports_the_instruction_set_each_framework_ran():
    # Read off oneDNN itself (its verbose "isa:" line) in a fresh process: capped at
    # AVX2, TensorFlow's and PyTorch's convolutions both say so, on any x86 CPU that has it.
    capped = peer.code_path("tensorflow", "avx2")
    assert capped.startswith("oneDNN ") and "AVX2" in capped and "AVX-512" not in capped
    native = peer.code_path("tensorflow", "native")
    assert native.startswith("oneDNN ")  # On any x86 CPU: keras_mnist turns oneDNN on.
    assert peer.code_path("tensorflow", "avx2_eigen").startswith("Eigen (oneDNN off")
    try:
        import torch  # noqa: F401
    except ImportError:
        assert peer.code_path("torch", "avx2") is None
    else:
        torch_path = peer.code_path("torch", "avx2")
        assert "ATen AVX2" in torch_path and "AVX-512" not in torch_path


def test_unknown_instruction_set_is_refused():
    with pytest.raises(ValueError, match="native, avx2"):
        peer.isa_env("avx1024")
