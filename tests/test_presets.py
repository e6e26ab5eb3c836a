"""Each preset's accuracy claim in README, guarded by a real training run of seed 1 (slow tier).

The default recipe's own run, with its export, is tests/test_full_training.py.
Accuracy is the final epoch's on the 10,000 test images. CI, one machine type,
checks seed 1 against the bar README claims for the preset on both instruction
sets (oneDNN's AVX-512 and AVX2 kernels): compact's 99.40 % and quick's 99.42 %,
each on every seed, tiny's 99.35 % and micro's 99.05 % (their seeds 1-3 end at 99.36 % and
99.09 % or more).
"""

import json
import os
import re
import subprocess
import sys

import pytest

from keras_mnist import config, data, tune as tune_command
from keras_mnist.tuning import space, tuner

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# flagfile -> (trainable parameters, epochs, the accuracy README claims for seed 1).
CLAIMS = {
    # Seed 1: 99.46 % (AVX-512), 99.55 % (AVX2); issue 20 asks >= 99.42 % on every seed.
    "quick.flags": (18_544, 3, 0.9942),
    "compact.flags": (7_424, 15, 0.9940),
    # Seed 1: 99.36 % (AVX-512), 99.40 % (AVX2); issue 24's goal, 99.40 % on every seed, is not met.
    "tiny.flags": (4_732, 20, 0.9935),
    # Seed 1: 99.21 % (AVX-512), 99.20 % (AVX2); its seeds 1-3 end at 99.09 % or more, under issue 24's 99.20 %.
    "micro.flags": (1_888, 25, 0.9905),
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


# The searched values of the search trial each preset was taken from (its trial.json), and the
# docs/tuning.md section whose command ran that search; the fixed values are the command's --fix.
FROM_SEARCH = {
    "tiny.flags": ("## The Muon search (", {  # trial 17
        "convs_after_pool": 3, "width_first": 16, "width_pool": 20, "width_last": 12, "dropout_scale": 0.1,
        "optimizer": "muon", "muon_learning_rate": 0.018691098529078864, "weight_decay": 0.0,
        "label_smoothing": 0.0, "augment_rotation": 2.5, "augment_shift": 3.0, "epochs": 20}),
    "micro.flags": ("## The Muon search at ≤ 2,000", {  # trial 13
        "convs_after_pool": 3, "width_first": 8, "width_pool": 12, "width_last": 16, "dropout_scale": 0.2,
        "optimizer": "muon", "muon_learning_rate": 0.014852659517921583, "weight_decay": 0.0001,
        "label_smoothing": 0.0, "augment_rotation": 7.5, "augment_shift": 0.0, "epochs": 25}),
}


def documented_search(heading):
    """(--fix as {name: text}, declare_search_space's arguments) of the search command under `heading`,
    read by the tune command's own parsers."""
    with open(os.path.join(REPO, "docs", "tuning.md")) as f:
        section = f.read().split(heading, 1)[1]
    fixes = tune_command._fixes(re.search(r"^\s*FIX=(\S+)$", section, re.M).group(1).split(","))
    args = dict(re.findall(r"--(\w+)=(\S+)", re.search(r'^\s*ARGS="([^"]+)"', section, re.M).group(1)))
    return fixes, dict(max_params=int(args["max_params"]),
                       optimizers=tuner.check_optimizers(args["optimizers"].split(",")),
                       epochs_choices=tune_command._epochs_choices(args["epochs_choices"].split(","), args["tuner"]))


@pytest.mark.parametrize("flagfile", sorted(FROM_SEARCH))
def test_preset_is_a_point_of_its_documented_search(flagfile):
    """The preset is what the documented `tune --max_params=N ...` trains for the trial it came from:
    the same network (narrowed into the budget by the space) and recipe, the rest the defaults."""
    heading, searched_values = FROM_SEARCH[flagfile]
    fixes, searched = documented_search(heading)
    hp = space.fixed_hyperparameters(fixes, **searched)
    assert set(searched_values) <= {p.name for p in hp.space if p.__class__.__name__ != "Fixed"}
    hp.values.update(searched_values)
    trial = config.recipe_flags(config.parse(config.as_argv(space.declare_search_space(hp, **searched))))
    preset = config.recipe_flags(config.parse(flagfile=os.path.join(REPO, "flags", flagfile)))
    assert trial.pop("learning_rate") == pytest.approx(preset.pop("learning_rate"), rel=1e-5)
    assert trial == preset
    assert space.count_params(preset) == CLAIMS[flagfile][0] <= searched["max_params"]
