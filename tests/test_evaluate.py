"""`python -m keras_mnist.evaluate PATH`, run in-process."""

import os
import re

import numpy as np
import pytest

from conftest import run_cli
from keras_mnist import evaluate


def test_cli_on_each_model_form(trained_export, mnist, tmp_path, capsys):
    import keras

    # The count the CLI prints, against the Keras model itself on the test images.
    model = keras.models.load_model(os.path.join(trained_export, "model.keras"))
    right = int(np.sum(np.argmax(model.predict(mnist.x_test.astype(np.float32), verbose=0), -1) == mnist.y_test))
    for path in ("model.keras", ".", "model_int8.tflite"):
        run_cli(evaluate, os.path.normpath(os.path.join(trained_export, path)),
                         f"--confusion_png={tmp_path}/cm.png")
        out = capsys.readouterr().out
        assert "confusion matrix" in out
        assert os.path.exists(tmp_path / "cm.png")
        correct = int(re.search(r"Accuracy: (\d+)/10000 \(", out).group(1))
        # Float forms agree with Keras to the image; int8 (of this briefly trained model) within 1 %.
        assert abs(correct - right) <= (0 if path != "model_int8.tflite" else 100), (path, correct, right)


def test_cli_rejects_a_non_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SystemExit) as exit_:
        run_cli(evaluate, str(tmp_path / "notes.txt"))
    assert str(exit_.value.code).startswith(f"error: {tmp_path}/notes.txt: not a model")
