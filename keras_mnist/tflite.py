"""TFLite models for phones: conversion, and running them with the LiteRT interpreter.

Three variants of the `serving_default` signature, each taking raw 0-255 pixels
[batch, 28, 28, 1], white digit on black:
  float32  the model as it is;
  float16  weights stored as float16 (half the size, float32 arithmetic);
  int8     full-integer quantisation, calibrated on training images, with
           uint8 input (the raw pixels, scale 1, zero point 0) and uint8
           probabilities; int8 weights and activations inside.
"""

import os
import time

import numpy as np
import tensorflow as tf

from keras_mnist.serving import SERVING_SIGNATURE

VARIANTS = ("float32", "float16", "int8")
CALIBRATION_IMAGES = 500


def filename(variant):
    return f"model_{variant}.tflite"


def convert(saved_model_dir, variant, calibration_images=None):
    """Converts the SavedModel's `serving_default` signature; returns the .tflite bytes."""
    converter = tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=[SERVING_SIGNATURE])
    if variant == "float16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif variant == "int8":
        if calibration_images is None:
            raise ValueError("int8 conversion needs calibration images")
        images = np.asarray(calibration_images, np.float32)

        def representative_dataset():
            for image in images:
                yield {"images": image[None]}

        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = tf.uint8
        converter.inference_output_type = tf.uint8
    elif variant != "float32":
        raise ValueError(f"unknown TFLite variant {variant!r}; choose one of {VARIANTS}")
    return converter.convert()


def write_variants(saved_model_dir, out_dir, calibration_images):
    """Writes every variant into `out_dir`; returns {variant: path}."""
    paths = {}
    for variant in VARIANTS:
        path = os.path.join(out_dir, filename(variant))
        with open(path, "wb") as f:
            f.write(convert(saved_model_dir, variant, calibration_images))
        paths[variant] = path
    return paths


class LiteModel:
    """A .tflite classifier run by LiteRT: raw pixels in, float probabilities out."""

    kind = "tflite"

    def __init__(self, path, num_threads=None):
        from ai_edge_litert.interpreter import Interpreter  # Optional at import time.

        self.path = path
        self.interpreter = Interpreter(model_path=path, num_threads=num_threads)
        self.runner = self.interpreter.get_signature_runner(SERVING_SIGNATURE)
        details = self.runner.get_input_details()["images"]
        self.input_dtype = details["dtype"]
        self.input_quantization = details["quantization"]
        self.output_quantization = self.runner.get_output_details()["probabilities"]["quantization"]

    def input_details(self):
        return self.runner.get_input_details()["images"]

    def output_details(self):
        return self.runner.get_output_details()

    def _quantize(self, images):
        scale, zero_point = self.input_quantization
        if not np.issubdtype(self.input_dtype, np.integer):
            return images.astype(self.input_dtype)
        info = np.iinfo(self.input_dtype)
        q = np.round(images / (scale or 1.0) + zero_point)
        return np.clip(q, info.min, info.max).astype(self.input_dtype)

    def predict(self, images, batch_size=1000):
        """float probabilities [N, 10] for raw pixels `images` [N, 28, 28, 1]."""
        images = np.asarray(images, np.float32)
        outputs = []
        for start in range(0, len(images), batch_size):
            # The signature runner resizes its input to each batch's shape.
            out = np.array(self.runner(images=self._quantize(images[start:start + batch_size]))["probabilities"])
            scale, zero_point = self.output_quantization
            if np.issubdtype(out.dtype, np.integer):
                out = (out.astype(np.float32) - zero_point) * scale
            outputs.append(out)
        return np.concatenate(outputs)

    def latency_ms(self, image, repeats=200):
        """Median milliseconds for one image, after a warm-up."""
        one = self._quantize(np.asarray(image, np.float32)[None])
        self.runner(images=one)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self.runner(images=one)
            times.append(time.perf_counter() - start)
        return 1000.0 * float(np.median(times))
