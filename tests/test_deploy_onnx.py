"""model.onnx: converted from the SavedModel's serving_default, run with onnxruntime."""

import json
import os

import numpy as np
import pytest

from keras_mnist import contract, models
from keras_mnist.deploy import onnx, saved_model
from keras_mnist.inference import evaluate, load

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_converted_model_gives_keras_probabilities(tmp_path):
    model = models.build("reference")
    saved = str(tmp_path / "sm")
    saved_model.serving_archive(model).write_out(saved, verbose=False)
    path = onnx.convert(saved, str(tmp_path / contract.ONNX_FILENAME))
    runner = load.classifier(path)
    # One input and one output, the probabilities: output 0 is what an app reads.
    assert [(i.name, i.shape, i.type) for i in runner.session.get_inputs()] == [
        ("images", ["batch", 28, 28, 1], "tensor(float)")]
    assert [(o.name, o.shape, o.type) for o in runner.session.get_outputs()] == [
        ("probabilities", ["batch", 10], "tensor(float)")]
    x = np.random.default_rng(0).integers(0, 256, (300, 28, 28, 1)).astype(np.float32)
    np.testing.assert_allclose(runner.predict(x), model.predict(x, verbose=0), rtol=1e-4, atol=1e-6)
    assert sorted(os.listdir(tmp_path)) == [contract.ONNX_FILENAME, "sm"]  # No temporary file left.


def test_exported_onnx_is_at_its_card_accuracy(trained_export, small_mnist):
    with open(os.path.join(trained_export, contract.MODEL_CARD_FILENAME)) as f:
        entry = json.load(f)["forms"]["onnx"]
    path = os.path.join(trained_export, entry["file"])
    assert entry["file"] == contract.ONNX_FILENAME and entry["size_bytes"] == os.path.getsize(path)
    assert "SavedModel-only" in entry["image_bytes"]
    runner = load.classifier(path)
    keras_model = load.classifier(os.path.join(trained_export, contract.KERAS_FILENAME))
    np.testing.assert_allclose(runner.predict(small_mnist.x_test), keras_model.predict(small_mnist.x_test),
                               rtol=1e-4, atol=1e-6)
    measured = evaluate.evaluate(runner, small_mnist.x_test, small_mnist.y_test).accuracy
    assert measured == pytest.approx(entry["test_accuracy"], abs=1e-9)


def test_failed_conversion_is_one_line_and_leaves_nothing(tmp_path):
    with pytest.raises(onnx.OnnxError) as e:
        onnx.convert(str(tmp_path / "no_such_model"), str(tmp_path / contract.ONNX_FILENAME))
    assert "\n" not in str(e.value) and "no_such_model" in str(e.value)
    assert os.listdir(tmp_path) == []


def test_failed_onnx_fails_the_export_and_writes_no_version(tmp_path, small_mnist, monkeypatch):
    def broken(saved_model_dir, path, signature=contract.SERVING_SIGNATURE):
        raise onnx.OnnxError("ONNX conversion failed: simulated")
    monkeypatch.setattr(onnx, "convert", broken)
    with pytest.raises(saved_model.ExportError, match="simulated; nothing was written"):
        saved_model.export_model(models.build("reference"), str(tmp_path), "m", mnist=small_mnist)
    assert os.listdir(tmp_path / "m") == []


@pytest.mark.parametrize("name", ["reference", "compact", "tiny"])
def test_committed_onnx_is_at_its_card_accuracy(name, mnist):
    folder = os.path.join(REPO, "savedmodels", name, "1")
    with open(os.path.join(folder, contract.MODEL_CARD_FILENAME)) as f:
        card = json.load(f)
    if "onnx" not in card["forms"]:
        pytest.skip(f"savedmodels/{name}/1 was exported before model.onnx existed; re-export it")
    entry = card["forms"]["onnx"]
    accuracy = evaluate.evaluate(load.classifier(os.path.join(folder, entry["file"])),
                                 mnist.x_test, mnist.y_test).accuracy
    assert accuracy == pytest.approx(entry["test_accuracy"], abs=1e-9)
    assert accuracy >= card["forms"]["keras"]["test_accuracy"] - 0.0005
