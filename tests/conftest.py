import gzip
import io
import os
import struct

import numpy as np
import pytest

import keras_mnist  # noqa: F401  Before TensorFlow: it sets TensorFlow's oneDNN switch (keras_mnist/__init__.py).
import tensorflow as tf  # noqa: E402,I001

from keras_mnist import config, data

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


# The default recipe before issue 20 (dropout, stronger augmentation, lr 0.05). Short test runs
# that check mechanics, not accuracy, keep it: their 2-epoch models and thresholds were set with it.
EARLIER_RECIPE = ("--dropout_scale=0.4", "--augment_rotation=10", "--augment_shift=2",
                  "--learning_rate=0.05", "--label_smoothing=0.1")


@pytest.fixture(scope="session")
def trained_export(small_mnist, tmp_path_factory):
    """A briefly trained reference network, calibrated, exported with phone models and model card."""
    from keras_mnist.training import trainer

    root = tmp_path_factory.mktemp("trained")
    # --validation_size: the export fits its softmax temperature on those held-out images.
    cfg = config.parse([f"--workdir={root}/run", f"--export_dir={root}/models", "--epochs=2",
                        "--validation_size=500", "--batch_size=64", "--verbose=0", "--seed=3",
                        *EARLIER_RECIPE])
    return trainer.train_and_evaluate(cfg, mnist=small_mnist)["export_path"]


def quick_config(tmp_path, *extra):
    """A 2-epoch run on the small subset, writing only under tmp_path."""
    return config.parse([f"--workdir={tmp_path}/run", f"--export_dir={tmp_path}/models",
                         "--epochs=2", "--batch_size=64", "--verbose=0", "--noexport_tflite", *extra])


def first_images(mnist, n):
    """The first `n` training images of `mnist` (and all its test images)."""
    return data.Mnist(mnist.x_train[:n], mnist.y_train[:n], mnist.x_test, mnist.y_test)


class Fixed:
    """A classifier that answers given probabilities."""

    def __init__(self, probabilities):
        self.probabilities = probabilities

    def predict(self, images):
        return self.probabilities


def run_cli(module, *args):
    """Runs a command's `main` in this process as `python -m` would: flags parsed, then main(argv).

    The global flags are restored afterwards, so commands run one after the other
    in one process do not see each other's values.
    """
    from absl import flags
    from absl.testing import flagsaver

    with flagsaver.flagsaver():
        argv = flags.FLAGS([module.__name__, *args])
        return module.main(argv)


def write_png(path, array):
    path.write_bytes(tf.io.encode_png(tf.constant(array, tf.uint8)).numpy())
    return str(path)


def write_jpeg(path, array):
    path.write_bytes(tf.io.encode_jpeg(tf.constant(array, tf.uint8), quality=95).numpy())
    return str(path)


@pytest.fixture
def digits(small_mnist, tmp_path):
    """Test digits written as files in several forms a user might have."""
    x, y = small_mnist.x_test, small_mnist.y_test
    files = {
        "mnist.png": (write_png(tmp_path / "mnist.png", x[0]), y[0]),
        # Dark ink on white paper, large, colour, JPEG.
        "drawing.jpg": (write_jpeg(tmp_path / "drawing.jpg",
                                   np.repeat(255 - np.kron(x[1], np.ones((6, 6, 1), np.uint8)), 3, -1)), y[1]),
        "rgba.png": (write_png(tmp_path / "rgba.png",
                               np.concatenate([np.repeat(x[2], 3, -1), np.full((28, 28, 1), 255, np.uint8)], -1)), y[2]),
    }
    return files


def sdk_scores(sdk, model_path, rgb_images, tmp_path):
    """An SDK's ImageClassifier on uint8 RGB images: MediaPipe Tasks (the Android/iOS SDKs'
    task code) or the TFLite Task Library. [N, 10] scores by label index."""
    from keras_mnist.deploy import toolenv

    images, scores = tmp_path / "images.npy", tmp_path / "scores.npy"
    np.save(images, rgb_images)
    toolenv.run("classify.py", sdk, model_path, images, scores)
    return np.load(scores)


def plain_interpreter_output_0(model_path, rgb_images):
    """The official digit-classifier samples' pattern: set input 0, invoke, read output 0."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=model_path)
    interpreter.allocate_tensors()
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    probabilities = []
    for image in rgb_images:
        interpreter.set_tensor(inp["index"], image[None].astype(inp["dtype"]))
        interpreter.invoke()
        q = interpreter.get_tensor(out["index"])[0]
        scale, zero_point = out["quantization"]
        probabilities.append((q.astype(np.float32) - zero_point) * scale if scale else q)
    return np.array(probabilities)


def renderings_as_camera_crops(mnist, per_kind):
    """The first `per_kind` test digits in each realistic rendering, each frame resized to the
    camera model's input as an app (or MediaPipe) does: (crops [N, 112, 112, 3] uint8, labels, kinds)."""
    from PIL import Image

    from keras_mnist import contract
    from keras_mnist.inference import renderings

    crops, labels, kinds = [], [], []
    for kind in renderings.RENDERINGS:
        for raw, label in zip(renderings.render_all(mnist.x_test[:per_kind], kind), mnist.y_test[:per_kind]):
            image = Image.open(io.BytesIO(raw)).convert("RGB")
            crops.append(np.asarray(image.resize((contract.CAMERA_SIZE,) * 2, Image.BILINEAR)))
            labels.append(label)
            kinds.append(kind)
    return np.array(crops), np.array(labels), np.array(kinds)


def camera_model_digits(path, crops):
    """The camera phone model's digits for `crops`; -1 where it says "no digit" (0.1 for every label)."""
    from keras_mnist.inference import load

    probabilities = load.LiteModel(path).predict(crops)
    return np.where(probabilities.max(-1) <= 0.1 + 1e-6, -1, probabilities.argmax(-1))
