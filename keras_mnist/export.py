"""Exports a trained Keras model in the layout TF Serving watches.

    <export_dir>/<name>/<version>/   SavedModel (tag `serve`) + model.keras + metrics.json

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

from keras_mnist import data

KERAS_FILENAME = "model.keras"
METRICS_FILENAME = "metrics.json"


class ExportError(Exception):
    """The model could not be exported; nothing was left half-written."""


def versions(base_dir):
    """The integer versions present under `base_dir`, ascending."""
    if not os.path.isdir(base_dir):
        return []
    return sorted(int(d) for d in os.listdir(base_dir)
                  if d.isdigit() and os.path.isdir(os.path.join(base_dir, d)))


def serving_archive(model):
    """An ExportArchive with the `serving_default` signature: images -> probabilities, classes."""
    archive = keras.export.ExportArchive()
    archive.track(model)

    def serve(images):
        probabilities = model(images, training=False)
        return {"probabilities": probabilities,
                "classes": tf.argmax(probabilities, axis=-1, output_type=tf.int64)}

    archive.add_endpoint(
        name="serving_default", fn=serve,
        input_signature=[tf.TensorSpec([None, *data.IMAGE_SHAPE], tf.float32, name="images")])
    return archive


def export_model(model, export_dir, name, metrics=None):
    """Writes `model` as the next version under <export_dir>/<name>/; returns its path."""
    base = os.path.join(export_dir, name)
    if os.path.exists(export_dir) and not os.path.isdir(export_dir):
        raise ExportError(f"--export_dir {export_dir} is a file; pass a folder")
    try:
        os.makedirs(base, exist_ok=True)
        staging = tempfile.mkdtemp(prefix=".staging-", dir=base)
    except OSError as e:
        raise ExportError(f"cannot create {base} ({e.strerror}); pass a writable --export_dir") from None
    try:
        serving_archive(model).write_out(staging, verbose=False)
        model.save(os.path.join(staging, KERAS_FILENAME))
        if metrics is not None:
            with open(os.path.join(staging, METRICS_FILENAME), "w") as f:
                json.dump(metrics, f, indent=2)
        os.chmod(staging, 0o755)  # mkdtemp makes it private; a server may run as another user.
        return _publish(staging, base)
    except BaseException as e:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(e, OSError):
            raise ExportError(f"export to {base} failed ({e.strerror or e}); nothing was written") from None
        raise


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
