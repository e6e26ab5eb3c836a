import os

import numpy as np
import pytest

from conftest import write_png
from keras_mnist.inference import predict


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_loaded_images_are_mnist_like(digits, small_mnist):
    pixels = predict.load_image(digits["mnist.png"][0])
    # An MNIST digit is already fitted and centred: it comes out nearly unchanged.
    assert np.abs(pixels - small_mnist.x_test[0]).mean() < 3
    # Dark-on-light is inverted back: the border is black, the strokes bright.
    drawing = predict.load_image(digits["drawing.jpg"][0])
    assert drawing.shape == (28, 28, 1)
    assert drawing[:2].mean() < 20 and drawing.max() > 200
    # JPEG and a 6x downsampling blur the strokes a little; the digit is the same.
    assert np.abs(drawing - small_mnist.x_test[1]).mean() < 8
    assert np.corrcoef(drawing.ravel(), small_mnist.x_test[1].ravel())[0, 1] > 0.95


def test_bad_files_get_one_line_each(tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    for name, message in (("notes.txt", "not a PNG, JPEG, GIF or BMP file"), ("empty.png", "empty; send"),
                          ("missing.png", "cannot be read")):
        with pytest.raises(predict.ImageError, match=message):
            predict.load_image(str(tmp_path / name))


def test_huge_image_is_refused_before_decoding(tmp_path):
    from test_inference_decode import png_bomb

    path = tmp_path / "big.png"
    path.write_bytes(png_bomb(6000, 5000))  # 30 MP in a few KB.
    with pytest.raises(predict.ImageError, match="6000x5000 pixels is over the limit of 25,000,000"):
        predict.load_image(str(path))


def test_blank_image_is_no_digit(tmp_path):
    blank = write_png(tmp_path / "blank.png", np.full((60, 40, 1), 230, np.uint8))
    with pytest.raises(predict.NoDigitError, match="blank.png: no digit found"):
        predict.load_image(blank)
