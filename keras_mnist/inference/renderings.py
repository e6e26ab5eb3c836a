"""MNIST digits rendered the ways users hold them: photo, scan, crop, marker.

Each rendering of digit i depends only on (seed, rendering, i): numpy's
generator seeded with those, and Pillow. An MNIST image is ink coverage (0-255);
it is enlarged (bicubic) and given sharp edges at half coverage, which is where
the NIST pen stroke's edge was before MNIST's anti-aliasing, then drawn as:
  photo   grey paper 150-220 under a linear lighting gradient in a random
          direction (+-10-25 % from the centre to the middle of an edge), dark
          ink 30-90 lit the same way, a slight colour tint, blur, noise, JPEG
          quality 70-90; the digit's height is 30-60 % of a 200-400 px frame,
          anywhere in it;
  scan    black (0-30) on white (225-255), the digit 4-8x MNIST's size,
          anywhere on a page 2-3.5 times the digit's 28-px frame; PNG;
  crop    dark on light, 1.5-5x MNIST's size, cropped to the ink: the digit
          fills the frame edge to edge; PNG;
  marker  strokes dilated by 0.4-1.0 MNIST pixels, coloured ink on a coloured
          background (at least 120 apart in RGB), 3-6x size, 20-50 % margins; PNG;
  lowres  the digit's ink box reduced to 8-16 px on its long side (a low-resolution
          scan), dark on light, enlarged bilinear to 112 px on its long side: the
          blurred digit fills the frame edge to edge, no paper margin; half of them
          JPEG quality 80-95, the others PNG;
  lowres_margin  the same images (the same draws) with a 6-px paper margin.
Numbers (`render_number`): 2-5 digits side by side, each digit's columns cropped
to its ink, 0-6 MNIST pixels apart or overlapping by up to 1 (their ink may then
touch), shifted up or down by up to 2, drawn as
  number_photo  the photo above, the number's height 15-30 % of a 200-400 px
                frame at least 1.2 times as wide as the number;
  number_scan   the scan above, the page 2-3.5 times the number's height and
                1.2-2 times its width.
"""

import io

import numpy as np
from PIL import Image, ImageFilter

RENDERINGS = ("photo", "scan", "crop", "marker", "lowres", "lowres_margin")
NUMBER_RENDERINGS = ("number_photo", "number_scan")
_IDS = {name: i for i, name in enumerate(RENDERINGS + NUMBER_RENDERINGS)}
_IDS["lowres_margin"] = _IDS["lowres"]  # The same draws: the same images, with a margin.
# Digits per number, and the number of digits drawn from the test set in order.
NUMBER_DIGITS = (2, 5)
LOWRES_SIDE, LOWRES_MARGIN = 112, 6


def _coverage(digit, scale):
    """MNIST digit [28, W] uint8 -> ink coverage [0, 1] at `scale` x the size, sharp edges."""
    size = max(1, int(round(28 * scale)))
    width = size if digit.shape[1] == 28 else max(1, int(round(digit.shape[1] * scale)))
    big = np.asarray(Image.fromarray(digit).resize((width, size), Image.BICUBIC), np.float32) / 255.0
    # Edges about one output pixel wide (anti-aliased), at half coverage.
    ramp = max(0.5 / scale, 0.05)
    return np.clip((big - 0.5) / (2 * ramp) + 0.5, 0.0, 1.0)


def _paste(frame_shape, coverage, top, left):
    out = np.zeros(frame_shape, np.float32)
    h, w = coverage.shape
    out[top:top + h, left:left + w] = coverage[:frame_shape[0] - top, :frame_shape[1] - left]
    return out


def _encode(array, fmt, quality=None):
    mode = "L" if array.ndim == 2 else "RGB"
    buffer = io.BytesIO()
    image = Image.fromarray(np.clip(np.round(array), 0, 255).astype(np.uint8), mode)
    if fmt == "JPEG":
        image.save(buffer, fmt, quality=int(quality))
    else:
        image.save(buffer, fmt, compress_level=1)  # Fast; the pixels are the same.
    return buffer.getvalue()


def _photo(digit, rng):
    frame = int(rng.integers(200, 401))
    height = rng.uniform(0.30, 0.60) * frame  # Of the digit's 20-px MNIST box.
    cover = _coverage(digit, height / 20)
    top, left = (int(rng.integers(0, frame - cover.shape[0] + 1)) for _ in range(2))
    return _photograph(_paste((frame, frame), cover, top, left), rng)


def _photograph(ink, rng):
    """Ink coverage [h, w] -> a JPEG photo of it: grey paper, uneven light, tint, blur, noise."""
    frame_h, frame_w = ink.shape
    paper, dark = rng.uniform(150, 220), rng.uniform(30, 90)
    angle = rng.uniform(0, 2 * np.pi)
    y, x = np.mgrid[0:frame_h, 0:frame_w]
    y, x = y / frame_h - 0.5, x / frame_w - 0.5
    light = 1.0 + rng.uniform(0.1, 0.25) * 2 * (np.cos(angle) * x + np.sin(angle) * y)
    grey = light * (paper * (1 - ink) + dark * ink)
    tint = rng.uniform(0.9, 1.0, 3)
    rgb = Image.fromarray(np.clip(grey[..., None] * tint, 0, 255).astype(np.uint8), "RGB")
    rgb = np.asarray(rgb.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 1.5) * frame_h / 300)), np.float32)
    rgb = rgb + rng.normal(0, rng.uniform(2, 6), rgb.shape)
    return _encode(rgb, "JPEG", quality=rng.integers(70, 91))


def _scan(digit, rng):
    scale = rng.uniform(4, 8)
    cover = _coverage(digit, scale)
    side = cover.shape[0]
    page_h, page_w = (int(side * rng.uniform(2, 3.5)) for _ in range(2))
    top, left = int(rng.integers(0, page_h - side + 1)), int(rng.integers(0, page_w - side + 1))
    return _scanned(_paste((page_h, page_w), cover, top, left), rng)


def _scanned(ink, rng):
    """Ink coverage [h, w] -> a PNG scan of it: black on white, faint noise."""
    white, black = rng.uniform(225, 255), rng.uniform(0, 30)
    grey = white * (1 - ink) + black * ink + rng.normal(0, rng.uniform(0, 3), ink.shape)
    return _encode(grey, "PNG")


def _crop(digit, rng):
    cover = _coverage(digit, rng.uniform(1.5, 5))
    rows, cols = np.flatnonzero(cover.max(1) > 0), np.flatnonzero(cover.max(0) > 0)
    if len(rows):
        cover = cover[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    light, dark = rng.uniform(200, 255), rng.uniform(0, 60)
    return _encode(light * (1 - cover) + dark * cover, "PNG")


def _marker(digit, rng):
    scale = rng.uniform(3, 6)
    cover = _coverage(digit, scale)
    size = 2 * int(round(rng.uniform(0.4, 1.0) * scale)) + 1
    cover = np.asarray(Image.fromarray((cover * 255).astype(np.uint8)).filter(ImageFilter.MaxFilter(size)),
                       np.float32) / 255.0
    side = cover.shape[0]
    frame = int(side * rng.uniform(1.2, 1.5))  # 28-px frame plus 20-50 % margins.
    top, left = (int(rng.integers(0, frame - side + 1)) for _ in range(2))
    ink = _paste((frame, frame), cover, top, left)[..., None]
    while True:
        background, colour = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        if np.linalg.norm(background - colour) >= 120:
            break
    return _encode(background * (1 - ink) + colour * ink, "PNG")


def _lowres(digit, rng, margin=0):
    rows, cols = np.flatnonzero(digit.max(1)), np.flatnonzero(digit.max(0))
    if len(rows):
        digit = digit[rows[0]:rows[-1] + 1, cols[0]:cols[-1] + 1]
    h, w = digit.shape
    long_side = int(rng.integers(8, 17))
    small = Image.fromarray(digit).resize(
        (max(1, round(w * long_side / max(h, w))), max(1, round(h * long_side / max(h, w)))), Image.BOX)
    light, dark = rng.uniform(180, 255), rng.uniform(0, 80)
    coverage = np.asarray(small, np.float32) / 255.0
    grey = Image.fromarray(np.round(light * (1 - coverage) + dark * coverage).astype(np.uint8), "L")
    h, w = coverage.shape
    big = np.asarray(grey.resize((max(1, round(w * LOWRES_SIDE / max(h, w))),
                                  max(1, round(h * LOWRES_SIDE / max(h, w)))), Image.BILINEAR), np.float32)
    if margin:
        big = np.pad(big, margin, constant_values=light)
    if rng.uniform() < 0.5:
        return _encode(big, "JPEG", quality=rng.integers(80, 96))
    return _encode(big, "PNG")


def _number_strip(digits, rng):
    """MNIST digits [n, 28, 28] -> one [28, W] uint8 image of them side by side."""
    pieces = []
    for digit in digits:
        cols = np.flatnonzero(digit.max(0))
        piece = digit[:, cols[0]:cols[-1] + 1] if len(cols) else digit
        pieces.append(np.roll(piece, int(rng.integers(-2, 3)), axis=0))  # MNIST leaves 4 empty rows.
    gaps = rng.uniform(-1, 6, len(pieces) - 1)
    lefts = np.round(np.concatenate([[4.0], 4.0 + np.cumsum([p.shape[1] for p in pieces[:-1]] + gaps)])).astype(int)
    strip = np.zeros((28, int(max(lefts[i] + p.shape[1] for i, p in enumerate(pieces))) + 4), np.uint8)
    for left, piece in zip(lefts, pieces):  # Overlapping ink: the darker stroke.
        strip[:, left:left + piece.shape[1]] = np.maximum(strip[:, left:left + piece.shape[1]], piece)
    return strip


def _number_photo(digits, rng):
    strip = _number_strip(digits, rng)
    frame = int(rng.integers(200, 401))
    cover = _coverage(strip, rng.uniform(0.15, 0.30) * frame / 20)
    frame_w = max(frame, int(cover.shape[1] * rng.uniform(1.2, 1.6)))
    top, left = int(rng.integers(0, frame - cover.shape[0] + 1)), int(rng.integers(0, frame_w - cover.shape[1] + 1))
    return _photograph(_paste((frame, frame_w), cover, top, left), rng)


def _number_scan(digits, rng):
    strip = _number_strip(digits, rng)
    cover = _coverage(strip, rng.uniform(4, 8))
    page_h, page_w = int(cover.shape[0] * rng.uniform(2, 3.5)), int(cover.shape[1] * rng.uniform(1.2, 2))
    top = int(rng.integers(0, page_h - cover.shape[0] + 1))
    left = int(rng.integers(0, page_w - cover.shape[1] + 1))
    return _scanned(_paste((page_h, page_w), cover, top, left), rng)


_RENDER = {"photo": _photo, "scan": _scan, "crop": _crop, "marker": _marker, "lowres": _lowres,
           "lowres_margin": lambda digit, rng: _lowres(digit, rng, LOWRES_MARGIN)}
_RENDER_NUMBER = {"number_photo": _number_photo, "number_scan": _number_scan}


def render(digit, rendering, index, seed=0):
    """One MNIST digit [28, 28] or [28, 28, 1] uint8 -> encoded image bytes (JPEG or PNG)."""
    if rendering not in _RENDER:
        raise ValueError(f"unknown rendering {rendering!r}; choose one of {', '.join(RENDERINGS)}")
    rng = np.random.default_rng([seed, _IDS[rendering], index])
    return _RENDER[rendering](np.asarray(digit, np.uint8).reshape(28, 28), rng)


def render_all(digits, rendering, seed=0, start=0):
    """Encoded renderings of `digits` [N, 28, 28(, 1)]; digit i is index start + i."""
    return [render(d, rendering, start + i, seed) for i, d in enumerate(digits)]


def render_number(digits, rendering, index, seed=0):
    """MNIST digits [n, 28, 28(, 1)] uint8, side by side as one number -> encoded image bytes."""
    if rendering not in _RENDER_NUMBER:
        raise ValueError(f"unknown rendering {rendering!r}; choose one of {', '.join(NUMBER_RENDERINGS)}")
    rng = np.random.default_rng([seed, _IDS[rendering], index])
    return _RENDER_NUMBER[rendering](np.asarray(digits, np.uint8).reshape(-1, 28, 28), rng)


def number_groups(count, seed=0):
    """Splits `count` digits, in order, into numbers of 2-5 digits: a list of index arrays.

    The last number takes what is left (it may have 1 digit when `count` is small)."""
    rng = np.random.default_rng([seed, len(_IDS)])
    groups, start = [], 0
    while start < count:
        n = min(int(rng.integers(NUMBER_DIGITS[0], NUMBER_DIGITS[1] + 1)), count - start)
        groups.append(np.arange(start, start + n))
        start += n
    return groups


def render_numbers(digits, rendering, seed=0):
    """(encoded numbers, index arrays): `digits` [N, 28, 28] split by `number_groups`, each number rendered."""
    groups = number_groups(len(digits), seed)
    return [render_number(digits[g], rendering, i, seed) for i, g in enumerate(groups)], groups
