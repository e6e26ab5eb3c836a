"""Any decoded image -> an MNIST-like digit: float32 [28, 28, 1], white on black, 0-255.

MNIST was made by fitting each digit into a 20x20 box (aspect kept, anti-aliased)
and moving its centre of mass to the centre of 28x28. This does the same to a
photo, a scan or a drawing:
  1. colour -> one "inkness" channel: the distance from the paper's colour (the
     median) along the direction of the ink's colour; this also settles polarity;
  2. a smooth background (a low percentile per block, interpolated) is subtracted,
     so uneven light is not ink; the noise level is measured (the spread of the
     paper, at most FINE_NOISE_RATIO times the pixel-to-pixel noise, so that a
     blurred digit filling the frame is not taken for noise) and cut; the ink is
     stretched to 0-255;
  3. the ink's box from its row and column profiles, stopping at wide empty gaps,
     so isolated specks away from the digit are ignored;
  4. one resampling, out = A @ ink @ B^T, whose matrices fit the box into 20x20
     (area filter: anti-aliased) and put the centre of mass at the centre;
  5. strokes much wider than MNIST's (a marker) are thinned by a partial erosion.
No sorting, loops, conditionals or crop ops: only matmuls, comparisons and
reductions, so with a fixed input size this converts to TFLite builtin ops (a
phone model); variable sizes run in TensorFlow (`predict`, the SavedModel).
"""

import tensorflow as tf

from keras_mnist.inference.image_ops import (block_quantiles, dim, interpolation_matrix, lower_triangle, otsu,
                                             plane_projection, positions, quantile, resampling_matrix)

SIZE, FIT = 28, 20
# Larger images are first reduced to this many pixels on their long side.
MAX_SIDE = 128
# The background is estimated on a BLOCKS x BLOCKS grid, from this quantile of each block.
BLOCKS, BACKGROUND_QUANTILE = 4, 0.05
# A block whose background estimate is this share of the ink's contrast above the
# plane through all blocks is ink, not paper.
INK_BLOCK = 0.35
# No ink unless the ink stands this far above the paper: absolute (0-255), and in noise units.
MIN_CONTRAST, MIN_CONTRAST_NOISE = 24.0, 8.0
# A pixel belongs to the box when its stretched ink exceeds this (MNIST's box is the
# same at thresholds 0-0.25); a run of empty rows this long (relative to the ink's
# extent) separates a speck from the digit.
BOX_INK, GAP = 0.25, 0.25
# A frame this many times as long as wide (or wide as long) is narrow: see ink_map.
NARROW = 2.0
# A narrow frame's background there: this many bands along its long side, so a linear
# light gradient and nothing more (a blurred 1 darker in its middle stands out).
BANDS = 2
# The noise is at most this many times the pixel-to-pixel noise (second differences).
FINE_NOISE_RATIO = 4.0
# Strokes wider than this (in 28x28 pixels: MNIST's 75th percentile; its median is
# 2.0) are thinned towards it. Chosen on marker renderings of training digits.
THIN_ABOVE = 2.3
# The border ring that shows the paper's colour, relative to the shorter side.
RING = 0.05
# A ring with more than this share of its minority class cannot tell paper from ink.
AMBIGUOUS_RING = 0.2
_EPS = 1e-6


def _ring(h, w):
    """[h, w]: 1 on a border ring RING of the shorter side wide (at least one pixel)."""
    width = tf.maximum(1.0, RING * tf.cast(tf.minimum(h, w), tf.float32))
    y, x = positions(h), positions(w)
    y = tf.minimum(y, tf.cast(h, tf.float32) - y)[:, None]
    x = tf.minimum(x, tf.cast(w, tf.float32) - x)[None, :]
    return tf.cast(tf.minimum(y, x) < width, tf.float32)


def _grey_inkness(image):
    """[h, w, C] 0-255 -> [h, w] inkness: 0 on the paper, high on the ink, either polarity."""
    channels = image.shape[-1]
    if channels in (2, 4):
        # Alpha: composite over the colour opposite to the opaque pixels' brightness.
        colour, alpha = image[..., :-1], image[..., -1:] / 255.0
        mean = tf.reduce_sum(colour * alpha) / (tf.reduce_sum(alpha) * (channels - 1) + _EPS)
        backdrop = tf.where(mean < 127.5, 255.0, 0.0)
        image = colour * alpha + backdrop * (1.0 - alpha)
        channels -= 1
    h, w = dim(image, 0), dim(image, 1)
    flat = tf.transpose(tf.reshape(image, [h * w, channels]))  # [C, N]
    # The paper's colour: the median of a ring along the border. Where the digit
    # covers much of that ring (a tightly cropped 1), the ring is ambiguous and the
    # brighter of its two (Otsu) classes is taken: ink on paper is the usual case.
    ring = tf.reshape(_ring(h, w), [-1])
    brightness = tf.reduce_mean(flat, 0)
    bright = tf.cast(brightness > otsu(brightness, 0.0, 256.0), tf.float32)
    bright_share = tf.reduce_sum(ring * bright) / tf.reduce_sum(ring)
    ambiguous = tf.minimum(bright_share, 1.0 - bright_share) > AMBIGUOUS_RING
    weights = ring * tf.where(ambiguous, bright, tf.ones_like(bright))
    paper = quantile(flat, 0.5, tf.zeros([channels]), tf.fill([channels], 256.0),
                      weights=tf.broadcast_to(weights[None, :], tf.shape(flat)))
    deviation = flat - paper[:, None]
    distance = tf.sqrt(tf.reduce_sum(tf.square(deviation / 255.0), 0) + _EPS)
    # The ink's direction in colour space: far pixels dominate (weight distance^3),
    # and the ink is farther from the paper than uneven light or noise.
    direction = tf.reduce_sum(deviation * distance ** 3, 1)
    direction = direction / (tf.norm(direction) + _EPS)
    return tf.reshape(tf.reduce_sum(deviation * direction[:, None], 0), [h, w])


def _background_quantiles(ink):
    """The low quantile of each block [G, G] and of each band along either side ([B, 1], [1, B]).

    One histogram comparison of the image serves all three grids.
    """
    flat = tf.reshape(ink, [-1])
    lo, hi = tf.reduce_min(flat), tf.reduce_max(flat) + _EPS
    return block_quantiles(ink, BACKGROUND_QUANTILE, [(BLOCKS, BLOCKS), (BANDS, 1), (1, BANDS)], lo, hi)


def _subtract_background(ink, background):
    """Removes a smooth background: a low quantile per block (`background` [G, G]), interpolated
    between blocks."""
    h, w = dim(ink, 0), dim(ink, 1)
    flat = tf.reshape(ink, [1, -1])
    lo, hi = tf.reduce_min(flat, -1), tf.reduce_max(flat, -1) + _EPS
    # A block that is nearly all ink (a thick stroke, a tight crop) shows no paper:
    # its estimate stands far above a plane through the blocks (uneven light is
    # smooth); it gets the plane's value, fitted again without it.
    level = quantile(flat, 0.999, lo, hi)[0] - lo[0]  # The ink's contrast, even where ink is scarce.
    blocks = tf.reshape(background, [BLOCKS * BLOCKS, 1])
    plane = tf.matmul(plane_projection(BLOCKS), blocks)
    is_ink = blocks - plane > INK_BLOCK * level
    plane = tf.matmul(plane_projection(BLOCKS), tf.where(is_ink, plane, blocks))
    background = tf.reshape(tf.where(blocks - plane > INK_BLOCK * level, plane, blocks), [BLOCKS, BLOCKS])
    smooth = tf.matmul(tf.matmul(interpolation_matrix(h, BLOCKS), background),
                       interpolation_matrix(w, BLOCKS), transpose_b=True)
    return ink - smooth


def _subtract_band_background(ink, by_rows, by_cols):
    """A narrow frame's background: a low quantile per band across its short side (`by_rows`
    [B, 1] for a tall frame, `by_cols` [1, B] for a wide one), interpolated.

    Where a blurred digit fills a narrow frame (a low-resolution crop of a 1) every
    block of the BLOCKS x BLOCKS grid is ink, and so is its background estimate; a
    band across the whole short side still reaches the lighter edges (see ink_map).
    """
    h, w = dim(ink, 0), dim(ink, 1)
    tall = tf.matmul(interpolation_matrix(h, BANDS), by_rows)  # [h, 1]
    wide = tf.matmul(by_cols, interpolation_matrix(w, BANDS), transpose_b=True)  # [1, w]
    return ink - tf.where(h >= w, tall, wide)


def _stretch(ink):
    """Ink map -> [0, 1] (noise cut, ink saturated), and whether there is any ink."""
    flat = tf.reshape(ink, [1, -1])
    lo, hi = tf.reduce_min(flat, -1), tf.reduce_max(flat, -1) + _EPS
    # Otsu's threshold splits paper from ink; each side's median is its level.
    is_ink = tf.cast(flat > otsu(flat[0], lo[0], hi[0]), tf.float32)
    paper = quantile(flat, 0.5, lo, hi, weights=1.0 - is_ink)
    level = quantile(flat, 0.5, lo, hi, weights=is_ink)
    spread = tf.abs(flat - paper[:, None])
    noise = 1.4826 * quantile(spread, 0.5, tf.zeros([1]), tf.reduce_max(spread, -1) + _EPS,
                               weights=1.0 - is_ink)
    paper, noise, level = paper[0], noise[0], level[0]
    contrast = level - paper
    # Where a blurred digit fills the frame (a low-resolution crop, no paper in sight)
    # its edges are the "paper" and inflate that spread far beyond the pixel-to-pixel
    # noise, which smooth edges lack (issue 22); elsewhere the two differ by less.
    noise = tf.minimum(noise, FINE_NOISE_RATIO * _fine_noise(ink))
    found = (contrast > MIN_CONTRAST) & (contrast > MIN_CONTRAST_NOISE * noise)
    floor = paper + tf.minimum(3.0 * noise, 0.5 * contrast)
    return tf.clip_by_value((ink - floor) / tf.maximum(level - floor, _EPS), 0.0, 1.0), found


def _fine_noise(ink):
    """The noise's standard deviation from second differences, which are 0 on smooth ramps and edges
    drawn by bilinear enlargement, sqrt(6) sigma for independent pixel noise (a robust median)."""
    d2 = tf.concat([tf.reshape(ink[2:] - 2.0 * ink[1:-1] + ink[:-2], [-1]),
                    tf.reshape(ink[:, 2:] - 2.0 * ink[:, 1:-1] + ink[:, :-2], [-1])], 0)
    d2 = tf.abs(d2)[None, :]
    return 1.4826 / 6.0 ** 0.5 * quantile(d2, 0.5, tf.zeros([1]), tf.reduce_max(d2, -1) + _EPS)[0]


def _span(occupied, mass):
    """The run of `occupied` rows around the mass median, not crossing a wide empty gap.

    occupied, mass: [n]. Returns a 0/1 mask [n] of the rows in the digit's span.
    """
    n = dim(occupied, 0)
    index = tf.cast(tf.range(n), tf.float32)
    cumulative = tf.matmul(lower_triangle(n), mass[:, None])[:, 0]
    total = cumulative[-1] + _EPS
    median = tf.reduce_sum(tf.cast(cumulative < 0.5 * total, tf.float32))
    # The ink's extent (5 % to 95 % of its mass) sets how wide a gap must be.
    extent = (tf.reduce_sum(tf.cast(cumulative < 0.95 * total, tf.float32))
              - tf.reduce_sum(tf.cast(cumulative < 0.05 * total, tf.float32)))
    gap = tf.maximum(2.0, tf.round(GAP * extent))
    empty = 1.0 - occupied
    # gap_start[j]: rows j .. j+gap-1 are all empty.
    window = tf.cast((index[None, :] >= index[:, None]) & (index[None, :] < index[:, None] + gap), tf.float32)
    gap_start = tf.cast(tf.matmul(window, empty[:, None])[:, 0] >= gap, tf.float32)
    # Row y is cut off when a whole gap lies between it and the median.
    above = tf.cast((index[:, None] <= index[None, :]) & (index[None, :] + gap <= median), tf.float32)
    below = tf.cast((index[None, :] > median) & (index[None, :] + gap - 1.0 <= index[:, None]), tf.float32)
    cuts = tf.matmul(above + below, gap_start[:, None])[:, 0]
    return tf.cast(cuts < 0.5, tf.float32) * occupied


def mnist_like(image):
    """A decoded image [h, w, C] (C = 1-4, 0-255) -> (float32 [28, 28, 1], ink found: bool []).

    Builtin TFLite ops only; with a fixed h, w it is a phone model's preprocessing.
    Where no ink is found the pixels are all 0.
    """
    return fit(*ink_map(image))


def ink_map(image):
    """A decoded image [h, w, C] (0-255) -> (ink [h, w]: 0 on the paper, 1 on the ink; ink found: bool [])."""
    inkness = _grey_inkness(tf.cast(image, tf.float32))
    blocks, by_rows, by_cols = _background_quantiles(inkness)
    ink, found = _stretch(_subtract_background(inkness, blocks))
    # A narrow frame where the blocks find no ink gets one more look, with bands across
    # its short side (issue 22: a blurred 1 cropped edge to edge). Every image with ink
    # found keeps exactly its answer; a blank frame is flat across its bands too.
    h, w = tf.cast(dim(inkness, 0), tf.float32), tf.cast(dim(inkness, 1), tf.float32)
    narrow = tf.maximum(h, w) >= NARROW * tf.minimum(h, w)
    band_ink, band_found = _stretch(_subtract_band_background(inkness, by_rows, by_cols))
    use_bands = narrow & band_found & tf.logical_not(found)
    return tf.where(use_bands, band_ink, ink), found | use_bands


def fit(ink, found):
    """An ink map [h, w] (0-1) -> the digit in it fitted and centred as MNIST: float32 [28, 28, 1].

    Specks away from the digit are left out; where `found` is false the pixels are all 0.
    """
    h, w = dim(ink, 0), dim(ink, 1)
    box = tf.cast(ink > BOX_INK, tf.float32)
    rows = _span(tf.cast(tf.reduce_max(box, 1) > 0, tf.float32), tf.reduce_sum(ink, 1))
    cols = _span(tf.cast(tf.reduce_max(box, 0) > 0, tf.float32), tf.reduce_sum(ink, 0))
    ink = ink * rows[:, None] * cols[None, :]
    mass = tf.reduce_sum(ink)
    found = found & (mass > 1.0)
    y, x = positions(h), positions(w)
    top = tf.reduce_min(tf.where(rows > 0, y - 0.5, 1e9))
    left = tf.reduce_min(tf.where(cols > 0, x - 0.5, 1e9))
    height = tf.reduce_max(tf.where(rows > 0, y + 0.5, -1e9)) - top
    width = tf.reduce_max(tf.where(cols > 0, x + 0.5, -1e9)) - left
    scale = FIT / tf.maximum(tf.maximum(height, width), 1.0)
    com_y = tf.reduce_sum(ink * y[:, None]) / (mass + _EPS)
    com_x = tf.reduce_sum(ink * x[None, :]) / (mass + _EPS)
    # As MNIST: the box's corner on whole output pixels, the centre of mass in pixel 14.
    offset_y = tf.round(SIZE / 2 + 0.5 - (com_y - top) * scale)
    offset_x = tf.round(SIZE / 2 + 0.5 - (com_x - left) * scale)
    a = resampling_matrix(h, top, scale, offset_y, SIZE)
    b = resampling_matrix(w, left, scale, offset_x, SIZE)
    pixels = 255.0 * tf.matmul(tf.matmul(a, ink), b, transpose_b=True)
    pixels = _thin(tf.clip_by_value(pixels, 0.0, 255.0)) * tf.cast(found, tf.float32)
    return pixels[..., None], found


def _stroke_width(pixels):
    """Mean stroke width of a [28, 28] digit in pixels: twice its area over its outline."""
    area = tf.reduce_sum(pixels)
    outline = (tf.reduce_sum(tf.abs(pixels[1:] - pixels[:-1]))
               + tf.reduce_sum(tf.abs(pixels[:, 1:] - pixels[:, :-1])))
    return 2.0 * area / (outline + _EPS)


def _thin(pixels):
    """Strokes wider than MNIST's (a marker, a thick pen) thinned by a partial erosion."""
    excess = _stroke_width(pixels) - THIN_ABOVE
    # One full 3x3 erosion takes about two pixels off the width.
    amount = tf.clip_by_value(excess / 2.0, 0.0, 1.0)
    eroded = -tf.nn.max_pool2d(-pixels[None, ..., None], 3, 1, "SAME")[0, ..., 0]
    return pixels - amount * (pixels - eroded)


def _reduce(image, max_side=MAX_SIDE):
    """Shrinks an image larger than max_side on its long side (anti-aliased); TF only."""
    image = tf.cast(image, tf.float32)
    h, w = tf.shape(image)[0], tf.shape(image)[1]
    factor = tf.minimum(1.0, max_side / tf.cast(tf.maximum(h, w), tf.float32))
    size = tf.maximum(1, tf.cast(tf.round(factor * tf.cast(tf.stack([h, w]), tf.float32)), tf.int32))
    return tf.image.resize(image, size, method="area", antialias=True)


def preprocess(image):
    """Any-size decoded image [H, W, C] -> (float32 [28, 28, 1], ink found: bool [])."""
    image = tf.convert_to_tensor(image)
    if image.dtype == tf.uint16:
        image = tf.cast(image, tf.float32) / 257.0
    image = tf.cast(image, tf.float32)
    channels = image.shape[-1]
    if channels not in _GRAPHS:  # One traced graph per channel count, for every size.
        _GRAPHS[channels] = tf.function(lambda x: mnist_like(_reduce(x)), input_signature=[
            tf.TensorSpec([None, None, channels], tf.float32)])
    # Eager callers (predict, the demo) and the SavedModel then compute the same numbers.
    return _GRAPHS[channels](image)


_GRAPHS = {}
# A number's digits are told apart, and fitted, on an ink map this large: a number
# is wider than a digit, and each of its digits gets a share of the pixels.
NUMBER_MAX_SIDE = 256


def number_ink_map(image):
    """Any-size decoded image [H, W, C] -> (ink map [h, w] reduced to NUMBER_MAX_SIDE, ink found)."""
    image = tf.cast(tf.convert_to_tensor(image), tf.float32)
    channels = image.shape[-1]
    if channels not in _INK_GRAPHS:
        _INK_GRAPHS[channels] = tf.function(lambda x: ink_map(_reduce(x, NUMBER_MAX_SIDE)), input_signature=[
            tf.TensorSpec([None, None, channels], tf.float32)])
    return _INK_GRAPHS[channels](image)


_INK_GRAPHS = {}
fit_ink = tf.function(lambda ink: fit(ink, tf.constant(True))[0],
                      input_signature=[tf.TensorSpec([None, None], tf.float32)])


def to_mnist_pixels(image):
    """Any-size decoded image [H, W, C] -> float32 [28, 28, 1] (0 where no ink was found)."""
    return preprocess(image)[0]


def decode(image_bytes):
    """Encoded bytes (scalar string) -> float32 [H, W, 3] RGB 0-255, header checked first."""
    from keras_mnist.inference import decode as decoder

    return decoder.decode_image(image_bytes)


def decode_digit(image_bytes):
    """Encoded image bytes (scalar string) -> (float32 [28, 28, 1], ink found: bool [])."""
    return preprocess(decode(image_bytes))


def decode_digits(image_bytes):
    """A batch [N] of encoded images -> (float32 [N, 28, 28, 1], ink found: bool [N])."""
    return tf.map_fn(decode_digit, image_bytes, fn_output_signature=(
        tf.TensorSpec([SIZE, SIZE, 1], tf.float32), tf.TensorSpec([], tf.bool)))
