"""The model's interface, the one thing the exporters and every client agree on.

A trained model takes raw 0-255 grey pixels, white digit on black, shaped
IMAGE_SHAPE, and answers the probability of each label and the most probable
one. Scaling and normalisation are inside the model. Nothing here imports
TensorFlow, so a client may import it for free.
"""

IMAGE_SIZE = 28
IMAGE_SHAPE = (IMAGE_SIZE, IMAGE_SIZE, 1)  # height, width, one grey channel (NHWC)
IMAGE_DTYPE = "float32"
PIXEL_RANGE = (0, 255)
NUM_CLASSES = 10
LABELS = tuple(str(digit) for digit in range(NUM_CLASSES))

# SavedModel signatures (TF Serving's `signature_name`) and their tensors.
SAVED_MODEL_TAG = "serve"
SERVING_SIGNATURE = "serving_default"        # IMAGES_INPUT -> PROBABILITIES, CLASSES
IMAGE_BYTES_SIGNATURE = "serve_image_bytes"  # IMAGE_BYTES_INPUT -> PROBABILITIES, CLASSES
# serve_image_bytes reads one digit per image: a number of several digits gets one
# class (its whole ink fitted as one digit). Numbers are read digit by digit only by
# `predict` and the demo (inference.segment, beside the model; docs/serving.md).
IMAGES_INPUT = "images"
IMAGE_BYTES_INPUT = "image_bytes"
PROBABILITIES = "probabilities"  # float32 [batch, NUM_CLASSES]
CLASSES = "classes"              # int64 [batch]
# `serve_image_bytes` answers an image without ink (a blank page) with this class and
# probabilities all 0.
NO_DIGIT_CLASS = -1

# Files of an export version folder, beside the SavedModel.
KERAS_FILENAME = "model.keras"
METRICS_FILENAME = "metrics.json"
MODEL_CARD_FILENAME = "model_card.json"
ONNX_FILENAME = "model.onnx"  # serving_default in ONNX: IMAGES_INPUT -> PROBABILITIES only
# The .tflite files are phone models (keras_mnist.deploy.phone): an RGB image in
# (PHONE_INPUT [1, H, W, 3], raw 0-255), PROBABILITIES [1, NUM_CLASSES] as output 0.
TFLITE_VARIANTS = ("float32", "float16", "int8")
CAMERA_VARIANT = "camera"  # model_camera.tflite: a CAMERA_SIZE x CAMERA_SIZE crop, MNIST-style normalisation inside
CAMERA_SIZE = 112
PHONE_INPUT = "image"


def tflite_filename(variant):
    """`model_int8.tflite` for the int8 variant."""
    return f"model_{variant}.tflite"


# Images per batch when a model is evaluated or asked for many predictions.
EVAL_BATCH_SIZE = 1000
