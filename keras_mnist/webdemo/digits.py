"""Image bytes from the page (canvas PNG or an upload) -> the 28x28 input the model sees.

The demo must show what `predict` would answer, so it calls predict's own
decoding and preprocessing (`inference.predict.image_to_pixels`).
"""

# Refuse request bodies above this before reading them (images: inference.decode's header check).
MAX_BODY_BYTES = 10 * 1024 * 1024


class InputError(Exception):
    """The bytes are not an image of a digit the model can be asked about; one line."""


def to_model_input(raw, name="image"):
    """Encoded image bytes -> float32 [28, 28, 1], 0-255, white digit on black; or InputError."""
    from keras_mnist.inference import predict

    try:
        return predict.image_to_pixels(raw, name)
    except predict.NoDigitError as e:
        raise InputError(f"{e}; draw a digit, or upload an image with dark ink on light paper") from None
    except predict.ImageError as e:
        raise InputError(str(e)) from None
