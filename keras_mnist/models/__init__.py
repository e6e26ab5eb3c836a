"""The networks: `models.build(name, **architecture flags)` from the registry."""

from keras_mnist.models import cnn, reference  # noqa: F401 (importing them registers the builders)
from keras_mnist.models.layers import (PIXEL_MEAN, PIXEL_STD, BroadcastSpatialDropout2D, FusedBatchNormalization,
                                      with_stock_layers)
from keras_mnist.models.registry import (ALIASES, ArchitectureError, build, canonical_name, count_trainable_params,
                                        names, options, register)

__all__ = ["ALIASES", "ArchitectureError", "PIXEL_MEAN", "PIXEL_STD", "BroadcastSpatialDropout2D",
           "FusedBatchNormalization", "build", "canonical_name", "count_trainable_params", "names", "options",
           "register", "with_stock_layers"]
