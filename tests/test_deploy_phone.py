"""Phone models as apps open them: MediaPipe's ImageClassifier and a plain interpreter."""

import json
import os

import numpy as np
import pytest
import tensorflow as tf

from keras_mnist import config, contract, models
from keras_mnist.deploy import phone, saved_model, tflite, toolenv
from keras_mnist.inference import load, predict
from keras_mnist.training import trainer

from conftest import camera_model_digits, plain_interpreter_output_0, renderings_as_camera_crops, sdk_scores

def _card(folder):
    with open(os.path.join(folder, "model_card.json")) as f:
        return json.load(f)


@pytest.mark.parametrize("sdk", ["mediapipe", "task_library"])
@pytest.mark.parametrize("variant", tflite.VARIANTS + (tflite.CAMERA,))
def test_the_sdks_open_each_phone_model_at_its_card_accuracy(trained_export, small_mnist, variant, sdk, tmp_path):
    path = os.path.join(trained_export, contract.tflite_filename(variant))
    form = _card(trained_export)["forms"][f"tflite_{variant}"]
    # 1,000 test digits, handed over as an app's RGB bitmaps (the camera model: as 112x112 crops).
    rgb = (tflite.camera_crops if variant == tflite.CAMERA else tflite.to_rgb)(small_mnist.x_test)
    scores = sdk_scores(sdk, path, rgb, tmp_path)
    accuracy = np.mean(scores.argmax(-1) == small_mnist.y_test)
    assert abs(accuracy - form["test_accuracy"]) <= 0.001, (accuracy, form["test_accuracy"])
    # The SDK's scores are output 0 as the plain interpreter reads it: normalisation and labels are right.
    np.testing.assert_allclose(scores, plain_interpreter_output_0(path, rgb), atol=1e-5)


@pytest.mark.parametrize("variant", tflite.VARIANTS + (tflite.CAMERA,))
def test_output_0_of_every_tflite_is_the_probabilities(trained_export, small_mnist, variant):
    path = os.path.join(trained_export, contract.tflite_filename(variant))
    facts = phone.check(path)
    size = contract.CAMERA_SIZE if variant == tflite.CAMERA else 28
    assert list(facts["input"]["shape"]) == [1, size, size, 3]
    assert facts["input"]["dtype"] == (np.uint8 if variant == "int8" else np.float32)
    rgb = (tflite.camera_crops if variant == tflite.CAMERA else tflite.to_rgb)(small_mnist.x_test)
    probabilities = plain_interpreter_output_0(path, rgb)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, atol={"int8": 0.05}.get(variant, 1e-4))
    form = _card(trained_export)["forms"][f"tflite_{variant}"]
    assert np.mean(probabilities.argmax(-1) == small_mnist.y_test) == pytest.approx(form["test_accuracy"], abs=1e-9)
    assert form["size_bytes"] == os.path.getsize(path)


def test_the_camera_model_answers_as_predict_on_the_same_realistic_images(trained_export, small_mnist):
    crops, labels, kinds = renderings_as_camera_crops(small_mnist, per_kind=60)
    camera_digits = camera_model_digits(os.path.join(trained_export, contract.tflite_filename(tflite.CAMERA)), crops)
    encoded = [tf.io.encode_png(crop).numpy() for crop in crops]
    keras_model = load.KerasClassifier(os.path.join(trained_export, contract.KERAS_FILENAME))
    predict_digits = predict.classify_encoded(keras_model, encoded)
    for kind in np.unique(kinds):
        agree = np.mean(camera_digits[kinds == kind] == predict_digits[kinds == kind])
        assert agree >= 0.97, (kind, agree)
    assert np.mean(camera_digits == predict_digits) >= 0.99
    assert abs(np.mean(camera_digits == labels) - np.mean(predict_digits == labels)) <= 0.01


def test_a_tflite_that_is_not_a_phone_model_is_refused_in_one_line(tmp_path):
    model = models.build("reference")
    bare = tmp_path / "bare.tflite"
    bare.write_bytes(tflite.convert(model, "float32"))
    with pytest.raises(phone.PhoneModelError, match="no TFLite metadata"):
        phone.check(str(bare))
    junk = tmp_path / "junk.tflite"
    junk.write_bytes(b"not a model")
    with pytest.raises(phone.PhoneModelError, match="not a runnable TFLite model") as e:
        phone.check(str(junk))
    assert "\n" not in str(e.value)


def test_an_export_without_the_metadata_writer_fails_cleanly(small_mnist, tmp_path, monkeypatch):
    def missing(install=True):
        raise toolenv.ToolError("cannot install the phone tools (no network)")

    monkeypatch.setattr(toolenv, "python", missing)
    export_dir = tmp_path / "savedmodels"
    cfg = config.parse([f"--workdir={tmp_path}/run", f"--export_dir={export_dir}", "--epochs=1",
                        "--train_size=500", "--verbose=0"])
    with pytest.raises(saved_model.ExportError, match="TFLite metadata.*nothing was written") as e:
        trainer.train_and_evaluate(cfg, mnist=small_mnist)
    assert "\n" not in str(e.value)
    assert os.listdir(export_dir / "reference") == []  # No version, no staging folder.
