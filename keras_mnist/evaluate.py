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


def save_confusion_png(result, path, title="Confusion matrix"):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.5, 5.5))
    # Log colour scale: the diagonal holds ~1000 per cell, the errors a handful.
    image = ax.imshow(np.log1p(result.confusion), cmap="Blues")
    for (i, j), count in np.ndenumerate(result.confusion):
        if count:
            ax.text(j, i, str(count), ha="center", va="center", fontsize=7,
                    color="white" if i == j else "black")
    ax.set(xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
           title=f"{title} — accuracy {100 * result.accuracy:.2f}%")
    fig.colorbar(image, ax=ax, label="log(1 + count)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def save_errors_png(result, x, y, path, max_images=100):
    """A grid of misclassified digits, each titled true -> predicted (probability)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    wrong = np.flatnonzero(result.predictions != y)[:max_images]
    cols = 10
    rows = max(1, int(np.ceil(len(wrong) / cols)))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(x[i, ..., 0], cmap="gray", vmin=0, vmax=255)
        p = result.probabilities[i, result.predictions[i]]
        ax.set_title(f"{y[i]}→{result.predictions[i]} ({p:.2f})", fontsize=7)
    fig.suptitle(f"{len(np.flatnonzero(result.predictions != y))} misclassified "
                 f"(first {len(wrong)} shown): true→predicted (probability)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv):
    from absl import app, flags

    from keras_mnist import inference

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
        save_confusion_png(result, FLAGS.confusion_png)
        print(f"wrote {FLAGS.confusion_png}")
    if FLAGS.errors_png:
        save_errors_png(result, mnist.x_test, mnist.y_test, FLAGS.errors_png)
        print(f"wrote {FLAGS.errors_png}")


if __name__ == "__main__":
    from absl import app, flags, logging

    flags.DEFINE_string("data_dir", None, "MNIST IDX folder; default $KERAS_MNIST_DATA_DIR, else tfds.")
    flags.DEFINE_string("confusion_png", None, "Write the confusion matrix as a PNG here.")
    flags.DEFINE_string("errors_png", None, "Write a grid of the misclassified digits as a PNG here.")
    logging.set_verbosity(logging.WARNING)
    app.run(main)
