"""The `cnn` family: the reference network's shape with free widths, what the tuner searches."""

import keras
from keras import layers

from keras_mnist import contract
from keras_mnist.models.layers import classifier_head, conv_block, conv_layer, normalized_pixels
from keras_mnist.models.registry import ArchitectureError, register

# Dropout of every block of the `cnn` family but the last, before --dropout_scale.
CNN_DROPOUT = 0.25
HEADS = ("gap", "depthwise")


def final_map_size(convs_before_pool, convs_after_pool, first_stride=1, pad_after_pool=False,
                   second_pool_after=0):
    """Side of the map the classifier head sees (< 1: the convs shrink 28x28 to nothing).

    The first 3x3 valid conv has stride `first_stride`, the others before the
    pool stride 1; then the 2x2 max-pool; then 3x3 convs, valid or "same"
    (`pad_after_pool`), with a second 2x2 max-pool after the first
    `second_pool_after` of them (0: none). The shared block and the transition
    keep the size.
    """
    shrink = 0 if pad_after_pool else 2
    size = (contract.IMAGE_SIZE - 3) // first_stride + 1 - 2 * (convs_before_pool - 1)
    size = size // 2 if size >= 2 else 0
    if second_pool_after:
        size -= shrink * second_pool_after
        size = size // 2 if size >= 2 else -1
        convs_after_pool -= second_pool_after
    return size - shrink * convs_after_pool if size >= 1 else 0


def _check(widths_before_pool, widths_after_pool, transition_width, first_stride, pad_after_pool,
           separable, conv_groups, head, second_pool_after):
    if not widths_before_pool or not widths_after_pool:
        raise ArchitectureError("the cnn family needs at least one convolution before and one after the pool")
    if not 0 <= second_pool_after <= len(widths_after_pool):
        raise ArchitectureError(f"--second_pool_after={second_pool_after}: there are {len(widths_after_pool)} "
                                f"convolutions after the pool; give 0 (no second pool) to {len(widths_after_pool)}")
    if final_map_size(len(widths_before_pool), len(widths_after_pool), first_stride, pad_after_pool,
                      second_pool_after) < 1:
        raise ArchitectureError(
            f"{len(widths_before_pool)} convolutions before the pool and {len(widths_after_pool)} "
            f"after it{' (first stride 2)' if first_stride > 1 else ''}"
            f"{' and a second pool' if second_pool_after else ''} shrink 28x28 below 1x1; use fewer")
    if head not in HEADS:
        raise ArchitectureError(f"unknown head {head!r}; choose one of: {', '.join(HEADS)}")
    if conv_groups > 1:
        if separable:
            raise ArchitectureError("grouped convolutions are full ones: --conv_groups needs --noseparable")
        # Every 3x3 conv but the first (one input channel) is grouped: its input and output widths.
        chain = list(widths_before_pool) + [transition_width or widths_before_pool[-1]] + list(widths_after_pool)
        # The first conv's output is a grouped conv's input unless the 1x1 transition alone follows it.
        odd = sorted({w for w in chain[1 if len(widths_before_pool) == 1 and transition_width else 0:]
                      if w % conv_groups})
        if odd:
            raise ArchitectureError(f"--conv_groups={conv_groups} needs every 3x3 conv's channels after the first "
                             f"to divide by it; {', '.join(map(str, odd))} do not")


@register("cnn")
def cnn_family(dropout_scale=1.0, widths_before_pool=(8, 16), transition_width=8,
               widths_after_pool=(12, 12, 16, 16), bn_before_relu=False, pad_after_pool=False,
               separable=False, first_stride=1, transition_before_pool=False, conv_groups=1,
               shared_repeats=0, head="gap", second_pool_after=0, bn_after_pool=False):
    """The family the tuner searches: the reference network's shape with free widths.

    3x3 valid conv blocks of `widths_before_pool`, a 2x2 max-pool, an optional
    1x1 transition conv block of `transition_width` channels (0: none), 3x3
    conv blocks of `widths_after_pool` (valid, or "same" with `pad_after_pool`,
    which keeps the pooled map's size), then the 1x1 conv to 10 and GAP.
    `separable`: every 3x3 conv but the first (which sees one channel) is
    depthwise-separable, so the same budget buys wider blocks.
    The defaults: full convs, 7,880 parameters (flags/compact.flags is separable).

    Options for small budgets (each default leaves the network above unchanged):
    `first_stride=2`: the first conv strided (early downsampling, 28 -> 13);
    `transition_before_pool`: the 1x1 transition before the max-pool, not after;
    `conv_groups`: every full 3x3 conv but the first grouped (1/groups of the weights);
    `shared_repeats=N`: weight sharing, one "same" 3x3 conv of the last width
    applied N more times after the last conv (each application with its own
    batch norm, added to its input: a residual block unrolled N times);
    `head="depthwise"`: a depthwise conv over the whole final map before the
    1x1 conv to the classes (see `layers.classifier_head`);
    `second_pool_after=K`: a second 2x2 max-pool after the K-th conv after the
    first pool (the small networks published for MNIST pool twice, 28 -> 14 -> 7:
    the later convs cost a quarter of the arithmetic, and see more of the digit);
    `bn_after_pool`: the last block before the pool normalises after it
    (conv -> ReLU -> max-pool -> batch norm; with `bn_before_relu`, conv ->
    max-pool -> batch norm -> ReLU): the batch norm of the largest map sees a
    quarter of it (time: on AVX2 CPUs oneDNN's batch norm of that map was the
    training step's largest kernel). Not in the tuner's space.
    """
    _check(widths_before_pool, widths_after_pool, transition_width, first_stride, pad_after_pool,
           separable, conv_groups, head, second_pool_after)
    block = dict(bn_before_relu=bn_before_relu)
    inputs, x = normalized_pixels()
    # With bn_after_pool the pool goes inside the last block before it: the transition's, if any.
    transition_first = bool(transition_width and transition_before_pool)
    for i, width in enumerate(widths_before_pool):
        pool_next = bn_after_pool and i == len(widths_before_pool) - 1 and not transition_first
        x = conv_block(x, width, CNN_DROPOUT * dropout_scale, f"conv1{chr(97 + i)}", **block,
                       separable=separable and i > 0, strides=first_stride if i == 0 else 1,
                       groups=conv_groups if i > 0 else 1, pool=pool_next)
    if transition_first:
        x = conv_block(x, transition_width, 0.0, "transition", kernel_size=1, **block, pool=bn_after_pool)
    if not bn_after_pool:
        x = layers.MaxPooling2D(2, name="pool")(x)
    if transition_width and not transition_first:
        x = conv_block(x, transition_width, 0.0, "transition", kernel_size=1, **block)
    for i, width in enumerate(widths_after_pool):
        last = i == len(widths_after_pool) - 1
        x = conv_block(x, width, 0.0 if last else CNN_DROPOUT * dropout_scale, f"conv2{chr(97 + i)}",
                       padding="same" if pad_after_pool else "valid", **block, separable=separable,
                       groups=conv_groups)
        if i + 1 == second_pool_after:
            x = layers.MaxPooling2D(2, name="pool2")(x)
    if shared_repeats:
        shared = conv_layer(widths_after_pool[-1], "shared_conv", padding="same", separable=separable,
                            groups=conv_groups)
        for r in range(shared_repeats):
            y = conv_block(x, widths_after_pool[-1], 0.0, f"shared{r + 1}", **block, conv=shared)
            x = layers.Add(name=f"shared{r + 1}_add")([x, y])
    return keras.Model(inputs, classifier_head(x, head), name="cnn")


def count_params(widths_before_pool=(8, 16), transition_width=8, widths_after_pool=(12, 12, 16, 16),
                 bn_before_relu=False, pad_after_pool=False, separable=False, first_stride=1,
                 transition_before_pool=False, conv_groups=1, shared_repeats=0, head="gap",
                 second_pool_after=0, bn_after_pool=False):
    """Trainable parameters of `cnn_family(...)`, counted without building it (the tuner's budget).

    Equal to `registry.count_trainable_params(cnn_family(...))` (tested); raises the builder's errors.
    """
    _check(widths_before_pool, widths_after_pool, transition_width, first_stride, pad_after_pool,
           separable, conv_groups, head, second_pool_after)

    def conv3(c_in, c_out, sep, groups):
        return 9 * c_in + c_in * c_out if sep else 9 * c_in * c_out // groups

    total, channels = 0, 1
    for i, width in enumerate(widths_before_pool):
        total += conv3(channels, width, separable and i > 0, conv_groups if i > 0 else 1) + 2 * width
        channels = width
    if transition_width:
        total += channels * transition_width + 2 * transition_width
        channels = transition_width
    for width in widths_after_pool:
        total += conv3(channels, width, separable, conv_groups) + 2 * width
        channels = width
    if shared_repeats:
        total += conv3(channels, channels, separable, conv_groups) + shared_repeats * 2 * channels
    if head == "depthwise":
        size = final_map_size(len(widths_before_pool), len(widths_after_pool), first_stride, pad_after_pool,
                              second_pool_after)
        total += size * size * channels
    return total + channels * contract.NUM_CLASSES
