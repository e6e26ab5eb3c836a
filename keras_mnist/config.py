"""Every training hyperparameter as an absl flag, with its validator.

The flags are the configuration: `train_and_evaluate` reads them as attributes,
presets are absl flagfiles in `flags/`, and the metrics JSON records them all.
`parse()` builds an independent set of the same flags, for tests and notebooks.
"""

from absl import flags

from keras_mnist import models

# Flags defined here, in order; `as_dict` and the metrics JSON use this list.
NAMES = []
# The architecture flags: `models.build` hands each builder the ones it takes.
ARCHITECTURE_FLAGS = ("widths_before_pool", "transition_width", "widths_after_pool", "bn_before_relu",
                      "pad_after_pool", "separable")


class _WidthsParser(flags.ListParser):
    """Comma-separated positive integers: `--widths_after_pool=12,12,16`."""

    def parse(self, argument):
        values = super().parse(argument)
        try:
            widths = [int(v) for v in values]
        except ValueError:
            raise ValueError(f"expected comma-separated integers, got {argument!r}") from None
        if not widths or any(w < 1 or w > 256 for w in widths):
            raise ValueError(f"expected one or more widths from 1 to 256, got {argument!r}")
        return widths

    def flag_type(self):
        return "comma-separated list of channel counts"


def _define_widths(name, default, help, flag_values):  # noqa: A002 (absl's argument name)
    flags.DEFINE(_WidthsParser(), name, default, help, flag_values,
                 serializer=flags.CsvListSerializer(","))


def define_flags(flag_values=flags.FLAGS):
    """Registers the training flags and their validators on `flag_values`."""
    fv = dict(flag_values=flag_values)

    def define(definer, name, default, help_text, **kwargs):
        definer(name, default, help=help_text, **kwargs, **fv)
        if name not in NAMES:
            NAMES.append(name)

    # Model.
    define(flags.DEFINE_enum, "model", "seed", "Architecture from the model registry.",
           enum_values=models.names())
    # 0.4 rather than the notebook's 1.0: with augmentation on, the full rates
    # underfit in 20 epochs (chosen on a 10,000-image validation split).
    define(flags.DEFINE_float, "dropout_scale", 0.4,
           "Multiplies every dropout rate of the architecture (0 turns dropout off).",
           lower_bound=0.0, upper_bound=3.0)
    # The `cnn` family's shape (the architecture keras_mnist.tune searches);
    # the defaults are a 7,880-parameter network of full convs.
    define(_define_widths, "widths_before_pool", "8,16", "--model=cnn: channels of each 3x3 conv before the max-pool.")
    define(flags.DEFINE_integer, "transition_width", 8,
           "--model=cnn: channels of the 1x1 conv after the max-pool (0: none).",
           lower_bound=0, upper_bound=256)
    define(_define_widths, "widths_after_pool", "12,12,16,16", "--model=cnn: channels of each 3x3 conv after the max-pool.")
    define(flags.DEFINE_boolean, "bn_before_relu", False,
           "--model=cnn: batch norm before the ReLU (the notebook has it after).")
    define(flags.DEFINE_boolean, "pad_after_pool", False,
           "--model=cnn: 'same' padding for the 3x3 convs after the max-pool, which keep "
           "the pooled map's size (the notebook's convs shrink it).")
    define(flags.DEFINE_boolean, "separable", False,
           "--model=cnn: depthwise-separable 3x3 convs (all but the first), ~1/8 of the "
           "weights of a full conv of the same width.")
    # Optimisation.
    define(flags.DEFINE_integer, "epochs", 20, "Passes over the training set.", lower_bound=1)
    define(flags.DEFINE_integer, "batch_size", 128, "Training batch size.",
           lower_bound=1, upper_bound=60000)
    define(flags.DEFINE_enum, "optimizer", "sgd", "Optimizer.", enum_values=["sgd", "adam", "adamw"])
    define(flags.DEFINE_float, "learning_rate", 0.05,
           "Peak learning rate (the constant one with --schedule=constant).", lower_bound=0.0)
    define(flags.DEFINE_float, "momentum", 0.9, "SGD momentum (Adam's beta_1).",
           lower_bound=0.0, upper_bound=0.999)
    define(flags.DEFINE_boolean, "nesterov", True, "Nesterov momentum for SGD.")
    define(flags.DEFINE_float, "weight_decay", 5e-4,
           "Decoupled weight decay, per unit learning rate (Keras optimizers' weight_decay).",
           lower_bound=0.0, upper_bound=1.0)
    define(flags.DEFINE_enum, "schedule", "onecycle",
           "Learning-rate schedule: constant; cosine decay to zero; onecycle = linear warm-up "
           "to --learning_rate over --warmup_fraction of the steps, then cosine decay to zero.",
           enum_values=["constant", "cosine", "onecycle"])
    define(flags.DEFINE_float, "warmup_fraction", 0.2,
           "Share of all training steps spent warming up (onecycle only).",
           lower_bound=0.0, upper_bound=0.9)
    define(flags.DEFINE_float, "label_smoothing", 0.1, "Label smoothing of the training loss.",
           lower_bound=0.0, upper_bound=0.5)
    # Augmentation (training only; 0 turns each off).
    define(flags.DEFINE_float, "augment_rotation", 10.0,
           "Random rotation of training digits, up to this many degrees either way.",
           lower_bound=0.0, upper_bound=45.0)
    define(flags.DEFINE_float, "augment_shift", 2.0,
           "Random shift of training digits, up to this many pixels each axis.",
           lower_bound=0.0, upper_bound=8.0)
    # Data.
    define(flags.DEFINE_string, "data_dir", None,
           "Folder of the four MNIST IDX files (raw or .gz). Default: $KERAS_MNIST_DATA_DIR, "
           "else tensorflow-datasets.")
    define(flags.DEFINE_integer, "train_size", 0,
           "Train on only the first N training images (0: all). For quick experiments.",
           lower_bound=0, upper_bound=60000)
    define(flags.DEFINE_integer, "validation_size", 0,
           "Hold out N random training images as a validation set, reported every epoch "
           "instead of the test set (which is then reported once, at the end).",
           lower_bound=0, upper_bound=59999)
    define(flags.DEFINE_boolean, "evaluate_test", True,
           "Evaluate the test set at the end. keras_mnist.tune turns this off: model "
           "selection must never see the test set.")
    # Run.
    define(flags.DEFINE_integer, "seed", 1, "Seed of every random choice of the run.", lower_bound=0)
    define(flags.DEFINE_boolean, "deterministic", True,
           "TensorFlow op determinism: same flags and seed on the same machine give the "
           "same result.")
    define(flags.DEFINE_enum, "strategy", "default",
           "tf.distribute strategy: default (one device), mirrored (all local GPUs), or "
           "multi_worker (MultiWorkerMirroredStrategy over the machines of $TF_CONFIG). "
           "--batch_size is the global batch, split between the replicas.",
           enum_values=["default", "mirrored", "multi_worker"])
    define(flags.DEFINE_integer, "steps_per_execution", 1,
           "Training steps per call into the compiled graph.", lower_bound=1)
    define(flags.DEFINE_integer, "verbose", 1,
           "Keras progress display: 0 silent, 1 progress bar, 2 one line per epoch.",
           lower_bound=0, upper_bound=2)
    define(flags.DEFINE_string, "workdir", None,
           "Run folder for checkpoints and logs. Default: runs/<model>_seed<seed>.")
    define(flags.DEFINE_string, "export_dir", "savedmodels",
           "Base folder of exports: <export_dir>/<export_name>/<version>/.")
    define(flags.DEFINE_string, "export_name", None, "Model name under --export_dir. Default: --model.")
    define(flags.DEFINE_boolean, "export", True, "Export the trained model at the end.")
    define(flags.DEFINE_boolean, "export_tflite", True,
           "Also export the TFLite variants (float32, float16, int8) and the model card.")

    flags.register_multi_flags_validator(
        ["evaluate_test", "validation_size", "export"],
        lambda f: f["evaluate_test"] or (f["validation_size"] > 0 and not f["export"]),
        message="--noevaluate_test needs --validation_size (the accuracy to report) and --noexport "
                "(an export reports the test set)", **fv)
    flags.register_multi_flags_validator(
        ["train_size", "validation_size"],
        lambda f: f["validation_size"] < (f["train_size"] or 60000),
        message="--validation_size must be smaller than --train_size (or 60000)", **fv)


def parse(argv=(), flagfile=None):
    """A fresh, parsed set of the training flags: `parse(["--epochs=1"])`.

    Same defaults and validators as the command line, without touching the
    global `absl.flags.FLAGS`.
    """
    fv = flags.FlagValues()
    define_flags(fv)
    args = ["keras_mnist"] + ([f"--flagfile={flagfile}"] if flagfile else []) + list(argv)
    fv(args)
    return fv


def as_dict(config):
    """Flag name -> value, for the metrics JSON."""
    return {name: getattr(config, name) for name in NAMES}


def build_model(config):
    """The (untrained) network the flags describe: --model and its architecture flags."""
    return models.build(config.model, dropout_scale=config.dropout_scale,
                        **{name: getattr(config, name) for name in ARCHITECTURE_FLAGS})


def workdir(config):
    """The run folder: --workdir, else runs/<model>_seed<seed>."""
    return config.workdir or f"runs/{config.model}_seed{config.seed}"
