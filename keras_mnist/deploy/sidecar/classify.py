"""Classifies images with a mobile SDK's ImageClassifier, as an app does.

    python classify.py SDK MODEL.tflite IMAGES.npy SCORES.npy

SDK: `mediapipe` (MediaPipe Tasks, the task code of its Android/iOS/web SDKs) or
`task_library` (the TFLite Task Library, tflite-support). IMAGES: uint8
[N, H, W, 3] RGB. SCORES: float32 [N, number of labels], each image's score
per category index as the SDK reports it. Runs in the phone tools venv;
imports nothing from keras_mnist.
"""


import numpy as np


def mediapipe_classifier(model_path):
    import mediapipe as mp
    from mediapipe.tasks.python import vision
    from mediapipe.tasks.python.core.base_options import BaseOptions

    classifier = vision.ImageClassifier.create_from_options(
        vision.ImageClassifierOptions(base_options=BaseOptions(model_asset_path=model_path)))

    def classify(image):
        result = classifier.classify(mp.Image(image_format=mp.ImageFormat.SRGB, data=image))
        return result.classifications[0].categories

    return classify


def task_library_classifier(model_path):
    from tflite_support.task import core, vision

    classifier = vision.ImageClassifier.create_from_options(
        vision.ImageClassifierOptions(base_options=core.BaseOptions(file_name=model_path)))

    def classify(image):
        return classifier.classify(vision.TensorImage.create_from_array(image)).classifications[0].categories

    return classify


SDKS = {"mediapipe": mediapipe_classifier, "task_library": task_library_classifier}


def main(sdk, model_path, images_path, scores_path):
    if sdk not in SDKS:
        raise ValueError(f"unknown SDK {sdk!r}; choose one of {', '.join(SDKS)}")
    classify = SDKS[sdk](model_path)
    images = np.load(images_path)
    scores = None
    for i, image in enumerate(images):
        categories = classify(np.ascontiguousarray(image, np.uint8))
        if scores is None:
            scores = np.zeros((len(images), len(categories)), np.float32)
        for category in categories:
            scores[i, category.index] = category.score
    np.save(scores_path, scores)


if __name__ == "__main__":
    import _cli  # Beside this file, first on the path of a script run as a file.

    _cli.run(main, "classify.py SDK MODEL.tflite IMAGES.npy SCORES.npy", "the SDK does not import")
