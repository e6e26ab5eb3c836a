"""Classifies image files: `python -m keras_mnist.predict --model=PATH FILE...`.

Any PNG/JPEG/BMP/GIF, any size, colour or grey. Each image is made MNIST-like
(grey, 28x28, white digit on black: dark-on-light drawings are inverted, see
`keras_mnist.preprocess`) and classified by a `.keras` file, a SavedModel folder
or a `.tflite` file. A file that cannot be read as an image gets one line on
stderr; the other files are still classified, and the exit status is 1.
"""

import os

import numpy as np

# Refuse images larger than this (decompression bombs, a 100-megapixel photo).
MAX_PIXELS = 50_000_000


class ImageError(Exception):
    """The file is not an image this tool can read."""


def load_image(path):
    """File -> float32 [28, 28, 1] MNIST-like pixels, or ImageError."""
    import tensorflow as tf

    from keras_mnist import preprocess

    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ImageError(f"{path}: cannot be read ({e.strerror})") from None
    if not raw:
        raise ImageError(f"{path}: empty file")
    try:
        image = tf.io.decode_image(raw, channels=1, expand_animations=False)
    except (tf.errors.InvalidArgumentError, tf.errors.UnimplementedError):
        raise ImageError(f"{path}: not a PNG, JPEG, BMP or GIF image") from None
    height, width = int(image.shape[0]), int(image.shape[1])
    if height * width > MAX_PIXELS:
        raise ImageError(f"{path}: {width}x{height} pixels is too large; resize it below "
                         f"{MAX_PIXELS // 1_000_000} megapixels")
    return preprocess.to_mnist_pixels(image).numpy()


def classify(classifier, paths):
    """Yields (path, digit, probability, None) or (path, None, None, error message)."""
    images, readable = [], []
    for path in paths:
        try:
            images.append(load_image(path))
            readable.append(path)
        except ImageError as e:
            yield path, None, None, str(e)
    if images:
        probabilities = classifier.predict(np.stack(images))
        for path, p in zip(readable, probabilities):
            digit = int(np.argmax(p))
            yield path, digit, float(p[digit]), None


def main(argv):
    import sys

    from absl import app, flags

    from keras_mnist import inference

    FLAGS = flags.FLAGS
    if len(argv) < 2:
        raise app.UsageError("usage: python -m keras_mnist.predict --model=PATH FILE...")
    if not FLAGS.model:
        raise SystemExit("error: no model found under savedmodels/seed/; pass --model=PATH "
                         "(a .keras file, a SavedModel folder or a .tflite file)")
    try:
        classifier = inference.load(FLAGS.model)
    except inference.ModelLoadError as e:
        raise SystemExit(f"error: {e}")
    failed = False
    for path, digit, probability, error in classify(classifier, argv[1:]):
        if error:
            print(f"error: {error}", file=sys.stderr)
            failed = True
        else:
            print(f"{path}: {digit} ({probability:.4f})")
    if failed:
        sys.exit(1)


def default_model():
    """The newest exported version of the reference network, if there is one."""
    from keras_mnist import export

    base = os.path.join("savedmodels", "seed")
    versions = export.versions(base)
    return os.path.join(base, str(versions[-1])) if versions else None


if __name__ == "__main__":
    from absl import app, flags, logging

    flags.DEFINE_string("model", default_model(),
                        "A .keras file, a SavedModel folder or a .tflite file. "
                        "Default: the newest savedmodels/seed/<version>.")
    logging.set_verbosity(logging.WARNING)
    app.run(main)
