"""Encoded image bytes -> a checked, decoded RGB image, in TensorFlow ops.

`decode_image` reads the width and height from the file's header (PNG IHDR,
JPEG SOF, GIF logical screen and frame descriptors, BMP info header) and refuses
an image over `MAX_PIXELS`, an empty, zero-sized, animated or unknown one BEFORE
anything is decoded: a 400 KB PNG can declare 20,000 x 20,000 pixels, and decoding
it first would take gigabytes. The refusal is an InvalidArgumentError whose
message holds one line, `image: <what is wrong>; <what to do>`, so a server
answers that request with an error and serves the next one.

`predict`, the demo and the SavedModel's signature all decode through here.
"""

import re

import tensorflow as tf

# 25 megapixels: a 24 MP camera photo or a 600 dpi scan of a half page fits; the
# float32 RGB image alone is then 300 MB.
MAX_PIXELS = 25_000_000
FORMATS = ("PNG", "JPEG", "GIF", "BMP")
MAGIC = ((b"\x89PNG\r\n\x1a\n", "PNG"), (b"\xff\xd8\xff", "JPEG"),
         (b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"))
_HEAD = 64  # Bytes of header read at fixed offsets.
_PAD = 1024  # The longest fixed-size read: a BMP's 256-entry palette.
# A GIF is walked block by block (about 75 us a step) to count its frames: a
# one-frame GIF of up to ~5 MB takes fewer steps; a hostile one made of 1-byte
# blocks is refused after 1.5 s instead of keeping a server busy.
_GIF_MAX_STEPS = 20_000
# How a failed tf.debugging.Assert shows its data: in a graph, and eagerly.
_REFUSAL = re.compile(r"assertion failed: \[(image: [^\]\n]*)\]|Summarized data: b'(image: [^'\n]*)'")

def _padded(data):
    """`data` followed by _PAD zero bytes, so that fixed-size reads never run off its end."""
    return tf.strings.join([data, tf.constant(b"\0" * _PAD)])


def _bytes(padded, pos, n):
    """int64 [n]: bytes pos..pos+n of a `_padded` string; pos is clamped to the data's end."""
    end = tf.strings.length(padded) - _PAD
    pos = tf.clip_by_value(tf.cast(pos, tf.int32), 0, end)
    raw = tf.io.decode_raw(tf.strings.substr(padded, pos, n), tf.uint8, fixed_length=n)
    return tf.cast(tf.reshape(raw, [n]), tf.int64)


def _le(b):
    return tf.reduce_sum(b * tf.constant([256 ** i for i in range(b.shape[-1])], tf.int64), -1)


def _be(b):
    return _le(b[..., ::-1])


def _find(data, needle, limit=None):
    """Offset of the first `needle` in `data` (or its first `limit` bytes); its length if none."""
    data = tf.strings.substr(data, 0, limit) if limit else data
    return tf.strings.length(tf.strings.split(data, sep=needle, maxsplit=1)[0])


def _format_index(head):
    """0-3 for PNG, JPEG, GIF, BMP (the order of FORMATS); -1 for anything else."""
    index = tf.constant(-1)
    for magic, name in MAGIC:
        match = tf.reduce_all(tf.equal(head[:len(magic)], tf.constant(list(magic), tf.int64)))
        index = tf.where(match & (index < 0), FORMATS.index(name), index)
    return index


def _gif_frames(padded, head):
    """(frames counted up to 2, largest frame area, ok): GIF blocks walked, no pixel decoded."""
    flags = head[10]
    start = 13 + tf.where(flags >= 128, 3 * tf.bitwise.left_shift(tf.constant(2, tf.int64), flags % 8), 0)
    size = tf.cast(tf.strings.length(padded) - _PAD, tf.int64)

    def step(pos, in_blocks, frames, area, ok, done, steps):
        b = _bytes(padded, pos, 10)
        # Inside data sub-blocks: a length byte, 0 ends the chain.
        sub_pos = tf.where(b[0] == 0, pos + 1, pos + 1 + b[0])
        is_frame = (~in_blocks) & (b[0] == 0x2C)
        local = tf.where(b[9] >= 128, 3 * tf.bitwise.left_shift(tf.constant(2, tf.int64), b[9] % 8), 0)
        block_pos = tf.where(is_frame, pos + 10 + local + 1, pos + 2)  # +1: LZW code size byte.
        known = in_blocks | (b[0] == 0x2C) | (b[0] == 0x21) | (b[0] == 0x3B)
        trailer = (~in_blocks) & (b[0] == 0x3B)
        new_pos = tf.where(in_blocks, sub_pos, block_pos)
        new_in_blocks = tf.where(in_blocks, b[0] != 0, ~trailer)
        frame_area = _le(b[5:7]) * _le(b[7:9])
        return (new_pos, new_in_blocks, frames + tf.cast(is_frame, tf.int64),
                tf.maximum(area, tf.where(is_frame, frame_area, 0)),
                ok & known & (pos < size), trailer | ~known | (pos >= size), steps + 1)

    def more(pos, in_blocks, frames, area, ok, done, steps):
        return ~done & (frames < 2) & (steps < _GIF_MAX_STEPS)

    _, _, frames, area, ok, _, steps = tf.while_loop(more, step, (
        start, tf.constant(False), tf.constant(0, tf.int64), tf.constant(0, tf.int64),
        tf.constant(True), tf.constant(False), tf.constant(0)))
    return frames, area, ok, steps >= _GIF_MAX_STEPS


def _size_and_problem(data):
    """(format index, width, height, problem): problem is "" or the one-line refusal."""
    length = tf.strings.length(data)
    padded = _padded(data)
    head = _bytes(padded, 0, _HEAD)
    fmt = _format_index(head)
    bmp_core = _le(head[14:18]) == 12  # OS/2 BMP: 16-bit sizes.
    bmp = _le(tf.reshape(head[18:26], [2, 4]))
    bmp = tf.abs(bmp - tf.where(bmp >= 2 ** 31, 2 ** 32, 0))  # Signed; height < 0: top-down.
    dims = tf.switch_case(tf.maximum(fmt, 0), [
        lambda: tf.stack([_be(head[16:20]), _be(head[20:24])]),
        lambda: tf.cast(tf.io.extract_jpeg_shape(data)[1::-1], tf.int64),
        lambda: tf.stack([_le(head[6:8]), _le(head[8:10])]),
        lambda: tf.where(bmp_core, _le(tf.reshape(head[18:22], [2, 2])), bmp),
    ])
    width, height = dims[0], dims[1]
    frames, frame_area, gif_ok, gif_long = tf.cond(
        tf.equal(fmt, 2), lambda: _gif_frames(padded, head),
        lambda: (tf.constant(1, tf.int64), tf.constant(0, tf.int64), tf.constant(True), tf.constant(False)))
    bmp_problem = tf.cond(tf.equal(fmt, 3), lambda: _bmp_problem(padded, head), lambda: tf.constant(""))
    # APNG: an acTL chunk before the first IDAT.
    animated_png = tf.equal(fmt, 0) & (_find(data, "acTL") < _find(data, "IDAT"))
    checks = [  # (bad, message); the first bad one is reported.
        (tf.equal(length, 0), tf.constant("image: empty; send a PNG, JPEG, GIF or BMP file")),
        (fmt < 0, tf.constant("image: not a PNG, JPEG, GIF or BMP file")),
        (tf.equal(fmt, 0) & ~tf.reduce_all(tf.equal(head[12:16], tf.constant(list(b"IHDR"), tf.int64))),
         tf.constant("image: PNG without its IHDR header; the file is damaged")),
        ((width <= 0) | (height <= 0),
         tf.strings.format("image: zero-sized ({}x{} pixels); send an image with pixels in it",
                           (width, height))),
        (width * height > MAX_PIXELS,
         tf.strings.format("image: {}x{} pixels is over the limit of " + f"{MAX_PIXELS:,}" +
                           " pixels; resize it and send it again", (width, height))),
        (gif_long, tf.constant(f"image: GIF with over {_GIF_MAX_STEPS:,} data blocks; save it as PNG")),
        (~gif_ok, tf.constant("image: GIF is truncated or damaged")),
        (tf.equal(fmt, 2) & tf.equal(frames, 0), tf.constant("image: GIF without any frame")),
        ((frames > 1) | animated_png,
         tf.constant("image: animated (more than one frame); send a single still image")),
        (frame_area > MAX_PIXELS, tf.constant("image: GIF frame over the pixel limit")),
        (tf.not_equal(bmp_problem, ""), bmp_problem),
    ]
    problem = tf.constant("")
    for bad, message in reversed(checks):
        problem = tf.where(bad, message, problem)
    return fmt, width, height, problem


def _bmp_problem(padded, head):
    """"" for a BMP TensorFlow decodes right: 24/32-bit, or 8-bit with a grey palette."""
    bits, compression = _le(head[28:30]), _le(head[30:34])
    palette = tf.reshape(_bytes(padded, 14 + _le(head[14:18]), 1024), [256, 4])[:, :3]
    grey_ramp = tf.reduce_all(tf.equal(palette, tf.range(256, dtype=tf.int64)[:, None]))
    core = _le(head[14:18]) == 12
    return tf.where(
        core | ~((compression == 0) | (compression == 3)),
        "image: compressed or OS/2 BMP is not supported; save it as PNG",
        tf.where((bits == 24) | (bits == 32) | ((bits == 8) & grey_ramp), "",
                 tf.strings.format("image: {}-bit BMP with a colour palette is not supported; "
                                   "save it as PNG", bits)))


def _composite(rgba):
    """float32 [H, W, 4] 0-255 -> [H, W, 3]: onto white, or black if the ink is light."""
    alpha = rgba[..., 3:] / 255.0
    rgb = rgba[..., :3]
    grey = tf.reduce_mean(rgb, -1, keepdims=True)
    opaque_mean = tf.math.divide_no_nan(tf.reduce_sum(grey * alpha), tf.reduce_sum(alpha))
    background = tf.where((opaque_mean < 127.5) | (tf.reduce_sum(alpha) == 0), 255.0, 0.0)
    return rgb * alpha + background * (1.0 - alpha)


def _decode_png(data, head):
    """Alpha (colour types 4 and 6, or a tRNS chunk) composited; otherwise straight RGB."""
    sixteen = tf.equal(head[24], 16)  # IHDR bit depth.
    alpha = (head[25] >= 4) | (_find(data, "tRNS") < _find(data, "IDAT"))

    def decode(channels, dtype, scale):
        return lambda: tf.cast(tf.io.decode_png(data, channels, dtype), tf.float32) / scale

    return tf.case([
        (alpha & sixteen, lambda: _composite(decode(4, tf.uint16, 257.0)())),
        (alpha, lambda: _composite(decode(4, tf.uint8, 1.0)())),
        (sixteen, decode(3, tf.uint16, 257.0)),
    ], default=decode(3, tf.uint8, 1.0), exclusive=True)


def _exif_orientation(data):
    """1-8 from the JPEG's EXIF IFD0 (tag 0x0112), 1 when there is none."""
    padded = _padded(data)
    tiff = tf.cast(_find(data, "Exif\0\0", 65536), tf.int64) + 6
    order = _bytes(padded, tiff, 8)
    little = tf.reduce_all(tf.equal(order[:2], [0x49, 0x49]))
    u16 = lambda b: tf.where(little, _le(b), _be(b))  # noqa: E731
    ifd = tiff + tf.where(little, _le(order[4:8]), _be(order[4:8]))
    count = u16(_bytes(padded, ifd, 2))
    entries = tf.reshape(_bytes(padded, ifd + 2, 12 * 32), [32, 12])
    tags, values = u16(entries[:, 0:2]), u16(entries[:, 8:10])
    hit = (tags == 0x0112) & (tf.range(32, dtype=tf.int64) < count)
    value = tf.reduce_max(tf.where(hit, values, 0))
    present = tiff - 6 < tf.cast(tf.minimum(tf.strings.length(data), 65536), tf.int64)
    return tf.where(present & (value >= 1) & (value <= 8), value, 1)


def _orient(image, orientation):
    """Applies EXIF orientation 1-8 (as Pillow's ImageOps.exif_transpose does)."""
    t = lambda x: tf.transpose(x, [1, 0, 2])  # noqa: E731
    return tf.switch_case(tf.cast(orientation - 1, tf.int32), [
        lambda: image, lambda: image[:, ::-1], lambda: image[::-1, ::-1], lambda: image[::-1],
        lambda: t(image), lambda: tf.image.rot90(image, 3), lambda: t(image)[::-1, ::-1],
        lambda: tf.image.rot90(image, 1)])


def _decode_jpeg(data):
    image = tf.io.decode_jpeg(data, channels=3)
    return tf.cast(_orient(image, _exif_orientation(data)), tf.float32)


def _decode_bmp(data):
    image = tf.io.decode_bmp(data)
    image = tf.cond(tf.equal(tf.shape(image)[-1], 1), lambda: tf.tile(image, [1, 1, 3]),
                    lambda: image[..., :3])  # A 32-bit BMP's fourth byte is rarely alpha.
    return tf.cast(image, tf.float32)


@tf.function(input_signature=[tf.TensorSpec([], tf.string)])
def decode_image(image_bytes):
    """Encoded PNG/JPEG/GIF/BMP (scalar string) -> float32 [H, W, 3] RGB, 0-255.

    Checked before decoding (see the module docstring); a refused image is an
    InvalidArgumentError with one line `image: ...`. Alpha is composited onto
    white, or onto black where the opaque pixels are light (light ink on a
    transparent canvas); 16-bit PNGs are scaled to 0-255; JPEG EXIF orientation
    is applied.
    """
    data = tf.convert_to_tensor(image_bytes, tf.string)
    fmt, _, _, problem = _size_and_problem(data)
    check = tf.debugging.Assert(tf.equal(problem, ""), [problem])
    with tf.control_dependencies([check]):
        data = tf.identity(data)
    head = _bytes(_padded(tf.strings.substr(data, 0, _HEAD)), 0, _HEAD)
    image = tf.switch_case(tf.maximum(fmt, 0), [
        lambda: _decode_png(data, head),
        lambda: _decode_jpeg(data),
        lambda: tf.cast(tf.io.decode_gif(data)[0], tf.float32),
        lambda: _decode_bmp(data),
    ])
    return tf.ensure_shape(image, [None, None, 3])


def error_text(error):
    """The one-line message of a decode failure (an OpError), without TF's decorations."""
    text = getattr(error, "message", None) or str(error)
    refused = _REFUSAL.search(text)
    if refused:
        return (refused.group(1) or refused.group(2)).strip()
    # A graph's error lists where the op was defined; the decoder's own words are the last line.
    lines = [line for line in text.splitlines() if line.strip() and not line[0].isspace()
             and not line.startswith(("Graph execution error", "Detected at node"))]
    reason = lines[-1] if lines else type(error).__name__
    reason = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", reason)
    reason = re.sub(r"\s*\[Op:[\w.]+\].*$", "", reason).strip()
    return f"image: cannot be decoded ({reason}); the file is damaged or truncated"
