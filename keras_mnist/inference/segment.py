"""An ink map -> the digits of a number, left to right: one mask per digit, or "they touch".

The ink map is preprocessing's (`preprocess.ink_map`: 0 on the paper, 1 on the
ink). Its connected components (ink above preprocess.BOX_INK, 8-neighbours) are
grouped into digits:
  - a component at least PART_HEIGHT as tall as the tallest is a digit, unless
    it shares most of its columns with another (a digit broken into two strokes
    one beside the other);
  - a smaller one (a detached bar, a broken-off stroke) joins the digit whose
    columns it overlaps most; one overlapping none (a speck) is left out;
and every ink pixel goes to the digit of the nearest component. Digits that
touch are one component. They are recognised by their width: a "digit" much
wider than tall, or than the number's tallest digit, is digits that touch, and
is cut apart where its ink is thinnest near where equal shares of its width would
end (issue 22: the number renderings' touching digits, refused before, are mostly
read right now). Where such a cut would cross much ink (digits overlapping, not
touching) the caller says they touch, and does not guess. Two touching digits no
wider than one digit (a 1 touching a 2) are not recognised: they are read as one
digit by `digit_masks`; `pair_cut` offers such a blob cut in two, and the
caller keeps the cut only where the model doubts the whole blob and reads the
two pieces surely (`inference.predict.read_digits`). (A "neck" test alone, a thin
column with tall ink on both sides, took 5 % of single MNIST training digits for
touching ones.) Ink on all four edges (a
tight crop) and pieces not side by side on one line are one digit, as before.
numpy and scipy only: this runs beside the model (`predict`, the demo), not
inside a SavedModel or phone model.
"""

import numpy as np
from scipy import ndimage

from keras_mnist.inference import preprocess

# A component this share of the tallest one's height or more can be a digit of its own.
PART_HEIGHT = 0.5
# Two tall components sharing this share of the narrower one's columns are one digit.
SAME_COLUMNS = 0.5
# The digits of a number share this share of their rows with the tallest one.
SAME_ROWS = 0.5
# A digit wider than this times its height (or the number's tallest digit, whichever is
# taller) is digits that touch. Single MNIST training digits (20x20 box) exceed 1.8 in
# 0.08 %; two touching digits are typically 1.2-2 times as wide as tall.
TOUCHING = 1.8
# Beside other digits, a digit this much wider than the tallest is digits that touch
# (chosen on number renderings of training digits: 1.0, 1.1, 1.2 and 1.3 read 90.1,
# 92.4, 91.5 and 90.8 % of the scanned numbers).
TOUCHING_IN_NUMBER = 1.1
# Touching digits are cut apart into round(width / (DIGIT_WIDTH * tallest digit)) digits
# (2 to MAX_DIGITS), each cut at the thinnest column within CUT_REACH of a digit's share
# of the width from where equal shares would end; a cut through more than NECK times the
# blob's median column of ink is digits overlapping, refused. Chosen on number renderings
# of training digits (1,500 digits, 434 numbers; DIGIT_WIDTH 0.75 read 92.4 % of the
# scanned numbers, 0.9 92.9 %).
DIGIT_WIDTH, MAX_DIGITS, CUT_REACH, NECK = 0.9, 5, 0.5, 0.5
# A digit at least PAIR_WIDTH times as wide as tall (or as the number's tallest digit) may
# be two touching digits no wider than one (a 1 touching a 2): `pair_cut` cuts it at its
# thinnest column within PAIR_REACH of the middle (as a share of half the width), where
# that column holds at most NECK times the blob's median column of ink.
PAIR_WIDTH, PAIR_REACH = 0.7, 0.7


class TouchingDigits(Exception):
    """The ink holds digits that touch: they cannot be told apart."""


def digit_masks(ink):
    """Ink map [h, w] (0-1) -> a list of float32 masks [h, w], one per digit, left to right.

    An empty list where there is no ink; TouchingDigits where digits touch.
    """
    ink = np.asarray(ink, np.float32)
    binary = ink > preprocess.BOX_INK
    labels, count = ndimage.label(binary, structure=np.ones((3, 3)))
    if count == 0:
        return []
    if binary[0].any() and binary[-1].any() and binary[:, 0].any() and binary[:, -1].any():
        # Ink on all four edges: a tight crop, read as one digit. Where a blurred digit
        # fills the frame, paper in two corners can pass for ink: two "1"s.
        return [np.ones_like(ink)]
    boxes = [(s[0].start, s[0].stop, s[1].start, s[1].stop) for s in ndimage.find_objects(labels)]
    heights = np.array([bottom - top for top, bottom, _, _ in boxes], np.float32)
    tall = [i for i in range(count) if heights[i] >= PART_HEIGHT * heights.max()]
    digit_of = _group_tall(boxes, tall)
    for i in range(count):
        if i not in digit_of:
            overlap, best = max((_column_overlap(boxes[i], boxes[j]), digit_of[j]) for j in tall)
            if overlap > 0:
                digit_of[i] = best
    digits = sorted(set(digit_of.values()))
    # Each digit's box (top, bottom, left, right) over its components.
    extent = {d: [min(boxes[i][0] for i in digit_of if digit_of[i] == d),
                  max(boxes[i][1] for i in digit_of if digit_of[i] == d),
                  min(boxes[i][2] for i in digit_of if digit_of[i] == d),
                  max(boxes[i][3] for i in digit_of if digit_of[i] == d)] for d in digits}
    tallest = max(bottom - top for top, bottom, _, _ in extent.values())
    top_t, bottom_t = max(((b - t), t, b) for t, b, _, _ in extent.values())[1:]
    if any(min(b, bottom_t) - max(t, top_t) < SAME_ROWS * (b - t) for t, b, _, _ in extent.values()):
        # Not side by side on a line (one above the other, or paper passing for ink
        # beside a blurred thin 1): read as one digit, as before numbers were read.
        return [np.ones_like(ink)]
    # Every pixel belongs to the digit of its nearest component (faint edges included);
    # specks left out belong to none.
    component = np.zeros(count + 1, np.int64)
    for i, d in digit_of.items():
        component[i + 1] = d + 1
    kept = component[labels]
    nearest = ndimage.distance_transform_edt(kept == 0, return_distances=False, return_indices=True)
    owner = kept[nearest[0], nearest[1]]
    widest = TOUCHING if len(digits) == 1 else TOUCHING_IN_NUMBER
    masks = []
    for d in digits:
        mask = (owner == d + 1).astype(np.float32)
        top, bottom, left, right = extent[d]
        if right - left > widest * max(bottom - top, tallest):
            masks += _cut(ink, mask, left, right, tallest)
        else:
            masks.append(mask)
    return sorted(masks, key=lambda m: np.average(np.nonzero(m)[1]))


def pair_cut(ink, masks):
    """Ink map [h, w] and digit_masks' masks -> {i: (left mask, right mask)} for each digit i
    wide enough to be two touching digits, cut where its ink is thinnest near its middle.

    Only a candidate: whether it is two digits is the classifier's call (the caller's).
    """
    ink = np.asarray(ink, np.float32)
    # Boxes of the masks' own ink: digit_masks' boxes are its components', and a cut piece has none.
    boxes = [ink_box(ink * mask) for mask in masks]
    tallest = max((bottom - top for top, bottom, _, _ in filter(None, boxes)), default=0)
    pairs = {}
    for i, (mask, box) in enumerate(zip(masks, boxes)):
        if box is None:
            continue
        top, bottom, left, right = box
        if right - left >= PAIR_WIDTH * max(bottom - top, tallest):
            try:
                pairs[i] = tuple(_cut(ink, mask, left, right, tallest, pieces=2, reach=PAIR_REACH))
            except TouchingDigits:
                pass  # No thin column near the middle: not two digits that just touch.
    return pairs


def ink_box(ink):
    """(top, bottom, left, right) of the ink above preprocess.BOX_INK, or None."""
    inked = ink > preprocess.BOX_INK
    rows, cols = np.flatnonzero(inked.any(1)), np.flatnonzero(inked.any(0))
    if not len(rows):
        return None
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _cut(ink, mask, left, right, tallest, pieces=None, reach=CUT_REACH):
    """Touching digits (ink and mask [h, w] of one blob, its columns left:right) -> one mask per
    digit, cut where the ink is thinnest near where equal shares of the width would end.

    TouchingDigits where a cut would cross much ink (digits overlapping, not just touching).
    """
    width = right - left
    if pieces is None:
        pieces = int(np.clip(round(width / (DIGIT_WIDTH * tallest)), 2, MAX_DIGITS))
    profile = ndimage.uniform_filter1d((ink * mask)[:, left:right].sum(0), max(1, round(0.05 * tallest)))
    typical = np.median(profile[profile > 0])
    cuts = [0]
    for j in range(1, pieces):
        centre, reach_px = j * width / pieces, reach * width / pieces
        lo, hi = int(max(cuts[-1] + 1, centre - reach_px)), int(min(width - 1, centre + reach_px)) + 1
        if lo >= hi:
            raise TouchingDigits("digits touch")
        cut = lo + int(np.argmin(profile[lo:hi]))
        if profile[cut] > NECK * typical:
            raise TouchingDigits("digits touch")
        cuts.append(cut)
    cuts.append(width)
    columns = np.arange(ink.shape[1]) - left
    return [mask * ((columns >= a) & (columns < b))[None, :] for a, b in zip(cuts[:-1], cuts[1:])]


def _column_overlap(a, b):
    """Columns two boxes (top, bottom, left, right) share, over the narrower one's width."""
    shared = min(a[3], b[3]) - max(a[2], b[2])
    return max(shared, 0) / min(a[3] - a[2], b[3] - b[2])


def _group_tall(boxes, tall):
    """{component: digit} for the tall components; those sharing most columns are one digit."""
    digit_of = {i: i for i in tall}
    for a in tall:
        for b in tall:
            if a < b and _column_overlap(boxes[a], boxes[b]) >= SAME_COLUMNS:
                old, new = digit_of[b], digit_of[a]
                digit_of = {i: (new if d == old else d) for i, d in digit_of.items()}
    return digit_of

