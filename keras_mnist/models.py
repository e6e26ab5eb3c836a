"""A registry of named MNIST architectures, all Keras functional models.

Every model takes raw 0-255 pixels, shape [batch, 28, 28, 1] channels-last, and
returns class probabilities [batch, 10]. Scaling and normalisation are layers of
the model, so the `.keras` file, the SavedModel and the TFLite model all take the
same input a camera or a canvas gives.
"""

import inspect

import keras
import numpy as np
from keras import layers

from keras_mnist.layers import FusedBatchNormalization

# Mean and standard deviation of MNIST training pixels scaled to [0, 1], the
# constants of the original notebook.
PIXEL_MEAN = 0.1307
PIXEL_STD = 0.3081

_REGISTRY = {}


def register(name):
    """Decorator: adds a model builder to the registry under `name`."""

    def add(builder):
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = builder
        return builder

    return add


def names():
    """The registered architecture names, sorted."""
    return sorted(_REGISTRY)


def build(name, dropout_scale=1.0, **options):
    """Builds the architecture `name`; `dropout_scale` multiplies every dropout rate.

    `options` are architecture flags (widths, batch-norm placement); each builder
    takes the ones its signature names, so one call serves every architecture.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(names())}")
    builder = _REGISTRY[name]
    accepted = inspect.signature(builder).parameters
    return builder(dropout_scale=dropout_scale,
                   **{k: v for k, v in options.items() if k in accepted})


def normalized_pixels(name="pixels"):
    """The model input (raw pixels) and its scaled, normalised version."""
    inputs = keras.Input(shape=(28, 28, 1), dtype="float32", name=name)
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    x = layers.Normalization(mean=PIXEL_MEAN, variance=PIXEL_STD**2, name="normalize")(x)
    return inputs, x


def conv_block(x, filters, dropout, name, kernel_size=3, padding="valid", bn_before_relu=False,
               separable=False):
    """Conv2D without bias -> ReLU -> BatchNorm -> SpatialDropout2D (if dropout > 0).

    The order (BN after the ReLU) and the missing bias are the notebook's;
    `bn_before_relu` swaps the two. The batch norm is Keras's, trained with TF's
    fused kernel (see `layers.py`). `separable`: a depthwise 3x3 conv followed by
    a 1x1 conv (SeparableConv2D) in place of the full conv, ~1/8 of the weights.
    """
    conv = layers.SeparableConv2D if separable else layers.Conv2D
    x = conv(filters, kernel_size, padding=padding, use_bias=False, name=f"{name}_conv")(x)
    if bn_before_relu:
        x = FusedBatchNormalization(name=f"{name}_bn")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
    else:
        x = layers.ReLU(name=f"{name}_relu")(x)
        x = FusedBatchNormalization(name=f"{name}_bn")(x)
    if dropout > 0:
        x = layers.SpatialDropout2D(dropout, name=f"{name}_drop")(x)
    return x


def classifier_head(x):
    """1x1 conv to the 10 classes, global average pooling, softmax."""
    x = layers.Conv2D(10, 1, use_bias=False, name="classifier_conv")(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return layers.Softmax(name="probabilities")(x)


@register("seed")
def seed_net(dropout_scale=1.0):
    """The original notebook's network: 16,848 trainable parameters.

    28 -> 26 -> 24 -> 22 -> pool 11 -> 9 -> 9 -> 7 -> 5, then 1x1 conv to 10 and GAP.
    """
    d = lambda rate: rate * dropout_scale  # noqa: E731
    inputs, x = normalized_pixels()
    x = conv_block(x, 16, d(0.25), "conv1a")
    x = conv_block(x, 16, 0.0, "conv1b")
    x = conv_block(x, 16, 0.0, "conv1c")
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = conv_block(x, 16, d(0.25), "conv2a")
    x = conv_block(x, 16, d(0.1), "conv2b", padding="same")
    x = conv_block(x, 16, d(0.1), "conv2c")
    x = conv_block(x, 32, d(0.25), "conv2d")
    return keras.Model(inputs, classifier_head(x), name="seed")


# Dropout of every block of the `cnn` family but the last, before --dropout_scale.
CNN_DROPOUT = 0.25


@register("cnn")
def cnn_family(dropout_scale=1.0, widths_before_pool=(8, 16), transition_width=8,
               widths_after_pool=(12, 12, 16, 16), bn_before_relu=False, pad_after_pool=False,
               separable=False):
    """The family the tuner searches: the seed network's shape with free widths.

    3x3 valid conv blocks of `widths_before_pool`, a 2x2 max-pool, an optional
    1x1 transition conv block of `transition_width` channels (0: none), 3x3
    conv blocks of `widths_after_pool` (valid, or "same" with `pad_after_pool`,
    which keeps the pooled map's size), then the 1x1 conv to 10 and GAP.
    `separable`: every 3x3 conv but the first (which sees one channel) is
    depthwise-separable, so the same budget buys wider blocks.
    The defaults: full convs, 7,880 parameters (flags/compact.flags is separable).
    """
    if not widths_before_pool or not widths_after_pool:
        raise ValueError("the cnn family needs at least one convolution before and one after the pool")
    size = (28 - 2 * len(widths_before_pool)) // 2 - (0 if pad_after_pool else 2 * len(widths_after_pool))
    if size < 1:
        raise ValueError(
            f"{len(widths_before_pool)} convolutions before the pool and {len(widths_after_pool)} "
            "after it shrink 28x28 below 1x1; use fewer")
    inputs, x = normalized_pixels()
    for i, width in enumerate(widths_before_pool):
        x = conv_block(x, width, CNN_DROPOUT * dropout_scale, f"conv1{chr(97 + i)}",
                       bn_before_relu=bn_before_relu, separable=separable and i > 0)
    x = layers.MaxPooling2D(2, name="pool")(x)
    if transition_width:
        x = conv_block(x, transition_width, 0.0, "transition", kernel_size=1,
                       bn_before_relu=bn_before_relu)
    for i, width in enumerate(widths_after_pool):
        last = i == len(widths_after_pool) - 1
        x = conv_block(x, width, 0.0 if last else CNN_DROPOUT * dropout_scale, f"conv2{chr(97 + i)}",
                       padding="same" if pad_after_pool else "valid", bn_before_relu=bn_before_relu,
                       separable=separable)
    return keras.Model(inputs, classifier_head(x), name="cnn")


def with_stock_layers(model):
    """A copy of `model` with stock Keras layers in place of this project's fast ones.

    Inference is identical; the copy's `.keras` file loads with Keras alone,
    without importing keras_mnist.
    """

    def clone(layer):
        if isinstance(layer, FusedBatchNormalization):
            return layers.BatchNormalization.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    stock = keras.models.clone_model(model, clone_function=clone)
    stock.set_weights(model.get_weights())
    return stock


def count_trainable_params(model):
    """Number of trainable scalars in `model`."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
