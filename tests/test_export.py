"""`python -m keras_mnist.export MODEL.keras`, run in-process."""

import json
import os

import keras
import numpy as np
import pytest
from scipy import special

from conftest import REPO, run_cli
from keras_mnist import data, export, models
from keras_mnist.deploy import calibration, tflite
from keras_mnist.inference import evaluate, load


def test_cli_reexports_a_keras_file_as_a_new_version(tmp_path, capsys):
    source = os.path.join(REPO, "savedmodels", "reference", "1", "model.keras")
    for expected in ("1", "2"):
        run_cli(export, source, f"--export_dir={tmp_path}", "--export_name=again", "--notflite")
        assert capsys.readouterr().out.strip().endswith(f"to {tmp_path}/again/{expected}")
    assert os.path.exists(tmp_path / "again" / "2" / "saved_model.pb")
    # metrics.json beside the source travels with it.
    assert os.path.exists(tmp_path / "again" / "1" / "metrics.json")
    with pytest.raises(SystemExit) as exit_:
        run_cli(export, str(tmp_path / "nope.keras"))
    assert str(exit_.value.code).startswith("error: ") and "nope.keras: no such file" in str(exit_.value.code)


def test_reexport_of_a_committed_model_predicts_the_same_keeps_its_temperature_and_card(
        mnist, tmp_path, capsys, monkeypatch):
    """README's re-export, `python -m keras_mnist.export savedmodels/reference/1/model.keras`,
    phone models, ONNX and card included; measured on every 5th test image (2,000) to save time."""
    committed = os.path.join(REPO, "savedmodels", "reference", "1")
    sample = data.Mnist(mnist.x_train[:tflite.CALIBRATION_IMAGES], mnist.y_train[:tflite.CALIBRATION_IMAGES],
                        mnist.x_test[::5], mnist.y_test[::5])
    monkeypatch.setattr(data, "load", lambda data_dir=None: sample)
    run_cli(export, os.path.join(committed, "model.keras"), f"--export_dir={tmp_path}", "--export_name=again")
    version = str(tmp_path / "again" / "1")
    assert capsys.readouterr().out.strip().endswith(f"to {version}")
    with open(os.path.join(version, "model_card.json")) as f:
        card = json.load(f)
    with open(os.path.join(committed, "model_card.json")) as f:
        committed_card = json.load(f)
    x, y = sample.x_test, sample.y_test

    # Every form of the new version answers as the committed version's same form.
    assert sorted(card["forms"]) == sorted(committed_card["forms"])
    accuracies = {}
    for form, entry in card["forms"].items():
        if form == "tflite_camera":
            continue
        new, old = (evaluate.evaluate(load.classifier(os.path.normpath(os.path.join(folder, entry["file"]))), x, y)
                    for folder in (version, committed))
        np.testing.assert_array_equal(new.predictions, old.predictions, err_msg=form)
        # int8: the quantization is calibrated with the float model, whose arithmetic differs between
        # instruction sets (oneDNN's AVX-512 and AVX2 kernels); a probability on a rounding boundary can
        # land one output step (1/256) away. Elsewhere, and in every answer, the same.
        atol = 1 / 256 + 1e-6 if form == "tflite_int8" else 1e-5
        np.testing.assert_allclose(new.probabilities, old.probabilities, atol=atol, err_msg=form)
        accuracies[form] = old.accuracy
        # The card describes the new files, measured on the test images it was given.
        assert entry["test_accuracy"] == pytest.approx(old.accuracy, abs=1e-9), form
        assert entry.get("size_bytes", 0) == (os.path.getsize(os.path.join(version, entry["file"]))
                                              if "size_bytes" in entry else 0), form
    assert accuracies["keras"] > 0.99
    camera = card["forms"]["tflite_camera"]
    assert camera["size_bytes"] == os.path.getsize(os.path.join(version, camera["file"]))
    crops, labels = tflite.camera_crops(x[:200]), y[:200]
    camera_digits = [load.LiteModel(os.path.join(folder, camera["file"])).predict(crops).argmax(-1)
                     for folder in (version, committed)]
    assert np.mean(camera_digits[0] == camera_digits[1]) >= 0.99
    assert np.mean(camera_digits[0] == labels) >= 0.97

    # The temperature is kept, not refitted (a re-export has no held-out images) and not lost.
    temperatures = [calibration.temperature_of(keras.models.load_model(os.path.join(folder, "model.keras")))
                    for folder in (version, committed)]
    assert temperatures[0] == pytest.approx(temperatures[1], rel=1e-6) and temperatures[0] < 0.6
    fit = card["calibration"]
    assert fit["temperature"] == pytest.approx(temperatures[1], abs=1e-4)
    assert "5000 held-out" in fit["fitted_on"]
    model = keras.models.load_model(os.path.join(committed, "model.keras"))
    logits = calibration.logits_model(model).predict(x.astype(np.float32), batch_size=1000, verbose=0)
    assert fit["test_ece_after"] == pytest.approx(calibration.expected_calibration_error(
        special.softmax(logits.astype(np.float64) / temperatures[1], axis=-1), y), abs=1e-5)
    assert fit["test_ece_before"] == pytest.approx(calibration.expected_calibration_error(
        special.softmax(logits.astype(np.float64), axis=-1), y), abs=1e-5)
    assert card["test_set"] == f"MNIST test set, {len(y)} images"
    assert card["trainable_params"] == models.count_trainable_params(model) == 16_848

    # The training run's record travels with it, and the committed version is untouched.
    with open(os.path.join(committed, "metrics.json")) as f:
        metrics = json.load(f)
    with open(os.path.join(version, "metrics.json")) as f:
        assert json.load(f) == metrics
    assert card["training_flags"] == metrics["flags"]
    assert sorted(os.listdir(tmp_path / "again")) == ["1"]
