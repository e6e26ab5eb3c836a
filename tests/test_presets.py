"""Each preset's accuracy claim in README, guarded by a real training run of seed 1 (slow tier).

The default recipe's own run, with its export, is tests/test_full_training.py.
Accuracy is the final epoch's on the 10,000 test images. CI, one machine type,
checks seed 1 against the bar README claims for the preset on both instruction
sets (oneDNN's AVX-512 and AVX2 kernels): compact's 99.40 % and quick's 99.42 %,
each on every seed, and tiny's 99.35 % (its seeds 1-3 end at 99.36 % or more).
"""

import json
import os
import subprocess
import sys

import pytest

from keras_mnist import data

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# flagfile -> (trainable parameters, epochs, the accuracy README claims for seed 1).
CLAIMS = {
    # Seed 1: 99.46 % (AVX-512), 99.55 % (AVX2); issue 20 asks >= 99.42 % on every seed.
    "quick.flags": (18_544, 3, 0.9942),
    "compact.flags": (7_424, 15, 0.9940),
    # Seed 1: 99.36 % (AVX-512), 99.40 % (AVX2); issue 24's goal, 99.40 % on every seed, is not met.
    "tiny.flags": (4_732, 20, 0.9935),
}


@pytest.mark.slow
@pytest.mark.parametrize("flagfile", sorted(CLAIMS))
def test_preset_holds_its_claim_on_seed_1(flagfile, tmp_path):
    if not os.environ.get(data.DATA_DIR_ENV):
        pytest.skip(f"set {data.DATA_DIR_ENV} to a folder of the MNIST IDX files")
    params, epochs, claim = CLAIMS[flagfile]
    subprocess.run(
        [sys.executable, "-m", "keras_mnist.train", f"--flagfile=flags/{flagfile}", "--seed=1",
         "--verbose=2", "--noexport", "--norun_logs", f"--workdir={tmp_path}/run"],
        cwd=REPO, check=True, timeout=3000)
    with open(tmp_path / "run" / "metrics.json") as f:
        metrics = json.load(f)
    assert metrics["trainable_params"] == params
    assert len(metrics["epochs"]) == epochs
    assert metrics["final_test_accuracy"] >= claim, (flagfile, metrics["final_test_accuracy"])
