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


def _blank_is_no_digit(tmp_path, width, load):
    """A light-grey PNG `width` pixels wide, read by `load`: NoDigitError, named by its file."""
    blank = write_png(tmp_path / "blank.png", np.full((60, width, 1), 230, np.uint8))
    with pytest.raises(predict.NoDigitError, match="blank.png: no digit found"):
        load(blank)


def test_blank_image_is_no_digit(tmp_path):
    _blank_is_no_digit(tmp_path, 40, predict.load_image)


@pytest.fixture(scope="module")
def committed():
    from keras_mnist.inference import load

    return load.classifier(os.path.join(REPO, "savedmodels", "reference", "1", "model.keras"))


def _read(classifier, raw):
    return "".join(str(d) for d in np.argmax(classifier.predict(predict.image_to_digits(raw)), -1))


@pytest.mark.parametrize("rendering", ["number_photo", "number_scan"])
def test_a_number_is_read_digit_by_digit(committed, mnist, rendering):
    from keras_mnist.inference import renderings

    for index, digits in enumerate([[0, 1], [3, 4, 5], [6, 7, 8, 9]]):
        raw = renderings.render_number(mnist.x_test[digits], rendering, index)
        assert _read(committed, raw) == "".join(str(d) for d in mnist.y_test[digits])


def test_one_digit_keeps_its_exact_pixels(mnist):
    from keras_mnist.inference import renderings

    for rendering in renderings.RENDERINGS:
        for raw in renderings.render_all(mnist.x_test[:8], rendering):
            digits = predict.image_to_digits(raw)
            assert digits.shape == (1, 28, 28, 1)
            np.testing.assert_array_equal(digits[0], predict.image_to_pixels(raw))


def touching_zeros(mnist, overlap=3):
    """A PNG of three 0s overlapping, dark on light: one blob too wide for one digit."""
    import io

    from PIL import Image

    zero = mnist.x_test[np.flatnonzero(mnist.y_test == 0)[0], ..., 0]
    cols = np.flatnonzero(zero.max(0))
    piece = zero[:, cols[0]:cols[-1] + 1]
    w = piece.shape[1]
    strip = np.zeros((28, 3 * w - 2 * overlap + 8), np.uint8)
    for i in range(3):
        left = 4 + i * (w - overlap)
        strip[:, left:left + w] = np.maximum(strip[:, left:left + w], piece)
    image = 255 - np.asarray(Image.fromarray(strip).resize((strip.shape[1] * 5, 140), Image.BICUBIC))
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def test_touching_digits_are_said_so_not_guessed(mnist):
    with pytest.raises(predict.TouchingDigitsError, match="image: digits touch"):
        predict.image_to_digits(touching_zeros(mnist))


def test_numbers_path_keeps_blank_and_bad_answers(tmp_path):
    _blank_is_no_digit(tmp_path, 400, predict.load_digits)
    with pytest.raises(predict.ImageError, match="junk: not a PNG"):
        predict.image_to_digits(b"not an image at all", "junk")


def test_a_pair_is_kept_only_where_the_model_reads_it_more_surely_than_the_whole():
    digits, pair = np.zeros((1, 28, 28, 1), np.float32), np.ones((2, 28, 28, 1), np.float32)

    def read(whole, first, second):
        probabilities = np.zeros((3, 10), np.float32)
        probabilities[0, 2], probabilities[1, 1], probabilities[2, 2] = whole, first, second
        pixels, read = predict.resolve(digits, {0: pair}, probabilities)
        return "".join(str(d) for d in np.argmax(read, -1)), len(pixels)

    assert read(0.95, 0.999, 0.999) == ("12", 2)  # The whole is doubtful, the pair sure.
    assert read(0.98, 0.999, 0.999) == ("2", 1)  # The whole is sure enough: one digit.
    assert read(0.5, 0.995, 0.99) == ("2", 1)  # The pair is not sure enough (0.985).
    pixels, _ = predict.resolve(digits, {}, np.eye(10, dtype=np.float32)[[3]])
    np.testing.assert_array_equal(pixels, digits)


def test_only_doubted_digits_have_their_pieces_read():
    """read_candidates asks the model about a cut digit's pieces only where it doubts the whole."""
    ink = np.zeros((28, 56), np.float32)
    ink[6:22, 8:14] = ink[6:22, 40:48] = 1.0
    left, right = np.zeros_like(ink), np.zeros_like(ink)
    left[:, :28], right[:, 28:] = 1.0, 1.0
    found = predict.Candidates(np.zeros((1, 28, 28, 1), np.float32), ink, {0: (left, right)})
    for whole, calls_wanted, read_wanted in ((0.99, [1], "2"), (0.9, [1, 2], "12")):
        calls = []

        def model(pixels):
            calls.append(len(pixels))
            if len(calls) == 1:  # The digit: a 2, as sure as `whole`.
                return np.eye(10, dtype=np.float32)[[2]] * whole
            return np.eye(10, dtype=np.float32)[[1, 2]]  # The pieces: a 1 and a 2, sure.

        pixels, read = predict.read_candidates(model, [found])[0]
        assert calls == calls_wanted
        assert "".join(str(d) for d in np.argmax(read, -1)) == read_wanted
        assert len(pixels) == len(read_wanted)
    # Several images in one batch: each keeps its own reading.
    readings = predict.read_candidates(lambda pixels: np.eye(10, dtype=np.float32)[[7] * len(pixels)],
                                       [found, found._replace(cuts={})])
    assert [len(p) for p, _ in readings] == [1, 1]


def touching_pair(mnist, labels, overlap=1, scale=5):
    """A PNG of two test digits `overlap` MNIST px into each other, dark on light."""
    import io

    from PIL import Image

    pieces = []
    for label in labels:
        digit = mnist.x_test[np.flatnonzero(mnist.y_test == label)[0], ..., 0]
        cols = np.flatnonzero(digit.max(0))
        pieces.append(digit[:, cols[0]:cols[-1] + 1])
    w0, w1 = pieces[0].shape[1], pieces[1].shape[1]
    strip = np.zeros((28, w0 + w1 - overlap + 8), np.uint8)
    strip[:, 4:4 + w0] = pieces[0]
    right = slice(4 + w0 - overlap, 4 + w0 - overlap + w1)
    strip[:, right] = np.maximum(strip[:, right], pieces[1])
    image = 255 - np.asarray(Image.fromarray(strip).resize((strip.shape[1] * scale, 28 * scale), Image.BICUBIC))
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, "PNG")
    return buffer.getvalue()


def test_a_1_touching_a_2_is_read_as_12_not_as_a_2(committed, mnist):
    raw = touching_pair(mnist, [1, 2])
    assert predict.image_to_digits(raw).shape[0] == 1  # One blob, no wider than a digit.
    assert _read(committed, raw) == "2"  # What the model says of the whole blob.
    pixels, probabilities = predict.read_digits(committed, raw)
    assert "".join(str(d) for d in np.argmax(probabilities, -1)) == "12"
    assert pixels.shape == (2, 28, 28, 1)


def test_single_digits_keep_their_answer_on_the_numbers_path(committed, mnist):
    from keras_mnist.inference import renderings

    for rendering in renderings.RENDERINGS:
        encoded = renderings.render_all(mnist.x_test[:8], rendering)
        singles = predict.classify_encoded(committed, encoded)
        for raw, single in zip(encoded, singles):
            _, probabilities = predict.read_digits(committed, raw)
            assert [int(np.argmax(p)) for p in probabilities] == [single]
