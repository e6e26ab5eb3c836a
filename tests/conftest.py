import gzip
import os
import struct

import numpy as np
import pytest

from keras_mnist import data


@pytest.fixture(scope="session")
def mnist():
    """The real MNIST from $KERAS_MNIST_DATA_DIR (CI sets it to ../shared/mnist)."""
    folder = os.environ.get(data.DATA_DIR_ENV)
    if not folder:
        pytest.skip(f"set {data.DATA_DIR_ENV} to a folder of the MNIST IDX files")
    return data.load_idx_folder(folder)


@pytest.fixture(scope="session")
def small_mnist(mnist):
    """3,000 training and 1,000 test images of the real MNIST: enough to learn something."""
    return data.Mnist(mnist.x_train[:3000], mnist.y_train[:3000],
                      mnist.x_test[:1000], mnist.y_test[:1000])


def idx_bytes(array):
    """`array` (uint8) encoded as an IDX file."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x0800 | array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx_folder(folder, n_train=20, n_test=10, gz=False, seed=0):
    """Writes four small, valid IDX files; returns the arrays written."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, (n_train,), dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, (n_test,), dtype=np.uint8),
    }
    os.makedirs(folder, exist_ok=True)
    for stem, array in arrays.items():
        payload = idx_bytes(array)
        if gz:
            with gzip.open(os.path.join(folder, stem + ".gz"), "wb") as f:
                f.write(payload)
        else:
            with open(os.path.join(folder, stem), "wb") as f:
                f.write(payload)
    return arrays


@pytest.fixture(scope="session")
def trained_export(small_mnist, tmp_path_factory):
    """A briefly trained reference network, exported with TFLite variants and model card."""
    from keras_mnist import config, trainer

    root = tmp_path_factory.mktemp("trained")
    cfg = config.parse([f"--workdir={root}/run", f"--export_dir={root}/models", "--epochs=2",
                        "--batch_size=64", "--verbose=0", "--seed=3"])
    return trainer.train_and_evaluate(cfg, mnist=small_mnist)["export_path"]
