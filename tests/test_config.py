import glob
import os
import subprocess
import sys

import pytest
from absl import flags

from keras_mnist import config, models

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_defaults_parse():
    cfg = config.parse()
    assert cfg.model == "seed" and cfg.epochs == 20 and cfg.batch_size == 128
    assert set(config.as_dict(cfg)) == set(config.NAMES)
    assert config.workdir(cfg) == "runs/seed_seed1"


@pytest.mark.parametrize("flagfile", sorted(glob.glob(os.path.join(REPO, "flags", "*.flags"))))
def test_every_preset_parses_and_names_a_registered_model(flagfile):
    cfg = config.parse(flagfile=flagfile)
    assert cfg.model in models.names()


# Each preset's network and its parameter budget: the reference network, or a
# compact one the tuner found under the budget.
PRESET_PARAMS = {"seed.flags": (16_848, 16_848), "fast.flags": (16_848, 16_848),
                 "compact.flags": (7_424, 8_000), "smallest.flags": (6_720, 6_720)}


@pytest.mark.parametrize("name", sorted(PRESET_PARAMS))
def test_preset_parameter_counts(name):
    count, budget = PRESET_PARAMS[name]
    cfg = config.parse(flagfile=os.path.join(REPO, "flags", name))
    assert models.count_trainable_params(config.build_model(cfg)) == count <= budget


def test_every_preset_has_its_parameter_count_checked():
    assert {os.path.basename(p) for p in glob.glob(os.path.join(REPO, "flags", "*.flags"))} == set(PRESET_PARAMS)


def test_seed_preset_is_the_notebooks_recipe():
    cfg = config.parse(flagfile=os.path.join(REPO, "flags", "seed.flags"))
    assert (cfg.optimizer, cfg.learning_rate, cfg.momentum, cfg.batch_size, cfg.epochs) == ("sgd", 0.01, 0.9, 128, 20)
    assert (cfg.schedule, cfg.augment_rotation, cfg.augment_shift, cfg.label_smoothing) == ("constant", 0, 0, 0)


@pytest.mark.parametrize("bad", [
    "--epochs=0", "--batch_size=-1", "--learning_rate=-0.1", "--momentum=1.5",
    "--label_smoothing=0.9", "--model=resnet", "--schedule=linear", "--epochs=ten",
    "--train_size=1000 --validation_size=1000",
])
def test_bad_values_are_rejected(bad):
    with pytest.raises(flags.Error):
        config.parse(bad.split())


def _train_cli(*args):
    return subprocess.run([sys.executable, "-m", "keras_mnist.train", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=120)


def test_cli_rejects_a_bad_flag_in_one_line():
    result = _train_cli("--epochs=0")
    assert result.returncode != 0
    assert "flag --epochs=0: 0 is not a positive integer" in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_rejects_a_missing_flagfile():
    result = _train_cli("--flagfile=flags/nope.flags")
    assert result.returncode != 0
    assert "nope.flags" in result.stderr and "Traceback" not in result.stderr


def test_cli_reports_a_missing_data_folder(tmp_path):
    result = _train_cli(f"--data_dir={tmp_path}/none", f"--export_dir={tmp_path}/out")
    assert result.returncode == 1
    assert result.stderr.strip().splitlines()[-1].startswith(f"error: {tmp_path}/none: data folder not found")
    assert "Traceback" not in result.stderr and not os.path.exists(tmp_path / "out")


def test_width_lists_parse_and_bad_ones_are_refused():
    cfg = config.parse(["--widths_before_pool=6,10", "--widths_after_pool=12, 14,16"])
    assert cfg.widths_before_pool == [6, 10] and cfg.widths_after_pool == [12, 14, 16]
    for bad in ("a,b", "8,0", ""):
        with pytest.raises(flags.IllegalFlagValueError, match="widths_after_pool"):
            config.parse([f"--widths_after_pool={bad}"])


def test_skipping_the_test_set_needs_a_validation_split_and_no_export():
    cfg = config.parse(["--noevaluate_test", "--validation_size=100", "--noexport"])
    assert not cfg.evaluate_test
    for argv in (["--noevaluate_test", "--noexport"], ["--noevaluate_test", "--validation_size=100"]):
        with pytest.raises(flags.IllegalFlagValueError, match="--noevaluate_test needs"):
            config.parse(argv)
