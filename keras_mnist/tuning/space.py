"""The search space: a trial's hyperparameters -> training flags (`declare_search_space`).

The parameter budget is part of the space: a sampled network larger than
`max_params` is narrowed (`fit_to_budget`) before it is a trial, so no trial is
spent on a network that is then refused.
"""

import keras_tuner

from keras_mnist import config as config_lib
from keras_mnist.models import cnn

MAX_CONVS_BEFORE_POOL = 3
MIN_CONVS_AFTER_POOL = 2
MAX_CONVS_AFTER_POOL = 5
MAX_SHARED_REPEATS = 3
# Widths step by 4: oneDNN's CPU convolutions run other widths (6, 10, 14 ...) at half speed or worse.
WIDTH_STEP = 4
# A separable 3x3 conv has ~1/8 of a full one's weights, a grouped one 1/groups: the same
# budget buys wider blocks, so their sampled widths are multiplied by these.
SEPARABLE_WIDTH_SCALE = 2
GROUPS_WIDTH_SCALE = {1: 1.0, 2: 1.5, 4: 2.0}
# The optimizers a search can choose among (`--optimizers`), each with its own learning-rate
# range, and the default choice. Muon is opt-in: a new choice would redraw every seeded trial
# of the searches documented before it (docs/tuning.md).
LEARNING_RATE_RANGES = {"sgd": (0.02, 0.3), "adamw": (0.002, 0.02), "muon": (0.01, 0.08)}
DEFAULT_OPTIMIZERS = ("sgd", "adamw")
# The cnn family's options the space sets (`cnn.count_params`'s arguments).
ARCHITECTURE_OPTIONS = ("widths_before_pool", "transition_width", "widths_after_pool", "bn_before_relu",
                        "pad_after_pool", "separable", "first_stride", "transition_before_pool",
                        "conv_groups", "shared_repeats", "head", "second_pool_after")


class BudgetError(ValueError):
    """No network of the space fits the parameter budget."""


class FixError(ValueError):
    """A --fix names no searched hyperparameter, or gives it a value outside its range."""


def declare_search_space(hp, search_architecture=True, search_recipe=True, max_params=None,
                         epochs_choices=(), optimizers=DEFAULT_OPTIMIZERS):
    """Declares the search space on `hp` and returns the trial's training flags.

    Every searched flag is of the architecture or recipe kind (`config.recipe_flags`).

    The architecture: the `cnn` family with 1-3 convs before the pool (the first
    one strided or not: early downsampling), an optional 1x1 transition before
    or after the pool, 2-5 convs after it (valid, or "same" padding; "same" is
    forced when valid convs would shrink the map to nothing), full, grouped (2
    or 4 groups) or depthwise-separable convs (the latter two at wider widths),
    a shared conv applied 0-3 more times (weight sharing), batch norm before or
    after the ReLU, a global-average or depthwise classifier head, and the
    dropout. With `max_params`, a network over the budget is narrowed until it
    fits (`fit_to_budget`). The recipe: the optimizer (one of `optimizers`)
    and its learning rate, schedule
    and warm-up, batch size, weight decay, label smoothing, the augmentation
    (Keras's layers or one affine warp with scale and clean last epochs) and
    its strength, and the epochs when `epochs_choices` are given (Hyperband
    sets each trial's epochs itself). What is not searched is the command line's.
    """
    flags = {}
    if search_architecture:
        flags["model"] = "cnn"
        architecture = _declare_architecture(hp)
        flags.update(fit_to_budget(architecture, max_params) if max_params else architecture)
    flags["dropout_scale"] = hp.Float("dropout_scale", 0.0, 0.5, step=0.1)
    if search_recipe:
        flags.update(_declare_recipe(hp, optimizers))
    if epochs_choices:
        flags["epochs"] = hp.Choice("epochs", sorted(epochs_choices))
    # Hyperband sets each trial's epochs; other oracles train every trial for --epochs.
    if "tuner/epochs" in hp.values:
        flags["epochs"] = hp.values["tuner/epochs"]
    return flags


def _declare_architecture(hp):
    flags = {}
    flags["separable"] = hp.Boolean("separable")
    with hp.conditional_scope("separable", [False]):
        groups = hp.Choice("conv_groups", [1, 2, 4])
    flags["conv_groups"] = 1 if flags["separable"] else groups
    scale = SEPARABLE_WIDTH_SCALE if flags["separable"] else GROUPS_WIDTH_SCALE[flags["conv_groups"]]
    flags["first_stride"] = hp.Choice("first_stride", [1, 2])
    before_pool, after_pool = _width_ramp(hp)
    flags["widths_before_pool"] = _scaled(before_pool, scale)
    flags["transition_width"] = hp.Choice("transition_width", [0, 8, 12, 16])
    with hp.conditional_scope("transition_width", [8, 12, 16]):
        before = hp.Boolean("transition_before_pool")
    flags["transition_before_pool"] = bool(flags["transition_width"]) and bool(before)
    flags["widths_after_pool"] = _scaled(after_pool, scale)
    flags["pad_after_pool"] = hp.Boolean("pad_after_pool")
    if cnn.final_map_size(len(flags["widths_before_pool"]), len(flags["widths_after_pool"]),
                          flags["first_stride"], False) < 1:
        flags["pad_after_pool"] = True  # Valid convs would shrink the map to nothing.
    flags["shared_repeats"] = hp.Int("shared_repeats", 0, MAX_SHARED_REPEATS)
    flags["bn_before_relu"] = hp.Boolean("bn_before_relu")
    flags["head"] = hp.Choice("head", list(cnn.HEADS))
    return flags


def check_optimizers(optimizers):
    """`optimizers` as a tuple, each one the search knows (`LEARNING_RATE_RANGES`); ValueError if not."""
    optimizers = tuple(optimizers)
    unknown = [name for name in optimizers if name not in LEARNING_RATE_RANGES]
    if not optimizers or unknown or len(set(optimizers)) < len(optimizers):
        raise ValueError(f"--optimizers={','.join(optimizers)}: give one or more of "
                         f"{', '.join(LEARNING_RATE_RANGES)}, each once")
    return optimizers


def _declare_recipe(hp, optimizers=DEFAULT_OPTIMIZERS):
    flags = {}
    flags["optimizer"] = hp.Choice("optimizer", list(optimizers))
    # Each optimizer has its own range of good learning rates. Only the chosen ones are
    # declared, so that the default space stays the one the documented searches drew from.
    rates = {}
    for name in optimizers:
        low, high = LEARNING_RATE_RANGES[name]
        with hp.conditional_scope("optimizer", [name]):
            rates[name] = hp.Float(f"{name}_learning_rate", low, high, sampling="log")
    flags["learning_rate"] = rates[flags["optimizer"]]
    flags["schedule"] = hp.Choice("schedule", ["onecycle", "cosine"])
    with hp.conditional_scope("schedule", ["onecycle"]):
        warmup = hp.Choice("warmup_fraction", [0.1, 0.2, 0.3])
    if flags["schedule"] == "onecycle":
        flags["warmup_fraction"] = warmup
    flags["batch_size"] = hp.Choice("batch_size", [32, 64, 128, 256])
    flags["weight_decay"] = hp.Choice("weight_decay", [0.0, 1e-4, 5e-4, 1e-3])
    flags["label_smoothing"] = hp.Float("label_smoothing", 0.0, 0.15, step=0.05)
    flags["augmentation"] = hp.Choice("augmentation", ["layers", "affine"])
    flags["augment_rotation"] = hp.Float("augment_rotation", 0.0, 15.0, step=2.5)
    flags["augment_shift"] = hp.Float("augment_shift", 0.0, 3.0, step=1.0)
    with hp.conditional_scope("augmentation", ["affine"]):
        augment_scale = hp.Float("augment_scale", 0.0, 0.15, step=0.05)
        clean_epochs = hp.Int("clean_epochs", 0, 3)
    if flags["augmentation"] == "affine":
        flags["augment_scale"], flags["clean_epochs"] = augment_scale, clean_epochs
    else:  # Keras's layers take neither.
        flags["augment_scale"], flags["clean_epochs"] = 0.0, 0
    return flags


def _width_ramp(hp):
    """(widths before the pool, widths after it): a ramp that never narrows.

    Three widths are searched: the first conv's, the pool's (the last conv before it;
    with one conv before the pool, where the ramp after it starts) and the last conv's;
    sorted, so the network only widens, as the small networks that do well here do
    (compact.flags: 16, 32 | 32, 32, 32, 48). The convs between are evenly spaced. Three numbers, not one per conv: a search of tens of trials
    cannot sample eight independent widths (an early search's networks narrowed to 4
    channels mid-way and did worse).
    """
    before = hp.Int("convs_before_pool", 1, MAX_CONVS_BEFORE_POOL)
    after = hp.Int("convs_after_pool", MIN_CONVS_AFTER_POOL, MAX_CONVS_AFTER_POOL)
    first, pool, last = sorted([hp.Int("width_first", 4, 16, step=WIDTH_STEP),
                                hp.Int("width_pool", 4, 24, step=WIDTH_STEP),
                                hp.Int("width_last", 8, 32, step=WIDTH_STEP)])
    widths_before = [first + (pool - first) * i / max(before - 1, 1) for i in range(before)]
    widths_after = [pool + (last - pool) * (i + 1) / after for i in range(after)]
    return widths_before, widths_after


def _round_width(width):
    """The multiple of WIDTH_STEP nearest to `width`, at least WIDTH_STEP."""
    return max(WIDTH_STEP, WIDTH_STEP * round(width / WIDTH_STEP))


def _scaled(widths, factor):
    return [_round_width(w * factor) for w in widths]


def count_params(architecture):
    """Trainable parameters of the `cnn` network of `architecture` (the space's flags)."""
    return cnn.count_params(**{k: architecture[k] for k in ARCHITECTURE_OPTIONS if k in architecture})


def narrowed(architecture, factor):
    """`architecture` with every width (and the transition's) multiplied by `factor`, on the width grid."""
    return {**architecture,
            "widths_before_pool": _scaled(architecture["widths_before_pool"], factor),
            "widths_after_pool": _scaled(architecture["widths_after_pool"], factor),
            "transition_width": _round_width(architecture["transition_width"] * factor)
            if architecture["transition_width"] else 0}


def simpler_shapes(architecture):
    """`architecture`, then ever simpler versions of it, one change at a time, down to the simplest.

    The order: fewer shared-conv repeats, the plain head, fewer convs after
    the pool (down to one), fewer before it (down to one), no transition.
    """
    shape = dict(architecture)
    yield shape
    while shape["shared_repeats"] > 0:
        shape = {**shape, "shared_repeats": shape["shared_repeats"] - 1}
        yield shape
    if shape["head"] != "gap":
        shape = {**shape, "head": "gap"}
        yield shape
    while len(shape["widths_after_pool"]) > 1:
        shape = {**shape, "widths_after_pool": shape["widths_after_pool"][:-1]}
        yield shape
    while len(shape["widths_before_pool"]) > 1:
        shape = {**shape, "widths_before_pool": shape["widths_before_pool"][:-1]}
        yield shape
    if shape["transition_width"]:
        shape = {**shape, "transition_width": 0, "transition_before_pool": False}
        yield shape


def fit_to_budget(architecture, max_params):
    """`architecture` if it has at most `max_params` parameters, else the widest narrower one that fits.

    Every width is scaled by one factor (1, 0.98, 0.96, ...; rounded to the
    width grid, never below WIDTH_STEP) until the network fits; when even its
    narrowest version does not, the shape is simplified one step at a time
    (`simpler_shapes`) and narrowed again. Deterministic: the same sampled
    hyperparameters give the same network. Raises BudgetError when even the
    simplest, narrowest version is over the budget (see `min_budget`).
    """
    for shape in simpler_shapes(architecture):
        for step in range(50):
            candidate = narrowed(shape, 1.0 - 0.02 * step) if step else shape
            if count_params(candidate) <= max_params:
                return candidate
    raise BudgetError(f"--max_params={max_params:,} is below the search space's smallest networks "
                      f"({min_budget():,} parameters); raise it")


def min_budget():
    """The least --max_params at which every candidate of the space fits once narrowed and simplified.

    The simplest shape (one conv before the pool, one after, no transition,
    no shared conv, plain head) at the narrowest width, for the costliest of
    the choices the simplification keeps (full, grouped or separable convs,
    stride, padding).
    """
    simplest = dict(widths_before_pool=[WIDTH_STEP], transition_width=0, widths_after_pool=[WIDTH_STEP],
                    shared_repeats=0, head="gap", transition_before_pool=False, bn_before_relu=False)
    return max(count_params({**simplest, "separable": separable, "conv_groups": groups, "first_stride": stride,
                             "pad_after_pool": pad})
               for separable, groups in ((True, 1), (False, 1), (False, 2), (False, 4))
               for stride in (1, 2) for pad in (False, True))


def fixed_hyperparameters(fixes, **searched):
    """The space of `declare_search_space(**searched)` with the `fixes` ({name: text}) held at one value.

    For the oracle (its `hyperparameters`): a fixed hyperparameter is never
    sampled, and the Bayesian oracle's Gaussian process models only the others,
    so a search can be narrowed to where earlier trials did well (say
    separable=true,shared_repeats=0). Each keeps its conditions: conv_groups=2
    holds where separable is false. Raises FixError for an unknown name or a
    value outside the hyperparameter's range.
    """
    template = keras_tuner.HyperParameters()
    declare_search_space(template, **searched)
    config = template.get_config()
    entries = {entry["config"]["name"]: entry for entry in config["space"]}
    for name, text in fixes.items():
        if name not in entries:
            raise FixError(f"--fix: {name} is not searched here; choose from: {', '.join(entries)}")
        entry = entries[name]
        value = _fixed_value(entry, text)
        entry.update(class_name="Fixed", config={"name": name, "value": value,
                                                 "conditions": entry["config"]["conditions"]})
    hyperparameters = keras_tuner.HyperParameters.from_config({**config, "values": {}})
    # Values again, parents first (the space's order): a fix can turn on hyperparameters the
    # template's defaults left off (optimizer=adamw turns on adamw_learning_rate).
    for hp in hyperparameters.space:
        if hyperparameters.is_active(hp):
            hyperparameters.values[hp.name] = hp.default
    return hyperparameters


def _fixed_value(entry, text):
    """`text` as a value of the hyperparameter `entry` (its config); FixError if outside its range."""
    kind, hp = entry["class_name"], entry["config"]
    name, step = hp["name"], hp.get("step")
    try:
        if kind == "Boolean":
            value = {"true": True, "false": False}[text.lower()]
        elif kind == "Choice":
            value = type(hp["values"][0])(text)
            if value not in hp["values"]:
                raise ValueError
        else:  # Int, Float: in the range, and on its step where it has one (widths step by 4).
            value = (int if kind == "Int" else float)(text)
            steps = (value - hp["min_value"]) / step if step else 0
            if not hp["min_value"] <= value <= hp["max_value"] or abs(steps - round(steps)) > 1e-6:
                raise ValueError
    except (KeyError, ValueError):
        allowed = ("true or false" if kind == "Boolean" else "one of " + ", ".join(map(str, hp["values"]))
                   if kind == "Choice" else f"{hp['min_value']} to {hp['max_value']}"
                   + (f" in steps of {step}" if step else ""))
        raise FixError(f"--fix: {name}={text} is outside the space; {name} is {allowed}") from None
    return value


class SearchSpace(keras_tuner.HyperModel):
    """The hypermodel: builds the network of a trial's hyperparameters.

    `max_params`: the parameter budget (None: none), applied in the space
    (`fit_to_budget`). `epochs_choices`: epochs to search (empty: --epochs).
    `optimizers`: the optimizers the recipe chooses among.
    """

    def __init__(self, base_flags=None, search_architecture=True, search_recipe=True, max_params=None,
                 epochs_choices=(), optimizers=DEFAULT_OPTIMIZERS):
        super().__init__()
        self.base_flags = dict(base_flags or {})
        self.searched = dict(search_architecture=search_architecture, search_recipe=search_recipe,
                             max_params=max_params, epochs_choices=tuple(epochs_choices),
                             optimizers=tuple(optimizers))

    def trial_flags(self, hp):
        """The training flags of a trial: the base flags, with the searched ones replaced."""
        return {**self.base_flags, **declare_search_space(hp, **self.searched)}

    def build(self, hp):
        return config_lib.build_model(config_lib.parse(config_lib.as_argv(self.trial_flags(hp))))
