"""RandomAffine: one warp of rotation, scale and shift, drawn per image from its seed."""

import keras
import numpy as np
import pytest

from keras_mnist.training.augment import RandomAffine


def _digits():
    """Eight 28x28 'digits': a bright 6x10 bar at different places on black."""
    x = np.zeros((8, 28, 28, 1), np.float32)
    for i in range(8):
        x[i, 8 + i:18 + i, 10:16, 0] = 255.0
    return x


def _centre_of_mass(images):
    a = np.asarray(images)[..., 0]
    ys, xs = np.mgrid[:28, :28]
    total = a.sum(axis=(1, 2))
    return (a * xs).sum(axis=(1, 2)) / total, (a * ys).sum(axis=(1, 2)) / total


def test_zero_limits_are_the_identity():
    x = _digits()
    np.testing.assert_array_equal(np.asarray(RandomAffine(seed=1)(x, training=True)), x)


def test_inference_leaves_images_alone():
    x = _digits()
    np.testing.assert_array_equal(np.asarray(RandomAffine(10, 0.1, 2, seed=1)(x, training=False)), x)


def test_shift_moves_each_image_within_the_limit_and_not_all_alike():
    x = _digits()
    cx0, cy0 = _centre_of_mass(x)
    cx, cy = _centre_of_mass(RandomAffine(shift=2.0, seed=1)(x, training=True))
    dx, dy = cx - cx0, cy - cy0
    assert np.abs(dx).max() <= 2.0 + 1e-3 and np.abs(dy).max() <= 2.0 + 1e-3
    assert dx.std() > 0.2 and dy.std() > 0.2  # a draw per image, not one per batch


@pytest.mark.parametrize("scale", [0.1, 0.3])
def test_scale_changes_the_ink_area_by_at_most_the_squared_factor(scale):
    x = _digits()
    ratio = np.asarray(RandomAffine(scale=scale, seed=2)(x, training=True)).sum(axis=(1, 2, 3)) / x.sum(axis=(1, 2, 3))
    assert ratio.min() >= (1 - scale) ** 2 - 0.02 and ratio.max() <= (1 + scale) ** 2 + 0.02
    assert ratio.max() - ratio.min() > scale  # both smaller and larger digits


def test_rotation_about_the_centre_keeps_the_ink_and_turns_the_bar():
    x = np.zeros((1, 28, 28, 1), np.float32)
    x[0, 6:22, 13:15, 0] = 255.0  # a vertical bar through the centre
    layer = RandomAffine(rotation=30.0, seed=3)
    turned = np.asarray(layer(np.repeat(x, 16, axis=0), training=True))
    np.testing.assert_allclose(turned.sum(axis=(1, 2, 3)), x.sum(), rtol=0.03)
    # A turned bar leaves the columns it filled: less ink in them the larger the angle.
    assert (turned[:, :, 13:15].sum(axis=(1, 2, 3)) < 0.9 * x.sum()).sum() >= 8


def test_same_seed_same_warps_other_seed_other_warps():
    x = _digits()
    a = np.asarray(RandomAffine(10, 0.1, 2, seed=5)(x, training=True))
    b = np.asarray(RandomAffine(10, 0.1, 2, seed=5)(x, training=True))
    c = np.asarray(RandomAffine(10, 0.1, 2, seed=6)(x, training=True))
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1.0


def test_config_round_trip():
    layer = RandomAffine(7.0, 0.05, 1.5, seed=9, name="warp")
    clone = RandomAffine.from_config(layer.get_config())
    assert (clone.rotation, clone.scale, clone.shift, clone.seed) == (7.0, 0.05, 1.5, 9)
    assert isinstance(keras.layers.deserialize(keras.layers.serialize(layer)), RandomAffine)


def test_clean_epochs_turn_the_warp_off_for_the_last_epochs_only():
    from keras_mnist.training.augment import CleanEpochs

    inputs = keras.Input((28, 28, 1))
    warp = RandomAffine(10, 0.1, 2, seed=1)
    outputs = keras.layers.Dense(10)(keras.layers.Flatten()(warp(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile("sgd", "mse")
    seen = []

    class Record(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):  # runs after CleanEpochs (listed first)
            seen.append((float(warp.strength.numpy()),
                         float(np.abs(np.asarray(warp(_digits(), training=True)) - _digits()).max())))

    model.fit(_digits(), np.zeros((8, 10)), epochs=4, verbose=0, callbacks=[CleanEpochs(2, 4), Record()])
    assert [s for s, _ in seen] == [1.0, 1.0, 0.0, 0.0]
    assert seen[0][1] > 10 and seen[3][1] == 0.0  # warped, then the images as they are
