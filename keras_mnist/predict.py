"""Classifies image files: `python -m keras_mnist.predict --model_path=PATH FILE...`.

Any PNG/JPEG/BMP/GIF, any size, colour or grey, made MNIST-like and classified
by a `.keras` file, a SavedModel folder or a `.tflite` file (default: the newest
savedmodels/reference/<version>). An image without ink prints `<file>: no digit
found`. A number of several digits prints each digit's probability
(`<file>: 42 (0.9912 0.9731)`); digits that touch print `<file>: digits touch; ...`
instead of a guess. A file that cannot be read as an image gets one line on stderr; the other
files are still classified, and the exit status is 1. `--show=FILE.png` writes a
grid of the 28x28 inputs the model saw, with its answer under each.
The old spelling `--model=PATH` still works.
"""

import sys

import numpy as np
from absl import app, flags, logging

from keras_mnist.inference import load, plots, predict

# Not --model: keras_mnist.train's --model (an architecture) may share the process.
_MODEL_PATH = flags.DEFINE_string(
    "model_path", None, "A .keras file, a SavedModel folder or a .tflite file. "
    f"Default: the newest savedmodels/{predict.DEFAULT_MODEL_NAME}/<version>.")
_SHOW = flags.DEFINE_string("show", None, "Also write a PNG grid of the 28x28 inputs the model saw, "
                            "with the predicted digit and probability under each.")


def main(argv):
    if len(argv) < 2:
        raise app.UsageError("usage: python -m keras_mnist.predict --model_path=PATH FILE...")
    logging.set_verbosity(logging.WARNING)
    path = _MODEL_PATH.value or predict.default_model()
    if not path:
        raise SystemExit(f"error: no model found under savedmodels/{predict.DEFAULT_MODEL_NAME}/; pass "
                         "--model_path=PATH (a .keras file, a SavedModel folder or a .tflite file)")
    try:
        classifier = load.classifier(path)
    except load.ModelLoadError as e:
        raise SystemExit(f"error: {e}")
    failed, shown, pixels = False, [], {}
    for path, number, probabilities, error in predict.classify(classifier, argv[1:], pixels):
        if isinstance(error, (predict.NoDigitError, predict.TouchingDigitsError)):
            print(error)  # A result, in line with the others: "<file>: no digit found".
            shown.append((path, None, "no digit" if isinstance(error, predict.NoDigitError) else "touching"))
        elif error:
            print(f"error: {error}", file=sys.stderr)
        else:
            # "7 (0.9981)"; a number, each digit's probability: "42 (0.9912 0.9731)".
            print(f"{path}: {number} ({' '.join(f'{p:.4f}' for p in probabilities)})")
            seen = np.concatenate(list(pixels[path]), axis=1)  # The digits side by side.
            shown.append((path, seen, f"{number} ({min(probabilities):.2f})"))
        failed = failed or error is not None
    if _SHOW.value:
        try:
            plots.save_inputs_png(shown, _SHOW.value)
        except (OSError, ValueError) as e:
            raise SystemExit(f"error: cannot write --show={_SHOW.value} ({e}); pass a writable .png path")
    if failed:
        sys.exit(1)


def old_flag_names(argv):
    """`--model=PATH` (this command's flag before --model_path) -> `--model_path=PATH`, with a note."""
    renamed = [("--model_path" + arg[len("--model"):]) if arg == "--model" or arg.startswith("--model=") else arg
               for arg in argv]
    if renamed != list(argv):
        print("note: --model is now --model_path", file=sys.stderr)
    return renamed


def run():
    """Console-script entry point."""
    app.run(main, argv=old_flag_names(sys.argv))


if __name__ == "__main__":
    run()
