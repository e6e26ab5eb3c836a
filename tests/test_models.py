import keras
import numpy as np
import pytest

from keras_mnist import models


def test_seed_network_matches_the_notebook():
    model = models.build("seed")
    assert models.count_trainable_params(model) == 16_848
    probabilities = model(np.zeros((3, 28, 28, 1), np.float32))
    assert tuple(probabilities.shape) == (3, 10)
    np.testing.assert_allclose(np.sum(probabilities, axis=-1), 1.0, rtol=1e-5)


def test_seed_network_layers_are_the_notebooks():
    model = models.build("seed")
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [16, 16, 16, 16, 16, 16, 32, 10]
    assert not any(c.use_bias for c in convs)
    drops = [layer.rate for layer in model.layers if isinstance(layer, keras.layers.SpatialDropout2D)]
    assert drops == pytest.approx([0.25, 0.25, 0.1, 0.1, 0.25])
    assert sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 7


def test_model_takes_raw_pixels():
    """Scaling is in the model: 0-255 input normalises to the notebook's (x/255 - mean)/std."""
    model = models.build("seed")
    normalized = keras.Model(model.input, model.get_layer("normalize").output)
    out = np.asarray(normalized(np.full((1, 28, 28, 1), 255.0, np.float32)))
    np.testing.assert_allclose(out, (1.0 - models.PIXEL_MEAN) / models.PIXEL_STD, rtol=1e-5)


def test_dropout_scale_multiplies_rates_and_zero_removes_them():
    rates = lambda m: [l.rate for l in m.layers if isinstance(l, keras.layers.SpatialDropout2D)]  # noqa: E731
    assert rates(models.build("seed", dropout_scale=0.5)) == pytest.approx([0.125, 0.125, 0.05, 0.05, 0.125])
    assert rates(models.build("seed", dropout_scale=0.0)) == []


def test_unknown_model_lists_the_choices():
    with pytest.raises(ValueError, match="unknown model 'nope'; choose one of: .*seed"):
        models.build("nope")


def test_registry_rejects_a_second_builder_under_one_name():
    with pytest.raises(ValueError, match="registered twice"):
        models.register("seed")(lambda dropout_scale=1.0: None)


def test_stock_copy_predicts_the_same_and_loads_without_keras_mnist(tmp_path):
    import subprocess
    import sys

    model = models.build("seed")
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype(np.float32)
    model(x, training=True)  # Move the batch-norm statistics off their initial values.
    stock = models.with_stock_layers(model)
    assert not any(type(l).__module__.startswith("keras_mnist") for l in stock.layers)
    np.testing.assert_allclose(stock(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-7)
    stock.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", np.asarray(model(x, training=False)))
    code = (f"import keras, numpy as np; m = keras.models.load_model({str(tmp_path / 'm.keras')!r}); "
            f"np.testing.assert_allclose(m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0), "
            f"np.load({str(tmp_path / 'expected.npy')!r}), rtol=1e-5, atol=1e-7)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)


def test_cnn_family_follows_its_widths():
    model = models.build("cnn", widths_before_pool=[6, 10], transition_width=0,
                         widths_after_pool=[12, 14, 16])
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert [c.filters for c in convs] == [6, 10, 12, 14, 16, 10]
    assert [c.kernel_size for c in convs] == [(3, 3)] * 5 + [(1, 1)]
    # 3x3 weights, batch norm gamma and beta, the 1x1 classifier; no biases.
    expected = 9 * (1 * 6 + 6 * 10 + 10 * 12 + 12 * 14 + 14 * 16) + 2 * (6 + 10 + 12 + 14 + 16) + 16 * 10
    assert models.count_trainable_params(model) == expected
    # Valid 3x3 convs: 28 -> 26 -> 24, pool 12, -> 10 -> 8 -> 6.
    assert tuple(model.get_layer("conv2c_bn").output.shape[1:]) == (6, 6, 16)


def test_cnn_family_transition_and_batch_norm_placement():
    model = models.build("cnn", transition_width=8, bn_before_relu=True)
    assert model.get_layer("transition_conv").kernel_size == (1, 1)
    names = [layer.name for layer in model.layers]
    assert names.index("conv1a_bn") < names.index("conv1a_relu")
    default = [layer.name for layer in models.build("cnn").layers]
    assert default.index("conv1a_relu") < default.index("conv1a_bn")


def test_cnn_family_padding_after_the_pool_keeps_the_map_size():
    padded = models.build("cnn", widths_after_pool=[8] * 6, pad_after_pool=True)
    assert tuple(padded.get_layer("conv2f_bn").output.shape[1:]) == (12, 12, 8)
    # Padding adds no weights: same parameters as the valid version of the same widths.
    assert models.count_trainable_params(models.build("cnn", pad_after_pool=True)) == \
        models.count_trainable_params(models.build("cnn"))


def test_cnn_family_separable_convs():
    model = models.build("cnn", widths_before_pool=[16, 32], transition_width=0,
                         widths_after_pool=[32, 48], separable=True)
    # The first conv sees one channel: a full conv. The others: depthwise 3x3 + pointwise 1x1.
    assert type(model.get_layer("conv1a_conv")) is keras.layers.Conv2D
    for name in ("conv1b_conv", "conv2a_conv", "conv2b_conv"):
        assert isinstance(model.get_layer(name), keras.layers.SeparableConv2D)
    expected = (9 * 16 + (9 * 16 + 16 * 32) + (9 * 32 + 32 * 32) + (9 * 32 + 32 * 48)
                + 2 * (16 + 32 + 32 + 48) + 48 * 10)
    assert models.count_trainable_params(model) == expected


def test_cnn_family_refuses_a_map_shrunk_to_nothing():
    with pytest.raises(ValueError, match="below 1x1; use fewer"):
        models.build("cnn", widths_before_pool=[8, 8, 8], widths_after_pool=[8] * 6)


def test_architecture_options_reach_only_the_builders_that_take_them():
    assert models.count_trainable_params(models.build("seed", widths_after_pool=[4])) == 16_848
