"""The parameter frontier: every trial of one or more searches, parameters against validation accuracy.

    python -m keras_mnist.tuning.frontier runs/tune5k runs/tune2k --out=docs/frontier.png

Reads each search folder's trials (`<tune_dir>/search/trial_*/trial.json`, as
`python -m keras_mnist.tune` leaves them), draws every finished trial as a
point (Hyperband's shorter trials hollow), the best accuracy of the
full-length trials at or below each size as a step line, marks
this project's presets and the public results of issue 24, and prints that
frontier (the full-length trials no smaller one beats) as a markdown table.

Search folders live in runs/, outside git. `--write_csv=docs/trials/NAME.csv`
keeps a search's trials (size, epochs, score and each trial's flags) in a
table that can be committed, and a .csv given in place of a folder is read
back, so the plot can be drawn again without the folders (`--write_csv` alone
draws nothing; give `--out` to draw as well):

    python -m keras_mnist.tuning.frontier runs/tune5k_muon --write_csv=docs/trials/tune5k_muon.csv
    python -m keras_mnist.tuning.frontier docs/trials/tune5k_muon.csv --out=docs/frontier_muon.png
"""

import argparse
import csv
import glob
import json
import os
import sys

# What the tuner records for each trial (tuner.py imports these; this module stays light, no TensorFlow):
# the metric beside its score that holds its trainable parameters, and its recipe as a flagfile.
PARAMS_METRIC = "trainable_params"
TRIAL_FLAGFILE = "trial.flags"

# This project's presets: trainable parameters, final validation accuracy on 10,000
# held-out training images, seed 1, two threads (compact: 15 epochs, docs/experiments.md;
# tiny and micro: the Muon searches' trials 17 and 13 trained again, 20 and 25 epochs, docs/tuning.md).
PRESETS = (("compact.flags", 7_424, 0.9944), ("tiny.flags", 4_732, 0.9935), ("micro.flags", 1_888, 0.9901))
# Search trials trained again on other seeds (2 threads, the validation split): (label, parameters,
# accuracies). A trial's one score is one draw: these show how far it held (docs/tuning.md).
RERUNS = (("tune5k_fam trial 03", 4_764, (0.9935, 0.9932, 0.9921)),
          ("tune5k_muon trial 17", 4_732, (0.9935, 0.9944, 0.9940)),
          ("tune5k_muon trial 21", 4_916, (0.9934, 0.9921)),
          ("tune2k_muon trial 13", 1_888, (0.9901, 0.9896, 0.9896)))
# Where each preset's name goes beside its star.
_PRESET_LABEL_OFFSETS = {"compact.flags": (6, 8), "tiny.flags": (6, -12), "micro.flags": (-62, 4)}
# Where each rerun's label goes (points beside its lowest cross), so that neighbours' labels do not overlap.
_RERUN_LABEL_OFFSETS = {"tune5k_muon trial 17": (-150, -4), "tune5k_muon trial 21": (8, 4),
                        "tune2k_muon trial 13": (8, -14)}
# The plot's lowest accuracy: trials below it (short Hyperband trials) are counted in the legend.
FLOOR = 0.97
# Public results (issue 24's table): single runs, test accuracy, mostly the best epoch.
PUBLIC = ((18_990, 0.9956, "≤ 20 k"), (9_900, 0.9960, "≤ 10 k"), (6_136, 0.9940, "≤ 8 k"),
          (4_862, 0.9907, "≤ 5 k"), (1_936, 0.9910, "≤ 2 k"))
# Issue 24's goals: (budget, accuracy).
GOALS = ((5_000, 0.9940), (2_000, 0.9920))


class FrontierError(Exception):
    """A folder that holds no search."""


def read_trials(tune_dir):
    """The finished trials of a search folder: dicts of trial_id, params, accuracy, epochs.

    A trial's parameters come from the metric the tuner records beside its
    score, else from the count in its `trial.flags`. Trials that did not
    finish (running, failed) are left out.
    """
    folders = sorted(glob.glob(os.path.join(tune_dir, "search", "trial_*")))
    if not folders:
        raise FrontierError(f"{tune_dir} holds no search (no {os.path.join(tune_dir, 'search', 'trial_*')})")
    trials = []
    for folder in folders:
        try:
            with open(os.path.join(folder, "trial.json")) as f:
                trial = json.load(f)
        except (OSError, ValueError):
            continue  # A trial being written, or never started.
        if trial.get("status") != "COMPLETED" or trial.get("score") is None:
            continue
        params = _recorded_params(trial) or _flagfile_params(os.path.join(folder, TRIAL_FLAGFILE))
        if params is None:
            continue
        values = trial.get("hyperparameters", {}).get("values", {})
        # Hyperband records each trial's epochs, a Bayesian search with --epochs_choices its choice;
        # otherwise every trial trained the search's --epochs, written in its flagfile.
        epochs = values.get("tuner/epochs", values.get("epochs")) or _flagfile_epochs(
            os.path.join(folder, TRIAL_FLAGFILE))
        trials.append({"trial_id": trial["trial_id"], "params": params, "accuracy": float(trial["score"]),
                       "epochs": epochs, "hyperband": "tuner/epochs" in values,
                       "flags": _flagfile_flags(os.path.join(folder, TRIAL_FLAGFILE))})
    # Only Hyperband's early rungs are short trials; a Bayesian search's --epochs_choices are each a
    # full-length recipe.
    longest = max((t["epochs"] or 0 for t in trials if t["hyperband"]), default=0)
    for t in trials:
        t["short"] = bool(t.pop("hyperband") and (t["epochs"] or 0) < longest)
    return trials


# The columns of a trials table (--write_csv), one row per finished trial.
CSV_COLUMNS = ("search", "trial_id", "params", "epochs", "short", "validation_accuracy", "flags")


def write_csv(searches, path):
    """Writes `searches` ({label: trials}) as one table, a row per trial (CSV_COLUMNS)."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(CSV_COLUMNS)
        for label, trials in searches.items():
            for t in trials:
                writer.writerow([label, t["trial_id"], t["params"], t["epochs"] or "", int(t["short"]),
                                 repr(t["accuracy"]), t.get("flags", "")])


def read_csv(path):
    """The searches ({label: trials}) of a table `write_csv` wrote; FrontierError if it is not one."""
    searches = {}
    try:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            if tuple(reader.fieldnames or ()) != CSV_COLUMNS:
                raise FrontierError(f"{path} is not a trials table: its header must be {','.join(CSV_COLUMNS)}")
            for row in reader:
                searches.setdefault(row["search"], []).append({
                    "trial_id": row["trial_id"], "params": int(row["params"]),
                    "accuracy": float(row["validation_accuracy"]),
                    "epochs": int(row["epochs"]) if row["epochs"] else None, "short": bool(int(row["short"])),
                    "flags": row["flags"]})
    except OSError as e:
        raise FrontierError(f"cannot read {path}: {e.strerror}") from None
    except (ValueError, KeyError, csv.Error) as e:
        raise FrontierError(f"{path}: a row is not a trial ({e})") from None
    return searches


def _flagfile_flags(path):
    """A trial's flags on one line (its flagfile without comments), or "" without one."""
    try:
        with open(path) as f:
            return " ".join(line.strip() for line in f if line.strip() and not line.startswith("#"))
    except OSError:
        return ""


def _recorded_params(trial):
    metric = trial.get("metrics", {}).get("metrics", {}).get(PARAMS_METRIC)
    if not metric or not metric.get("observations"):
        return None
    return int(metric["observations"][-1]["value"][0])


def _flagfile_params(path):
    try:
        with open(path) as f:
            for line in f:
                if "trainable parameters" in line:
                    return int(line.split(": ", 1)[1].split(" trainable")[0].replace(",", ""))
    except (OSError, ValueError, IndexError):
        return None
    return None


def _flagfile_epochs(path):
    try:
        with open(path) as f:
            return next((int(line.split("=", 1)[1]) for line in f if line.startswith("--epochs=")), None)
    except (OSError, ValueError):
        return None


def pareto(trials):
    """The trials no smaller (or equal-sized) trial matches: the frontier, by size."""
    front, best = [], -1.0
    for trial in sorted(trials, key=lambda t: (t["params"], -t["accuracy"])):
        if trial["accuracy"] > best:
            front.append(trial)
            best = trial["accuracy"]
    return front


def plot(searches, path, title="Parameters against validation accuracy"):
    """Draws `searches` ({label: trials}) with the presets, public results and goals into `path`.

    Returns {label: [(parameters, accuracy %), ...]}, the trial points as drawn (read back from the plot).
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6.5))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    drawn = {}
    for i, (label, trials) in enumerate(searches.items()):
        colour = colours[i % len(colours)]
        before = len(ax.collections)
        longest = max((t["epochs"] or 0 for t in trials), default=0)  # For the legend: the full trials' epochs.
        full = full_length(trials)
        short = [t for t in trials if t not in full]
        below = sum(t["accuracy"] < FLOOR for t in trials)
        notes = ([f"{len(short)} shorter than {longest} epochs, hollow"] if short else []) + \
            ([f"{below} below {100 * FLOOR:.0f} %, off the plot"] if below else [])
        ax.scatter([t["params"] for t in full], [100 * t["accuracy"] for t in full], s=18, color=colour,
                   label=f"{label}: {len(trials)} trials" + (f" ({'; '.join(notes)})" if notes else ""))
        if short:
            ax.scatter([t["params"] for t in short], [100 * t["accuracy"] for t in short], s=18,
                       facecolors="none", edgecolors=colour)
        drawn[label] = [tuple(map(float, xy)) for c in ax.collections[before:] for xy in c.get_offsets()]
        front = pareto(full)
        if front:
            ax.step([t["params"] for t in front], [100 * t["accuracy"] for t in front], where="post",
                    color=colour, linewidth=1)
    ax.scatter([p for _, p, _ in PRESETS], [100 * a for _, _, a in PRESETS], marker="*", s=160, color="black",
               zorder=3, label="presets (validation, seed 1, 2 threads)")
    for name, params, accuracy in PRESETS:
        ax.annotate(name, (params, 100 * accuracy), textcoords="offset points",
                    xytext=_PRESET_LABEL_OFFSETS.get(name, (6, 6)), fontsize=8)
    for name, params, accuracies in RERUNS:
        ax.scatter([params] * len(accuracies), [100 * a for a in accuracies], marker="x", s=40, color="black",
                   zorder=3)
        ax.annotate(f"{name}, rerun", (params, 100 * min(accuracies)), textcoords="offset points",
                    xytext=_RERUN_LABEL_OFFSETS.get(name, (6, -12)), fontsize=8)
    if RERUNS:
        ax.scatter([], [], marker="x", s=40, color="black", label="search trials rerun (seeds 1–3 or 1–2; 2 threads)")
    ax.scatter([p for p, _, _ in PUBLIC], [100 * a for _, a, _ in PUBLIC], marker="D", s=40, color="grey",
               zorder=3, label="public results (test set, single runs)")
    for params, accuracy, budget in PUBLIC:
        ax.annotate(budget, (params, 100 * accuracy), textcoords="offset points", xytext=(6, -10), fontsize=8,
                    color="grey")
    sizes = [t["params"] for trials in searches.values() for t in trials]
    left, right = min(sizes + [1_000]) / 1.2, max(sizes + [25_000]) * 1.2
    for budget, accuracy in GOALS:
        # The goal: the corner left of the budget and above the accuracy.
        ax.plot([left, budget, budget], [100 * accuracy, 100 * accuracy, 100], linestyle=":", color="red",
                linewidth=1)
    ax.plot([], [], linestyle=":", color="red", label="goals: ≥ 99.40 % at ≤ 5,000, ≥ 99.20 % at ≤ 2,000")
    ax.set_xscale("log")
    ax.set_xlim(left, right)
    ax.set_xlabel("trainable parameters")
    ax.set_ylabel("final validation accuracy (%)")
    accuracies = [100 * t["accuracy"] for trials in searches.values() for t in trials if t["accuracy"] >= FLOOR]
    ax.set_ylim(min(accuracies + [98.8]) - 0.1, 99.8)
    ax.set_title(title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.11), ncol=2, frameon=False)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return drawn


def full_length(trials):
    """The trials that are not Hyperband's shorter rungs."""
    return [t for t in trials if not t["short"]]


def markdown_table(searches):
    """The frontier of each search's full-length trials as markdown rows."""
    lines = ["| search | trial | parameters | epochs | validation accuracy |", "|---|---|---:|---:|---:|"]
    for label, trials in searches.items():
        for t in pareto(full_length(trials)):
            lines.append(f"| {label} | {t['trial_id']} | {t['params']:,} | {t['epochs'] or ''} | "
                         f"{100 * t['accuracy']:.2f} % |")
    return "\n".join(lines)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # One line, not argparse's usage block.
        sys.exit(f"error: {message}")


def main(argv=None):
    parser = _Parser(prog="python -m keras_mnist.tuning.frontier", description=__doc__.splitlines()[0])
    parser.add_argument("tune_dirs", nargs="+", metavar="TUNE_DIR",
                        help="search folders (tune's --tune_dir), or trials tables (.csv) --write_csv wrote")
    parser.add_argument("--out", help="the plot (PNG); default docs/frontier.png, none with --write_csv alone")
    parser.add_argument("--write_csv", metavar="PATH", help="write every trial to this table (.csv)")
    parser.add_argument("--title", default="Parameters against validation accuracy")
    args = parser.parse_args(argv)
    if args.out is None and not args.write_csv:
        args.out = "docs/frontier.png"
    if args.out and not args.out.lower().endswith(".png"):
        sys.exit(f"error: --out must name a .png file, got {args.out}")
    if args.write_csv and not args.write_csv.lower().endswith(".csv"):
        sys.exit(f"error: --write_csv must name a .csv file, got {args.write_csv}")
    searches = {}
    try:
        for source in args.tune_dirs:
            if source.lower().endswith(".csv"):
                searches.update(read_csv(source))
            else:
                searches[os.path.basename(os.path.normpath(source)) or source] = read_trials(source)
    except FrontierError as e:
        sys.exit(f"error: {e}")
    empty = [label for label, trials in searches.items() if not trials]
    if len(empty) == len(searches):
        sys.exit(f"error: no finished trial in {', '.join(args.tune_dirs)}")
    if args.out:
        plot(searches, args.out, args.title)
    if args.write_csv:
        write_csv(searches, args.write_csv)
    print(markdown_table(searches))
    count = sum(map(len, searches.values()))
    # A table alone draws nothing: a committed plot is never overwritten by the default --out.
    print(f"{count} trials drawn: {args.out}" if args.out else f"{count} trials written: {args.write_csv}")


if __name__ == "__main__":
    main()
