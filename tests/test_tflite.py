import json
import os

import numpy as np
import pytest

from keras_mnist import inference, tflite


def test_all_variants_are_written_and_int8_takes_raw_pixels(trained_export):
    for variant in tflite.VARIANTS:
        assert os.path.getsize(os.path.join(trained_export, tflite.filename(variant))) > 0
    lite = tflite.LiteModel(os.path.join(trained_export, "model_int8.tflite"))
    details = lite.input_details()
    assert details["dtype"] == np.uint8
    assert details["quantization"] == (1.0, 0)  # q = pixel: no arithmetic in the app.
    assert lite.output_details()["probabilities"]["dtype"] == np.uint8
    sizes = {v: os.path.getsize(os.path.join(trained_export, tflite.filename(v))) for v in tflite.VARIANTS}
    assert sizes["int8"] < sizes["float16"] < sizes["float32"]


@pytest.mark.parametrize("variant", tflite.VARIANTS)
def test_variants_agree_with_the_keras_model(trained_export, small_mnist, variant):
    keras_probs = inference.load(os.path.join(trained_export, "model.keras")).predict(small_mnist.x_test)
    lite_probs = tflite.LiteModel(os.path.join(trained_export, tflite.filename(variant))).predict(small_mnist.x_test)
    agreement = np.mean(np.argmax(keras_probs, -1) == np.argmax(lite_probs, -1))
    assert agreement >= {"float32": 1.0, "float16": 0.998, "int8": 0.99}[variant]
    atol = {"float32": 1e-5, "float16": 1e-2, "int8": 0.1}[variant]
    np.testing.assert_allclose(lite_probs, keras_probs, atol=atol)


def test_model_card_says_how_to_call_each_form(trained_export, small_mnist):
    with open(os.path.join(trained_export, "model_card.json")) as f:
        card = json.load(f)
    assert card["labels"] == [str(d) for d in range(10)]
    assert card["trainable_params"] == 16_848
    assert card["input"]["pixel_range"] == [0, 255] and "white" in card["input"]["polarity"]
    assert set(card["forms"]) == {"keras", "savedmodel", "tflite_float32", "tflite_float16", "tflite_int8"}
    int8 = card["forms"]["tflite_int8"]
    assert int8["input"]["dtype"] == "uint8" and int8["input"]["quantization"] == {"scale": 1.0, "zero_point": 0}
    assert int8["size_bytes"] == os.path.getsize(os.path.join(trained_export, "model_int8.tflite"))
    assert card["training_flags"]["epochs"] == 2
    # The accuracies in the card are what the files measure.
    for form in card["forms"].values():
        path = os.path.join(trained_export, form["file"])
        measured = np.mean(np.argmax(inference.load(os.path.normpath(path)).predict(small_mnist.x_test), -1)
                           == small_mnist.y_test)
        assert form["test_accuracy"] == pytest.approx(measured, abs=1e-9)
