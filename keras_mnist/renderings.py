"""Accuracy on MNIST test digits rendered as users hold them: photo, scan, crop, marker, lowres; numbers.

    python -m keras_mnist.renderings [--saved_model=savedmodels/reference/1] [--renderings=photo,scan]

For each rendering (`inference.renderings`, deterministic from --rendering_seed), the
accuracy of `predict`'s path (decode, preprocess, the model) and of the
SavedModel's `serve_image_bytes` signature, next to the model's accuracy on the
original test images, as a Markdown table. A benchmark, not a test: the 10,000
digits take minutes per rendering. The signature is the one stored in the
SavedModel, so a model exported before the current preprocessing measures that.
Number renderings (the test digits, in order, as numbers of 2-5 digits) are
read by `predict` alone (serve_image_bytes reads one digit): the share of digits
read right in the right place, and of whole numbers read right.
"""

import os
import sys
import time

import numpy as np
from absl import app, flags, logging

from keras_mnist import config, contract, data
from keras_mnist.inference import load, predict, renderings

config.define_flags(only=("data_dir",))
# Not --model_path or --seed: predict's and train's flags may share the process.
_SAVED_MODEL = flags.DEFINE_string(
    "saved_model", None, "A SavedModel version folder (it has both signatures). "
    f"Default: the newest savedmodels/{predict.DEFAULT_MODEL_NAME}/<version>.")
_RENDERINGS = flags.DEFINE_list("renderings", list(renderings.RENDERINGS + renderings.NUMBER_RENDERINGS),
                                "Renderings to measure.")
_LIMIT = flags.DEFINE_integer("limit", 10000, "Measure the first N test digits.", lower_bound=1, upper_bound=10000)
_SEED = flags.DEFINE_integer("rendering_seed", 0, "Seed of the renderings.", lower_bound=0)


def image_bytes_signature(classifier):
    """The `serve_image_bytes` signature of a `load.SavedModelClassifier` (the SavedModel it already loaded)."""
    if contract.IMAGE_BYTES_SIGNATURE not in classifier.signatures:
        raise load.ModelLoadError(
            f"{classifier.path} has no {contract.IMAGE_BYTES_SIGNATURE} signature (exported before it "
            "existed); re-export it: python -m keras_mnist.export <that folder>/model.keras")
    return classifier.signatures[contract.IMAGE_BYTES_SIGNATURE]


def signature_predictions(signature, encoded, batch_size=100):
    """Classes from a `serve_image_bytes` signature (-1: no digit found)."""
    import tensorflow as tf

    return np.concatenate([
        signature(**{contract.IMAGE_BYTES_INPUT: tf.constant(encoded[i:i + batch_size])})[contract.CLASSES].numpy()
        for i in range(0, len(encoded), batch_size)])


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    logging.set_verbosity(logging.WARNING)
    known = renderings.RENDERINGS + renderings.NUMBER_RENDERINGS
    unknown = sorted(set(_RENDERINGS.value) - set(known))
    if unknown or not _RENDERINGS.value:
        raise app.UsageError(f"--renderings: choose from {', '.join(known)}")
    path = _SAVED_MODEL.value or predict.default_model()
    if not path or not os.path.exists(os.path.join(path, "saved_model.pb")):
        raise SystemExit(f"error: {path}: not a SavedModel folder; pass --saved_model=savedmodels/<name>/<version>")
    try:
        mnist = data.load(flags.FLAGS.data_dir)
        classifier = load.classifier(path)
        signature = image_bytes_signature(classifier)
    except (data.DataError, load.ModelLoadError) as e:
        raise SystemExit(f"error: {e}")
    x, y = mnist.x_test[:_LIMIT.value], mnist.y_test[:_LIMIT.value]
    original = float(np.mean(np.argmax(classifier.predict(x), -1) == y))
    rows, number_rows = [], []
    for name in _RENDERINGS.value:
        start = time.time()
        if name in renderings.NUMBER_RENDERINGS:
            digits, numbers = number_accuracy(classifier, x, y, name, _SEED.value)
            number_rows.append((name, digits, numbers))
            print(f"{name}: digits {100 * digits:.2f} %, numbers {100 * numbers:.2f} % "
                  f"({time.time() - start:.0f} s)", file=sys.stderr)
            continue
        encoded = renderings.render_all(x, name, seed=_SEED.value)
        by_predict = float(np.mean(predict.classify_encoded(classifier, encoded) == y))
        by_signature = float(np.mean(signature_predictions(signature, encoded) == y))
        rows.append((name, by_predict, by_signature))
        print(f"{name}: predict {100 * by_predict:.2f} %, serve_image_bytes {100 * by_signature:.2f} % "
              f"({time.time() - start:.0f} s)", file=sys.stderr)
    print(f"{len(y)} MNIST test digits, renderings seed {_SEED.value}, model {path}\n")
    if rows:
        print("| rendering | original test images | `predict` | `serve_image_bytes` |")
        print("|---|---:|---:|---:|")
    for name, by_predict, by_signature in rows:
        print(f"| {name} | {100 * original:.2f} % | {100 * by_predict:.2f} % | {100 * by_signature:.2f} % |")
    if number_rows:
        print(f"\n{len(renderings.number_groups(len(y), _SEED.value))} numbers\n")
        print("| rendering | original test images | `predict`: digits | `predict`: whole numbers |")
        print("|---|---:|---:|---:|")
    for name, digits, numbers in number_rows:
        print(f"| {name} | {100 * original:.2f} % | {100 * digits:.2f} % | {100 * numbers:.2f} % |")


def number_accuracy(classifier, x, y, rendering, seed):
    """(digit accuracy, whole-number accuracy) of `predict` on `x` rendered as numbers.

    A digit counts when the number read has as many digits as the true one and this
    digit right; an image read as no digit, or as touching digits, counts every digit wrong.
    """
    encoded, groups = renderings.render_numbers(x, rendering, seed)
    read = predict.read_encoded(classifier, encoded)
    truths = ["".join(str(d) for d in y[g]) for g in groups]
    right = sum(sum(a == b for a, b in zip(number, truth))
                for number, truth in zip(read, truths) if number and len(number) == len(truth))
    return right / len(y), float(np.mean([number == truth for number, truth in zip(read, truths)]))


def run():
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
