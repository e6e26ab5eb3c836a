"""The one table of training flags, each with its kind, and the plain config built from them.

Kinds (what changing the flag changes):
  architecture  the network: --model and the shape flags of its builder;
  recipe        how it is trained: optimizer, schedule, regularisation, augmentation;
  run           this run's data subset, seed and execution: changes the numbers,
                but is not part of a recipe flagfile;
  io            where data comes from and results go, how much is printed: a run
                may resume with other values.
Resume compatibility (`resume_flags`), the tuner's recipe flagfiles
(`recipe_flags`) and the metrics record (`as_dict`) are derived from the table.

Libraries take a `Config` (a frozen dataclass), never absl's global FLAGS:
`parse(["--epochs=1"])` builds one from flags, `from_flags(FLAGS)` from a CLI's.
"""

import dataclasses

from absl import flags

from keras_mnist import models

ARCHITECTURE, RECIPE, RUN, IO = "architecture", "recipe", "run", "io"


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


@dataclasses.dataclass(frozen=True)
class Flag:
    """One row of the table: how absl defines the flag, and its kind."""

    kind: str
    definer: object
    name: str
    default: object
    help: str
    kwargs: dict = dataclasses.field(default_factory=dict)


def _flag(kind, definer, name, default, help_text, **kwargs):
    return Flag(kind, definer, name, default, help_text, kwargs)


TABLE = (
    # Architecture.
    _flag(ARCHITECTURE, flags.DEFINE_enum, "model", "reference",
          "Architecture from the model registry (--model=seed: the old name of reference).",
          enum_values=models.names() + sorted(models.ALIASES)),
    # The `cnn` family's shape (the architecture keras_mnist.tune searches);
    # the defaults are a 7,880-parameter network of full convs.
    _flag(ARCHITECTURE, _define_widths, "widths_before_pool", "8,16",
          "--model=cnn: channels of each 3x3 conv before the max-pool."),
    _flag(ARCHITECTURE, flags.DEFINE_integer, "transition_width", 8,
          "--model=cnn: channels of the 1x1 conv after the max-pool (0: none).", lower_bound=0, upper_bound=256),
    _flag(ARCHITECTURE, _define_widths, "widths_after_pool", "12,12,16,16",
          "--model=cnn: channels of each 3x3 conv after the max-pool."),
    _flag(ARCHITECTURE, flags.DEFINE_boolean, "bn_before_relu", False,
          "--model=cnn: batch norm before the ReLU (the notebook has it after)."),
    _flag(ARCHITECTURE, flags.DEFINE_boolean, "pad_after_pool", False,
          "--model=cnn: 'same' padding for the 3x3 convs after the max-pool, which keep "
          "the pooled map's size (the notebook's convs shrink it)."),
    _flag(ARCHITECTURE, flags.DEFINE_boolean, "separable", False,
          "--model=cnn: depthwise-separable 3x3 convs (all but the first), ~1/8 of the "
          "weights of a full conv of the same width."),
    # Options the search widened into for small budgets (issue 24); each default keeps the networks above.
    _flag(ARCHITECTURE, flags.DEFINE_integer, "first_stride", 1,
          "--model=cnn: stride of the first 3x3 conv (2: early downsampling, 28x28 -> 13x13).",
          lower_bound=1, upper_bound=2),
    _flag(ARCHITECTURE, flags.DEFINE_boolean, "transition_before_pool", False,
          "--model=cnn: the 1x1 transition conv before the max-pool (default: after it)."),
    _flag(ARCHITECTURE, flags.DEFINE_integer, "conv_groups", 1,
          "--model=cnn: grouped 3x3 convs (all but the first; full convs only), 1/N of the weights; "
          "the widths must divide by N.", lower_bound=1, upper_bound=16),
    _flag(ARCHITECTURE, flags.DEFINE_integer, "shared_repeats", 0,
          "--model=cnn: weight sharing: one 'same' 3x3 conv of the last width applied N more times "
          "after the last conv (each with its own batch norm, added to its input).",
          lower_bound=0, upper_bound=8),
    _flag(ARCHITECTURE, flags.DEFINE_enum, "head", "gap",
          "--model=cnn: classifier head: gap = 1x1 conv to the classes, global average pooling; "
          "depthwise = first a depthwise conv over the whole final map (a learned pooling).",
          enum_values=["gap", "depthwise"]),
    _flag(ARCHITECTURE, flags.DEFINE_integer, "second_pool_after", 0,
          "--model=cnn: a second 2x2 max-pool after this many of the convs after the first pool "
          "(0: none).", lower_bound=0, upper_bound=16),
    _flag(ARCHITECTURE, flags.DEFINE_boolean, "bn_after_pool", False,
          "--model=cnn: the max-pool before the batch norm of the block before it (conv, ReLU, "
          "pool, batch norm; with --bn_before_relu conv, pool, batch norm, ReLU): the batch norm "
          "sees a quarter of the map (faster; on AVX2 CPUs it was the step's largest kernel)."),
    # Recipe: the compact presets' (no dropout, mild augmentation, peak lr 0.1, label
    # smoothing 0.05); on 10,000 held-out training images it beat the earlier defaults
    # (dropout 0.4x, rotation 10, shift 2, lr 0.05, smoothing 0.1) on seeds 1 and 2
    # (docs/experiments.md, issue 20).
    _flag(RECIPE, flags.DEFINE_float, "dropout_scale", 0.0,
          "Multiplies every dropout rate of the architecture (0 turns dropout off).",
          lower_bound=0.0, upper_bound=3.0),
    _flag(RECIPE, flags.DEFINE_integer, "epochs", 20, "Passes over the training set.", lower_bound=1),
    _flag(RECIPE, flags.DEFINE_integer, "batch_size", 128, "Training batch size.",
          lower_bound=1, upper_bound=60000),
    _flag(RECIPE, flags.DEFINE_enum, "optimizer", "sgd", "Optimizer (muon: Muon for the conv kernels, AdamW for the rest).",
          enum_values=["sgd", "adam", "adamw", "muon"]),
    _flag(RECIPE, flags.DEFINE_float, "learning_rate", 0.1,
          "Peak learning rate (the constant one with --schedule=constant).", lower_bound=0.0),
    _flag(RECIPE, flags.DEFINE_float, "momentum", 0.9, "SGD's and Muon's momentum (Adam's beta_1).",
          lower_bound=0.0, upper_bound=0.999),
    _flag(RECIPE, flags.DEFINE_boolean, "nesterov", True, "Nesterov momentum for SGD and Muon."),
    _flag(RECIPE, flags.DEFINE_float, "weight_decay", 5e-4,
          "Decoupled weight decay, per unit learning rate (Keras optimizers' weight_decay).",
          lower_bound=0.0, upper_bound=1.0),
    _flag(RECIPE, flags.DEFINE_enum, "schedule", "onecycle",
          "Learning-rate schedule: constant; cosine decay to zero; onecycle = linear warm-up "
          "to --learning_rate over --warmup_fraction of the steps, then cosine decay to zero.",
          enum_values=["constant", "cosine", "onecycle"]),
    _flag(RECIPE, flags.DEFINE_float, "warmup_fraction", 0.2,
          "Share of all training steps spent warming up (onecycle only).", lower_bound=0.0, upper_bound=0.9),
    _flag(RECIPE, flags.DEFINE_float, "label_smoothing", 0.05, "Label smoothing of the training loss.",
          lower_bound=0.0, upper_bound=0.5),
    # Knowledge distillation (keras_mnist/training/distill.py); off without --teacher.
    _flag(RECIPE, flags.DEFINE_string, "teacher", None,
          "Export folder of a trained network (e.g. savedmodels/reference/1) whose softened "
          "predictions the training also learns from (knowledge distillation). It must not have "
          "trained on this run's validation images: train it with the same --train_size, "
          "--validation_size and --seed."),
    _flag(RECIPE, flags.DEFINE_float, "distill_weight", 0.5,
          "--teacher: share of the loss taken from the teacher's predictions (the rest from the labels).",
          lower_bound=0.0, upper_bound=1.0),
    _flag(RECIPE, flags.DEFINE_float, "distill_temperature", 4.0,
          "--teacher: temperature that softens both networks' predictions in the teacher's share.",
          lower_bound=1.0, upper_bound=20.0),
    # Augmentation (training only; 0 turns each off).
    _flag(RECIPE, flags.DEFINE_float, "augment_rotation", 5.0,
          "Random rotation of training digits, up to this many degrees either way.",
          lower_bound=0.0, upper_bound=45.0),
    _flag(RECIPE, flags.DEFINE_float, "augment_shift", 1.0,
          "Random shift of training digits, up to this many pixels each axis.", lower_bound=0.0, upper_bound=8.0),
    _flag(RECIPE, flags.DEFINE_float, "augment_scale", 0.0,
          "Random scale of training digits, 1 +- this fraction (--augmentation=affine only).",
          lower_bound=0.0, upper_bound=0.5),
    _flag(RECIPE, flags.DEFINE_integer, "clean_epochs", 0,
          "Train the last N epochs without augmentation (--augmentation=affine only).",
          lower_bound=0),
    _flag(RECIPE, flags.DEFINE_enum, "augmentation", "layers",
          "How the random warps are applied: affine = rotation, scale and shift composed into one "
          "warp (one resampling); layers = Keras's RandomRotation, then RandomTranslation (two "
          "resamplings; no scale), as the presets chosen before the affine warp existed.",
          enum_values=["affine", "layers"]),
    # Run.
    _flag(RUN, flags.DEFINE_integer, "train_size", 0,
          "Train on only the first N training images (0: all). For quick experiments.",
          lower_bound=0, upper_bound=60000),
    _flag(RUN, flags.DEFINE_integer, "validation_size", 0,
          "Hold out N random training images as a validation set, reported every epoch "
          "instead of the test set (which is then reported once, at the end).", lower_bound=0, upper_bound=59999),
    _flag(RUN, flags.DEFINE_boolean, "evaluate_test", True,
          "Evaluate the test set at the end. keras_mnist.tune turns this off: model "
          "selection must never see the test set."),
    _flag(RUN, flags.DEFINE_integer, "seed", 1, "Seed of every random choice of the run.", lower_bound=0),
    _flag(RUN, flags.DEFINE_boolean, "deterministic", True,
          "TensorFlow op determinism: same flags and seed on the same machine give the same result."),
    _flag(RUN, flags.DEFINE_enum, "strategy", "default",
          "tf.distribute strategy: default (one device), mirrored (all local GPUs), or "
          "multi_worker (MultiWorkerMirroredStrategy over the machines of $TF_CONFIG). "
          "--batch_size is the global batch, split between the replicas.",
          enum_values=["default", "mirrored", "multi_worker"]),
    _flag(RUN, flags.DEFINE_integer, "steps_per_execution", 1,
          "Training steps per call into the compiled graph.", lower_bound=1),
    # Input and output.
    _flag(IO, flags.DEFINE_string, "data_dir", None,
          "Folder of the four MNIST IDX files (raw or .gz). Default: $KERAS_MNIST_DATA_DIR, "
          "else tensorflow-datasets."),
    _flag(IO, flags.DEFINE_integer, "verbose", 1,
          "Keras progress display: 0 silent, 1 progress bar, 2 one line per epoch.", lower_bound=0, upper_bound=2),
    _flag(IO, flags.DEFINE_string, "workdir", None,
          "Run folder for checkpoints and logs. Default: runs/<model>-seed<seed>."),
    _flag(IO, flags.DEFINE_string, "export_dir", "savedmodels",
          "Base folder of exports: <export_dir>/<export_name>/<version>/."),
    _flag(IO, flags.DEFINE_string, "export_name", None, "Model name under --export_dir. Default: the model's name (--model)."),
    _flag(IO, flags.DEFINE_boolean, "export", True, "Export the trained model at the end."),
    _flag(IO, flags.DEFINE_boolean, "export_tflite", True,
          "Also export the TFLite variants (float32, float16, int8) and the model card."),
    # Timed runs (flags/quick.flags) turn these two off: neither changes what is trained.
    _flag(IO, flags.DEFINE_boolean, "eval_every_epoch", True,
          "Evaluate after every epoch; --noeval_every_epoch: only once, after the last."),
    _flag(IO, flags.DEFINE_boolean, "run_logs", True,
          "Write TensorBoard logs, a backup after every epoch (to resume from) and "
          "curves.png to the run folder."),
)
NAMES = tuple(f.name for f in TABLE)


def names(*kinds):
    """The table's flag names of the given kinds, in table order."""
    return tuple(f.name for f in TABLE if f.kind in kinds)


ARCHITECTURE_FLAGS = tuple(n for n in names(ARCHITECTURE) if n != "model")

Config = dataclasses.make_dataclass("Config", NAMES, frozen=True)
Config.__doc__ = "The training flags' values, a plain object: `cfg.epochs`, `dataclasses.replace(cfg, ...)`."


def _parsed_default(flag):
    return _WidthsParser().parse(flag.default) if flag.definer is _define_widths else flag.default


_DEFAULTS = {f.name: _parsed_default(f) for f in TABLE}


def define_flags(flag_values=flags.FLAGS, only=None):
    """Registers the table's flags and validators on `flag_values`.

    `only`: just these flags (the CLIs that share a few, e.g. --data_dir). A flag
    already defined is left as it is, so every CLI module can be imported in one
    process, each defining what it needs.
    """
    for f in TABLE:
        if (only is None or f.name in only) and f.name not in flag_values:
            f.definer(f.name, f.default, help=f.help, flag_values=flag_values, **f.kwargs)
    if only is not None or getattr(flag_values, "_keras_mnist_validators", False):
        return
    flag_values.__dict__["_keras_mnist_validators"] = True  # FlagValues refuses plain setattr.
    fv = dict(flag_values=flag_values)
    flags.register_multi_flags_validator(
        ["evaluate_test", "validation_size", "export"],
        lambda f: f["evaluate_test"] or (f["validation_size"] > 0 and not f["export"]),
        message="--noevaluate_test needs --validation_size (the accuracy to report) and --noexport "
                "(an export reports the test set)", **fv)
    flags.register_multi_flags_validator(
        ["train_size", "validation_size"],
        lambda f: f["validation_size"] < (f["train_size"] or 60000),
        message="--validation_size must be smaller than --train_size (or 60000)", **fv)
    for name in ARCHITECTURE_FLAGS:
        flags.register_multi_flags_validator(["model", name], _check_architecture_flag, **fv)


def _check_architecture_flag(values):
    """A non-default architecture flag must be one the chosen --model takes."""
    (name, value), = ((k, v) for k, v in values.items() if k != "model")
    if value != _DEFAULTS[name] and name not in models.options(values["model"]):
        raise flags.ValidationError(f"--model={values['model']} takes no --{name}; drop it or choose "
                                    "a model that does (--model=cnn)")
    return True


def from_flags(flag_values):
    """The `Config` of parsed absl flags (a CLI's FLAGS)."""
    values = {name: flag_values[name].value for name in NAMES}
    values["model"] = models.canonical_name(values["model"])
    return Config(**values)


def parse(argv=(), flagfile=None):
    """A `Config` from command-line style flags: `parse(["--epochs=1"])`.

    Same defaults and validators as the command line, without touching the
    global `absl.flags.FLAGS`. Raises `absl.flags.Error` on a bad value.
    """
    fv = flags.FlagValues()
    define_flags(fv)
    fv(["keras_mnist"] + ([f"--flagfile={flagfile}"] if flagfile else []) + list(argv))
    return from_flags(fv)


def as_dict(config):
    """Flag name -> value, for the metrics record."""
    return {name: getattr(config, name) for name in NAMES}


def default(name):
    """The flag's default value, parsed (`[8, 16]` for a widths flag)."""
    return _DEFAULTS[name]


def resume_flags(config):
    """The flags a resumed run must share with the run it resumes: all but the io kind."""
    return {k: v for k, v in as_dict(config).items() if k in names(ARCHITECTURE, RECIPE, RUN)}


def recipe_flags(config):
    """What is trained, for a flagfile: the architecture and recipe flags."""
    return {k: v for k, v in as_dict(config).items() if k in names(ARCHITECTURE, RECIPE)}


def as_argv(values):
    """{"widths_before_pool": [8, 16], "nesterov": False} -> ["--widths_before_pool=8,16", "--nonesterov"].

    None (an unset string flag) is left out.
    """
    argv = []
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bool):
            argv.append(f"--{name}" if value else f"--no{name}")
        elif isinstance(value, float):
            argv.append(f"--{name}={value:.6g}")  # 0.3, not 0.30000000000000004.
        elif isinstance(value, (list, tuple)):
            argv.append(f"--{name}={','.join(str(v) for v in value)}")
        else:
            argv.append(f"--{name}={value}")
    return argv


def build_model(config):
    """The (untrained) network the config describes: --model and the architecture flags it takes."""
    return models.build(config.model, dropout_scale=config.dropout_scale,
                        **{name: getattr(config, name) for name in models.options(config.model)})
