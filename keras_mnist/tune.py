"""Searches the `cnn` family and its training recipe with keras-tuner.

    python -m keras_mnist.tune --tuner=hyperband --epochs=27 --max_params=5000 --tune_dir=runs/tune5k
    python -m keras_mnist.train --flagfile=runs/tune5k/best.flags
    python -m keras_mnist.tuning.frontier runs/tune5k --out=docs/frontier.png

The parameter budget is part of the search space: a sampled network over
--max_params is narrowed until it fits, so every trial trains (docs/tuning.md).

Trials are scored by final-epoch accuracy on --validation_size images held out
of the training set; the test set is never evaluated. Training flags given here
(--epochs, --validation_size, --train_size, ...) apply to every trial, with the
search's own defaults --epochs=15 --validation_size=10000 --verbose=2; the
searched ones are each trial's own. An interrupted search resumes from
--tune_dir when run again with the same command. For a distributed search, run
the same command on every machine with keras-tuner's variables set:
KERASTUNER_TUNER_ID=chief on one, tuner0, tuner1, ... on the others, and
KERASTUNER_ORACLE_IP / KERASTUNER_ORACLE_PORT the chief's address (127.0.0.1
for workers on one machine, each with --threads=cores/workers).
"""

import os
import sys

from absl import app, flags, logging
from keras_tuner.src import config as kt_config
from keras_tuner.src.distribute import utils as kt_distribute

from keras_mnist import config, data, models
from keras_mnist.training import distill
from keras_mnist.tuning import tuner

config.define_flags()
flags.adopt_module_key_flags(config)
# The search's own defaults for training flags; set when the search runs, so that
# importing this module beside keras_mnist.train leaves train's defaults alone.
SEARCH_DEFAULTS = {"validation_size": 10_000, "epochs": 15, "verbose": 2}

_TUNER = flags.DEFINE_enum("tuner", "hyperband", ["hyperband", "bayesian"],
                           "Search algorithm: Hyperband (trials of growing epochs, up to --epochs) "
                           "or Bayesian optimisation (--max_trials trials of --epochs).")
_MAX_TRIALS = flags.DEFINE_integer("max_trials", 20, "Trials of the Bayesian search.", lower_bound=1)
_INITIAL_TRIALS = flags.DEFINE_integer(
    "initial_trials", None,
    "--tuner=bayesian: random trials before the Gaussian process picks the rest (default: keras-tuner's, "
    "3 per searched hyperparameter, which makes a search of tens of trials a random one).", lower_bound=1)
_HYPERBAND_FACTOR = flags.DEFINE_integer("hyperband_factor", 3, "Hyperband's reduction factor.",
                                         lower_bound=2)
_MAX_PARAMS = flags.DEFINE_integer("max_params", 20_000,
                                   "Trainable-parameter budget, part of the search space: a sampled "
                                   "network over it is narrowed (then simplified) until it fits, so "
                                   "every trial trains.", lower_bound=1)
_EPOCHS_CHOICES = flags.DEFINE_list("epochs_choices", [],
                                    "--tuner=bayesian: epochs searched per trial, e.g. 15,25,40 "
                                    "(default: every trial trains --epochs; Hyperband sets its own).")
_TRIAL_SEEDS = flags.DEFINE_list(
    "trial_seeds", [],
    "Score each trial by the mean final validation accuracy of one training per seed, e.g. 1,2 (default: "
    "one training, of --seed). A small network's seeds differ by ~0.1 point, as much as good trials do.")
_THREADS = flags.DEFINE_integer("threads", 0,
                                "TensorFlow threads of this process (intra- and inter-op); 0: "
                                "TensorFlow's default, every core. N search workers on one machine: "
                                "--threads=cores/N each.", lower_bound=0)
_TUNE_DIR = flags.DEFINE_string("tune_dir", "runs/tune",
                                "Folder of the search: trials, the oracle's state, best.flags.")
_BEST_FLAGFILE = flags.DEFINE_string("best_flagfile", None,
                                     "Where to write the best trial's flagfile. "
                                     "Default: <tune_dir>/best.flags.")
_SEARCH_ARCHITECTURE = flags.DEFINE_boolean(
    "search_architecture", True,
    "Search the cnn family's shape; --nosearch_architecture keeps --model and its flags.")
_SEARCH_RECIPE = flags.DEFINE_boolean(
    "search_recipe", True,
    "Search the training recipe (optimizer, learning rate, schedule, batch, weight decay, "
    "label smoothing, augmentation); --nosearch_recipe keeps the training flags given. "
    "The dropout is searched either way.")
_OPTIMIZERS = flags.DEFINE_list(
    "optimizers", list(tuner.DEFAULT_OPTIMIZERS),
    "Optimizers the searched recipe chooses among, each with its own learning-rate range: "
    "sgd, adamw, muon (Muon for the conv kernels, as flags/quick.flags). Muon is not in the "
    "default, which keeps the space that the searches in docs/tuning.md drew from.")
_FIX = flags.DEFINE_list(
    "fix", [],
    "Searched hyperparameters held at one value, name=value, e.g. separable=true,shared_repeats=0: "
    "a search narrowed to where earlier trials did well (names: docs/tuning.md). For a new search: "
    "one resumed from --tune_dir keeps the space it was started with.")
_OVERWRITE = flags.DEFINE_boolean("overwrite", False,
                                  "Start the search over instead of resuming --tune_dir.")



def use_search_defaults(flag_values=flags.FLAGS):
    """Gives the training flags the search's defaults (a flag given keeps its value)."""
    for name, value in SEARCH_DEFAULTS.items():
        flag_values.set_default(name, value)


def _whole_numbers(flag, values, unit=""):
    """The comma-list flag `flag`'s `values` as integers; a one-line error for any that is not one."""
    try:
        return [int(v) for v in values]
    except ValueError:
        sys.exit(f"error: --{flag} must be whole numbers{unit}, got {','.join(values)}")


def _trial_seeds(values):
    """--trial_seeds as distinct non-negative integers, in order; a one-line error for bad ones."""
    seeds = _whole_numbers("trial_seeds", values)
    if any(seed < 0 for seed in seeds) or len(set(seeds)) != len(seeds):
        sys.exit(f"error: --trial_seeds must be distinct seeds >= 0, got {','.join(values)}")
    return tuple(seeds)


def _epochs_choices(values, tuner_kind):
    """--epochs_choices as sorted integers; a one-line error for bad ones."""
    if not values:
        return ()
    if tuner_kind == "hyperband":
        sys.exit("error: --epochs_choices is for --tuner=bayesian; Hyperband sets each trial's epochs "
                 "(up to --epochs)")
    choices = sorted(set(_whole_numbers("epochs_choices", values, unit=" of epochs")))
    if choices[0] < 1:
        sys.exit(f"error: --epochs_choices must be at least 1, got {','.join(values)}")
    return tuple(choices)


def _fixes(values):
    """--fix as {name: text}; a one-line error for an item that is not name=value."""
    fixes = {}
    for item in values:
        name, sep, text = (part.strip() for part in item.partition("="))
        if not sep or not name or not text:
            sys.exit(f"error: --fix takes name=value items, e.g. --fix=separable=true,shared_repeats=0; "
                     f"got {item!r}")
        if name in fixes:
            sys.exit(f"error: --fix gives {name} twice; give each name once")
        fixes[name] = text
    return fixes


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {' '.join(argv[1:])}")
    FLAGS = flags.FLAGS
    use_search_defaults(FLAGS)
    if FLAGS.validation_size <= 0:
        sys.exit("error: the search scores trials on a validation split: --validation_size must be > 0")
    epochs_choices = _epochs_choices(_EPOCHS_CHOICES.value, _TUNER.value)
    trial_seeds = _trial_seeds(_TRIAL_SEEDS.value)
    try:
        optimizers = tuner.check_optimizers(_OPTIMIZERS.value)
    except ValueError as e:
        sys.exit(f"error: {e}")
    searched = dict(search_architecture=_SEARCH_ARCHITECTURE.value, search_recipe=_SEARCH_RECIPE.value,
                    epochs_choices=epochs_choices, optimizers=optimizers)
    try:
        hyperparameters = tuner.fixed_hyperparameters(_fixes(_FIX.value), **searched)
    except tuner.FixError as e:
        sys.exit(f"error: {e}")
    logging.set_verbosity(logging.WARNING)
    # keras-tuner prints every failed trial's traceback; the tuner prints one line instead.
    kt_config.DEBUG = False
    if _THREADS.value:
        import tensorflow as tf  # Before TensorFlow runs anything: the thread pools are made once.

        tf.config.threading.set_intra_op_parallelism_threads(_THREADS.value)
        tf.config.threading.set_inter_op_parallelism_threads(_THREADS.value)
    base_flags = {k: v for k, v in config.as_dict(config.from_flags(FLAGS)).items() if v is not None}
    try:
        tuner.check_budget(base_flags, _MAX_PARAMS.value, _SEARCH_ARCHITECTURE.value)
        if FLAGS.teacher:  # Checked once here, not failed in every trial.
            distill.load_teacher(FLAGS.teacher, config.from_flags(FLAGS))
        mnist = data.load(FLAGS.data_dir)
        search = tuner.TrainingTuner(
            tuner.make_oracle(_TUNER.value, _MAX_TRIALS.value, FLAGS.epochs, FLAGS.seed,
                              _HYPERBAND_FACTOR.value, initial_trials=_INITIAL_TRIALS.value,
                              hyperparameters=hyperparameters),
            base_flags, _MAX_PARAMS.value, mnist, **searched, trial_seeds=trial_seeds,
            directory=_TUNE_DIR.value, project_name="search", overwrite=_OVERWRITE.value)
        search.search()
    except (data.DataError, models.ArchitectureError, tuner.BudgetError, distill.TeacherError) as e:
        sys.exit(f"error: {e}")
    except RuntimeError as e:  # keras-tuner gives up after too many failed trials in a row.
        sys.exit(f"error: {str(e).splitlines()[0]} (see the trials in {_TUNE_DIR.value})")
    if kt_distribute.has_chief_oracle() and not kt_distribute.is_chief_oracle():
        print(f"{os.environ['KERASTUNER_TUNER_ID']}: no trials left; the chief writes the result")
        return
    counts = tuner.summarize(search)
    best = tuner.best_trial(search)
    if best is None:
        sys.exit(f"error: no trial finished ({counts['failed']} failed); see the trials in {_TUNE_DIR.value}")
    best_config = search.trial_config(best)
    accuracy = best.score
    path = _BEST_FLAGFILE.value or os.path.join(_TUNE_DIR.value, "best.flags")
    params = tuner.count_params(best_config)
    tuner.write_flagfile(path, best_config, [
        f"Best of {counts['completed']} trials ({counts['failed']} failed) of:",
        "  python -m keras_mnist.tune " + " ".join(FLAGS[name].serialize() for name in FLAGS if FLAGS[name].present),
        f"trial {best.trial_id}: {params:,} trainable parameters, final validation accuracy "
        f"{100 * accuracy:.2f} % ({FLAGS.validation_size:,} held-out training images"
        + (f"; the mean of seeds {','.join(map(str, trial_seeds))})." if trial_seeds else ")."),
        f"Train it: python -m keras_mnist.train --flagfile={path}",
    ])
    print(f"Best trial {best.trial_id}: {params:,} parameters, validation accuracy "
          f"{100 * accuracy:.2f} %; {counts['completed']} trials completed, {counts['failed']} "
          f"failed. Recipe: {path}")


def run():
    """Console-script entry point."""
    use_search_defaults()  # Before parsing, so that --help shows them.
    app.run(main)


if __name__ == "__main__":
    run()
