"""Layers that TensorFlow runs slowly on a CPU in their stock Keras 3 form.

Keras 3's BatchNormalization computes batch statistics with `tf.nn.moments` and
normalises with a chain of element-wise ops; on a CPU that is about half of the
reference network's training step. TensorFlow's FusedBatchNormV3 kernel (oneDNN)
does the same work in one pass. Weights, arithmetic and serialised form are those
of `keras.layers.BatchNormalization`.
"""

import keras
import tensorflow as tf


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
