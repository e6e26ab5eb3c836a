"""The registry of named MNIST architectures: `build(name, **architecture flags)`.

Every model takes raw 0-255 pixels, shape [batch, 28, 28, 1] channels-last, and
returns class probabilities [batch, 10] (see `keras_mnist.contract`). Scaling
and normalisation are layers of the model, so the `.keras` file, the SavedModel
and the TFLite model all take the same input a camera or a canvas gives.
"""

import inspect

import numpy as np
from absl import logging

_REGISTRY = {}
# Old model names that still work: the reference network was called "seed".
ALIASES = {"seed": "reference"}


class ArchitectureError(ValueError):
    """Architecture flags that describe no network (a map shrunk to nothing, widths a group count does not divide)."""


def register(name):
    """Decorator: adds a model builder to the registry under `name`."""

    def add(builder):
        if name in _REGISTRY or name in ALIASES:
            raise ValueError(f"model {name!r} is registered twice")
        _REGISTRY[name] = builder
        return builder

    return add


def names():
    """The registered architecture names, sorted."""
    return sorted(_REGISTRY)


def canonical_name(name):
    """`name`, or the model an old alias stands for (with a one-line note)."""
    if name in ALIASES:
        logging.warning("--model=%s is now called --model=%s", name, ALIASES[name])
        return ALIASES[name]
    return name


def options(name):
    """The architecture options the builder of `name` takes (besides dropout_scale)."""
    params = inspect.signature(_REGISTRY[ALIASES.get(name, name)]).parameters
    return [p for p in params if p != "dropout_scale"]


def build(name, dropout_scale=1.0, **options_):
    """Builds the architecture `name`; `dropout_scale` multiplies every dropout rate.

    `options_` are architecture flags (widths, batch-norm placement). An option
    the builder does not take is an error, not silently dropped.
    """
    name = canonical_name(name)
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; choose one of: {', '.join(names())}")
    unknown = sorted(set(options_) - set(options(name)))
    if unknown:
        raise ValueError(f"--model={name} takes no --{', --'.join(unknown)}; "
                         f"drop {'it' if len(unknown) == 1 else 'them'} or choose a model that does")
    return _REGISTRY[name](dropout_scale=dropout_scale, **options_)


def count_trainable_params(model):
    """Number of trainable scalars in `model`."""
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
