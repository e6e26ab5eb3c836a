"""The pair-cut rule's table in docs/experiments.md (issue 22): touching digits no wider than one.

    python docs/scripts/pair_rule.py [--singles=1000]

On renderings of the 5,000 training digits the committed model held out
(`--validation_size=5000`, seed 1; never the test set): the number renderings
(whole numbers read right) and the first --singles digits of each single-digit
rendering (answers the rule changes), for each rule. Each image's candidates
(predict.image_to_candidates, with pair_cut's width lowered to 0.6 so that every
rule's candidates are there) are classified once; the rules are applied after.
Takes about 40 minutes on 2 cores.
"""

import argparse
import os
import sys

import numpy as np

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO)

from keras_mnist import data  # noqa: E402
from keras_mnist.inference import load, predict, renderings, segment  # noqa: E402


def candidates(classifier, encoded, truths):
    """Per image: (truth, None) where it is refused, else (truth, n digits, {i: width ratio}, probabilities)."""
    rows = []
    for raw, truth in zip(encoded, truths):
        try:
            found = predict.image_to_candidates(raw)
        except predict.ImageError:
            rows.append((truth, None))
            continue
        # Every cut's pieces, doubted or not, so that each rule can be applied after.
        pieces = [found.pieces(i) for i in found.cuts]
        probabilities = np.asarray(classifier.predict(np.concatenate([found.digits] + pieces)))
        boxes = [segment.ink_box(found.ink * mask) for mask in segment.digit_masks(found.ink)]
        tallest = max(b[1] - b[0] for b in boxes if b)
        ratios = {i: (boxes[i][3] - boxes[i][2]) / max(boxes[i][1] - boxes[i][0], tallest) for i in found.cuts}
        rows.append((truth, len(found.digits), ratios, probabilities))
    return rows


def reading(row, width, doubt, sure):
    """The number read from one row under a rule (None: refused)."""
    if row[1] is None:
        return None
    truth, n, ratios, probabilities = row
    whole, pieces = probabilities[:n], probabilities[n:]
    read = []
    for i in range(n):
        if i in ratios:
            k = list(ratios).index(i)
            pair = pieces[2 * k:2 * k + 2]
            if ratios[i] >= width and whole[i].max() < doubt and np.prod(pair.max(-1)) >= sure:
                read += list(np.argmax(pair, -1))
                continue
        read.append(np.argmax(whole[i]))
    return "".join(str(d) for d in read)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--singles", type=int, default=1000, help="single digits per rendering")
    parser.add_argument("--digits", type=int, default=5000, help="held-out digits made into numbers")
    args = parser.parse_args()
    segment.PAIR_WIDTH = 0.6
    mnist = data.load()
    _, (x, y) = data.split_validation(mnist.x_train, mnist.y_train, 5000, 1)
    classifier = load.classifier(os.path.join(REPO, "savedmodels", "reference", "1"))
    numbers, singles = {}, {}
    for name in renderings.NUMBER_RENDERINGS:
        encoded, groups = renderings.render_numbers(x[:args.digits], name)
        numbers[name] = candidates(classifier, encoded, ["".join(str(d) for d in y[g]) for g in groups])
    for name in ("scan", "photo", "crop", "lowres", "marker"):
        encoded = renderings.render_all(x[:args.singles], name)
        singles[name] = candidates(classifier, encoded, [str(d) for d in y[:args.singles]])
    rules = [("no pair cut", 9.0, 0.0, 2.0)] + [
        (f"width >= {w}, whole < {d}, pair >= {s}", w, d, s)
        for w in (0.7, 0.8) for d in (0.95, 0.97, 0.99, 1.01) for s in (0.99, 0.995)]
    print("| rule | " + " | ".join(numbers) + " | single digits changed |")
    print("|---|" + "---:|" * (len(numbers) + 1))
    for label, w, d, s in rules:
        right = [100 * np.mean([reading(r, w, d, s) == r[0] for r in rows]) for rows in numbers.values()]
        changed = {name: sum(reading(r, w, d, s) != reading(r, 9.0, 0.0, 2.0) for r in rows)
                   for name, rows in singles.items()}
        print(f"| {label} | " + " | ".join(f"{a:.2f} %" for a in right) + " | "
              + ", ".join(f"{c} {name}" for name, c in changed.items()) + " |")


if __name__ == "__main__":
    main()
