import os
import subprocess
import sys

import numpy as np

from keras_mnist import evaluate, plots

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class Fixed:
    """A classifier that answers given probabilities."""

    def __init__(self, probabilities):
        self.probabilities = probabilities

    def predict(self, images):
        return self.probabilities


def test_confusion_matrix_and_report():
    y = np.array([0, 0, 1, 2, 2, 2])
    predicted = np.array([0, 1, 1, 2, 2, 0])
    result = evaluate.evaluate(Fixed(np.eye(10)[predicted]), np.zeros((6, 28, 28, 1)), y)
    assert result.accuracy == 4 / 6
    assert result.confusion[0].tolist()[:3] == [1, 1, 0]
    assert result.confusion[2].tolist()[:3] == [1, 0, 2]
    assert result.confusion.sum() == 6
    np.testing.assert_allclose(result.per_class_accuracy[:3], [0.5, 1.0, 2 / 3])
    text = evaluate.report(result)
    assert text.startswith("Accuracy: 4/6 (66.67%)")
    assert "    2       3        2    66.67%" in text


def test_pngs_are_written(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 10, 50)
    probabilities = np.eye(10)[(y + (rng.random(50) < 0.2)) % 10]
    x = rng.integers(0, 256, (50, 28, 28, 1))
    result = evaluate.evaluate(Fixed(probabilities), x, y)
    plots.save_confusion_png(result, tmp_path / "cm.png")
    plots.save_errors_png(result, x, y, tmp_path / "errors.png")
    for name in ("cm.png", "errors.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_on_each_model_form(trained_export, mnist, tmp_path):
    for path in ("model.keras", ".", "model_int8.tflite"):
        result = subprocess.run(
            [sys.executable, "-m", "keras_mnist.evaluate", os.path.normpath(os.path.join(trained_export, path)),
             f"--confusion_png={tmp_path}/cm.png"],
            capture_output=True, text=True, cwd=REPO, timeout=600)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "Accuracy: " in result.stdout and "/10000 (" in result.stdout
        assert "confusion matrix" in result.stdout and os.path.exists(tmp_path / "cm.png")


def test_cli_rejects_a_non_model(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    result = subprocess.run([sys.executable, "-m", "keras_mnist.evaluate", str(tmp_path / "notes.txt")],
                            capture_output=True, text=True, cwd=REPO, timeout=300)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "Traceback" not in result.stderr
