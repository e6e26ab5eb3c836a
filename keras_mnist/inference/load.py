"""Loads any of the project's model forms behind one `predict(images)` call.

`.keras` file, SavedModel folder (TF Serving's version folder), or `.tflite`
file (run by LiteRT); each takes raw 0-255 pixels [N, 28, 28, 1] and returns
probabilities [N, 10]. `classifier(path)` picks the form from the path.
"""

import os
import time

import numpy as np

from keras_mnist import contract


class ModelLoadError(Exception):
    """The path is not a model this project can load."""


def _in_batches(fn, images, batch_size=contract.EVAL_BATCH_SIZE):
    images = np.asarray(images, np.float32)
    return np.concatenate([np.asarray(fn(images[i:i + batch_size]))
                           for i in range(0, len(images), batch_size)])


class KerasClassifier:
    """A Keras model, in memory or from a `.keras` file.

    Calls the model directly rather than `model.predict`: under a multi-worker
    strategy `predict` would give each worker only its shard of the images.
    """

    kind = "keras"

    def __init__(self, model_or_path):
        import keras
        import tensorflow as tf

        if isinstance(model_or_path, (str, os.PathLike)):
            # safe_mode (the default, stated here on purpose) refuses to deserialise
            # Lambda-layer code from a model file: loading a model runs none of its code.
            model_or_path = keras.models.load_model(model_or_path, safe_mode=True)
        self.model = model_or_path
        self._infer = tf.function(lambda images: self.model(images, training=False))

    def predict(self, images):
        return _in_batches(lambda batch: self._infer(batch).numpy(), images)


class SavedModelClassifier:
    kind = "savedmodel"

    def __init__(self, path):
        import tensorflow as tf

        self._tf = tf
        self.path = path
        # Every signature of the loaded SavedModel, for callers that want another than serving_default.
        self.signatures = tf.saved_model.load(path).signatures
        self.signature = self.signatures[contract.SERVING_SIGNATURE]

    def predict(self, images):
        return _in_batches(lambda batch: self.signature(
            **{contract.IMAGES_INPUT: self._tf.constant(batch)})[contract.PROBABILITIES].numpy(), images)


class LiteModel:
    """A .tflite phone model run by LiteRT, as a plain app runs it: output 0 as float probabilities.

    Grey images [N, 28, 28, 1] go in as RGB (each grey value in all three channels,
    as an app's bitmap of a grey picture); pictures of another size are resized to
    the model's input first, as an SDK does (28x28 digits -> camera crops).
    """

    kind = "tflite"

    def __init__(self, path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter  # Optional at import time.

        self.path = path
        self.interpreter = Interpreter(model_path=path, num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner(contract.SERVING_SIGNATURE)
        (self.input_name, details), = self.runner.get_input_details().items()
        self.input_dtype = details["dtype"]
        self.input_shape = tuple(int(d) for d in details["shape"])
        self.fixed_batch = int(details["shape_signature"][0]) != -1
        self.input_quantization = details["quantization"]
        self.output_quantization = self.runner.get_output_details()[contract.PROBABILITIES]["quantization"]

    def input_details(self):
        return self.runner.get_input_details()[self.input_name]

    def output_details(self):
        return self.runner.get_output_details()

    def _prepare(self, images):
        images = np.asarray(images, np.float32)
        if images.shape[1:3] != self.input_shape[1:3]:
            from keras_mnist.deploy import tflite  # TensorFlow, only for the camera model.

            images = tflite.camera_crops(images, size=self.input_shape[1]).astype(np.float32)
        if images.shape[-1] == 1 and self.input_shape[-1] == 3:
            images = np.repeat(images, 3, -1)
        scale, zero_point = self.input_quantization
        if not np.issubdtype(self.input_dtype, np.integer):
            return images.astype(self.input_dtype)
        info = np.iinfo(self.input_dtype)
        q = np.round(images / (scale or 1.0) + zero_point)
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

    def _run(self, batch):
        out = np.array(self.runner(**{self.input_name: batch})[contract.PROBABILITIES])
        if np.issubdtype(out.dtype, np.integer):
            scale, zero_point = self.output_quantization
            out = (out.astype(np.float32) - zero_point) * scale
        return out

    def predict(self, images):
        """float probabilities [N, 10] for raw pixels `images` [N, H, W, 1 or 3]."""
        images = self._prepare(images)
        # Phone models take one image; the signature runner resizes an older file's input to each batch.
        step = 1 if self.fixed_batch else contract.EVAL_BATCH_SIZE
        return np.concatenate([self._run(images[i:i + step]) for i in range(0, len(images), step)])

    def latency_ms(self, image, repeats=200):
        """Median milliseconds for one image, after a warm-up."""
        one = self._prepare(np.asarray(image, np.float32)[None])
        self._run(one)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self.runner(**{self.input_name: one})
            times.append(time.perf_counter() - start)
        return 1000.0 * float(np.median(times))


class OnnxModel:
    """A .onnx classifier run by onnxruntime: raw pixels in, float probabilities out."""

    kind = "onnx"

    def __init__(self, path):
        import onnxruntime

        self.path = path
        self.session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        names = [o.name for o in self.session.get_outputs()]
        if contract.PROBABILITIES not in names:
            raise ModelLoadError(f"{path}: no '{contract.PROBABILITIES}' output (outputs: {', '.join(names)})")

    def predict(self, images):
        """float32 probabilities [N, 10] for raw pixels `images` [N, 28, 28, 1]."""
        return _in_batches(lambda batch: self.session.run(
            [contract.PROBABILITIES], {contract.IMAGES_INPUT: np.asarray(batch, np.float32)})[0], images)


def classifier(path):
    """The classifier stored at `path` (.keras, .tflite, .onnx, or a SavedModel folder)."""
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
            return LiteModel(path)
        if path.endswith(".onnx"):
            return OnnxModel(path)
    except ModelLoadError:
        raise
    except Exception as e:  # noqa: BLE001 - any loader failure becomes one line.
        raise ModelLoadError(f"{path}: cannot be loaded as a model ({type(e).__name__}: "
                             f"{str(e).splitlines()[0] if str(e) else ''})") from None
    raise ModelLoadError(f"{path}: not a model; pass a .keras file, a .tflite file, a .onnx file or a SavedModel folder")
