import gzip
import hashlib
import os
import shutil

import numpy as np
import pytest
import tensorflow_datasets as tfds

from keras_mnist import data
from conftest import idx_bytes, write_idx_folder

# Label counts published with the MNIST files (../shared/mnist/README.md).
TRAIN_LABEL_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_LABEL_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]


@pytest.mark.parametrize("gz", [False, True])
def test_idx_folder_round_trips(tmp_path, gz):
    written = write_idx_folder(tmp_path, gz=gz)
    mnist = data.load_idx_folder(str(tmp_path), verify=False)
    assert mnist.x_train.shape == (20, 28, 28, 1) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (10, 28, 28, 1)
    np.testing.assert_array_equal(mnist.x_train[..., 0], written["train-images-idx3-ubyte"])
    np.testing.assert_array_equal(mnist.y_test, written["t10k-labels-idx1-ubyte"])
    assert mnist.y_train.dtype == np.int64


def test_real_mnist_is_checked_and_complete(mnist):
    assert mnist.x_train.shape == (60000, 28, 28, 1)
    assert mnist.x_test.shape == (10000, 28, 28, 1)
    assert np.bincount(mnist.y_train).tolist() == TRAIN_LABEL_COUNTS
    assert np.bincount(mnist.y_test).tolist() == TEST_LABEL_COUNTS


def test_missing_folder_says_what_to_do(tmp_path):
    with pytest.raises(data.DataError, match="data folder not found.*KERAS_MNIST_DATA_DIR"):
        data.load_idx_folder(str(tmp_path / "nowhere"))


def test_missing_file_is_named(tmp_path):
    write_idx_folder(tmp_path)
    os.remove(tmp_path / "t10k-labels-idx1-ubyte")
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte.*file not found"):
        data.load_idx_folder(str(tmp_path), verify=False)


def test_truncated_file_is_named(tmp_path):
    write_idx_folder(tmp_path)
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(data.DataError, match="train-images-idx3-ubyte: truncated"):
        data.load_idx_folder(str(tmp_path), verify=False)


def test_truncated_gzip_is_named(tmp_path):
    write_idx_folder(tmp_path, gz=True)
    path = tmp_path / "train-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="train-labels-idx1-ubyte.gz: cannot be read"):
        data.load_idx_folder(str(tmp_path), verify=False)


def test_bad_magic_is_rejected(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"\x00\x00\x09\x01" + bytes(8))
    with pytest.raises(data.DataError, match="bad magic number"):
        data.read_idx(str(path))


def test_mismatched_label_count(tmp_path):
    write_idx_folder(tmp_path)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.zeros(19)))
    with pytest.raises(data.DataError, match="19 train labels for 20 images"):
        data.load_idx_folder(str(tmp_path), verify=False)


def test_wrong_dimensions_are_rejected(tmp_path):
    path = tmp_path / "t10k-labels-idx1-ubyte"
    path.write_bytes(idx_bytes(np.zeros(5)))
    with pytest.raises(data.DataError, match=r"declares dimensions \(5,\), expected \(10000,\)"):
        data.read_idx(str(path), expected_shape=(10000,))


def test_altered_file_fails_its_digest(tmp_path):
    path = tmp_path / "f"
    payload = idx_bytes(np.arange(10))
    path.write_bytes(payload)
    assert data.read_idx(str(path), expected_sha256=hashlib.sha256(payload).hexdigest()).shape == (10,)
    path.write_bytes(payload[:-1] + b"\x07")
    with pytest.raises(data.DataError, match="SHA-256 .* does not match"):
        data.read_idx(str(path), expected_sha256=hashlib.sha256(payload).hexdigest())


def test_mislabelled_real_mnist_is_caught(mnist, tmp_path):
    """One flipped test label in the real files: the header is fine, the digest is not."""
    source = os.environ[data.DATA_DIR_ENV]
    for name in os.listdir(source):
        if name.endswith(".gz") and "t10k-images" not in name:
            shutil.copy(os.path.join(source, name), tmp_path / name)
    # The big test images travel uncompressed, with no change.
    images = data.read_idx(os.path.join(source, "t10k-images-idx3-ubyte.gz"))
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(idx_bytes(images))
    with gzip.open(os.path.join(source, "t10k-labels-idx1-ubyte.gz")) as f:
        labels = bytearray(f.read())
    labels[8] = (labels[8] + 1) % 10
    os.remove(tmp_path / "t10k-labels-idx1-ubyte.gz")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(bytes(labels))
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte: SHA-256"):
        data.load_idx_folder(str(tmp_path))


def test_data_dir_flag_beats_environment(monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, "/from/env")
    assert data.resolve_data_dir("/from/flag") == "/from/flag"
    assert data.resolve_data_dir(None) == "/from/env"
    monkeypatch.delenv(data.DATA_DIR_ENV)
    assert data.resolve_data_dir(None) is None


def test_tfds_is_the_default_source(monkeypatch):
    monkeypatch.delenv(data.DATA_DIR_ENV, raising=False)
    with tfds.testing.mock_data(num_examples=12):
        mnist = data.load()
    assert mnist.x_train.shape == (12, 28, 28, 1) and mnist.x_train.dtype == np.uint8
    assert mnist.x_test.shape == (12, 28, 28, 1)
    assert mnist.y_train.dtype == np.int64 and mnist.y_train.max() < 10


def test_train_dataset_shuffles_by_seed_each_epoch():
    x = np.arange(64, dtype=np.uint8).reshape(64, 1, 1, 1) * np.ones((1, 28, 28, 1), np.uint8)
    y = np.arange(64) % 10

    def epochs(seed, n=2, first=0):
        ds = data.train_dataset(x, y, batch_size=16, seed=seed, epochs=n, first_epoch=first)
        order = np.concatenate([xb[:, 0, 0, 0] for xb, _ in ds.as_numpy_iterator()])
        return order.reshape(n - first, 64)

    first, second = epochs(seed=1)
    assert sorted(first) == list(range(64))  # Every image once per epoch.
    assert not np.array_equal(first, second)  # Reshuffled between epochs...
    again = epochs(seed=1)
    np.testing.assert_array_equal(first, again[0])  # ...in an order the seed fixes.
    np.testing.assert_array_equal(second, again[1])
    assert not np.array_equal(first, epochs(seed=2)[0])
    # A run resumed at epoch 1 gets epoch 1's order, not epoch 0's.
    np.testing.assert_array_equal(epochs(seed=1, first=1)[0], second)


def test_datasets_yield_uint8_images_and_int_labels():
    x = np.zeros((10, 28, 28, 1), np.uint8)
    y = np.arange(10, dtype=np.int64)
    images, labels = next(iter(data.eval_dataset(x, y, batch_size=4)))
    assert images.dtype.name == "uint8" and images.shape == (4, 28, 28, 1)
    assert labels.numpy().tolist() == [0, 1, 2, 3]


def test_validation_split_is_disjoint_and_seeded():
    x = np.arange(100)
    y = np.arange(100)
    (xt, _), (xv, _) = data.split_validation(x, y, 20, seed=3)
    assert len(xt) == 80 and len(xv) == 20 and not set(xt) & set(xv)
    (_, _), (xv2, _) = data.split_validation(x, y, 20, seed=3)
    np.testing.assert_array_equal(xv, xv2)
