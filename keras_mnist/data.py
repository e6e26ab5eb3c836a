"""MNIST from tensorflow-datasets or from a folder of the four original IDX files.

Both sources end in the same NumPy arrays (uint8 images of shape [N, 28, 28, 1],
int64 labels) and the same `tf.data` pipelines, so nothing downstream knows or
cares where the digits came from.
"""

import dataclasses
import gzip
import hashlib
import os
import struct

import numpy as np
import tensorflow as tf

DATA_DIR_ENV = "KERAS_MNIST_DATA_DIR"
NUM_CLASSES = 10
IMAGE_SHAPE = (28, 28, 1)

# The published SHA-256 digests of the decompressed MNIST files: a file that does
# not match is not MNIST, whatever its header says.
SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# (magic number, dimensions) of each file: 0x0803 is ubyte with 3 dims, 0x0801 with 1.
IDX_HEADERS = {
    "train-images-idx3-ubyte": (0x00000803, (60000, 28, 28)),
    "train-labels-idx1-ubyte": (0x00000801, (60000,)),
    "t10k-images-idx3-ubyte": (0x00000803, (10000, 28, 28)),
    "t10k-labels-idx1-ubyte": (0x00000801, (10000,)),
}


class DataError(Exception):
    """The MNIST data could not be read; the message says which file and why."""


@dataclasses.dataclass(frozen=True)
class Mnist:
    """Train and test arrays: images uint8 [N, 28, 28, 1], labels int64 [N]."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def read_idx(path, name=None, expected_sha256=None, expected_shape=None):
    """Reads one IDX file (raw or gzipped) into a uint8 array, checking it as it goes.

    Args:
      path: the file, `.gz` or not.
      name: how to call the file in errors; defaults to its path.
      expected_sha256: hex digest the decompressed bytes must have, or None.
      expected_shape: the dimensions the header must declare, or None.

    Raises:
      DataError: the file is missing, unreadable, truncated, or not what it claims.
    """
    name = name or path
    try:
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{name}: file not found") from None
    except (OSError, EOFError) as e:
        raise DataError(f"{name}: cannot be read ({e}); restore the original file") from None

    if len(raw) < 4:
        raise DataError(f"{name}: only {len(raw)} bytes, too short for an IDX header")
    magic, = struct.unpack(">I", raw[:4])
    if magic >> 8 != 0x08:  # high bytes zero, type byte 0x08 = unsigned byte
        raise DataError(f"{name}: bad magic number {magic:#010x}, not an IDX file of unsigned bytes")
    ndim = magic & 0xFF
    header_len = 4 + 4 * ndim
    if len(raw) < header_len:
        raise DataError(f"{name}: truncated header ({len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:header_len])
    if expected_shape is not None and tuple(shape) != tuple(expected_shape):
        raise DataError(f"{name}: header declares dimensions {shape}, expected {tuple(expected_shape)}")
    expected_len = header_len + int(np.prod(shape))
    if len(raw) != expected_len:
        what = "truncated" if len(raw) < expected_len else "has trailing bytes"
        raise DataError(f"{name}: {what}: {len(raw)} bytes, expected {expected_len} for dimensions {shape}")
    if expected_sha256 is not None:
        digest = hashlib.sha256(raw).hexdigest()
        if digest != expected_sha256:
            raise DataError(
                f"{name}: SHA-256 {digest[:12]}… does not match the published MNIST digest "
                f"{expected_sha256[:12]}…; the file is altered, replace it with the original")
    return np.frombuffer(raw, dtype=np.uint8, offset=header_len).reshape(shape)


def _find_idx_file(data_dir, stem):
    for candidate in (stem, stem + ".gz"):
        path = os.path.join(data_dir, candidate)
        if os.path.exists(path):
            return path
    raise DataError(f"{os.path.join(data_dir, stem)}[.gz]: file not found; the folder must hold the "
                    "four MNIST IDX files (train-images-idx3-ubyte, train-labels-idx1-ubyte, "
                    "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), raw or .gz")


def load_idx_folder(data_dir, verify=True):
    """Loads MNIST from a folder of the four original IDX files (raw or `.gz`).

    `verify=False` skips only the SHA-256 check (for small synthetic IDX files in
    tests); headers, dimensions and lengths are always checked.
    """
    if not os.path.isdir(data_dir):
        raise DataError(f"{data_dir}: data folder not found; pass --data_dir or set "
                        f"{DATA_DIR_ENV} to a folder holding the four MNIST IDX files")
    arrays = {}
    for stem, (_, dims) in IDX_HEADERS.items():
        path = _find_idx_file(data_dir, stem)
        arrays[stem] = read_idx(path, name=path,
                                expected_sha256=SHA256[stem] if verify else None,
                                expected_shape=dims if verify else None)
    for split in ("train", "t10k"):
        images, labels = arrays[f"{split}-images-idx3-ubyte"], arrays[f"{split}-labels-idx1-ubyte"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DataError(f"{data_dir}: {split} images are {images.shape[1:]}, expected 28x28")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataError(f"{data_dir}: {len(labels)} {split} labels for {len(images)} images")
        if labels.size and labels.max() >= NUM_CLASSES:
            raise DataError(f"{data_dir}: {split} labels hold {labels.max()}, expected digits 0-9")
    return Mnist(
        x_train=arrays["train-images-idx3-ubyte"][..., None],
        y_train=arrays["train-labels-idx1-ubyte"].astype(np.int64),
        x_test=arrays["t10k-images-idx3-ubyte"][..., None],
        y_test=arrays["t10k-labels-idx1-ubyte"].astype(np.int64),
    )


def load_tfds(tfds_data_dir=None):
    """Loads MNIST through tensorflow-datasets (downloads it on first use)."""
    import tensorflow_datasets as tfds  # Heavy import; only this source needs it.

    def arrays(split):
        ds = tfds.load("mnist", split=split, as_supervised=True, data_dir=tfds_data_dir)
        batches = list(ds.batch(10_000).as_numpy_iterator())
        return (np.concatenate([x for x, _ in batches]).astype(np.uint8),
                np.concatenate([y for _, y in batches]).astype(np.int64))

    (x_train, y_train), (x_test, y_test) = arrays("train"), arrays("test")
    return Mnist(x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test)


def resolve_data_dir(data_dir=None):
    """The IDX folder to use: the flag, else $KERAS_MNIST_DATA_DIR, else None (tfds)."""
    return data_dir or os.environ.get(DATA_DIR_ENV) or None


def load(data_dir=None):
    """MNIST from `data_dir`, else $KERAS_MNIST_DATA_DIR, else tensorflow-datasets."""
    folder = resolve_data_dir(data_dir)
    return load_idx_folder(folder) if folder else load_tfds()


def split_validation(x, y, validation_size, seed):
    """Holds out `validation_size` random training examples: (train, validation)."""
    if not 0 <= validation_size < len(x):
        raise ValueError(f"validation_size {validation_size} must be in [0, {len(x)})")
    order = np.random.default_rng(seed).permutation(len(x))
    held, kept = order[:validation_size], order[validation_size:]
    return (x[kept], y[kept]), (x[held], y[held])


def train_dataset(x, y, batch_size, seed, epochs=1, first_epoch=0):
    """Training batches for epochs `first_epoch` .. `epochs - 1`, one after the other.

    Each epoch is a fresh shuffle whose order depends only on (seed, epoch), not
    on how many epochs this process has already run: a run resumed at epoch k
    sees exactly the batches an uninterrupted run sees from epoch k on.
    """
    examples = tf.data.Dataset.from_tensor_slices((x, y)).cache()

    def one_epoch(epoch):
        order_seed = tf.cast(seed, tf.int64) * 1_000_003 + epoch
        return examples.shuffle(len(x), seed=order_seed).batch(batch_size)

    epochs_ds = tf.data.Dataset.range(first_epoch, epochs)
    return epochs_ds.flat_map(one_epoch).prefetch(tf.data.AUTOTUNE)


def eval_dataset(x, y, batch_size):
    """Evaluation batches in file order."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)
