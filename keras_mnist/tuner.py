"""Architecture and hyperparameter search with keras-tuner.

Every trial is a training run of `trainer.train_and_evaluate`: the search space
maps a trial's hyperparameters to training flags (`trial_flags`), so the best
trial is a flagfile that `python -m keras_mnist.train` runs unchanged. Trials
train the registry's `cnn` family on the training images minus a validation
split and are scored by the final epoch's validation accuracy; the test set is
never evaluated (`--noevaluate_test`).
"""

import os

import keras_tuner
from keras_tuner.engine import base_tuner

from keras_mnist import config as config_lib
from keras_mnist import models, trainer

OBJECTIVE = keras_tuner.Objective("val_accuracy", direction="max")

# Flags a flagfile of a recipe leaves out: they say where and how a run is
# done (data, folders, output, the seed), not what is trained.
RUN_FLAGS = ("data_dir", "train_size", "validation_size", "evaluate_test", "seed", "verbose", "strategy",
             "workdir", "export", "export_dir", "export_name", "export_tflite")

MAX_CONVS_BEFORE_POOL = 3
MAX_CONVS_AFTER_POOL = 5


class OverBudget(keras_tuner.errors.FailedTrialError):
    """A candidate has more trainable parameters than --max_params."""


def declare_search_space(hp, search_architecture=True, search_recipe=True):
    """Declares the search space on `hp` and returns the trial's training flags.

    The architecture: the `cnn` family with 2-3 convs before the pool, an
    optional 1x1 transition, 3-5 convs after it (so the global average pool
    sees a map of 6x6 or less and the receptive field covers most of the
    digit), full or depthwise-separable convs (twice as wide), batch norm
    before or after the ReLU, and the dropout. Widths step
    by 4: oneDNN's CPU convolutions run other widths (6, 10, 14 ...) at half
    speed or worse. The recipe: optimizer and learning rate, schedule, batch
    size, weight decay, label smoothing, augmentation. What is not searched is
    the command line's.
    """
    flags = {}
    if search_architecture:
        flags["model"] = "cnn"
        flags["separable"] = hp.Boolean("separable")
        # A separable 3x3 conv has ~1/8 of a full one's weights: the same budget buys twice the widths.
        scale = 2 if flags["separable"] else 1
        flags["widths_before_pool"] = [scale * w for w in _widths(hp, "before_pool", 2, MAX_CONVS_BEFORE_POOL, 4, 16)]
        flags["transition_width"] = hp.Choice("transition_width", [0, 8, 12, 16])
        flags["widths_after_pool"] = [scale * w for w in _widths(hp, "after_pool", 3, MAX_CONVS_AFTER_POOL, 8, 24)]
        flags["bn_before_relu"] = hp.Boolean("bn_before_relu")
    flags["dropout_scale"] = hp.Float("dropout_scale", 0.0, 0.5, step=0.1)
    if search_recipe:
        flags.update(_declare_recipe(hp))
    # Hyperband sets each trial's epochs; other oracles train every trial for --epochs.
    if "tuner/epochs" in hp.values:
        flags["epochs"] = hp.values["tuner/epochs"]
    return flags


def _declare_recipe(hp):
    flags = {}
    flags["optimizer"] = hp.Choice("optimizer", ["sgd", "adamw"])
    # Each optimizer has its own range of good learning rates.
    with hp.conditional_scope("optimizer", ["sgd"]):
        sgd_rate = hp.Float("sgd_learning_rate", 0.02, 0.2, sampling="log")
    with hp.conditional_scope("optimizer", ["adamw"]):
        adamw_rate = hp.Float("adamw_learning_rate", 0.002, 0.02, sampling="log")
    flags["learning_rate"] = sgd_rate if flags["optimizer"] == "sgd" else adamw_rate
    flags["schedule"] = hp.Choice("schedule", ["onecycle", "cosine"])
    flags["batch_size"] = hp.Choice("batch_size", [64, 128, 256])
    flags["weight_decay"] = hp.Choice("weight_decay", [0.0, 1e-4, 5e-4, 1e-3])
    flags["label_smoothing"] = hp.Float("label_smoothing", 0.0, 0.15, step=0.05)
    flags["augment_rotation"] = hp.Float("augment_rotation", 0.0, 15.0, step=2.5)
    flags["augment_shift"] = hp.Float("augment_shift", 0.0, 3.0, step=1.0)
    return flags


def _widths(hp, where, least, most, narrowest, widest):
    """A list of `least`..`most` conv widths; width i is searched only when used."""
    count = hp.Int(f"convs_{where}", least, most)
    widths = []
    for i in range(most):
        with hp.conditional_scope(f"convs_{where}", list(range(i + 1, most + 1))):
            width = hp.Int(f"width_{where}_{i}", narrowest, widest, step=4)
        if i < count:
            widths.append(width)
    return widths


def as_argv(flags):
    """{"widths_before_pool": [8, 16], "nesterov": False} -> ["--widths_before_pool=8,16", "--nonesterov"]."""
    argv = []
    for name, value in flags.items():
        if isinstance(value, bool):
            argv.append(f"--{name}" if value else f"--no{name}")
        elif isinstance(value, float):
            argv.append(f"--{name}={value:.6g}")  # 0.3, not 0.30000000000000004.
        elif isinstance(value, (list, tuple)):
            argv.append(f"--{name}={','.join(str(v) for v in value)}")
        else:
            argv.append(f"--{name}={value}")
    return argv


class SearchSpace(keras_tuner.HyperModel):
    """The hypermodel: builds the network of a trial's hyperparameters."""

    def __init__(self, base_flags=None, search_architecture=True, search_recipe=True):
        super().__init__()
        self.base_flags = dict(base_flags or {})
        self.searched = dict(search_architecture=search_architecture, search_recipe=search_recipe)

    def trial_flags(self, hp):
        """The training flags of a trial: the base flags, with the searched ones replaced."""
        return {**self.base_flags, **declare_search_space(hp, **self.searched)}

    def build(self, hp):
        return config_lib.build_model(config_lib.parse(as_argv(self.trial_flags(hp))))


class TrainingTuner(base_tuner.BaseTuner):
    """Runs each trial as a `train_and_evaluate` run; rejects over-budget networks untrained.

    Args:
      oracle: a keras_tuner oracle with objective `OBJECTIVE`.
      base_flags: training flags every trial starts from (a dict; trials
        override the searched ones). Must hold a `validation_size`.
      max_params: trainable-parameter budget.
      mnist: the `data.Mnist` to train on (loaded once, shared by the trials).
      search_architecture, search_recipe: what to search (see `declare_search_space`).
    """

    def __init__(self, oracle, base_flags, max_params, mnist, search_architecture=True,
                 search_recipe=True, **kwargs):
        super().__init__(oracle, hypermodel=SearchSpace(base_flags, search_architecture, search_recipe),
                         **kwargs)
        self.max_params, self.mnist = max_params, mnist

    def trial_config(self, trial):
        """The parsed training flags of `trial`."""
        flags = self.hypermodel.trial_flags(trial.hyperparameters.copy())
        flags.update(evaluate_test=False, export=False,
                     workdir=os.path.join(self.get_trial_dir(trial.trial_id), "run"))
        return config_lib.parse(as_argv(flags))

    def run_trial(self, trial, *args, **kwargs):
        config = self.trial_config(trial)
        params = count_params(config)
        if params > self.max_params:
            # Raised before training: the trial is marked failed and the search goes on.
            raise OverBudget(f"{params:,} trainable parameters > --max_params={self.max_params:,}")
        try:
            metrics = trainer.train_and_evaluate(config, self.mnist)
        except trainer.TrainingDiverged as e:
            raise keras_tuner.errors.FailedTrialError(str(e)) from None
        return {OBJECTIVE.name: metrics["final_validation_accuracy"]}

    def on_trial_end(self, trial):
        if trial.status in ("FAILED", "INVALID") and trial.message:
            # One line per rejected or failed trial; the traceback stays in its trial.json.
            reason = trial.message.strip().splitlines()[-1]
            print(f"trial_{trial.trial_id} {'rejected' if 'OverBudget' in reason else 'failed'}: "
                  f"{reason.split(': ', 1)[-1]}", flush=True)
        super().on_trial_end(trial)


def make_oracle(kind, max_trials, max_epochs, seed, hyperband_factor=3):
    """A Hyperband or Bayesian-optimisation oracle maximising `OBJECTIVE`.

    Over-budget candidates fail at once; up to max(`max_trials`, 10) of them
    in a row are allowed before the search gives up (the budget is then too
    tight for the space).
    """
    common = dict(objective=OBJECTIVE, seed=seed, max_consecutive_failed_trials=max(max_trials, 10))
    if kind == "hyperband":
        return keras_tuner.oracles.HyperbandOracle(max_epochs=max_epochs, factor=hyperband_factor,
                                                   **common)
    if kind == "bayesian":
        return keras_tuner.oracles.BayesianOptimizationOracle(max_trials=max_trials, **common)
    raise ValueError(f"unknown tuner {kind!r}; choose hyperband or bayesian")


def best_trial(tuner):
    """The completed trial with the highest validation accuracy, or None."""
    ranked = tuner.oracle.get_best_trials(len(tuner.oracle.trials))
    completed = [t for t in ranked if t.status == "COMPLETED" and t.score is not None]
    return completed[0] if completed else None


def recipe_flags(config):
    """The flags of `config` that define what is trained (no data, folders or seed)."""
    return {k: v for k, v in config_lib.as_dict(config).items() if k not in RUN_FLAGS}


def write_flagfile(path, config, comment_lines):
    """Writes the recipe of `config` as an absl flagfile, `# comment` lines first."""
    lines = [f"# {line}" for line in comment_lines] + as_argv(recipe_flags(config))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    staging = f"{path}.tmp"
    with open(staging, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.replace(staging, path)  # A reader never sees half a flagfile.


def summarize(tuner):
    """Counts of completed and rejected (failed) trials."""
    trials = tuner.oracle.trials.values()
    count = lambda status: sum(t.status == status for t in trials)  # noqa: E731
    return {"completed": count("COMPLETED"), "failed": count("FAILED"), "total": len(trials)}


def count_params(config):
    """Trainable parameters of the network `config` describes."""
    return models.count_trainable_params(config_lib.build_model(config))
