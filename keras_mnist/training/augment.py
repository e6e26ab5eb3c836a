"""Training augmentation: one random affine warp per image (rotation, scale, shift).

Keras's RandomRotation followed by RandomTranslation resamples each image
twice: two bilinear interpolations (two blurs of a 28x28 digit) and two
`ImageProjectiveTransformV3` kernels per batch. `RandomAffine` composes the
three into one matrix and resamples once.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_mnist")
class RandomAffine(keras.layers.Layer):
    """Random rotation (degrees), scale (fraction) and shift (pixels) about the image centre.

    Each image draws its own angle in [-rotation, rotation], scale in
    [1 - scale, 1 + scale] and shifts in [-shift, shift] per axis, from the
    layer's seed generator (reset per epoch by `recipe.EpochSeeds`); the
    background is filled with 0 (black, as MNIST's). Identity at inference.
    `strength` (a variable, 1 by default) multiplies every limit: `CleanEpochs`
    sets it to 0 for the last epochs.
    """

    def __init__(self, rotation=0.0, scale=0.0, shift=0.0, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.scale, self.shift, self.seed = rotation, scale, shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def build(self, input_shape):
        self.strength = self.add_weight(shape=(), initializer="ones", trainable=False, name="strength")

    def call(self, images, training=False):
        if not training:
            return images
        batch = ops.shape(images)[0]
        height, width = images.shape[1], images.shape[2]

        def uniform(limit):
            return self.strength * keras.random.uniform((batch,), -limit, limit, seed=self.seed_generator)

        angle = uniform(self.rotation * math.pi / 180.0)
        zoom = 1.0 + uniform(self.scale)
        dx, dy = uniform(self.shift), uniform(self.shift)
        # The transform maps each output pixel (x, y) to the input point it samples:
        # input = R(-angle) (output - centre) / zoom + centre - shift.
        cos, sin = ops.cos(angle) / zoom, ops.sin(angle) / zoom
        cx, cy = (width - 1) / 2.0, (height - 1) / 2.0
        a0, a1 = cos, sin
        b0, b1 = -sin, cos
        a2 = cx - a0 * cx - a1 * cy - dx
        b2 = cy - b0 * cx - b1 * cy - dy
        zeros = ops.zeros_like(angle)
        transform = ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)
        return ops.image.affine_transform(images, transform, interpolation="bilinear",
                                          fill_mode="constant", fill_value=0.0)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "scale": self.scale,
                "shift": self.shift, "seed": self.seed}


class CleanEpochs(keras.callbacks.Callback):
    """Trains the last `epochs` epochs on the images as they are: every `RandomAffine` at strength 0.

    The network ends on the distribution it is tested on, and its batch-norm
    statistics are those of unwarped digits. Set per epoch, so a resumed run
    does the same.
    """

    def __init__(self, epochs, total_epochs):
        super().__init__()
        self.first_clean = total_epochs - epochs

    def on_epoch_begin(self, epoch, logs=None):
        for layer in self.model._flatten_layers():
            if isinstance(layer, RandomAffine):
                layer.strength.assign(0.0 if epoch >= self.first_clean else 1.0)
