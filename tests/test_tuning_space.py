import keras_tuner
import pytest

from keras_mnist import config, models
from keras_mnist.models import cnn
from keras_mnist.tuning import space


def random_point(seed, **kwargs):
    """(hyperparameters, training flags) of a random point of the space, as an oracle would pick it."""
    hp = keras_tuner.HyperParameters()
    space.declare_search_space(hp, **kwargs)  # Registers every hyperparameter, conditional ones too.
    hp = hp.copy()
    for i, p in enumerate(hp.space):
        hp.values[p.name] = p.random_sample(1000 * seed + i)
    return hp, space.declare_search_space(hp, **kwargs)


def test_search_space_gives_valid_training_flags():
    seen = {name: set() for name in ("separable", "conv_groups", "first_stride", "shared_repeats", "head",
                                     "transition_before_pool", "augmentation")}
    widest = set()
    for seed in range(40):
        _, flags = random_point(seed)
        cfg = config.parse(config.as_argv(flags))  # Every value passes the flags' validators.
        assert cfg.model == "cnn"
        assert 1 <= len(cfg.widths_before_pool) <= space.MAX_CONVS_BEFORE_POOL
        assert space.MIN_CONVS_AFTER_POOL <= len(cfg.widths_after_pool) <= space.MAX_CONVS_AFTER_POOL
        space.count_params(flags)  # Every network can be built: no ArchitectureError.
        if seed < 10:
            assert config.build_model(cfg).output_shape == (None, 10)
        widths = cfg.widths_before_pool + cfg.widths_after_pool
        assert all(w % space.WIDTH_STEP == 0 for w in widths)
        assert widths == sorted(widths)  # A ramp: the network never narrows.
        widest.add(widths[-1])
        if cfg.augmentation == "layers":  # Keras's layers take no scale and no clean epochs.
            assert cfg.augment_scale == 0 and cfg.clean_epochs == 0
        for name in seen:
            seen[name].add(getattr(cfg, name))
    # Every new option of the family is searched, each value reached.
    assert seen == {"separable": {True, False}, "conv_groups": {1, 2, 4}, "first_stride": {1, 2},
                    "shared_repeats": {0, 1, 2, 3}, "head": {"gap", "depthwise"},
                    "transition_before_pool": {True, False}, "augmentation": {"layers", "affine"}}
    assert len(widest) > 5  # The widths are searched, not fixed.


def test_valid_convs_that_would_shrink_the_map_to_nothing_get_same_padding():
    hp, _ = random_point(0)
    hp.values.update({"first_stride": 2, "convs_before_pool": 3, "convs_after_pool": 4, "pad_after_pool": False})
    flags = space.declare_search_space(hp)
    assert flags["pad_after_pool"] is True  # 13 -> 11 -> 9, pool 4: four valid convs do not fit.
    assert cnn.final_map_size(3, 4, 2, True) == 4
    config.build_model(config.parse(config.as_argv(flags)))


@pytest.mark.parametrize("max_params", [300, 2_000, 5_000])
def test_with_a_budget_every_sampled_network_fits_it(max_params):
    narrowed = 0
    for seed in range(40):
        hp, unbudgeted = random_point(seed)
        flags = space.declare_search_space(hp, max_params=max_params)
        params = space.count_params(flags)
        assert params <= max_params
        if seed < 5:  # The network as built (count_params equals it: tests/test_models_cnn.py).
            assert models.count_trainable_params(config.build_model(config.parse(config.as_argv(flags)))) == params
        if space.count_params(unbudgeted) <= max_params:
            assert flags == unbudgeted  # What fits is left alone.
        else:
            narrowed += 1
    assert narrowed > 0


def test_fit_to_budget_narrows_all_widths_by_one_factor_as_little_as_it_can():
    architecture = dict(widths_before_pool=[16, 32], transition_width=16, transition_before_pool=False,
                        widths_after_pool=[32, 32, 48], bn_before_relu=False, pad_after_pool=False,
                        separable=False, first_stride=1, conv_groups=1, shared_repeats=1, head="gap")
    assert space.count_params(architecture) > 10_000
    fitted = space.fit_to_budget(architecture, 5_000)
    assert space.count_params(fitted) <= 5_000
    # Same shape, every width narrowed by the largest factor 1, 0.98, 0.96 ... that fits.
    assert {k: v for k, v in fitted.items() if "width" not in k} == \
        {k: v for k, v in architecture.items() if "width" not in k}
    factors = [1.0 - 0.02 * step for step in range(50)]
    first = next(f for f in factors if space.count_params(space.narrowed(architecture, f)) <= 5_000)
    assert fitted == space.narrowed(architecture, first)
    assert space.count_params(space.narrowed(architecture, first + 0.02)) > 5_000
    assert fitted["widths_after_pool"][-1] < 48 and all(w % 4 == 0 for w in fitted["widths_after_pool"])
    assert space.fit_to_budget(architecture, 5_000) == fitted  # deterministic


def test_fit_to_budget_simplifies_the_shape_when_the_narrowest_is_too_big():
    architecture = dict(widths_before_pool=[16, 32, 32], transition_width=16, transition_before_pool=False,
                        widths_after_pool=[32] * 5, bn_before_relu=False, pad_after_pool=True,
                        separable=False, first_stride=1, conv_groups=1, shared_repeats=3, head="depthwise")
    at_narrowest = space.narrowed(architecture, 0.02)
    assert space.count_params(at_narrowest) > 1_000
    fitted = space.fit_to_budget(architecture, 1_000)
    assert space.count_params(fitted) <= 1_000
    assert fitted["shared_repeats"] == 0 and fitted["head"] == "gap"  # dropped first
    # At the space's floor everything fits; below it, one line says so.
    assert space.count_params(space.fit_to_budget(architecture, space.min_budget())) <= space.min_budget()
    with pytest.raises(space.BudgetError, match=r"--max_params=100 is below the search space's smallest "
                                                r"networks \(\d+ parameters\); raise it"):
        space.fit_to_budget(architecture, 100)


def test_epochs_are_searched_only_when_given():
    assert "epochs" not in random_point(1)[1]
    epochs = {random_point(seed, epochs_choices=(10, 20, 40))[1]["epochs"] for seed in range(20)}
    assert epochs == {10, 20, 40}


def test_search_can_keep_the_architecture_or_the_recipe():
    architecture_only = space.declare_search_space(keras_tuner.HyperParameters(), search_recipe=False)
    assert "widths_after_pool" in architecture_only and "learning_rate" not in architecture_only
    recipe_only = space.declare_search_space(keras_tuner.HyperParameters(), search_architecture=False)
    assert "model" not in recipe_only and "widths_after_pool" not in recipe_only
    assert {"learning_rate", "batch_size", "augment_rotation", "augmentation", "dropout_scale"} <= set(recipe_only)
    # Unsearched flags are the command line's: here the reference network.
    search_space = space.SearchSpace({"model": "reference"}, search_architecture=False)
    assert models.count_trainable_params(search_space.build(keras_tuner.HyperParameters())) == 16_848


def test_fixed_hyperparameters_are_never_sampled_and_the_rest_are():
    """--fix: an oracle given the fixed space samples every trial with those values, the others free."""
    fixed = space.fixed_hyperparameters({"separable": "true", "shared_repeats": "0", "transition_width": "0",
                                         "weight_decay": "5e-4"})
    oracle = keras_tuner.oracles.RandomSearchOracle(objective="val_accuracy", max_trials=50, seed=3,
                                                    hyperparameters=fixed)
    points = []
    for i in range(12):
        hp = oracle.hyperparameters.copy()
        hp.values = oracle.populate_space(str(i))["values"]
        points.append(space.declare_search_space(hp, max_params=5_000))
    assert {p["separable"] for p in points} == {True}
    assert {p["shared_repeats"] for p in points} == {0} and {p["transition_width"] for p in points} == {0}
    assert {p["weight_decay"] for p in points} == {5e-4}
    assert len({tuple(p["widths_after_pool"]) for p in points}) > 3  # The widths are still searched,
    assert len({p["learning_rate"] for p in points}) > 3  # and so is the rest of the recipe.
    assert all(space.count_params(p) <= 5_000 for p in points)


@pytest.mark.parametrize("fixes, message", [
    ({"separable": "maybe"}, "--fix: separable=maybe is outside the space; separable is true or false"),
    ({"width_first": "40"}, "--fix: width_first=40 is outside the space; width_first is 4 to 16"),
    ({"conv_groups": "3"}, "--fix: conv_groups=3 is outside the space; conv_groups is one of 1, 2, 4"),
    ({"widths": "8"}, "--fix: widths is not searched here; choose from: separable, conv_groups,"),
])
def test_a_fix_outside_the_space_is_refused(fixes, message):
    with pytest.raises(space.FixError) as error:
        space.fixed_hyperparameters(fixes)
    assert str(error.value).startswith(message)
    # Not searched, not fixable: the recipe's names are unknown to an architecture-only search.
    with pytest.raises(space.FixError, match="optimizer is not searched here"):
        space.fixed_hyperparameters({"optimizer": "sgd"}, search_recipe=False)


def test_the_default_space_is_the_one_the_documented_searches_drew_from():
    """Muon is opt-in: the default space declares the hyperparameters it always did, in the same order.

    keras-tuner draws a trial's values from one seeded counter over the space in
    order, so one more choice would redraw every trial of docs/tuning.md's searches.
    """
    hp = keras_tuner.HyperParameters()
    space.declare_search_space(hp)
    recipe_names = [p.name for p in hp.space][[p.name for p in hp.space].index("optimizer"):]
    assert recipe_names == ["optimizer", "sgd_learning_rate", "adamw_learning_rate", "schedule",
                            "warmup_fraction", "batch_size", "weight_decay", "label_smoothing", "augmentation",
                            "augment_rotation", "augment_shift", "augment_scale", "clean_epochs"]
    assert hp.get("optimizer") == "sgd" and space.DEFAULT_OPTIMIZERS == ("sgd", "adamw")


def test_muon_is_searched_with_its_own_learning_rates_when_asked():
    optimizers = ("sgd", "adamw", "muon")
    seen = {}
    for seed in range(30):
        _, flags = random_point(seed, optimizers=optimizers)
        cfg = config.parse(config.as_argv(flags))
        low, high = space.LEARNING_RATE_RANGES[cfg.optimizer]
        assert low <= cfg.learning_rate <= high
        seen.setdefault(cfg.optimizer, set()).add(cfg.learning_rate)
    assert set(seen) == set(optimizers) and all(len(rates) > 1 for rates in seen.values())
    # Held by --fix: every trial is Muon; the fix is refused where Muon is not searched.
    fixed = space.fixed_hyperparameters({"optimizer": "muon"}, optimizers=("sgd", "muon"))
    assert fixed.get("optimizer") == "muon" and fixed.is_active("muon_learning_rate")
    with pytest.raises(space.FixError, match="optimizer=muon is outside the space; optimizer is one of sgd, adamw"):
        space.fixed_hyperparameters({"optimizer": "muon"})


@pytest.mark.parametrize("optimizers", [(), ("sgd", "lion"), ("muon", "muon")])
def test_unknown_or_repeated_optimizers_are_refused(optimizers):
    with pytest.raises(ValueError, match="give one or more of sgd, adamw, muon, each once"):
        space.check_optimizers(optimizers)
