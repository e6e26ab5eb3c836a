"""The realistic renderings: deterministic, and classified nearly as well as the original digits."""

import os

import numpy as np
import pytest

from conftest import REPO
from keras_mnist.inference import load, predict, renderings

COMMITTED_MODEL = os.path.join(REPO, "savedmodels", "reference", "1", "model.keras")


def test_renderings_are_deterministic_from_the_seed(small_mnist):
    digit = small_mnist.x_test[0]
    for name in renderings.RENDERINGS:
        assert renderings.render(digit, name, 7, seed=1) == renderings.render(digit, name, 7, seed=1)
        assert renderings.render(digit, name, 7, seed=1) != renderings.render(digit, name, 7, seed=2)
    with pytest.raises(ValueError, match="unknown rendering"):
        renderings.render(digit, "fax", 0)


@pytest.fixture(scope="module")
def committed():
    return load.classifier(COMMITTED_MODEL)


@pytest.mark.parametrize("name", [name for name in renderings.RENDERINGS if not name.startswith("lowres")])
def test_rendered_digits_classified_nearly_as_well_as_the_originals(committed, mnist, name):
    # 200 test digits: the bound allows the 1.0 point plus sampling noise (3 digits).
    x, y = mnist.x_test[:200], mnist.y_test[:200]
    original = np.mean(np.argmax(committed.predict(x), -1) == y)
    rendered = np.mean(predict.classify_encoded(committed, renderings.render_all(x, name, seed=0)) == y)
    assert rendered >= original - 0.01 - 3 / len(y), (name, rendered, original)


def test_low_resolution_crops_are_found_and_read_as_well_as_with_a_margin(committed, mnist):
    """Issue 22: a blurred digit filling the frame is a digit; the crop costs at most 2 points."""
    from keras_mnist.renderings import image_bytes_signature, signature_predictions

    x, y = mnist.x_test[:200], mnist.y_test[:200]
    crops, margins = renderings.render_all(x, "lowres"), renderings.render_all(x, "lowres_margin")
    by_crop = predict.classify_encoded(committed, crops)
    assert (by_crop != -1).all()
    assert np.mean(by_crop == y) >= np.mean(predict.classify_encoded(committed, margins) == y) - 0.02 - 3 / len(y)
    signature = image_bytes_signature(load.classifier(os.path.dirname(COMMITTED_MODEL)))
    assert (signature_predictions(signature, crops) != -1).all()


def test_blurred_ones_filling_a_narrow_frame_are_found(committed, mnist):
    """Issue 22: training digits whose lowres crops were "no digit found" (ink in every block of
    the 4x4 background grid); found now by the bands across the narrow frame, and read right."""
    from keras_mnist.renderings import image_bytes_signature, signature_predictions

    index = np.array([484, 1710, 2260, 3230])
    crops = [renderings.render(mnist.x_train[i], "lowres", i) for i in index]
    assert list(predict.classify_encoded(committed, crops)) == list(mnist.y_train[index])
    signature = image_bytes_signature(load.classifier(os.path.dirname(COMMITTED_MODEL)))
    assert list(signature_predictions(signature, crops)) == list(mnist.y_train[index])


def test_numbers_are_rendered_from_consecutive_digits(small_mnist):
    groups = renderings.number_groups(20)
    assert np.array_equal(np.concatenate(groups), np.arange(20))
    assert all(2 <= len(g) <= 5 for g in groups[:-1])
    digits = small_mnist.x_test[:3]
    for name in renderings.NUMBER_RENDERINGS:
        assert renderings.render_number(digits, name, 1) == renderings.render_number(digits, name, 1)
        assert renderings.render_number(digits, name, 1) != renderings.render_number(digits, name, 2)
    with pytest.raises(ValueError, match="unknown rendering"):
        renderings.render_number(digits, "photo", 0)
