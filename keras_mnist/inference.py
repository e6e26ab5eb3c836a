"""Loads any of the project's model forms behind one `predict(images)` call.

`.keras` file, SavedModel folder (TF Serving's version folder), or `.tflite`
file; each takes raw 0-255 pixels [N, 28, 28, 1] and returns probabilities [N, 10].
"""

import os

import numpy as np


class ModelLoadError(Exception):
    """The path is not a model this project can load."""


class KerasClassifier:
    kind = "keras"

    def __init__(self, path):
        import keras

        # safe_mode (the default, stated here on purpose) refuses to deserialise
        # Lambda-layer code from a model file: loading a model runs none of its code.
        self.model = keras.models.load_model(path, safe_mode=True)

    def predict(self, images):
        return np.asarray(self.model.predict(np.asarray(images, np.float32), batch_size=1000, verbose=0))


class SavedModelClassifier:
    kind = "savedmodel"

    def __init__(self, path):
        import tensorflow as tf

        from keras_mnist.serving import SERVING_SIGNATURE

        self._tf = tf
        self.signature = tf.saved_model.load(path).signatures[SERVING_SIGNATURE]

    def predict(self, images):
        images = np.asarray(images, np.float32)
        return np.concatenate([
            self.signature(images=self._tf.constant(images[i:i + 1000]))["probabilities"].numpy()
            for i in range(0, len(images), 1000)])


def load(path):
    """The classifier stored at `path` (.keras, .tflite, or a SavedModel folder)."""
    if not os.path.exists(path):
        raise ModelLoadError(f"{path}: no such file or folder")
    try:
        if os.path.isdir(path):
            if not os.path.exists(os.path.join(path, "saved_model.pb")):
                raise ModelLoadError(f"{path}: a folder without saved_model.pb is not a SavedModel")
            return SavedModelClassifier(path)
        if path.endswith(".keras"):
            return KerasClassifier(path)
        if path.endswith(".tflite"):
            from keras_mnist import tflite

            return tflite.LiteModel(path)
    except ModelLoadError:
        raise
    except Exception as e:  # noqa: BLE001 - any loader failure becomes one line.
        raise ModelLoadError(f"{path}: cannot be loaded as a model ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''})") from None
    raise ModelLoadError(f"{path}: not a model; pass a .keras file, a .tflite file or a SavedModel folder")
