"""Classifies image files: any PNG/JPEG/BMP/GIF, any size, colour or grey.

Each image is made MNIST-like as MNIST itself was made (the ink found, fitted
into 20x20, centred by its centre of mass in 28x28, white on black; see
`inference.preprocess`) and classified by any model form (`inference.load`). A
file that cannot be read as an image is an `ImageError`, an image without ink a
`NoDigitError`; `classify` reports it and goes on with the others.
"""

import os

import numpy as np

# The export `python -m keras_mnist.predict` uses when no --model is given.
DEFAULT_MODEL_NAME = "reference"


class ImageError(Exception):
    """The file is not an image this tool can read."""


class NoDigitError(ImageError):
    """The image was read, but no ink was found in it (a blank page, a plain colour)."""


def load_image(path):
    """File -> float32 [28, 28, 1] MNIST-like pixels, or ImageError (NoDigitError: no ink)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise ImageError(f"{path}: cannot be read ({e.strerror})") from None
    return image_to_pixels(raw, path)


def image_to_pixels(raw, name="image"):
    """Encoded image bytes -> float32 [28, 28, 1] MNIST-like pixels, or ImageError naming `name`.

    `inference.decode` checks the header (format, size, frames) before anything
    is decoded, so a small file declaring a huge image costs nothing.
    """
    import tensorflow as tf

    from keras_mnist.inference import decode, preprocess

    try:
        pixels, found = preprocess.decode_digit(raw)
    except tf.errors.OpError as e:
        raise ImageError(f"{name}: {decode.error_text(e).removeprefix('image: ')}") from None
    if not found:
        raise NoDigitError(f"{name}: no digit found")
    return pixels.numpy()


def classify_encoded(classifier, encoded, batch_size=500):
    """Encoded images (bytes) -> predicted digits [N] int, -1 where no digit was found.

    The same decoding and preprocessing as `load_image`, without files.
    """
    import tensorflow as tf

    from keras_mnist.inference import preprocess

    predictions = []
    for start in range(0, len(encoded), batch_size):
        images, found = [], []
        for raw in encoded[start:start + batch_size]:
            pixels, ink = preprocess.decode_digit(tf.constant(raw))
            images.append(pixels.numpy())
            found.append(bool(ink))
        digits = np.argmax(classifier.predict(np.stack(images)), axis=-1)
        predictions.append(np.where(found, digits, -1))
    return np.concatenate(predictions) if predictions else np.zeros([0], np.int64)


def classify(classifier, paths, pixels=None):
    """Yields (path, digit, probability, None) or (path, None, None, error), in the order given.

    `error` is an ImageError (a NoDigitError where the image has no ink). With a
    dict `pixels`, the 28x28 input the model saw is stored there for each path.
    """
    loaded = {}
    for path in paths:
        try:
            loaded[path] = load_image(path)
        except ImageError as e:
            loaded[path] = e
    readable = [path for path in paths if not isinstance(loaded[path], ImageError)]
    probabilities = dict(zip(readable, classifier.predict(np.stack([loaded[p] for p in readable]))
                             if readable else []))
    for path in paths:
        if path not in probabilities:
            yield path, None, None, loaded[path]
            continue
        if pixels is not None:
            pixels[path] = loaded[path]
        p = probabilities[path]
        digit = int(np.argmax(p))
        yield path, digit, float(p[digit]), None


def default_model():
    """The newest exported version of the reference network, if there is one."""
    from keras_mnist.deploy import saved_model

    base = os.path.join("savedmodels", DEFAULT_MODEL_NAME)
    versions = saved_model.versions(base)
    return os.path.join(base, str(versions[-1])) if versions else None
