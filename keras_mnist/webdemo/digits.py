"""Image bytes from the page (canvas PNG or an upload) -> the 28x28 input the model sees.

The demo must show what `predict` would answer, so it calls predict's own
decoding and preprocessing (`inference.predict.image_to_pixels`).
"""

# Refuse request bodies above this before reading them (images: inference.decode's header check).
MAX_BODY_BYTES = 10 * 1024 * 1024


class InputError(Exception):
    """The bytes are not an image of a digit the model can be asked about; one line."""


def jpeg_truncated(raw):
    """True for a JPEG that ends before its image data does.

    libjpeg reports such a file on stderr ("Premature end of JPEG data", "Improper call to
    JPEG library in state 201") besides failing, so the demo refuses it before decoding: its
    segments are walked to the image data (SOS), which must be followed by an end marker (EOI;
    0xFF 0xD9 cannot occur inside the entropy-coded data). Data after the EOI is allowed.
    """
    if not raw.startswith(b"\xff\xd8"):
        return False
    pos = 2
    while pos + 4 <= len(raw):
        if raw[pos] != 0xFF:
            return False  # Not a segment: damaged, not truncated; the decoder says so.
        marker = raw[pos + 1]
        if marker == 0xFF:  # A fill byte.
            pos += 1
        elif marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # Markers without a length.
            pos += 2
        elif marker == 0xD9:
            return False  # An end before any image: damaged; the decoder says so.
        elif marker == 0xDA:
            return raw.find(b"\xff\xd9", pos + 2) < 0
        else:
            pos += 2 + int.from_bytes(raw[pos + 2:pos + 4], "big")
    return True


def to_model_input(raw, name="image"):
    """Encoded image bytes -> float32 [28, 28, 1], 0-255, white digit on black; or InputError."""
    from keras_mnist.inference import predict

    return _model_input(raw, name, predict.image_to_pixels)


def to_candidates(raw, name="image"):
    """Encoded image bytes -> predict.Candidates, for predict.read_candidates; or InputError."""
    from keras_mnist.inference import predict

    return _model_input(raw, name, predict.image_to_candidates)


def _model_input(raw, name, convert):
    from keras_mnist.inference import predict

    if jpeg_truncated(raw):
        raise InputError(f"{name}: cannot be decoded (the JPEG ends before its image does); "
                         "the file is damaged or truncated")
    try:
        return convert(raw, name)
    except predict.NoDigitError as e:
        raise InputError(f"{e}; draw a digit, or upload an image with dark ink on light paper") from None
    except predict.ImageError as e:
        raise InputError(str(e)) from None
