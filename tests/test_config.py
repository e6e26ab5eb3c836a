import glob
import os

import pytest
from absl import flags

from keras_mnist import config, models
from keras_mnist.training import run_folder


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_defaults_parse():
    cfg = config.parse()
    assert cfg.model == "reference" and cfg.epochs == 20 and cfg.batch_size == 128
    assert set(config.as_dict(cfg)) == set(config.NAMES)
    assert run_folder.default_workdir(cfg) == "runs/reference-seed1"


@pytest.mark.parametrize("flagfile", sorted(glob.glob(os.path.join(REPO, "flags", "*.flags"))))
def test_every_preset_parses_and_names_a_registered_model(flagfile):
    cfg = config.parse(flagfile=flagfile)
    assert cfg.model in models.names()


# Each preset's network and its parameter budget: the reference network, or a
# smaller one within a budget (compact chosen by hand, tiny and micro by Muon searches).
PRESET_PARAMS = {"notebook.flags": (16_848, 16_848), "seed.flags": (16_848, 16_848),
                 "compact.flags": (7_424, 8_000),
                 "quick.flags": (18_544, 20_000),
                 "tiny.flags": (4_732, 5_000), "micro.flags": (1_888, 2_000)}


@pytest.mark.parametrize("name", sorted(PRESET_PARAMS))
def test_preset_parameter_counts(name):
    count, budget = PRESET_PARAMS[name]
    cfg = config.parse(flagfile=os.path.join(REPO, "flags", name))
    assert models.count_trainable_params(config.build_model(cfg)) == count <= budget


def test_every_preset_has_its_parameter_count_checked():
    assert {os.path.basename(p) for p in glob.glob(os.path.join(REPO, "flags", "*.flags"))} == set(PRESET_PARAMS)


@pytest.mark.parametrize("name", ["notebook.flags", "seed.flags"])  # seed.flags: the old name
def test_notebook_preset_is_the_notebooks_recipe(name, monkeypatch):
    monkeypatch.chdir(REPO)  # seed.flags names notebook.flags relative to the repository.
    cfg = config.parse(flagfile=os.path.join(REPO, "flags", name))
    assert cfg.model == "reference"
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


def test_width_lists_parse_and_bad_ones_are_refused():
    cfg = config.parse(["--model=cnn", "--widths_before_pool=6,10", "--widths_after_pool=12, 14,16"])
    assert cfg.widths_before_pool == [6, 10] and cfg.widths_after_pool == [12, 14, 16]
    for bad in ("a,b", "8,0", ""):
        with pytest.raises(flags.IllegalFlagValueError, match="widths_after_pool"):
            config.parse(["--model=cnn", f"--widths_after_pool={bad}"])


def test_skipping_the_test_set_needs_a_validation_split_and_no_export():
    cfg = config.parse(["--noevaluate_test", "--validation_size=100", "--noexport"])
    assert not cfg.evaluate_test
    for argv in (["--noevaluate_test", "--noexport"], ["--noevaluate_test", "--validation_size=100"]):
        with pytest.raises(flags.IllegalFlagValueError, match="--noevaluate_test needs"):
            config.parse(argv)


def test_every_flag_has_a_kind_and_the_derived_sets_follow_it():
    kinds = {f.name: f.kind for f in config.TABLE}
    assert set(kinds.values()) == {config.ARCHITECTURE, config.RECIPE, config.RUN, config.IO}
    cfg = config.parse()
    # A run resumes with other io flags, never with another recipe or seed.
    assert set(config.resume_flags(cfg)) == {n for n, k in kinds.items() if k != config.IO}
    assert {"seed", "learning_rate", "model"} <= set(config.resume_flags(cfg))
    assert not {"verbose", "workdir", "export_dir", "data_dir"} & set(config.resume_flags(cfg))
    # A recipe flagfile holds what is trained, not where or with which seed.
    assert set(config.recipe_flags(cfg)) == {n for n, k in kinds.items() if k in (config.ARCHITECTURE, config.RECIPE)}
    assert set(config.as_dict(cfg)) == set(config.NAMES) == set(kinds)


def test_as_argv_parses_back_to_the_same_config():
    cfg = config.parse(["--model=cnn", "--widths_after_pool=8,12,16", "--nonesterov", "--learning_rate=0.3"])
    assert config.parse(config.as_argv(config.as_dict(cfg))) == cfg


def test_an_architecture_flag_the_model_does_not_take_is_one_line_error():
    with pytest.raises(flags.IllegalFlagValueError,
                       match="--model=reference takes no --widths_after_pool; drop it or choose"):
        config.parse(["--model=reference", "--widths_after_pool=4"])
    # At its default value it is no choice of the user's: accepted.
    assert config.parse(["--model=reference", "--widths_after_pool=12,12,16,16"]).model == "reference"


def test_the_old_model_name_seed_still_works_with_a_note(caplog):
    with caplog.at_level("WARNING"):
        cfg = config.parse(["--model=seed"])
    assert cfg.model == "reference"
    assert "--model=seed is now called --model=reference" in caplog.text


def test_cnn_builder_defaults_are_the_flag_defaults():
    """config.build_model passes every option; the builder's own defaults must agree with the table."""
    import inspect

    from keras_mnist.models import cnn

    defaults = config.as_dict(config.parse())
    for name, param in inspect.signature(cnn.cnn_family).parameters.items():
        if name != "dropout_scale":
            assert list(param.default) == defaults[name] if isinstance(param.default, tuple) \
                else param.default == defaults[name], name


def test_importing_every_command_defines_each_flag_once():
    import keras_mnist.bench, keras_mnist.evaluate, keras_mnist.export  # noqa: E401, F401
    import keras_mnist.predict, keras_mnist.seeds, keras_mnist.train, keras_mnist.tune  # noqa: E401, F401

    assert flags.FLAGS["model"].default == "reference"  # train's --model, not a path
    assert flags.FLAGS["validation_size"].default == 0  # tune's defaults apply only when it runs
