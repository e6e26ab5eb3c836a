"""Evaluates a model on the MNIST test set: accuracy, per-class table, confusion matrix.

    python -m keras_mnist.evaluate PATH [--confusion_png=cm.png] [--errors_png=errors.png]

PATH is a `.keras` file, a SavedModel folder (e.g. savedmodels/seed/1) or a `.tflite` file.
"""

import dataclasses

import numpy as np

from keras_mnist import data


@dataclasses.dataclass
class Evaluation:
    accuracy: float
    confusion: np.ndarray  # [true, predicted] counts
    predictions: np.ndarray
    probabilities: np.ndarray

    @property
    def per_class_accuracy(self):
        return np.diag(self.confusion) / np.maximum(self.confusion.sum(axis=1), 1)


def evaluate(classifier, x, y):
    """Runs `classifier` (see `keras_mnist.inference`) on images `x`, labels `y`."""
    probabilities = classifier.predict(x)
    predictions = np.argmax(probabilities, axis=-1)
    confusion = np.zeros((data.NUM_CLASSES, data.NUM_CLASSES), np.int64)
    np.add.at(confusion, (y, predictions), 1)
    return Evaluation(float(np.mean(predictions == y)), confusion, predictions, probabilities)


def report(result):
    """The accuracy, a per-class table and the confusion matrix, as text."""
    n = int(result.confusion.sum())
    correct = int(np.trace(result.confusion))
    lines = [f"Accuracy: {correct}/{n} ({100.0 * correct / n:.2f}%)", "",
             "digit  images  correct  accuracy"]
    for digit in range(data.NUM_CLASSES):
        total = int(result.confusion[digit].sum())
        lines.append(f"{digit:>5}  {total:>6}  {int(result.confusion[digit, digit]):>7}  "
                     f"{100.0 * result.per_class_accuracy[digit]:>7.2f}%")
    lines += ["", "confusion matrix (rows: true digit, columns: predicted)",
              "      " + "".join(f"{d:>6}" for d in range(data.NUM_CLASSES))]
    for digit, row in enumerate(result.confusion):
        lines.append(f"{digit:>6}" + "".join(f"{int(c):>6}" for c in row))
    return "\n".join(lines)


def main(argv):
    from absl import app, flags

    from keras_mnist import inference, plots

    FLAGS = flags.FLAGS
    if len(argv) != 2:
        raise app.UsageError("usage: python -m keras_mnist.evaluate PATH [flags]")
    try:
        classifier = inference.load(argv[1])
        mnist = data.load(FLAGS.data_dir)
    except (inference.ModelLoadError, data.DataError) as e:
        raise SystemExit(f"error: {e}")
    result = evaluate(classifier, mnist.x_test, mnist.y_test)
    print(f"{argv[1]} ({classifier.kind}) on the MNIST test set")
    print(report(result))
    if FLAGS.confusion_png:
        plots.save_confusion_png(result, FLAGS.confusion_png)
        print(f"wrote {FLAGS.confusion_png}")
    if FLAGS.errors_png:
        plots.save_errors_png(result, mnist.x_test, mnist.y_test, FLAGS.errors_png)
        print(f"wrote {FLAGS.errors_png}")


if __name__ == "__main__":
    from absl import app, flags, logging

    flags.DEFINE_string("data_dir", None, "MNIST IDX folder; default $KERAS_MNIST_DATA_DIR, else tfds.")
    flags.DEFINE_string("confusion_png", None, "Write the confusion matrix as a PNG here.")
    flags.DEFINE_string("errors_png", None, "Write a grid of the misclassified digits as a PNG here.")
    logging.set_verbosity(logging.WARNING)
    app.run(main)
