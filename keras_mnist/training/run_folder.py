"""The run folder: claimed by one recipe, backed up every epoch, resumed after a crash.

    runs/<model>-seed<seed>/  run_flags.json, backup/, epochs.json, tensorboard/,
                              metrics.json, curves.png
"""

import json
import os

import keras
import numpy as np

from keras_mnist import config as config_lib

RUN_FLAGS_FILENAME = "run_flags.json"


class RunFolderError(Exception):
    """The run folder holds an unfinished run with other flags."""


def default_workdir(config):
    """The run folder: --workdir, else runs/<model>-seed<seed>."""
    return config.workdir or f"runs/{config.model}-seed{config.seed}"


def claim(run_dir, config):
    """Records the run's flags in `run_dir`; refuses a backup left by a different run.

    BackupAndRestore resumes whatever checkpoint it finds in the folder; one from
    a run with another recipe would silently continue the wrong training.
    """
    wanted = config_lib.resume_flags(config)
    path = os.path.join(run_dir, RUN_FLAGS_FILENAME)
    if os.path.isdir(backup_dir(run_dir)) and os.path.exists(path):
        with open(path) as f:
            recorded = json.load(f)
        # A flag added since the run was recorded counts as given at its default.
        def recorded_value(k):
            return recorded.get(k, config_lib.default(k) if k in config_lib.NAMES else None)

        changed = sorted(k for k in set(wanted) | set(recorded) if wanted.get(k) != recorded_value(k))
        if changed:
            raise RunFolderError(
                f"{run_dir} holds an unfinished run with other flags (--{', --'.join(changed)}); "
                f"pass another --workdir, or delete {backup_dir(run_dir)} to start over")
    os.makedirs(run_dir, exist_ok=True)
    with open(path, "w") as f:
        json.dump(wanted, f, indent=2)


def backup_dir(run_dir):
    return os.path.join(run_dir, "backup")


def resumed_epoch(run_dir):
    """The epoch the backup in `run_dir` resumes at (0 if none).

    Read before fit() so the data pipeline can start at that epoch's shuffle.
    """
    path = os.path.join(backup_dir(run_dir), "training_metadata.json")  # BackupAndRestore's file.
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


class BackupUnlessDiverged(keras.callbacks.BackupAndRestore):
    """BackupAndRestore that never backs up a diverged model.

    After a NaN loss the folder keeps the last good epoch's backup (stock
    BackupAndRestore would save the NaN weights, then delete the folder).
    """

    diverged = False

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None and not np.isfinite(logs.get("loss", 0.0)):
            self.diverged = True
            return
        super().on_epoch_end(epoch, logs)

    def on_train_end(self, logs=None):
        if not self.diverged:
            super().on_train_end(logs)
