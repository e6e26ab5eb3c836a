"""The demo's input path: image bytes -> the 28x28 the model sees, with `predict`'s preprocessing."""

import numpy as np
import pytest
import tensorflow as tf

from keras_mnist.inference import predict
from keras_mnist.webdemo import digits


def png(array):
    return tf.io.encode_png(tf.constant(np.asarray(array, np.uint8))).numpy()


def test_the_page_sees_what_predict_sees(small_mnist, tmp_path):
    for image in small_mnist.x_test[:3]:
        drawing = png(255 - np.kron(image, np.ones((10, 10, 1), np.uint8)))  # As the canvas sends it.
        (tmp_path / "drawing.png").write_bytes(drawing)
        np.testing.assert_array_equal(digits.to_model_input(drawing),
                                      predict.load_image(str(tmp_path / "drawing.png")))


def huge_png():
    """A small PNG that claims 20,000 x 20,000 pixels: its header must refuse it, not a decoder."""
    import zlib

    def chunk(kind, payload):
        return len(payload).to_bytes(4, "big") + kind + payload + zlib.crc32(kind + payload).to_bytes(4, "big")

    ihdr = (20000).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    rows = zlib.compress(b"\x00" * 20001 * 10)  # Ten rows only: the file is truncated on purpose.
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")


@pytest.mark.parametrize("raw, message", [
    (b"not an image\n", "notes.txt: not a PNG, JPEG, GIF or BMP file"), (b"", "notes.txt: empty; send"),
    (b"\x89PNG\r\n\x1a\n", "notes.txt: PNG without its IHDR header"),  # Truncated after the signature.
    (png(np.full((120, 90, 3), 255)), "notes.txt: no digit found"),
    (png(np.full((120, 90, 1), 128)), "notes.txt: no digit found"),
    (huge_png(), "notes.txt: 20000x20000 pixels is over the limit")])
def test_bad_input_is_one_message(raw, message):
    with pytest.raises(digits.InputError, match=message) as error:
        digits.to_model_input(raw, "notes.txt")
    assert "\n" not in str(error.value)
