"""Knowledge distillation: a trained network (the teacher) as a second target for the one trained.

The loss (Hinton, Vinyals and Dean, 2015) is

    (1 - w) * CE(labels, student) + w * T^2 * KL(teacher_T || student_T),

where p_T = softmax(log(p) / T) softens a network's probabilities at temperature T
(T^2 keeps the soft part's gradients at the hard part's scale). The teacher sees
the student's augmented batch, in inference mode. Its probabilities ride along in
the training model's output (columns 10..19, see `recipe.with_augmentation`), so
the loss and metrics stay plain Keras functions of (labels, output), and fit(),
evaluation and distribution work unchanged. The exported model is the student alone.
"""

import json
import os

import keras
from keras import ops

from keras_mnist import contract
from keras_mnist.deploy import calibration

# The flags that fix which training images a run holds out (`data.split_validation`).
SPLIT_FLAGS = ("train_size", "validation_size", "seed")
_EPSILON = 1e-7


class TeacherError(ValueError):
    """The --teacher folder cannot serve: missing, unreadable, or trained on this run's held-out images."""


def load_teacher(path, config):
    """The Keras model of the export folder `path`, frozen, as a layer (`InferenceMode`).

    It is checked first against `config`'s validation split: a teacher that
    trained on the images this run holds out would leak them into the
    validation accuracy that every choice is made on; it is refused.
    """
    model_path = os.path.join(path, contract.KERAS_FILENAME)
    metrics_path = os.path.join(path, contract.METRICS_FILENAME)
    if not (os.path.isfile(model_path) and os.path.isfile(metrics_path)):
        raise TeacherError(f"--teacher={path}: no {contract.KERAS_FILENAME} and {contract.METRICS_FILENAME} "
                           "there; give an export folder of python -m keras_mnist.train, e.g. savedmodels/reference/1")
    try:
        with open(metrics_path, encoding="utf-8") as f:
            teacher_flags = json.load(f)["flags"]
        teacher_split = {name: teacher_flags[name] for name in SPLIT_FLAGS}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise TeacherError(f"--teacher={path}: {contract.METRICS_FILENAME} gives no training flags ({e}); "
                           "export the teacher again with python -m keras_mnist.train") from None
    if config.validation_size:
        split = {name: getattr(config, name) for name in SPLIT_FLAGS}
        if teacher_split != split:
            given = " ".join(f"--{name}={value}" for name, value in split.items())
            raise TeacherError(
                f"--teacher={path} trained on other images than this run ({teacher_split}), so possibly on "
                f"the ones it holds out for validation; train the teacher with {given}")
    try:
        teacher = keras.models.load_model(model_path, safe_mode=True)
    except Exception as e:  # Keras raises many kinds for a file it cannot read.
        raise TeacherError(
            f"--teacher={path}: cannot load {contract.KERAS_FILENAME} ({type(e).__name__}: {e})") from None
    if tuple(teacher.output_shape) != (None, contract.NUM_CLASSES):
        raise TeacherError(f"--teacher={path}: its output is {teacher.output_shape}, not MNIST's "
                           f"{contract.NUM_CLASSES} class probabilities")
    # The export's softmax temperature was fitted on its held-out images, which are this
    # run's validation images: the teacher answers without it, softmax(logits).
    try:
        teacher = calibration.with_temperature(teacher, 1.0)
    except ValueError as e:
        raise TeacherError(f"--teacher={path}: {e}") from None
    teacher.trainable = False
    return InferenceMode(teacher, name="teacher")


class InferenceMode(keras.layers.Layer):
    """A frozen model that runs in inference mode (no dropout, its batch-norm statistics) always.

    A functional model passes its own `training` to every layer that takes one,
    over what the layer was called with when the graph was built, so the teacher
    called as `teacher(x, training=False)` in the graph would still train its
    dropout. Here `call` passes training=False itself, at every run.
    """

    def __init__(self, model, **kwargs):
        super().__init__(trainable=False, **kwargs)
        self.model = model

    def call(self, inputs):
        return self.model(inputs, training=False)

    def compute_output_shape(self, input_shape):
        return self.model.compute_output_shape(input_shape)


def soften(probabilities, temperature):
    """softmax(log(p) / T): the distribution of logits log(p) at temperature T."""
    return ops.softmax(ops.log(ops.clip(probabilities, _EPSILON, 1.0)) / temperature, axis=-1)


def _split(output):
    """(student probabilities, teacher probabilities) of the training model's output."""
    return output[:, :contract.NUM_CLASSES], output[:, contract.NUM_CLASSES:]


class DistillationLoss(keras.losses.Loss):
    """The loss above, of one-hot labels and the [student, teacher] output."""

    def __init__(self, weight, temperature, label_smoothing=0.0, name="distillation", **kwargs):
        super().__init__(name=name, **kwargs)
        self.weight, self.temperature, self.label_smoothing = weight, temperature, label_smoothing

    def call(self, y_true, y_pred):
        student, teacher = _split(y_pred)
        hard = keras.losses.categorical_crossentropy(y_true, student, label_smoothing=self.label_smoothing)
        t = self.temperature
        soft = keras.losses.kl_divergence(soften(teacher, t), soften(student, t)) * (t * t)
        return (1.0 - self.weight) * hard + self.weight * soft

    def get_config(self):
        return {**super().get_config(), "weight": self.weight, "temperature": self.temperature,
                "label_smoothing": self.label_smoothing}


def student_accuracy(y_true, y_pred):
    return keras.metrics.categorical_accuracy(y_true, _split(y_pred)[0])


def student_crossentropy(y_true, y_pred):
    return keras.losses.categorical_crossentropy(y_true, _split(y_pred)[0])


def student_metrics():
    """The recipe's metrics (accuracy, the plain cross-entropy "nll") of the student's columns alone."""
    return [keras.metrics.MeanMetricWrapper(student_accuracy, name="accuracy"),
            keras.metrics.MeanMetricWrapper(student_crossentropy, name="nll")]
