"""`tf.data` pipelines of the MNIST arrays: validation split, training epochs, evaluation batches."""

import numpy as np
import tensorflow as tf

from keras_mnist import contract

# Batches made ahead of the training step: a batch's gather takes far less than a step.
PREFETCH_BATCHES = 2


def split_validation(x, y, validation_size, seed):
    """Holds out `validation_size` random training examples: (train, validation)."""
    if not 0 <= validation_size < len(x):
        raise ValueError(f"validation_size {validation_size} must be in [0, {len(x)})")
    order = np.random.default_rng(seed).permutation(len(x))
    held, kept = order[:validation_size], order[validation_size:]
    return (x[kept], y[kept]), (x[held], y[held])


def train_dataset(x, y, batch_size, seed, epochs=1, first_epoch=0):
    """Training batches for epochs `first_epoch` .. `epochs - 1`, one after the other.

    Each epoch is a fresh shuffle whose order depends only on (seed, epoch), not
    on how many epochs this process has already run: a run resumed at epoch k
    sees exactly the batches an uninterrupted run sees from epoch k on.
    """
    # The epoch's order is a shuffle of the indices (the same permutation as
    # shuffling the examples themselves with that seed); each batch is then one
    # gather, not 256 elements through tf.data: about half the pipeline's CPU
    # time, which the training steps share on two cores.
    images, labels = tf.constant(x), tf.constant(y)

    def one_epoch(epoch):
        order_seed = tf.cast(seed, tf.int64) * 1_000_003 + epoch
        return tf.data.Dataset.range(len(x)).shuffle(len(x), seed=order_seed).batch(batch_size)

    epochs_ds = tf.data.Dataset.range(first_epoch, epochs)
    batches = epochs_ds.flat_map(one_epoch).map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))
    return without_autotune(batches.prefetch(PREFETCH_BATCHES))


def without_autotune(dataset):
    """`dataset` with tf.data's autotuner off (fixed buffers instead).

    The autotuner's background thread sleeps between its optimisations in
    periods that grow as the iterator runs, and destroying the iterator (when
    fit() ends) can wait for the current sleep to end: the quick preset, 25 s
    of training, returned from fit() after 44 s in 4 of 5 runs (TensorFlow
    2.21; the main thread waits in ~LogicalThreadWrapper while the autotuner
    sleeps in Model::OptimizeLoop), and after 25-26 s in 5 of 5 without it.
    Fixed buffers need no autotuner; the batches are the same.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return dataset.with_options(options)


def eval_dataset(x, y, batch_size):
    """Evaluation batches in file order."""
    ds = tf.data.Dataset.from_tensor_slices((x, y)).cache()
    return without_autotune(ds.batch(batch_size).prefetch(PREFETCH_BATCHES))


def one_hot(dataset):
    """Integer labels -> one-hot, which label smoothing needs."""
    return dataset.map(lambda x, y: (x, tf.one_hot(y, contract.NUM_CLASSES)))
