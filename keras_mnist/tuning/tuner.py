"""Architecture and hyperparameter search with keras-tuner.

Every trial is a training run of `trainer.train_and_evaluate`: the search space
maps a trial's hyperparameters to training flags (`space.py`), so the best
trial is a flagfile that `python -m keras_mnist.train` runs unchanged. Trials
train the registry's `cnn` family on the training images minus a validation
split and are scored by the final epoch's validation accuracy; the test set is
never evaluated (`--noevaluate_test`).
"""

import os

import keras_tuner
from keras_tuner.engine import base_tuner

from keras_mnist import config as config_lib
from keras_mnist import models
from keras_mnist.training import trainer
from keras_mnist.tuning.frontier import PARAMS_METRIC, TRIAL_FLAGFILE
from keras_mnist.tuning.space import (DEFAULT_OPTIMIZERS, BudgetError, FixError, SearchSpace, check_optimizers,
                                     fixed_hyperparameters, min_budget)

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")


class OverBudget(keras_tuner.errors.FatalError):
    """A trial has more trainable parameters than --max_params: the space failed to fit it (a bug)."""




class TrainingTuner(base_tuner.BaseTuner):
    """Runs each trial as a `train_and_evaluate` run, within the parameter budget.

    The budget belongs to the search space: a searched architecture is
    narrowed to fit `max_params` before it is a trial (`space.fit_to_budget`),
    so no trial is refused. With the architecture not searched, the command
    line's network must fit (`check_budget`).

    Args:
      oracle: a keras_tuner oracle with objective `OBJECTIVE`.
      base_flags: training flags every trial starts from (a dict; trials
        override the searched ones). Must hold a `validation_size`.
      max_params: trainable-parameter budget.
      mnist: the `data.Mnist` to train on (loaded once, shared by the trials).
      search_architecture, search_recipe: what to search (see `declare_search_space`).
      epochs_choices: epochs to search per trial (empty: every trial trains --epochs).
      optimizers: the optimizers the searched recipe chooses among.
      trial_seeds: score each trial by the mean final validation accuracy of one
        training per seed (empty: one training, of the base flags' seed). Seeds
        move a small network's score by ~0.1 point, as much as good trials
        differ, so a one-seed score flatters the luckiest draw (docs/tuning.md).
    """

    def __init__(self, oracle, base_flags, max_params, mnist, search_architecture=True,
                 search_recipe=True, epochs_choices=(), optimizers=DEFAULT_OPTIMIZERS, trial_seeds=(),
                 **kwargs):
        super().__init__(oracle, hypermodel=SearchSpace(base_flags, search_architecture, search_recipe,
                                                        max_params=max_params, epochs_choices=epochs_choices,
                                                        optimizers=optimizers),
                         **kwargs)
        self.max_params, self.mnist, self.trial_seeds = max_params, mnist, tuple(trial_seeds)

    def trial_config(self, trial, seed=None):
        """The parsed training flags of `trial` (trained with `seed`, when given, in a folder of its own)."""
        flags = self.hypermodel.trial_flags(trial.hyperparameters.copy())
        run = "run" if seed is None else f"run_seed{seed}"
        flags.update(evaluate_test=False, export=False, workdir=os.path.join(self.get_trial_dir(trial.trial_id), run))
        if seed is not None:
            flags["seed"] = seed
        return config_lib.parse(config_lib.as_argv(flags))

    def run_trial(self, trial, *args, **kwargs):
        config = self.trial_config(trial)
        params = count_params(config)
        if params > self.max_params:
            # The space fits every network it gives to the budget: this is a bug, not a candidate.
            raise OverBudget(f"{params:,} trainable parameters > --max_params={self.max_params:,}")
        scored_on = f", scored on seeds {', '.join(map(str, self.trial_seeds))} (mean)" if self.trial_seeds else ""
        write_flagfile(os.path.join(self.get_trial_dir(trial.trial_id), TRIAL_FLAGFILE), config,
                       [f"trial {trial.trial_id}: {params:,} trainable parameters{scored_on}"])
        runs = [self.trial_config(trial, seed) for seed in self.trial_seeds] or [config]
        accuracies = {}
        try:
            for run in runs:
                accuracies[run.seed] = trainer.train_and_evaluate(run, self.mnist)["final_validation_accuracy"]
        except trainer.TrainingDiverged as e:
            raise keras_tuner.errors.FailedTrialError(str(e)) from None
        # With several seeds each one's score is kept beside the mean, in the trial's metrics.
        per_seed = {f"{OBJECTIVE.name}_seed{seed}": value for seed, value in accuracies.items()}
        return {OBJECTIVE.name: sum(accuracies.values()) / len(accuracies), PARAMS_METRIC: float(params),
                **(per_seed if self.trial_seeds else {})}

    def on_trial_end(self, trial):
        if trial.status in ("FAILED", "INVALID") and trial.message:
            # One line per failed trial; the traceback stays in its trial.json.
            reason = trial.message.strip().splitlines()[-1]
            print(f"trial_{trial.trial_id} failed: {reason.split(': ', 1)[-1]}", flush=True)
        super().on_trial_end(trial)


def make_oracle(kind, max_trials, max_epochs, seed, hyperband_factor=3, initial_trials=None,
                hyperparameters=None):
    """A Hyperband or Bayesian-optimisation oracle maximising `OBJECTIVE`.

    `initial_trials`: the Bayesian oracle's random trials before its Gaussian process
    chooses (None: keras-tuner's default, 3 per hyperparameter).
    `hyperparameters`: the space with some held fixed (`space.fixed_hyperparameters`).

    Up to 5 failed trials in a row (diverged trainings) are allowed before
    the search gives up; no trial fails for its size (the space fits it).
    """
    common = dict(objective=OBJECTIVE, seed=seed, max_consecutive_failed_trials=5,
                  hyperparameters=hyperparameters)
    if kind == "hyperband":
        return keras_tuner.oracles.HyperbandOracle(max_epochs=max_epochs, factor=hyperband_factor,
                                                   **common)
    if kind == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(max_trials=max_trials,
                                                              num_initial_points=initial_trials, **common)
    raise ValueError(f"unknown tuner {kind!r}; choose hyperband or bayesian")


def check_budget(base_flags, max_params, search_architecture):
    """Raises space.BudgetError when no trial of the search can fit `max_params`.

    Searched, every network is narrowed to fit, down to `space.min_budget()`;
    not searched, the command line's network must fit as it is.
    """
    if search_architecture:
        if max_params < min_budget():
            raise BudgetError(f"--max_params={max_params:,} is below the search space's smallest networks "
                              f"({min_budget():,} parameters); raise it")
        return
    params = count_params(config_lib.parse(config_lib.as_argv(base_flags)))
    if params > max_params:
        raise BudgetError(f"--nosearch_architecture keeps the command line's network, {params:,} trainable "
                          f"parameters > --max_params={max_params:,}")


def best_trial(tuner):
    """The completed trial with the highest validation accuracy, or None."""
    ranked = tuner.oracle.get_best_trials(len(tuner.oracle.trials))
    completed = [t for t in ranked if t.status == "COMPLETED" and t.score is not None]
    return completed[0] if completed else None


def write_flagfile(path, config, comment_lines):
    """Writes the recipe of `config` as an absl flagfile, `# comment` lines first."""
    lines = [f"# {line}" for line in comment_lines] + config_lib.as_argv(config_lib.recipe_flags(config))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    staging = f"{path}.tmp"
    with open(staging, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(staging, path)  # A reader never sees half a flagfile.


def summarize(tuner):
    """Counts of completed and failed trials."""
    trials = tuner.oracle.trials.values()
    count = lambda status: sum(t.status == status for t in trials)  # noqa: E731
    return {"completed": count("COMPLETED"), "failed": count("FAILED"), "total": len(trials)}


def count_params(config):
    """Trainable parameters of the network `config` describes."""
    return models.count_trainable_params(config_lib.build_model(config))
