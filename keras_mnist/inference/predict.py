"""Classifies image files: any PNG/JPEG/BMP/GIF, any size, colour or grey.

Each image is made MNIST-like as MNIST itself was made (the ink found, fitted
into 20x20, centred by its centre of mass in 28x28, white on black; see
`inference.preprocess`) and classified by any model form (`inference.load`). A
file that cannot be read as an image is an `ImageError`, an image without ink a
`NoDigitError`; `classify` reports it and goes on with the others.

A number of several digits side by side is read digit by digit: the digits are
told apart in preprocessing's ink map (`inference.segment`), each made MNIST-like
and classified. Digits that touch are a `TouchingDigitsError`, not a guess. An
image of one digit gives exactly the single-digit pixels and answer, unless the
model reads it better as two digits that touch (`read_digits`).
"""

import os
from typing import NamedTuple

import numpy as np

# The export `python -m keras_mnist.predict` uses when no --model is given.
DEFAULT_MODEL_NAME = "reference"
# A blob that segment.pair_cut offers cut in two is read as two digits only where the model
# reads the whole blob with less than DOUBT_WHOLE, and both pieces at once (the product of
# their top probabilities, calibrated) with at least SURE_PAIR. The model reads a 1
# touching a 2 as a 2 at 0.96, and each half of many a single digit at 0.99 or more, so
# both bounds are needed. Chosen on renderings of the committed model's held-out training
# digits (docs/experiments.md).
DOUBT_WHOLE, SURE_PAIR = 0.97, 0.99


class ImageError(Exception):
    """The file is not an image this tool can read."""


class NoDigitError(ImageError):
    """The image was read, but no ink was found in it (a blank page, a plain colour)."""


class TouchingDigitsError(ImageError):
    """The image holds several digits, and some of them touch: they cannot be read apart."""


def load_image(path):
    """File -> float32 [28, 28, 1] MNIST-like pixels, or ImageError (NoDigitError: no ink)."""
    return image_to_pixels(_read(path), path)


def load_digits(path):
    """File -> float32 [n, 28, 28, 1]: the digits of the number in it, left to right (see image_to_digits)."""
    return image_to_digits(_read(path), path)


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise ImageError(f"{path}: cannot be read ({e.strerror})") from None


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


def image_to_digits(raw, name="image"):
    """Encoded image bytes -> float32 [n, 28, 28, 1]: each digit of the number in it, left to right.

    One digit: `image_to_pixels`' pixels, exactly. NoDigitError where there is no ink,
    TouchingDigitsError where digits touch, ImageError where the bytes are not an image.
    Touching digits no wider than one are one digit here; `read_digits` tells them apart.
    """
    return image_to_candidates(raw, name).digits


class Candidates(NamedTuple):
    """What an image may be read as: its digits, and where some may be two touching digits."""

    digits: np.ndarray  # float32 [n, 28, 28, 1]: image_to_digits' digits.
    ink: np.ndarray  # The number's ink map [h, w] (preprocess.number_ink_map).
    cuts: dict  # {i: (left mask, right mask)}: digit i cut in two (segment.pair_cut).

    def pieces(self, i):
        """Digit i's two pieces, each made MNIST-like: float32 [2, 28, 28, 1]."""
        import tensorflow as tf

        from keras_mnist.inference import preprocess

        return np.stack([preprocess.fit_ink(tf.constant(self.ink * mask)).numpy() for mask in self.cuts[i]])


def image_to_candidates(raw, name="image"):
    """Encoded image bytes -> Candidates: image_to_digits' digits, and each digit wide enough
    to be two touching digits cut in two (segment.pair_cut). The errors of image_to_digits."""
    import tensorflow as tf

    from keras_mnist.inference import decode, preprocess, segment

    try:
        image = preprocess.decode(raw)
        pixels, found = preprocess.preprocess(image)
        if found:
            ink = preprocess.number_ink_map(image)[0].numpy()
    except tf.errors.OpError as e:
        raise ImageError(f"{name}: {decode.error_text(e).removeprefix('image: ')}") from None
    if not found:
        raise NoDigitError(f"{name}: no digit found")
    try:
        masks = segment.digit_masks(ink)
    except segment.TouchingDigits:
        raise TouchingDigitsError(f"{name}: digits touch; they cannot be read apart (write them apart)") from None
    if len(masks) <= 1:
        digits = pixels.numpy()[None]
    else:
        digits = np.stack([preprocess.fit_ink(tf.constant(ink * mask)).numpy() for mask in masks])
    return Candidates(digits, ink, segment.pair_cut(ink, masks))


def resolve(digits, pairs, probabilities):
    """(digits [n, 28, 28, 1], {i: pieces [2, 28, 28, 1]}, probabilities [n + 2 * len(pairs), 10])
    -> the reading: (pixels [m, 28, 28, 1], probabilities [m, 10]), each doubtful digit replaced
    by its two pieces where the model doubts the whole and reads the pair surely (DOUBT_WHOLE,
    SURE_PAIR).

    `probabilities` are the model's for `digits`, then for each pair's pieces in `pairs`' order.
    """
    whole, pieces = probabilities[:len(digits)], probabilities[len(digits):]
    pixels_out, probabilities_out = [], []
    pieces_of = {i: (pairs[i], pieces[2 * k:2 * k + 2]) for k, i in enumerate(pairs)}
    for i in range(len(digits)):
        if i in pieces_of:
            pair, read = pieces_of[i]
            pair_sure = np.prod(read.max(-1))
            if whole[i].max() < DOUBT_WHOLE and pair_sure >= SURE_PAIR:
                pixels_out += list(pair)
                probabilities_out += list(read)
                continue
        pixels_out.append(digits[i])
        probabilities_out.append(whole[i])
    return np.stack(pixels_out), np.stack(probabilities_out)


def read_candidates(predict_fn, candidates):
    """Candidates of several images -> each one's reading (resolve's (pixels, probabilities)).

    Two batches for all of them: every digit first; then only the pieces of the cut digits the
    model doubts (below DOUBT_WHOLE), so that a clear digit costs no second look.
    `predict_fn`: float32 [k, 28, 28, 1] -> probabilities [k, 10] (a classifier's predict).
    """
    candidates = list(candidates)
    if not candidates:
        return []
    whole = np.split(np.asarray(predict_fn(np.concatenate([c.digits for c in candidates]))),
                     np.cumsum([len(c.digits) for c in candidates])[:-1])
    pairs = [{i: c.pieces(i) for i in c.cuts if w[i].max() < DOUBT_WHOLE} for c, w in zip(candidates, whole)]
    pieces = [pair for p in pairs for pair in p.values()]
    read = np.asarray(predict_fn(np.concatenate(pieces))) if pieces else np.zeros([0, 10], np.float32)
    counts = np.cumsum([2 * len(p) for p in pairs])[:-1]
    return [resolve(c.digits, p, np.concatenate([w, r]))
            for c, p, w, r in zip(candidates, pairs, whole, np.split(read, counts))]


def read_digits(classifier, raw, name="image"):
    """Encoded image bytes -> (pixels [n, 28, 28, 1], probabilities [n, 10]): the number in it,
    digit by digit, left to right; the errors of image_to_digits."""
    return read_candidates(classifier.predict, [image_to_candidates(raw, name)])[0]


def read_encoded(classifier, encoded):
    """Encoded images (bytes) -> the numbers read: a string of digits each, None where no
    digit was found, digits touch or the bytes are not an image."""
    numbers = []
    for raw in encoded:
        try:
            _, probabilities = read_digits(classifier, raw)
        except ImageError:
            numbers.append(None)
            continue
        numbers.append("".join(str(d) for d in np.argmax(probabilities, axis=-1)))
    return numbers


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
    """Yields (path, number, probabilities, None) or (path, None, None, error), in the order given.

    `number` is a string of digits ("7", "42"), `probabilities` each digit's.
    `error` is an ImageError (a NoDigitError where the image has no ink, a
    TouchingDigitsError where digits touch). With a dict `pixels`, the 28x28
    inputs the model saw are stored there for each path ([n, 28, 28, 1]).
    """
    loaded = {}
    for path in paths:
        try:
            loaded[path] = image_to_candidates(_read(path), path)
        except ImageError as e:
            loaded[path] = e
    readable = [p for p in paths if isinstance(loaded[p], Candidates)]
    readings = dict(zip(readable, read_candidates(classifier.predict, [loaded[p] for p in readable])))
    for path in paths:
        if path not in readings:
            yield path, None, None, loaded[path]
            continue
        read_pixels, read = readings[path]
        if pixels is not None:
            pixels[path] = read_pixels
        digits = np.argmax(read, axis=-1)
        yield (path, "".join(str(d) for d in digits),
               [float(p[d]) for p, d in zip(read, digits)], None)


def default_model():
    """The newest exported version of the reference network, if there is one."""
    from keras_mnist.deploy import saved_model

    base = os.path.join("savedmodels", DEFAULT_MODEL_NAME)
    versions = saved_model.versions(base)
    return os.path.join(base, str(versions[-1])) if versions else None
