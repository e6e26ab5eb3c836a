import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from keras_mnist import predict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


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


def test_loaded_images_are_mnist_like(digits, small_mnist):
    pixels = predict.load_image(digits["mnist.png"][0])
    np.testing.assert_allclose(pixels, small_mnist.x_test[0], atol=1e-3)
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
    for name, message in (("notes.txt", "not a PNG, JPEG, BMP or GIF image"), ("empty.png", "empty file"),
                          ("missing.png", "cannot be read")):
        with pytest.raises(predict.ImageError, match=message):
            predict.load_image(str(tmp_path / name))


def test_huge_image_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(predict, "MAX_PIXELS", 1000)
    path = write_png(tmp_path / "big.png", np.zeros((40, 40, 1), np.uint8))
    with pytest.raises(predict.ImageError, match="40x40 pixels is too large"):
        predict.load_image(path)


def test_cli_classifies_good_files_and_reports_bad_ones(trained_export, digits, tmp_path):
    (tmp_path / "notes.txt").write_text("not an image")
    files = [digits["mnist.png"][0], str(tmp_path / "notes.txt"), digits["drawing.jpg"][0], digits["rgba.png"][0]]
    for model in ("model.keras", ".", "model_float16.tflite"):
        result = subprocess.run(
            [sys.executable, "-m", "keras_mnist.predict",
             f"--model={os.path.normpath(os.path.join(trained_export, model))}", *files],
            capture_output=True, text=True, cwd=REPO, timeout=600)
        assert result.returncode == 1
        lines = result.stdout.strip().splitlines()
        assert [line.split(":")[0] for line in lines] == [files[0], files[2], files[3]]
        for line in lines:
            digit, probability = line.split(": ")[1].split()
            assert 0 <= int(digit) <= 9 and 0 < float(probability.strip("()")) <= 1
        assert f"error: {tmp_path}/notes.txt: not a PNG" in result.stderr
        assert "Traceback" not in result.stderr
