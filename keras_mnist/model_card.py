"""The model card: what an app developer needs to call the model without reading Python."""

import os

import numpy as np

from keras_mnist import evaluate, inference, models, tflite


def _accuracy(classifier, mnist):
    return evaluate.evaluate(classifier, mnist.x_test, mnist.y_test).accuracy


def build(model, version_dir, mnist, metrics=None):
    """Writes the TFLite variants into `version_dir`, measures every form, returns the card."""
    paths = tflite.write_variants(version_dir, version_dir,
                                  calibration_images=mnist.x_train[:tflite.CALIBRATION_IMAGES])
    forms = {"keras": {"file": "model.keras",
                       "test_accuracy": _accuracy(inference.KerasClassifier(
                           os.path.join(version_dir, "model.keras")), mnist)},
             "savedmodel": {"file": ".", "tag": "serve",
                            "signatures": {"serving_default": "images -> probabilities, classes",
                                           "serve_image_bytes": "image_bytes -> probabilities, classes"},
                            "test_accuracy": _accuracy(inference.SavedModelClassifier(version_dir), mnist)}}
    for variant, path in paths.items():
        lite = tflite.LiteModel(path)
        inp = lite.input_details()
        scale, zero_point = inp["quantization"]
        outputs = {name: {"dtype": np.dtype(d["dtype"]).name, "shape": ["batch", *map(int, d["shape"][1:])],
                          "quantization": {"scale": float(d["quantization"][0]),
                                           "zero_point": int(d["quantization"][1])}}
                   for name, d in lite.output_details().items()}
        forms[f"tflite_{variant}"] = {
            "file": os.path.basename(path),
            "size_bytes": os.path.getsize(path),
            "input": {"name": "images", "dtype": np.dtype(inp["dtype"]).name,
                      "shape": ["batch", 28, 28, 1],
                      "quantization": {"scale": float(scale), "zero_point": int(zero_point)}},
            "outputs": outputs,
            "test_accuracy": _accuracy(lite, mnist),
            "latency_ms_single_image": round(lite.latency_ms(mnist.x_test[0]), 4),
        }
    return {
        "name": model.name,
        "task": "handwritten digit classification (MNIST)",
        "labels": [str(d) for d in range(10)],
        "input": {
            "shape": ["batch", 28, 28, 1], "layout": "NHWC, one grey channel",
            "pixel_range": [0, 255],
            "polarity": "white (255) digit on black (0) background, as in MNIST; invert dark-on-light drawings",
            "preprocessing": "none: scaling and normalisation are inside the model; quantised inputs "
                             "take q = round(pixel / scale + zero_point)",
        },
        "outputs": {"probabilities": "float [batch, 10], softmax over the digits 0-9 "
                                     "(quantised variants: p = scale * (q - zero_point))",
                    "classes": "int64 [batch], the most probable digit"},
        "trainable_params": models.count_trainable_params(model),
        "test_set": f"MNIST test set, {len(mnist.x_test)} images",
        "forms": forms,
        "training_flags": (metrics or {}).get("flags"),
    }
