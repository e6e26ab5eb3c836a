"""Telling the digits of a number apart in an ink map: side by side, broken strokes, specks, touching."""

import numpy as np
import pytest
from scipy import ndimage

from keras_mnist.inference import segment


def strip(digits, gaps, scale=3):
    """MNIST digits [n, 28, 28] side by side (columns cropped to the ink, `gaps` MNIST px apart;
    negative: overlapping) -> an ink map (0-1) `scale` times MNIST's size, on a margin."""
    pieces = []
    for digit in np.asarray(digits).reshape(-1, 28, 28):
        cols = np.flatnonzero(digit.max(0))
        pieces.append(digit[:, cols[0]:cols[-1] + 1].astype(np.float32) / 255.0)
    lefts = [8]
    for piece, gap in zip(pieces, gaps):
        lefts.append(lefts[-1] + piece.shape[1] + gap)
    ink = np.zeros((28, lefts[-1] + pieces[-1].shape[1] + 8), np.float32)
    for left, piece in zip(lefts, pieces):
        ink[:, left:left + piece.shape[1]] = np.maximum(ink[:, left:left + piece.shape[1]], piece)
    return np.kron(ink, np.ones((scale, scale), np.float32))


def digits_of(mnist, labels):
    return np.stack([mnist.x_test[np.flatnonzero(mnist.y_test == label)[0]] for label in labels])


def test_no_ink_no_digits():
    assert segment.digit_masks(np.zeros((40, 60), np.float32)) == []


def test_spaced_digits_are_told_apart_left_to_right(mnist):
    labels = [4, 2, 0, 2, 6]
    ink = strip(digits_of(mnist, labels), [4, 6, 3, 5])
    masks = segment.digit_masks(ink)
    assert len(masks) == len(labels)
    centres = [np.average(np.nonzero(mask)[1]) for mask in masks]
    assert centres == sorted(centres)
    # Every ink pixel belongs to exactly one digit.
    inked = ink > 0
    assert np.array_equal(np.sum(masks, 0)[inked], np.ones(inked.sum()))


def test_one_digit_is_one_mask_broken_strokes_and_specks_included(mnist):
    ink = strip(digits_of(mnist, [5]), [])
    assert len(segment.digit_masks(ink)) == 1
    broken = ink.copy()
    rows = np.flatnonzero(broken.max(1) > 0.25)
    broken[rows[0] + 9:rows[0] + 12] = 0  # The 5's top bar cut off from its body.
    broken[2:5, 2:5] = 1.0  # A speck in the corner.
    masks = segment.digit_masks(broken)
    assert len(masks) == 1 and masks[0][rows[0] + 2].sum() > 0


def test_the_mnist_test_digits_one_at_a_time_are_single_digits(mnist):
    for digit in mnist.x_test[:300]:
        ink = np.kron(digit[..., 0].astype(np.float32) / 255.0, np.ones((3, 3), np.float32))
        try:
            assert len(segment.digit_masks(ink)) == 1
        except segment.TouchingDigits:  # Allowed only for the widest ones (none in the first 300).
            pytest.fail("a single digit taken for touching digits")


def test_digits_that_just_touch_are_cut_apart(mnist):
    """Issue 22: a 1 and a 2 one pixel into each other (one blob, wider than a digit beside
    the 4) are cut where the ink is thinnest: each mask holds its own digit's columns."""
    labels, gaps, scale = [4, 1, 2], [5, -1], 3
    ink = strip(digits_of(mnist, labels), gaps, scale)
    assert ndimage.label(ink > 0.25, structure=np.ones((3, 3)))[1] == 2  # The 1 and the 2 touch.
    masks = segment.digit_masks(ink)
    assert len(masks) == 3
    widths = [len(np.flatnonzero(d.max(0))) for d in digits_of(mnist, labels)]
    lefts = np.cumsum([8] + [w + g for w, g in zip(widths, gaps)])
    for mask, left, width in zip(masks, lefts, widths):
        centre = np.average(np.nonzero(mask * ink)[1], weights=(mask * ink)[mask * ink > 0]) / scale
        assert left <= centre <= left + width


def test_touching_digits_are_refused_not_guessed(mnist):
    zeros = digits_of(mnist, [0, 0, 0])
    with pytest.raises(segment.TouchingDigits):  # Three 0s overlapping: one blob, too wide for a digit.
        segment.digit_masks(strip(zeros, [-3, -3]))
    with pytest.raises(segment.TouchingDigits):  # 7, then two touching 0s wider than a digit.
        segment.digit_masks(strip(digits_of(mnist, [7, 0, 0]), [5, -2]))


def test_a_pair_no_wider_than_one_digit_is_offered_cut_between_its_digits(mnist):
    """Issue 22: a 1 touching a 2 is one blob no wider than a digit, so digit_masks gives one
    mask; pair_cut offers it cut in two, each piece holding its own digit's columns."""
    labels, gaps, scale = [1, 2], [-1], 3
    ink = strip(digits_of(mnist, labels), gaps, scale)
    assert ndimage.label(ink > 0.25, structure=np.ones((3, 3)))[1] == 1  # They touch.
    masks = segment.digit_masks(ink)
    assert len(masks) == 1
    pairs = segment.pair_cut(ink, masks)
    assert list(pairs) == [0]
    widths = [len(np.flatnonzero(d.max(0))) for d in digits_of(mnist, labels)]
    lefts = np.cumsum([8] + [w + g for w, g in zip(widths, gaps)])
    for piece, left, width in zip(pairs[0], lefts, widths):
        centre = np.average(np.nonzero(piece * ink)[1], weights=(piece * ink)[piece * ink > 0]) / scale
        assert left <= centre <= left + width
    inked = ink > 0.25  # Every ink pixel is in one piece.
    np.testing.assert_array_equal((pairs[0][0] + pairs[0][1])[inked], np.ones(inked.sum()))


def test_a_narrow_digit_is_not_offered_as_a_pair(mnist):
    ink = strip(digits_of(mnist, [1]), [])
    assert segment.pair_cut(ink, segment.digit_masks(ink)) == {}
