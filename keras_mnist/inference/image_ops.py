"""Image statistics and resampling as matmuls, comparisons and reductions.

Histogram quantiles and Otsu's threshold without sorting, resampling with a
data-dependent box as out = A @ image @ B^T: every op here has a TFLite builtin,
so a function built from them converts for phones at a fixed input size.
"""

import numpy as np
import tensorflow as tf

# Histogram resolution of quantiles and Otsu's threshold.
LEVELS = 64
_EPS = 1e-6


def plane_projection(blocks):
    """[B*B, B*B]: least-squares fit of a plane a + b*y + c*x to the block values."""
    y, x = np.mgrid[0:blocks, 0:blocks].reshape(2, -1)
    design = np.stack([np.ones_like(y), y, x], 1).astype(np.float64)
    return tf.constant(design @ np.linalg.pinv(design), tf.float32)


def dim(x, i):
    """Static size when known (a fixed phone input), else dynamic."""
    return x.shape[i] if x.shape[i] is not None else tf.shape(x)[i]


def positions(n):
    """Pixel-centre coordinates 0.5 .. n-0.5, float32 [n]."""
    return tf.cast(tf.range(n), tf.float32) + 0.5


def quantile(x, q, lo, hi, weights=None):
    """q-quantile of each row of x [B, N] with values in [lo, hi] ([B] each).

    From a cumulative histogram built by LEVELS comparisons (no sorting); the
    result is exact to (hi - lo) / LEVELS.
    """
    step = (hi - lo) / LEVELS
    levels = tf.range(1, LEVELS + 1, dtype=tf.float32)
    thresholds = lo[:, None] + step[:, None] * levels[None, :]  # [B, K]
    below = tf.cast(x[:, None, :] <= thresholds[:, :, None], tf.float32)  # [B, K, N]
    if weights is None:
        cdf = tf.reduce_mean(below, -1)
    else:
        cdf = tf.reduce_sum(below * weights[:, None, :], -1) / (
            tf.reduce_sum(weights, -1, keepdims=True) + _EPS)
    count = tf.reduce_sum(tf.cast(cdf < q, tf.float32), -1)
    return lo + step * (count + 0.5)


def otsu(x, lo, hi):
    """Otsu's threshold of x [N] (values in [lo, hi]), from a LEVELS-bin histogram."""
    step = (hi - lo) / LEVELS
    edges = lo + step * tf.range(1, LEVELS + 1, dtype=tf.float32)  # [K]
    cdf = tf.reduce_mean(tf.cast(x[None, :] <= edges[:, None], tf.float32), -1)
    # Cumulative first moment of the binned values (bin centres).
    centres = edges - 0.5 * step
    pdf = cdf - tf.concat([[0.0], cdf[:-1]], 0)
    moment = tf.matmul(lower_triangle(LEVELS), (pdf * centres)[:, None])[:, 0]
    total = moment[-1]
    between = (total * cdf - moment) ** 2 / (cdf * (1.0 - cdf) + _EPS)
    best = tf.reduce_max(between)
    return tf.reduce_max(tf.where(between >= best, edges, lo - 1.0))


def lower_triangle(n):
    """[n, n] with ones on and below the diagonal: a cumulative sum as a matmul."""
    i = tf.range(n)
    return tf.cast(i[:, None] >= i[None, :], tf.float32)


def block_matrix(n, blocks):
    """[blocks, n]: each row averages one of `blocks` equal spans of n pixels."""
    start = tf.cast(n, tf.float32) * tf.range(blocks, dtype=tf.float32)[:, None] / blocks
    end = start + tf.cast(n, tf.float32) / blocks
    pixel = tf.cast(tf.range(n), tf.float32)[None, :]
    overlap = tf.maximum(0.0, tf.minimum(end, pixel + 1.0) - tf.maximum(start, pixel))
    return overlap / tf.reduce_sum(overlap, 1, keepdims=True)


def interpolation_matrix(n, blocks):
    """[n, blocks]: linear interpolation (and extrapolation at the edges) between block centres."""
    position = positions(n) * blocks / tf.cast(n, tf.float32) - 0.5  # In block units.
    left = tf.clip_by_value(tf.floor(position), 0.0, blocks - 2.0)
    frac = (position - left)[:, None]
    block = tf.range(blocks, dtype=tf.float32)[None, :]
    left = left[:, None]
    return (tf.where(tf.equal(block, left), 1.0 - frac, 0.0)
            + tf.where(tf.equal(block, left + 1.0), frac, 0.0))


def resampling_matrix(n, origin, scale, offset, size):
    """[size, n]: output pixel i <- source span around origin + (i + 0.5 - offset) / scale.

    An area filter as wide as one output pixel in source pixels (anti-aliasing
    when shrinking), and at least one source pixel (linear interpolation when
    enlarging).
    """
    centre = origin + (positions(size) - offset) / scale
    half = 0.5 * tf.maximum(1.0 / scale, 1.0)
    pixel = tf.cast(tf.range(n), tf.float32)[None, :]
    overlap = tf.minimum(pixel + 1.0, centre[:, None] + half) - tf.maximum(pixel, centre[:, None] - half)
    return tf.maximum(overlap, 0.0) / (2.0 * half)


def block_quantiles(x, q, grids, lo, hi):
    """q-quantile of each block of x [h, w] (values in [lo, hi]) for each grid of (row blocks,
    column blocks) equal blocks in `grids`: a list of [blocks, col_blocks].

    The [LEVELS, h, w] comparison, the costly part, is built once for all grids.
    """
    step = (hi - lo) / LEVELS
    thresholds = lo + step * tf.range(1, LEVELS + 1, dtype=tf.float32)
    below = tf.cast(x[None] <= thresholds[:, None, None], tf.float32)  # [K, h, w]
    quantiles = []
    for blocks, col_blocks in grids:
        rows, cols = block_matrix(dim(x, 0), blocks), block_matrix(dim(x, 1), col_blocks)
        cdf = tf.matmul(tf.matmul(rows, below), cols, transpose_b=True)  # [K, blocks, col_blocks]
        quantiles.append(lo + step * (tf.reduce_sum(tf.cast(cdf < q, tf.float32), 0) + 0.5))
    return quantiles
