"""Muon for convolutional networks (`--optimizer=muon`).

Keras's `Muon` orthogonalises the momentum of 2-D weights only, and steps
every other variable with AdamW. A conv kernel is 4-D; Muon's authors treat it
as the matrix (kernel height x width x input channels, output channels), as
their CIFAR-10 speed runs do. `ConvMuon` does that for every full conv kernel
(the classifier's 1x1 conv, a depthwise kernel, batch norm: AdamW, as Muon
advises for the output layer and for vectors).
"""

import keras
from keras import ops

from keras_mnist.models import layers

CLASSIFIER = layers.CLASSIFIER_CONV


class ConvMuon(keras.optimizers.Muon):
    """`keras.optimizers.Muon` with each conv kernel stepped as a 2-D matrix."""

    def __init__(self, *args, exclude_layers=(CLASSIFIER,), **kwargs):
        super().__init__(*args, exclude_layers=list(exclude_layers), **kwargs)

    def _should_use_adamw(self, variable):
        shape = variable.shape
        # A depthwise kernel (a separable conv's, or the depthwise head's) filters
        # each channel alone: no matrix to orthogonalise.
        if len(shape) == 4 and shape[-1] > 1 and "depthwise" not in variable.path:
            return any(keyword in variable.path for keyword in self.exclude_layers)
        return super()._should_use_adamw(variable)

    def _muon_update_step(self, gradient, variable, lr, m):
        if len(variable.shape) == 2:
            return super()._muon_update_step(gradient, variable, lr, m)
        self.assign_add(m, ops.add(gradient, m * (self.momentum - 1)))
        g = ops.add(gradient, self.momentum * m) if self.nesterov else m
        matrix = ops.reshape(g, (-1, variable.shape[-1]))
        update = self.lr_adjust(lr * self.zeropower_via_newtonschulz5(matrix, self.ns_steps))
        self.assign_sub(variable, ops.reshape(update, variable.shape))
        return None
