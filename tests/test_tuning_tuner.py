import json
import os

import keras_tuner
import pytest

from keras_mnist.tuning import space, tuner


def make_tuner(tmp_path, mnist, max_params, **kwargs):
    oracle = tuner.make_oracle("bayesian", max_trials=20, max_epochs=1, seed=1)
    return tuner.TrainingTuner(oracle, {"validation_size": 200, "epochs": 1, "verbose": 0},
                               max_params=max_params, mnist=mnist, directory=str(tmp_path),
                               project_name="search", **kwargs)


def test_every_trial_the_oracle_samples_fits_a_small_budget(small_mnist, tmp_path):
    search = make_tuner(tmp_path, small_mnist, max_params=1_500)
    narrowed = 0
    for _ in range(12):
        trial = search.oracle.create_trial("tuner0")
        assert trial.status == "RUNNING"
        config = search.trial_config(trial)
        assert tuner.count_params(config) <= 1_500  # The network as built, no trial refused.
        hp = trial.hyperparameters
        sampled = space.declare_search_space(hp)  # The same point without the budget.
        narrowed += space.count_params(sampled) > 1_500
        trial.status = "COMPLETED"
        search.oracle.update_trial(trial.trial_id, {tuner.OBJECTIVE.name: 0.9 + 0.001 * len(config.widths_after_pool)})
        search.oracle.end_trial(trial)
    assert narrowed > 0  # The budget was binding: sampled networks were narrowed to fit.


def test_a_network_over_the_budget_is_refused_before_it_trains(small_mnist, tmp_path):
    # Not searched, the command line's network must fit: one line before anything runs ...
    with pytest.raises(space.BudgetError, match="keeps the command line's network, 16,848 trainable parameters "
                                                "> --max_params=8,000"):
        tuner.check_budget({"model": "reference"}, 8_000, search_architecture=False)
    with pytest.raises(space.BudgetError, match="--max_params=100 is below the search space's smallest"):
        tuner.check_budget({}, 100, search_architecture=True)
    tuner.check_budget({}, space.min_budget(), search_architecture=True)
    # ... and a trial over it (a bug of the space) stops the search untrained, not silently skipped.
    search = make_tuner(tmp_path, small_mnist, max_params=8_000, search_architecture=False)
    search.hypermodel.base_flags["model"] = "reference"
    trial = search.oracle.create_trial("tuner0")
    with pytest.raises(keras_tuner.errors.FatalError, match="16,848 trainable parameters > --max_params=8,000"):
        search.run_trial(trial)
    assert not os.path.exists(os.path.join(search.get_trial_dir(trial.trial_id), "run"))


def test_bayesian_search_can_start_guided_after_a_few_random_trials(small_mnist, tmp_path):
    """--initial_trials: after that many finished trials the Gaussian process picks the next one."""
    oracle = tuner.make_oracle("bayesian", max_trials=20, max_epochs=1, seed=1, initial_trials=2)
    search = tuner.TrainingTuner(oracle, {"validation_size": 200, "epochs": 1, "verbose": 0}, max_params=5_000,
                                 mnist=small_mnist, directory=str(tmp_path), project_name="search")
    fitted = []
    original = oracle.gpr.fit
    oracle.gpr.fit = lambda *args, **kwargs: fitted.append(len(args[0])) or original(*args, **kwargs)
    for score in (0.9, 0.95, 0.97):
        trial = search.oracle.create_trial("tuner0")
        search.oracle.update_trial(trial.trial_id, {tuner.OBJECTIVE.name: score})
        trial.status = "COMPLETED"
        search.oracle.end_trial(trial)
    assert fitted == [2]  # Trials 1-2 random; trial 3 from the process fitted to those two.


def test_a_search_with_fixes_that_turn_on_conditional_hyperparameters(small_mnist, tmp_path):
    """--fix=optimizer=adamw,augmentation=affine,transition_width=8 turns on hyperparameters that the
    space's defaults leave off (AdamW's learning rate, the warp's scale, the transition's place): the
    tuner starts, and every trial holds the fixes and samples those."""
    fixed = space.fixed_hyperparameters({"optimizer": "adamw", "augmentation": "affine", "transition_width": "8",
                                         "width_last": "24"})
    oracle = tuner.make_oracle("bayesian", max_trials=20, max_epochs=1, seed=1, hyperparameters=fixed)
    search = tuner.TrainingTuner(oracle, {"validation_size": 200, "epochs": 1, "verbose": 0}, max_params=5_000,
                                 mnist=small_mnist, directory=str(tmp_path), project_name="search")
    configs = []
    for _ in range(6):
        trial = search.oracle.create_trial("tuner0")
        configs.append(search.trial_config(trial))
        search.oracle.update_trial(trial.trial_id, {tuner.OBJECTIVE.name: 0.9})
        trial.status = "COMPLETED"
        search.oracle.end_trial(trial)
    assert {c.optimizer for c in configs} == {"adamw"} and {c.augmentation for c in configs} == {"affine"}
    assert len({c.learning_rate for c in configs}) > 1 and len({c.augment_scale for c in configs}) > 1
    assert all(c.transition_width in (4, 8) for c in configs)  # 8, or narrowed to fit the budget.
    assert len({c.transition_before_pool for c in configs}) == 2


def test_a_trial_scored_on_several_seeds_trains_once_per_seed_and_scores_their_mean(small_mnist, tmp_path):
    search = make_tuner(tmp_path, small_mnist, max_params=5_000, trial_seeds=(1, 2))
    trial = search.oracle.create_trial("tuner0")
    result = search.run_trial(trial)
    trial_dir = search.get_trial_dir(trial.trial_id)
    # One training per seed, each in its own folder, with that seed's own score.
    finals = {}
    for seed in (1, 2):
        with open(os.path.join(trial_dir, f"run_seed{seed}", "metrics.json")) as f:
            finals[seed] = json.load(f)["final_validation_accuracy"]
        assert result[f"val_accuracy_seed{seed}"] == finals[seed]
    assert finals[1] != finals[2]  # Two seeds, two different trainings.
    assert result[tuner.OBJECTIVE.name] == pytest.approx((finals[1] + finals[2]) / 2)
    with open(os.path.join(trial_dir, "trial.flags")) as f:
        assert "scored on seeds 1, 2 (mean)" in f.readline()
