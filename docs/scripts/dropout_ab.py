"""Training-step time of the default recipe with Keras's SpatialDropout2D and with BroadcastSpatialDropout2D.

    KERAS_MNIST_DATA_DIR=../shared/mnist python docs/scripts/dropout_ab.py [REPEATS]

One process, both networks built and traced first, then timed in alternation
(60 batches of 128 each, REPEATS times, default 10), so that the machine's
drift hits both alike; prints each one's median ms per step. The two train to
the same bits (tests/test_models_layers.py); only the time differs.
"""

import sys
import time

import keras
import numpy as np

from keras_mnist import config, data
from keras_mnist.models import layers
from keras_mnist.training import recipe

BATCHES = 60


def training_step_runner(dropout_class, cfg, mnist):
    """A compiled training model of the default recipe with `dropout_class`, and its batches."""
    layers.BroadcastSpatialDropout2D, kept = dropout_class, layers.BroadcastSpatialDropout2D
    try:
        recipe.make_reproducible(cfg)
        _, training_model = recipe.build_training_model(cfg, steps_per_epoch=469)
    finally:
        layers.BroadcastSpatialDropout2D = kept
    batches = iter(data.one_hot(data.train_dataset(mnist.x_train, mnist.y_train, cfg.batch_size, cfg.seed)))
    batches = [next(batches) for _ in range(BATCHES)]
    training_model.train_on_batch(*batches[0])  # Traces the step.
    return training_model, batches


def main(repeats):
    cfg = config.parse([])
    mnist = data.load(cfg.data_dir)
    runners = {"keras.layers.SpatialDropout2D": training_step_runner(keras.layers.SpatialDropout2D, cfg, mnist),
               "BroadcastSpatialDropout2D": training_step_runner(layers.BroadcastSpatialDropout2D, cfg, mnist)}
    times = {name: [] for name in runners}
    for _ in range(repeats):
        for name, (training_model, batches) in runners.items():
            start = time.perf_counter()
            for x, y in batches:
                training_model.train_on_batch(x, y)
            times[name].append((time.perf_counter() - start) / len(batches) * 1e3)
    for name, ms in times.items():
        print(f"{name}: median {np.median(ms):.1f} ms/step ({', '.join(f'{t:.1f}' for t in ms)})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
