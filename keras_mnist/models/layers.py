"""The networks' building blocks: the pixel input, the conv block, the classifier head.

The batch norm is `FusedBatchNormalization` and the dropout
`BroadcastSpatialDropout2D`: Keras 3's layers are slow in TensorFlow on a CPU,
see below; `with_stock_layers` swaps the stock ones back for the exported
`.keras` file.

Why FusedBatchNormalization:

Keras 3's BatchNormalization computes batch statistics with `tf.nn.moments` and
normalises with a chain of element-wise ops; on a CPU that is about half of the
reference network's training step. TensorFlow's FusedBatchNormV3 kernel (oneDNN)
does the same work in one pass. Weights, arithmetic and serialised form are those
of `keras.layers.BatchNormalization`.
"""

import keras
import tensorflow as tf
from keras import layers

from keras_mnist import contract

# Mean and standard deviation of MNIST training pixels scaled to [0, 1], the
# constants of the original notebook.
PIXEL_MEAN = 0.1307
PIXEL_STD = 0.3081


@keras.saving.register_keras_serializable(package="keras_mnist")
class FusedBatchNormalization(keras.layers.BatchNormalization):
    """`keras.layers.BatchNormalization` that trains with TF's fused kernel.

    Used only where it applies (TensorFlow backend, channels-last 4-D float32
    input, no mask, no renorm); anything else, and inference, takes the stock path.
    """

    def add_weight(self, *args, **kwargs):
        # Under a multi-worker strategy each replica updates the moving statistics
        # from its own batch; "mean" aggregation averages those updates, so every
        # worker (and the chief's export) keeps the same statistics, as tf.keras 2 did.
        if kwargs.get("name") in ("moving_mean", "moving_variance"):
            kwargs["aggregation"] = "mean"
        return super().add_weight(*args, **kwargs)

    def _can_fuse(self, inputs, mask):
        return (keras.backend.backend() == "tensorflow" and mask is None and not self.renorm
                and len(inputs.shape) == 4 and self.axis in (-1, 3) and self.center and self.scale
                and inputs.dtype == tf.float32 and not self.synchronized)

    def call(self, inputs, training=None, mask=None):
        if not (training and self.trainable and self._can_fuse(inputs, mask)):
            return super().call(inputs, training=training, mask=mask)
        outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
            inputs, self.gamma, self.beta, mean=self.moving_mean, variance=self.moving_variance,
            epsilon=self.epsilon, is_training=True,
            # The kernel's moving-average update: new = (1 - f) * old + f * batch.
            exponential_avg_factor=1.0 - self.momentum)
        self.moving_mean.assign(mean)
        self.moving_variance.assign(variance)
        return outputs


@keras.saving.register_keras_serializable(package="keras_mnist")
class BroadcastSpatialDropout2D(layers.SpatialDropout2D):
    """`keras.layers.SpatialDropout2D` that trains with one broadcast multiply.

    Keras's dropout (`tf.nn.experimental.stateless_dropout`) scales the whole
    map, then selects it or zero through a broadcast `SelectV2`, and its
    gradient selects again: on a CPU, TensorFlow's broadcast select is slow
    (1.0 ms of 2.6 for a 128x24x24x16 map, forward and backward). Here the
    per-channel mask is made scale-or-zero first and multiplied in: the same
    random draw from the same seed generator and the same outputs, so a
    network trains to the same bits as with the stock layer (a test compares
    the weights after two epochs of the default recipe).
    """

    def call(self, inputs, training=False):
        if not (training and self.rate > 0 and keras.backend.backend() == "tensorflow"):
            return super().call(inputs, training=training)
        draw = keras.random.uniform(self._get_noise_shape(inputs), dtype=inputs.dtype,
                                    seed=self.seed_generator)
        keep = tf.cast(draw >= self.rate, inputs.dtype)
        return inputs * (keep * (1.0 / (1.0 - self.rate)))


@keras.saving.register_keras_serializable(package="keras_mnist")
class SplitGroupedConv2D(layers.Conv2D):
    """`keras.layers.Conv2D` with `groups` > 1 computed as one convolution per group.

    TensorFlow's grouped convolution on a CPU is slow: a 4,108-parameter `cnn`
    with 4 groups trained at 644 ms a step of 128, the same shape with full
    convs (13,828 parameters) at 42 ms. Split into one plain convolution per
    group (oneDNN's fast kernel) and concatenated, the arithmetic is the same:
    input channels and kernel split into `groups` consecutive blocks, output
    block g from input block g. Weights and serialised form are `Conv2D`'s;
    `with_stock_layers` swaps the stock layer back.
    """

    def convolution_op(self, inputs, kernel):
        if self.groups == 1 or keras.backend.backend() != "tensorflow" or self.data_format != "channels_last":
            return super().convolution_op(inputs, kernel)
        return tf.concat([
            tf.nn.conv2d(x, k, strides=list(self.strides), padding=self.padding.upper(),
                         dilations=list(self.dilation_rate))
            for x, k in zip(tf.split(inputs, self.groups, axis=-1), tf.split(kernel, self.groups, axis=-1))], axis=-1)


def normalized_pixels(name="pixels"):
    """The model input (raw pixels) and its scaled, normalised version."""
    inputs = keras.Input(shape=contract.IMAGE_SHAPE, dtype=contract.IMAGE_DTYPE, name=name)
    x = layers.Rescaling(1.0 / 255.0, name="scale")(inputs)
    x = layers.Normalization(mean=PIXEL_MEAN, variance=PIXEL_STD**2, name="normalize")(x)
    return inputs, x


def conv_layer(filters, name, kernel_size=3, padding="valid", separable=False, strides=1, groups=1):
    """The bias-free convolution of a `conv_block`: full, grouped or depthwise-separable."""
    if separable:
        if groups != 1:
            raise ValueError("grouped convolutions are full ones: --conv_groups needs --noseparable")
        return layers.SeparableConv2D(filters, kernel_size, strides=strides, padding=padding, use_bias=False,
                                      name=name)
    conv = SplitGroupedConv2D if groups > 1 else layers.Conv2D
    return conv(filters, kernel_size, strides=strides, padding=padding, groups=groups, use_bias=False, name=name)


def conv_block(x, filters, dropout, name, kernel_size=3, padding="valid", bn_before_relu=False,
               separable=False, strides=1, groups=1, conv=None, pool=False):
    """Conv2D without bias -> ReLU -> BatchNorm -> SpatialDropout2D (if dropout > 0).

    The order (BN after the ReLU) and the missing bias are the notebook's;
    `bn_before_relu` swaps the two. The batch norm is Keras's, trained with TF's
    fused kernel (below). `separable`: a depthwise 3x3 conv followed by
    a 1x1 conv (SeparableConv2D) in place of the full conv, ~1/8 of the weights.
    `groups`: a grouped conv, 1/groups of the weights. `conv`: an existing
    convolution layer to apply (weight sharing) in place of a new one; the
    batch norm is the block's own. `pool`: a 2x2 max-pool (named "pool") before the batch
    norm, which then normalises a quarter of the map.
    """
    if conv is None:
        conv = conv_layer(filters, f"{name}_conv", kernel_size, padding, separable, strides, groups)
    x = conv(x)
    if bn_before_relu:
        x = layers.MaxPooling2D(2, name="pool")(x) if pool else x
        x = FusedBatchNormalization(name=f"{name}_bn")(x)
        x = layers.ReLU(name=f"{name}_relu")(x)
    else:
        x = layers.ReLU(name=f"{name}_relu")(x)
        x = layers.MaxPooling2D(2, name="pool")(x) if pool else x
        x = FusedBatchNormalization(name=f"{name}_bn")(x)
    if dropout > 0:
        x = BroadcastSpatialDropout2D(dropout, name=f"{name}_drop")(x)
    return x


# The classifier's 1x1 conv, by name: --optimizer=muon steps it with AdamW.
CLASSIFIER_CONV = "classifier_conv"


def classifier_head(x, head="gap"):
    """1x1 conv to the classes, global average pooling, softmax.

    `head="depthwise"`: first a depthwise conv over the whole final map (each
    channel's own weight per position: a learned pooling, not an average).
    """
    if head == "depthwise":
        x = layers.DepthwiseConv2D(tuple(x.shape[1:3]), use_bias=False, name="head_depthwise")(x)
    elif head != "gap":
        raise ValueError(f"unknown head {head!r}; choose gap or depthwise")
    x = layers.Conv2D(contract.NUM_CLASSES, 1, use_bias=False, name=CLASSIFIER_CONV)(x)
    x = layers.GlobalAveragePooling2D(name="gap")(x)
    return layers.Softmax(name=contract.PROBABILITIES)(x)


def with_stock_layers(model):
    """A copy of `model` with stock Keras layers in place of this project's fast ones.

    Inference is identical; the copy's `.keras` file loads with Keras alone,
    without importing keras_mnist.
    """

    def clone(layer):
        if isinstance(layer, FusedBatchNormalization):
            return layers.BatchNormalization.from_config(layer.get_config())
        if isinstance(layer, BroadcastSpatialDropout2D):
            return layers.SpatialDropout2D.from_config(layer.get_config())
        if isinstance(layer, SplitGroupedConv2D):
            return layers.Conv2D.from_config(layer.get_config())
        return layer.__class__.from_config(layer.get_config())

    stock = keras.models.clone_model(model, clone_function=clone)
    stock.set_weights(model.get_weights())
    return stock
