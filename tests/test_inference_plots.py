
import numpy as np
from PIL import Image

from conftest import Fixed
from keras_mnist.inference import evaluate, plots


def _result(wrong_share, seed=0, n=50):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 10, n)
    wrong = np.arange(n) < round(wrong_share * n)
    probabilities = np.eye(10)[(y + wrong) % 10]
    x = rng.integers(0, 256, (n, 28, 28, 1))
    return evaluate.evaluate(Fixed(probabilities), x, y), x, y


def test_confusion_png_is_the_figure_drawn(tmp_path):
    result, _, _ = _result(0.2)
    plots.save_confusion_png(result, tmp_path / "cm.png")
    image = np.asarray(Image.open(tmp_path / "cm.png").convert("L"))
    assert image.shape == (660, 780)  # 6.5 x 5.5 inches at 120 dpi.
    assert image.min() < 64 and image.max() > 192  # Dark cells and text on a light figure.


def test_errors_png_has_one_row_of_ten_per_ten_errors(tmp_path):
    heights = {}
    for share in (0.2, 0.6):  # 10 and 30 misclassified digits: 1 and 3 rows.
        result, x, y = _result(share)
        assert int(np.sum(result.predictions != y)) == round(share * 50)
        plots.save_errors_png(result, x, y, tmp_path / f"errors{share}.png")
        image = np.asarray(Image.open(tmp_path / f"errors{share}.png").convert("L"))
        assert image.shape[1] == 1100  # 10 columns of 1.1 inches at 100 dpi.
        assert image.std() > 10  # The digits' noise, not a blank figure.
        heights[share] = image.shape[0]
    assert heights == {0.2: 130, 0.6: 390}


def test_inputs_png_refuses_another_extension(tmp_path):
    import pytest

    with pytest.raises(ValueError, match="not a .png"):
        plots.save_inputs_png([("a.png", None, "no digit")], str(tmp_path / "seen.jpg"))
