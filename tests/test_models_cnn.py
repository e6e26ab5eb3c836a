import keras
import numpy as np
import pytest

from keras_mnist import models
from keras_mnist.models import cnn


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


def test_cnn_family_options_for_small_budgets():
    model = models.build("cnn", widths_before_pool=[8, 16], transition_width=8, transition_before_pool=True,
                         widths_after_pool=[16, 16], first_stride=2, conv_groups=4, shared_repeats=2,
                         head="depthwise")
    names = [layer.name for layer in model.layers]
    # Early downsampling: 28 -> 13 -> 11, the transition before the pool, pool 5 -> 3 -> 1.
    assert model.get_layer("conv1a_conv").strides == (2, 2)
    assert tuple(model.get_layer("conv1b_bn").output.shape[1:]) == (11, 11, 16)
    assert names.index("transition_bn") < names.index("pool")
    assert model.get_layer("conv1a_conv").groups == 1  # one input channel
    assert all(model.get_layer(n).groups == 4 for n in ("conv1b_conv", "conv2a_conv", "conv2b_conv"))
    # Weight sharing: one conv layer, applied twice (two batch norms, two residual adds).
    shared = model.get_layer("shared_conv")
    assert len(shared._inbound_nodes) == 2 and len(shared.trainable_weights) == 1
    assert {"shared1_bn", "shared2_bn", "shared1_add", "shared2_add"} <= set(names)
    # The depthwise head spans the whole final map: one weight per position and channel.
    assert model.get_layer("head_depthwise").kernel.shape == (1, 1, 16, 1)
    expected = (9 * 8 + 9 * 8 * 16 // 4 + 16 * 8 + 9 * 8 * 16 // 4 + 9 * 16 * 16 // 4  # convs
                + 9 * 16 * 16 // 4  # the shared conv, once
                + 2 * (8 + 16 + 8 + 16 + 16) + 2 * 2 * 16  # batch norms, two for the shared conv
                + 1 * 16 + 16 * 10)  # depthwise head over 1x1, classifier
    assert models.count_trainable_params(model) == expected
    assert model.predict(np.zeros((2, 28, 28, 1), np.uint8), verbose=0).shape == (2, 10)


def test_cnn_family_pad_and_shared_keep_the_map():
    model = models.build("cnn", widths_before_pool=[8], transition_width=0, widths_after_pool=[12, 12],
                         pad_after_pool=True, shared_repeats=3, separable=True)
    assert tuple(model.get_layer("shared3_add").output.shape[1:]) == (13, 13, 12)
    assert isinstance(model.get_layer("shared_conv"), keras.layers.SeparableConv2D)


def test_cnn_family_second_pool_halves_the_map_and_adds_no_weights():
    options = dict(widths_before_pool=[4, 8], transition_width=0, widths_after_pool=[12, 16, 16],
                   pad_after_pool=True, head="depthwise")
    one_pool = models.build("cnn", **options)
    two_pools = models.build("cnn", second_pool_after=2, **options)
    names = [layer.name for layer in two_pools.layers]
    # 28 -> 26 -> 24, pool 12, two "same" convs, pool 6, one more conv.
    assert names.index("conv2b_bn") < names.index("pool2") < names.index("conv2c_conv")
    assert tuple(two_pools.get_layer("conv2b_bn").output.shape[1:]) == (12, 12, 16)
    assert tuple(two_pools.get_layer("conv2c_bn").output.shape[1:]) == (6, 6, 16)
    assert "pool2" not in [layer.name for layer in one_pool.layers]
    # The depthwise head spans the final map, so only it shrinks: 12x12 -> 6x6 weights per channel.
    assert (models.count_trainable_params(one_pool) - models.count_trainable_params(two_pools)
            == (144 - 36) * 16)
    assert cnn.final_map_size(2, 3, 1, True, 2) == 6
    assert cnn.final_map_size(2, 3, 1, False, 1) == 1  # 12 -> 10, pool 5 -> 3 -> 1
    assert cnn.final_map_size(2, 4, 1, False, 2) < 1  # 12 -> 10 -> 8, pool 4 -> 2 -> 0


def test_cnn_family_bn_after_pool_normalises_the_pooled_map_with_the_same_weights():
    options = dict(widths_before_pool=[8, 16], transition_width=0, widths_after_pool=[12, 16])
    model = models.build("cnn", bn_after_pool=True, **options)
    names = [layer.name for layer in model.layers]
    # conv -> ReLU -> pool -> batch norm: the batch norm sees 12x12, not 24x24.
    assert names.index("conv1b_relu") < names.index("pool") < names.index("conv1b_bn") < names.index("conv2a_conv")
    assert tuple(model.get_layer("conv1b_bn").output.shape[1:]) == (12, 12, 16)
    assert tuple(model.get_layer("conv1a_bn").output.shape[1:]) == (26, 26, 8)  # Only the last block moves.
    assert models.count_trainable_params(model) == models.count_trainable_params(models.build("cnn", **options))
    # With the batch norm first, the pool comes between the conv and the batch norm.
    before = [layer.name for layer in models.build("cnn", bn_after_pool=True, bn_before_relu=True,
                                                     **options).layers]
    assert before.index("conv1b_conv") < before.index("pool") < before.index("conv1b_bn") < before.index("conv1b_relu")
    # A 1x1 transition before the pool is then the block that pools.
    transition = models.build("cnn", bn_after_pool=True, **{**options, "transition_width": 8},
                              transition_before_pool=True)
    assert tuple(transition.get_layer("transition_bn").output.shape[1:]) == (12, 12, 8)
    assert tuple(transition.get_layer("conv1b_bn").output.shape[1:]) == (24, 24, 16)


@pytest.mark.parametrize("options, message", [
    (dict(separable=True, conv_groups=2), "--conv_groups needs --noseparable"),
    (dict(widths_before_pool=[8, 12], conv_groups=8), "--conv_groups=8 needs every 3x3 conv's channels after "
                                                      "the first to divide by it; 12 do not"),
    (dict(first_stride=2, widths_before_pool=[8, 8, 8], widths_after_pool=[8, 8]), "first stride 2"),
    (dict(widths_after_pool=[8, 8], second_pool_after=3), "there are 2 convolutions after the pool; give 0"),
    (dict(widths_after_pool=[8, 8, 8, 8], second_pool_after=2), "and a second pool shrink 28x28 below 1x1"),
])
def test_cnn_family_refuses_options_that_describe_no_network(options, message):
    with pytest.raises(models.ArchitectureError, match=message):
        models.build("cnn", **options)
    with pytest.raises(models.ArchitectureError, match=message):
        cnn.count_params(**options)


def test_count_params_without_building_equals_the_built_network():
    rng = np.random.default_rng(0)
    checked = 0
    while checked < 40:
        groups = int(rng.choice([1, 2, 4]))
        options = dict(
            widths_before_pool=[int(w) for w in 4 * rng.integers(1, 6, rng.integers(1, 4))],
            transition_width=int(rng.choice([0, 8, 12])), transition_before_pool=bool(rng.integers(2)),
            widths_after_pool=[int(w) for w in 4 * rng.integers(1, 6, rng.integers(1, 5))],
            bn_before_relu=bool(rng.integers(2)), pad_after_pool=bool(rng.integers(2)),
            separable=groups == 1 and bool(rng.integers(2)), first_stride=int(rng.integers(1, 3)),
            conv_groups=groups, shared_repeats=int(rng.integers(0, 3)), head=str(rng.choice(cnn.HEADS)))
        options["second_pool_after"] = int(rng.integers(0, len(options["widths_after_pool"]) + 1))
        options["bn_after_pool"] = bool(rng.integers(2))
        try:
            counted = cnn.count_params(**options)
        except models.ArchitectureError:
            continue
        assert counted == models.count_trainable_params(models.build("cnn", **options)), options
        checked += 1


def test_grouped_convs_run_one_conv_per_group_with_stock_conv_arithmetic():
    import tensorflow as tf

    from keras_mnist.models.layers import SplitGroupedConv2D

    x = tf.random.stateless_normal((4, 9, 9, 8), seed=(1, 2))
    for padding, strides in (("valid", 1), ("same", 2)):
        split = SplitGroupedConv2D(12, 3, padding=padding, strides=strides, groups=4, use_bias=False)
        stock = keras.layers.Conv2D(12, 3, padding=padding, strides=strides, groups=4, use_bias=False)
        split.build(x.shape), stock.build(x.shape)
        stock.set_weights(split.get_weights())  # Same kernel shape: (3, 3, 8 / 4, 12).
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            a, b = split(x), stock(x)
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)
        np.testing.assert_allclose(tape.gradient(a, split.kernel).numpy(), tape.gradient(b, stock.kernel).numpy(),
                                   atol=1e-4)
        np.testing.assert_allclose(tape.gradient(a, x).numpy(), tape.gradient(b, x).numpy(), atol=1e-5)
    # The family uses it for grouped convs; the exported copy has the stock layer, same outputs.
    model = models.build("cnn", conv_groups=4, widths_before_pool=[8, 16], transition_width=8)
    assert type(model.get_layer("conv2a_conv")) is SplitGroupedConv2D
    stock_model = models.with_stock_layers(model)
    assert type(stock_model.get_layer("conv2a_conv")) is keras.layers.Conv2D
    images = np.random.default_rng(0).integers(0, 256, (8, 28, 28, 1)).astype(np.uint8)
    np.testing.assert_allclose(model.predict(images, verbose=0), stock_model.predict(images, verbose=0), atol=1e-5)
