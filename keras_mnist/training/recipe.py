"""The training recipe: optimizer and schedule, augmentation, loss and metrics (a teacher's, with
--teacher), per-epoch seeds."""

import keras
import numpy as np
import tensorflow as tf

from keras_mnist import config as config_lib
from keras_mnist import contract
from keras_mnist.training import augment as augment_lib
from keras_mnist.training import conv_muon
from keras_mnist.training import distill


def make_reproducible(config):
    """Seeds every random stream from --seed; with --deterministic, deterministic ops too."""
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()


def make_schedule(config, steps_per_epoch):
    """The learning rate as a function of the step, from --schedule."""
    total = config.epochs * steps_per_epoch
    lr = config.learning_rate
    if config.schedule == "constant":
        return lr
    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total)
    warmup = int(total * config.warmup_fraction)
    # One cycle: linear ramp from lr/25 (fastai's and PyTorch's OneCycleLR default)
    # to the peak, then cosine annealing to zero.
    return keras.optimizers.schedules.CosineDecay(
        lr / 25.0, decay_steps=max(total - warmup, 1), warmup_target=lr, warmup_steps=warmup)


def make_optimizer(config, steps_per_epoch):
    """The optimizer named by --optimizer, with its schedule and weight decay."""
    lr = make_schedule(config, steps_per_epoch)
    wd = config.weight_decay or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov,
                                    weight_decay=wd)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(lr, beta_1=config.momentum, weight_decay=wd)
    if config.optimizer == "muon":
        return conv_muon.ConvMuon(lr, momentum=config.momentum, nesterov=config.nesterov,
                                  weight_decay=wd, adam_weight_decay=wd)
    return keras.optimizers.AdamW(lr, beta_1=config.momentum, weight_decay=config.weight_decay)


def with_augmentation(model, config, teacher=None):
    """`model` behind random rotations and shifts that act only in training.

    The augmentation wraps the model rather than living in it, so what is
    exported is the bare network. With a `teacher` (--teacher), the output is
    the model's probabilities followed by the teacher's on the same augmented
    batch, in inference mode (`distill`).
    """
    augment = []
    if config.augmentation == "affine":
        if config.augment_rotation > 0 or config.augment_scale > 0 or config.augment_shift > 0:
            augment.append(augment_lib.RandomAffine(config.augment_rotation, config.augment_scale,
                                                    config.augment_shift, seed=config.seed))
    elif config.augment_rotation > 0:
        augment.append(keras.layers.RandomRotation(
            config.augment_rotation / 360.0, fill_mode="constant", seed=config.seed))
    if config.augmentation == "layers" and config.augment_shift > 0:
        shift = config.augment_shift / contract.IMAGE_SIZE
        augment.append(keras.layers.RandomTranslation(
            shift, shift, fill_mode="constant", seed=config.seed + 1))
    if not augment and teacher is None:
        return model
    inputs = keras.Input(shape=contract.IMAGE_SHAPE, name="pixels")
    x = inputs
    for layer in augment:
        x = layer(x)
    outputs = model(x)
    if teacher is not None:
        outputs = keras.layers.Concatenate(name="with_teacher")([outputs, teacher(x)])
    return keras.Model(inputs, outputs, name=f"{model.name}_augmented")


def build_training_model(config, steps_per_epoch, model_class=keras.Model):
    """(model, compiled training model): the network, and it behind the augmentation.

    `model_class` is the training model's class (`distribute.MultiWorkerModel`
    for a multi-worker run). With --teacher, the loss is `distill`'s.
    """
    model = config_lib.build_model(config)
    teacher = distill.load_teacher(config.teacher, config) if config.teacher else None
    augmented = with_augmentation(model, config, teacher)
    training_model = model_class(augmented.inputs, augmented.outputs, name=augmented.name)
    if teacher is None:
        loss = keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing)
        # The plain cross-entropy, without smoothing: the notebook's "Average loss".
        metrics = [keras.metrics.CategoricalAccuracy(name="accuracy"),
                   keras.metrics.CategoricalCrossentropy(name="nll")]
    else:
        loss = distill.DistillationLoss(config.distill_weight, config.distill_temperature,
                                        label_smoothing=config.label_smoothing)
        metrics = distill.student_metrics()
    training_model.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss, metrics=metrics,
                           steps_per_execution=config.steps_per_execution)
    # Without a distribution strategy Keras creates the optimizer's variables while
    # tracing the first training step, and TensorFlow then traces the step a second
    # time (a function may create variables only in its first trace): ~1.5 s more
    # before the first step. Created here, the step is traced once.
    training_model.optimizer.build(training_model.trainable_variables)
    return model, training_model


def training_callbacks(config):
    """The recipe's per-epoch callbacks: random streams fixed per epoch, and the clean last epochs."""
    callbacks = [EpochSeeds()]
    if config.clean_epochs and config.augmentation == "affine":
        callbacks.append(augment_lib.CleanEpochs(config.clean_epochs, config.epochs))
    return callbacks


class EpochSeeds(keras.callbacks.Callback):
    """Puts every random stream (dropout, augmentation) at a state fixed by (seed, epoch).

    With the data order also fixed per epoch, epoch k does the same thing whether
    the run started at epoch 0 or resumed at k from a backup.
    """

    def on_epoch_begin(self, epoch, logs=None):
        for variable in self.model.variables:
            if variable.name == "seed_generator_state":
                state = np.asarray(variable.numpy())
                # [generator seed, counter]: the counter restarts at a per-epoch offset.
                variable.assign(np.array([state[0], epoch * 2**20], dtype=state.dtype))
