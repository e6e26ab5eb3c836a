"""Writes a trained Keras model in the layout TF Serving watches, with TFLite beside it.

    <export_dir>/<name>/<version>/   SavedModel (tag `serve`), model.keras, metrics.json,
                                     model_{float32,float16,int8}.tflite (phone models), model.onnx,
                                     model_card.json

Versions are integers. A new export takes the next free one and never replaces
an existing one; it is written to a hidden temporary folder beside it and renamed
into place, so a server polling the base path never sees half a model.
"""

import json
import os
import shutil
import tempfile

import keras
import tensorflow as tf

from keras_mnist import contract, models
from keras_mnist.deploy import calibration, model_card, onnx, phone
from keras_mnist.inference import preprocess


class ExportError(Exception):
    """The model could not be exported; nothing was left half-written."""


def versions(base_dir):
    """The integer versions present under `base_dir`, ascending."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(int(d) for d in os.listdir(base_dir)
                  if d.isdigit() and os.path.isdir(os.path.join(base_dir, d)))


def serving_archive(model):
    """An ExportArchive with TF Serving's signatures for `model`.

    `serving_default`: `images` float32 [batch, 28, 28, 1] raw 0-255 pixels,
    white digit on black -> `probabilities` float32 [batch, 10], `classes` int64.
    `serve_image_bytes`: `image_bytes` string [batch] of encoded PNG/JPEG (TF
    Serving's {"b64": ...} JSON form) -> the same outputs, made MNIST-like in the
    graph (`inference.preprocess`); an image without ink gets probabilities all 0
    and class -1.
    """
    archive = keras.export.ExportArchive()
    archive.track(model)

    def predict(images):
        probabilities = model(images, training=False)
        return {contract.PROBABILITIES: probabilities,
                contract.CLASSES: tf.argmax(probabilities, axis=-1, output_type=tf.int64)}

    def serve(images):
        # The network is fully convolutional and would answer a 32x32 image too;
        # a request of another shape is an error, not a guess.
        return predict(tf.ensure_shape(images, [None, *contract.IMAGE_SHAPE]))

    def serve_image_bytes(image_bytes):
        pixels, found = preprocess.decode_digits(image_bytes)
        outputs = predict(pixels)
        # No ink in an image (a blank page): probabilities all 0, class -1.
        return {contract.PROBABILITIES: outputs[contract.PROBABILITIES] * tf.cast(found, tf.float32)[:, None],
                contract.CLASSES: tf.where(found, outputs[contract.CLASSES], tf.constant(contract.NO_DIGIT_CLASS, tf.int64))}

    archive.add_endpoint(
        name=contract.SERVING_SIGNATURE, fn=serve,
        input_signature=[tf.TensorSpec([None, *contract.IMAGE_SHAPE], contract.IMAGE_DTYPE,
                                       name=contract.IMAGES_INPUT)])
    archive.add_endpoint(
        name=contract.IMAGE_BYTES_SIGNATURE, fn=serve_image_bytes,
        input_signature=[tf.TensorSpec([None], tf.string, name=contract.IMAGE_BYTES_INPUT)])
    return archive


def export_model(model, export_dir, name, metrics=None, mnist=None, holdout=None):
    """Writes `model` as the next version under <export_dir>/<name>/; returns its path.

    With `holdout` (images, labels held out of training), a softmax temperature is
    fitted on them and every form applies it. With `mnist` (a `data.Mnist`), also
    writes the phone models (.tflite; int8 ranges from training images) and the
    model card, every form evaluated on the test set.
    """
    base = os.path.join(export_dir, name)
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise ExportError(f"--export_dir {export_dir} is a file; pass a folder")
    try:
        os.makedirs(base, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".staging-", dir=base)
    except OSError as e:
        raise ExportError(f"cannot create {base} ({e.strerror}); pass a writable --export_dir") from None
    try:
        if holdout is not None:
            model, temperature = calibration.calibrate(model, *holdout)
        else:
            temperature = calibration.temperature_of(model)
        serving_archive(model).write_out(staging, verbose=False)
        # Stock layers: the .keras file loads anywhere Keras does.
        models.with_stock_layers(model).save(os.path.join(staging, contract.KERAS_FILENAME))
        if metrics is not None:
            write_json(os.path.join(staging, contract.METRICS_FILENAME), metrics)
        if mnist is not None:
            phone.write(model, staging, name, (versions(base) or [0])[-1] + 1,
                        mnist.x_train[:phone.tflite.CALIBRATION_IMAGES])
            onnx.convert(staging, os.path.join(staging, contract.ONNX_FILENAME))
            # A re-export keeps the model's temperature; its training run's flags say what it was fitted on.
            held_out = len(holdout[1]) if holdout is not None else (metrics or {}).get("flags", {}).get("validation_size", 0)
            fit = calibration.report(model, temperature, mnist.x_test, mnist.y_test, held_out)
            write_json(os.path.join(staging, contract.MODEL_CARD_FILENAME),
                       model_card.build(model, staging, mnist, metrics, calibration=fit))
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a server may run as another user.
        return _publish(staging, base)
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, OSError):
            raise ExportError(f"export to {base} failed ({e.strerror or e}); nothing was written") from None
        if isinstance(e, onnx.OnnxError):
            raise ExportError(f"{e}; nothing was written") from None
        if isinstance(e, phone.PhoneModelError):
            raise ExportError(f"{e}; nothing was written to {base}") from None
        raise


def write_json(path, obj):
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)


def _publish(staging, base):
    """Renames `staging` to the next free version; retries if another export took it."""
    while True:
        version = (versions(base) or [0])[-1] + 1
        target = os.path.join(base, str(version))
        try:
            os.rename(staging, target)  # Atomic; fails if `target` appeared meanwhile.
            return target
        except OSError:
            if not os.path.exists(target):
                raise
