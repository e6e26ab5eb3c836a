"""Image bytes -> checked, decoded RGB: formats, orientation, alpha, and bad or hostile files."""

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image, ImageOps

from keras_mnist.inference import decode

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def encode(image, fmt, **options):
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def png_bomb(width, height):
    """A valid PNG of width x height black grey pixels: 388 KB for 20,000 x 20,000."""
    def chunk(kind, payload):
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
    deflate = zlib.compressobj(9)
    row = b"\0" * (width + 1)  # Filter byte + pixels.
    idat = b"".join(deflate.compress(row) for _ in range(height)) + deflate.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", idat) + chunk(b"IEND", b""))


def jpeg_claiming(width, height):
    """A small JPEG whose frame header (SOF0) claims width x height."""
    raw = bytearray(encode(np.zeros((16, 16, 3), np.uint8), "JPEG"))
    sof = raw.index(b"\xff\xc0")
    raw[sof + 5:sof + 9] = struct.pack(">HH", height, width)
    return bytes(raw)


def gif_claiming(width, height):
    raw = bytearray(encode(np.zeros((16, 16), np.uint8), "GIF"))
    raw[6:10] = struct.pack("<HH", width, height)
    return bytes(raw)


def bmp_claiming(width, height):
    raw = bytearray(encode(np.zeros((16, 16, 3), np.uint8), "BMP"))
    raw[18:26] = struct.pack("<ii", width, height)
    return bytes(raw)


def refusal(raw):
    """decode_image's one-line message for `raw` (fails the test if it decodes)."""
    with pytest.raises(tf.errors.InvalidArgumentError) as e:
        decode.decode_image(raw)
    message = decode.error_text(e.value)
    assert "\n" not in message and message.startswith("image: ")
    return message


RNG = np.random.default_rng(0)
COLOUR = RNG.integers(0, 256, (30, 40, 3), dtype=np.uint8)
BLOCKS = np.kron(RNG.integers(0, 256, (3, 4, 3), dtype=np.uint8), np.ones((10, 10, 1), np.uint8))


@pytest.mark.parametrize("fmt", ["PNG", "BMP", "GIF", "JPEG"])
def test_formats_decode_to_float_rgb(fmt):
    image = Image.fromarray(BLOCKS if fmt == "JPEG" else COLOUR)  # JPEG: smooth, or decoders differ.
    image = image.convert("P") if fmt == "GIF" else image
    raw = encode(image, fmt, **({"quality": 100, "subsampling": 0} if fmt == "JPEG" else {}))
    decoded = decode.decode_image(raw).numpy()
    assert decoded.shape == (30, 40, 3) and decoded.dtype == np.float32
    expected = np.asarray(Image.open(io.BytesIO(raw)).convert("RGB"), np.float32)
    assert np.abs(decoded - expected).mean() < (3 if fmt == "JPEG" else 1e-3)


def test_grey_and_16_bit_png():
    grey = decode.decode_image(encode(COLOUR[..., 0], "PNG")).numpy()
    np.testing.assert_array_equal(grey, np.repeat(COLOUR[..., :1], 3, -1))
    sixteen = (np.arange(100, dtype=np.uint16).reshape(10, 10) * 600)
    raw = encode(Image.fromarray(sixteen), "PNG")
    assert Image.open(io.BytesIO(raw)).mode == "I;16"
    np.testing.assert_allclose(decode.decode_image(raw).numpy()[..., 0], sixteen / 257.0, atol=1e-3)


def test_alpha_is_composited_against_the_ink():
    rgba = np.zeros((10, 10, 4), np.uint8)
    rgba[3:7, 3:7] = [0, 0, 0, 255]  # Black ink on a transparent canvas -> black on white.
    dark = decode.decode_image(encode(rgba, "PNG")).numpy()
    assert dark[0, 0].tolist() == [255] * 3 and dark[5, 5].tolist() == [0] * 3
    rgba[3:7, 3:7] = [255, 255, 255, 255]  # White ink -> white on black.
    light = decode.decode_image(encode(rgba, "PNG")).numpy()
    assert light[0, 0].tolist() == [0] * 3 and light[5, 5].tolist() == [255] * 3


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_pillow_does(orientation):
    blocks = np.kron(RNG.integers(0, 256, (2, 3, 3), dtype=np.uint8), np.ones((16, 16, 1), np.uint8))
    exif = Image.Exif()
    exif[0x0112] = orientation
    raw = encode(blocks, "JPEG", exif=exif.tobytes(), quality=95)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(io.BytesIO(raw))).convert("RGB"), np.float32)
    decoded = decode.decode_image(raw).numpy()
    assert decoded.shape == expected.shape
    assert np.abs(decoded - expected).mean() < 3


def _animated(fmt):
    frames = [Image.fromarray(RNG.integers(0, 256, (20, 20), dtype=np.uint8)).convert("P") for _ in range(3)]
    return encode(frames[0], fmt, save_all=True, append_images=frames[1:])


BAD = {  # name -> (bytes, what the check says)
    "empty": (b"", "empty"),
    "text": (b"just some notes, not an image", "not a PNG, JPEG, GIF or BMP"),
    "webp": (encode(COLOUR, "WEBP"), "not a PNG, JPEG, GIF or BMP"),
    "png bomb": (png_bomb(20000, 20000), "20000x20000 pixels is over the limit"),
    "jpeg bomb": (jpeg_claiming(20000, 20000), "20000x20000 pixels is over the limit"),
    "gif bomb": (gif_claiming(20000, 20000), "20000x20000 pixels is over the limit"),
    "bmp bomb": (bmp_claiming(20000, -20000), "20000x20000 pixels is over the limit"),
    "zero-sized png": (png_bomb(0, 10), "zero-sized (0x10 pixels)"),
    # The GIF's screen is 0x16 (Pillow would size it by its 16x16 frame and accept it).
    "zero-sized gif": (gif_claiming(0, 16), "zero-sized (0x16 pixels)"),
    "animated gif": (_animated("GIF"), "animated"),
    "animated png": (_animated("PNG"), "animated"),
    "palette bmp": (encode(Image.fromarray(COLOUR).convert("P"), "BMP"), "colour palette"),
    "truncated png": (encode(COLOUR, "PNG")[:200], "cannot be decoded"),
    "truncated jpeg": (encode(COLOUR, "JPEG")[:20], "cannot be decoded"),
    # One frame in 250,000 one-byte blocks: walking it would keep a server busy for many seconds.
    "gif of tiny blocks": (b"GIF89a" + struct.pack("<HHBBB", 10, 10, 0, 0, 0) + b"\x2c"
                           + struct.pack("<HHHHB", 0, 0, 10, 10, 0) + b"\x02" + b"\x01\x00" * 250_000
                           + b"\x00\x3b", "data blocks; save it as PNG"),
    "truncated gif": (encode(Image.fromarray(COLOUR).convert("P"), "GIF")[:900], "GIF is truncated"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_images_get_one_clear_line(name):
    raw, says = BAD[name]
    message = refusal(raw)
    assert says in message and message.startswith("image: ") and "\n" not in message


def test_a_refused_image_does_not_stop_the_next():
    good = encode(COLOUR, "PNG")
    for name in sorted(BAD):
        with pytest.raises(tf.errors.InvalidArgumentError):
            decode.decode_image(BAD[name][0])
        assert decode.decode_image(good).shape == (30, 40, 3)


# Peak-memory checks run in a fresh process: ru_maxrss is a high-water mark.
_MEMORY_PROBE = textwrap.dedent("""
    import json, resource, sys
    import tensorflow as tf
    sys.path[:0] = [{repo!r}, {tests!r}]
    import numpy as np
    from test_inference_decode import png_bomb, encode
    digit = np.zeros((28, 28, 3), np.uint8)
    digit[4:24, 12:16] = 255  # A 1: predict answers an image without ink with NoDigitError.
    bomb, good = png_bomb(20000, 20000), encode(digit, "PNG")
    mode = sys.argv[1]
    if mode == "signature":
        sig = tf.saved_model.load(sys.argv[2]).signatures["serve_image_bytes"]
        call = lambda raw: sig(image_bytes=tf.constant([raw]))["probabilities"].shape
    else:
        from keras_mnist.inference import predict
        def call(raw):
            open(sys.argv[2], "wb").write(raw)
            return predict.load_image(sys.argv[2]).shape
    call(good)  # Traced and warm: what follows measures the bomb alone.
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    try:
        call(bomb)
        refused = "accepted"
    except Exception as e:
        refused = str(e).replace(chr(10), " ")
    growth_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    print("RESULT " + json.dumps(dict(size=len(bomb), growth_mb=round(growth_mb),
                                      next_shape=list(call(good)), refused=refused)))
""")


def _probe(tmp_path, *args):
    script = tmp_path / "probe.py"
    script.write_text(_MEMORY_PROBE.format(repo=REPO, tests=os.path.join(REPO, "tests")))
    result = subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True,
                            timeout=300, cwd=REPO)
    lines = [line for line in result.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, result.stderr[-2000:]
    return json.loads(lines[0][len("RESULT "):])


def test_png_bomb_is_refused_by_predict_with_bounded_memory(tmp_path):
    result = _probe(tmp_path, "predict", str(tmp_path / "in.png"))
    assert result["size"] < 500_000
    assert "20000x20000 pixels is over the limit" in result["refused"]
    # Decoding it would take >= 400 MB (one grey byte per pixel); before this check it took 401.
    assert result["growth_mb"] < 100
    assert result["next_shape"] == [28, 28, 1]  # The next image is served.


def test_png_bomb_is_refused_by_the_signature_with_bounded_memory(tmp_path):
    from keras_mnist import models
    from keras_mnist.deploy import saved_model

    path = str(tmp_path / "sm")
    saved_model.serving_archive(models.build("reference")).write_out(path, verbose=False)
    result = _probe(tmp_path, "signature", path)
    assert "20000x20000 pixels is over the limit" in result["refused"]
    # Before this check the signature decoded it: +1,988 MB peak, and answered.
    assert result["growth_mb"] < 100
    assert result["next_shape"] == [1, 10]
