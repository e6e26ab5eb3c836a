"""Training and evaluation of one MNIST model: `train_and_evaluate(config)`.

data -> model -> fit -> evaluate -> export, in that order, with the flags of
`keras_mnist.config` as the configuration.
"""

import datetime
import json
import math
import os
import platform
import time

import keras
import numpy as np
import tensorflow as tf

from keras_mnist import config as config_lib
from keras_mnist import data, export, models, plots

EVAL_BATCH_SIZE = 1000


class TrainingDiverged(Exception):
    """The loss became NaN or infinite; nothing was exported."""


class RunFolderError(Exception):
    """The run folder holds an unfinished run with other flags."""


# Flags that do not change what is trained; a run may resume with other values.
_RESUMABLE_FLAGS = {"verbose", "workdir", "export", "export_dir", "export_name", "export_tflite", "data_dir"}
RUN_FLAGS_FILENAME = "run_flags.json"


def claim_run_folder(run_dir, config):
    """Records the run's flags in `run_dir`; refuses a backup left by a different run.

    BackupAndRestore resumes whatever checkpoint it finds in the folder; one from
    a run with another recipe would silently continue the wrong training.
    """
    wanted = {k: v for k, v in config_lib.as_dict(config).items() if k not in _RESUMABLE_FLAGS}
    path = os.path.join(run_dir, RUN_FLAGS_FILENAME)
    if os.path.isdir(os.path.join(run_dir, "backup")) and os.path.exists(path):
        with open(path) as f:
            recorded = json.load(f)
        changed = sorted(k for k in set(wanted) | set(recorded) if wanted.get(k) != recorded.get(k))
        if changed:
            raise RunFolderError(
                f"{run_dir} holds an unfinished run with other flags (--{', --'.join(changed)}); "
                f"pass another --workdir, or delete {os.path.join(run_dir, 'backup')} to start over")
    os.makedirs(run_dir, exist_ok=True)
    with open(path, "w") as f:
        json.dump(wanted, f, indent=2)


def make_schedule(config, steps_per_epoch):
    """The learning rate as a function of the step, from --schedule."""
    total = config.epochs * steps_per_epoch
    lr = config.learning_rate
    if config.schedule == "constant":
        return lr
    if config.schedule == "cosine":
        return keras.optimizers.schedules.CosineDecay(lr, decay_steps=total)
    warmup = int(total * config.warmup_fraction)
    # One cycle: linear ramp from lr/25 (fastai's and PyTorch's OneCycleLR default)
    # to the peak, then cosine annealing to zero.
    return keras.optimizers.schedules.CosineDecay(
        lr / 25.0, decay_steps=max(total - warmup, 1), warmup_target=lr, warmup_steps=warmup)


def make_optimizer(config, steps_per_epoch):
    """The optimizer named by --optimizer, with its schedule and weight decay."""
    lr = make_schedule(config, steps_per_epoch)
    wd = config.weight_decay or None
    if config.optimizer == "sgd":
        return keras.optimizers.SGD(lr, momentum=config.momentum, nesterov=config.nesterov,
                                    weight_decay=wd)
    if config.optimizer == "adam":
        return keras.optimizers.Adam(lr, beta_1=config.momentum, weight_decay=wd)
    return keras.optimizers.AdamW(lr, beta_1=config.momentum, weight_decay=config.weight_decay)


def with_augmentation(model, config):
    """`model` behind random rotations and shifts that act only in training.

    The augmentation wraps the model rather than living in it, so what is
    exported is the bare network.
    """
    augment = []
    if config.augment_rotation > 0:
        augment.append(keras.layers.RandomRotation(
            config.augment_rotation / 360.0, fill_mode="constant", seed=config.seed))
    if config.augment_shift > 0:
        shift = config.augment_shift / 28.0
        augment.append(keras.layers.RandomTranslation(
            shift, shift, fill_mode="constant", seed=config.seed + 1))
    if not augment:
        return model
    inputs = keras.Input(shape=data.IMAGE_SHAPE, name="pixels")
    x = inputs
    for layer in augment:
        x = layer(x)
    return keras.Model(inputs, model(x), name=f"{model.name}_augmented")


def one_hot(dataset):
    """Integer labels -> one-hot, which label smoothing needs."""
    return dataset.map(lambda x, y: (x, tf.one_hot(y, data.NUM_CLASSES)))


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


def resumed_epoch(backup_dir):
    """The epoch a BackupAndRestore backup in `backup_dir` resumes at (0 if none).

    Read before fit() so the data pipeline can start at that epoch's shuffle.
    """
    path = os.path.join(backup_dir, "training_metadata.json")  # BackupAndRestore's file.
    if not os.path.exists(path):
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


class EpochSeeds(keras.callbacks.Callback):
    """Puts every random stream (dropout, augmentation) at a state fixed by (seed, epoch).

    With the data order also fixed per epoch, epoch k does the same thing whether
    the run started at epoch 0 or resumed at k from a backup.
    """

    def on_epoch_begin(self, epoch, logs=None):
        for variable in self.model.variables:
            if variable.name == "seed_generator_state":
                state = np.asarray(variable.numpy())
                # [generator seed, counter]: the counter restarts at a per-epoch offset.
                variable.assign(np.array([state[0], epoch * 2**20], dtype=state.dtype))


class EpochReport(keras.callbacks.Callback):
    """Prints the notebook's evaluation line after each epoch, and keeps the epochs' record.

    The record (losses, accuracies, seconds) is saved in the run folder after
    every epoch, so a resumed run's metrics still cover all its epochs.
    """

    def __init__(self, eval_name, eval_size, path=None, first_epoch=0):
        super().__init__()
        self.eval_name, self.eval_size, self.path = eval_name, eval_size, path
        self.records = []
        if path and first_epoch and os.path.exists(path):
            with open(path) as f:
                self.records = [r for r in json.load(f) if r["epoch"] <= first_epoch]

    @property
    def epoch_seconds(self):
        return [r["seconds"] for r in self.records]

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        name = self.eval_name.lower()
        self.records.append({
            "epoch": epoch + 1, "train_loss": logs.get("nll"), "train_accuracy": logs.get("accuracy"),
            f"{name}_loss": logs.get("val_nll"), f"{name}_accuracy": logs.get("val_accuracy"),
            "seconds": time.perf_counter() - self._start})
        if self.path:
            with open(self.path, "w") as f:
                json.dump(self.records, f, indent=1)
        if "val_accuracy" in logs:
            print(notebook_line(self.eval_name, logs["val_nll"], logs["val_accuracy"],
                                self.eval_size), flush=True)


def notebook_line(name, loss, accuracy, size):
    """`Test set: Average loss: 0.0194, Accuracy: 9941/10000 (99.41%)`."""
    correct = round(accuracy * size)
    return (f"{name} set: Average loss: {loss:.4f}, "
            f"Accuracy: {correct}/{size} ({100.0 * correct / size:.2f}%)")


def library_versions():
    import absl
    return {"python": platform.python_version(), "tensorflow": tf.__version__,
            "keras": keras.__version__, "numpy": np.__version__,
            "absl-py": getattr(absl, "__version__", None) or _dist_version("absl-py")}


def _dist_version(name):
    from importlib import metadata
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def make_strategy(name):
    """The tf.distribute strategy of --strategy (TF's default one: a single device)."""
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if name == "multi_worker":
        # Reads the cluster and this process's task from $TF_CONFIG.
        return tf.distribute.MultiWorkerMirroredStrategy()
    return tf.distribute.get_strategy()


def worker_name(strategy):
    """None on the chief (or a single machine), else "worker<N>"."""
    if strategy.extended.should_checkpoint:
        return None
    return f"worker{strategy.cluster_resolver.task_id}"


class MultiWorkerModel(keras.Model):
    """A functional model whose fit() works under MultiWorkerMirroredStrategy.

    Two Keras 3 (3.15) problems with multi-worker `fit()`, both worked around
    only when `element_spec` is set (multi-worker runs):
    - fit() builds metrics and loss from a first batch it `strategy.reduce`s
      across workers, which fails ("Attempt to convert a value (PerReplica...)
      to a Tensor", keras-team/keras#20585). This model builds from the
      dataset's element spec instead: no data, no collective op.
    - fit() averages each step's logs across workers with
      `strategy.reduce("MEAN", value, axis=0)`, which fails on scalar logs
      ("Invalid reduction dimension 0"). The steps here return them as [1]
      vectors, which that reduction turns back into the scalars.
    """

    element_spec = None

    def _maybe_symbolic_build(self, iterator=None, data_batch=None):
        if data_batch is None and self.element_spec is not None:
            return super()._maybe_symbolic_build(data_batch=self.element_spec)
        return super()._maybe_symbolic_build(iterator=iterator, data_batch=data_batch)

    def _as_vectors(self, logs):
        if self.element_spec is None:
            return logs
        return {name: tf.reshape(value, [1]) for name, value in logs.items()}

    def train_step(self, data):
        return self._as_vectors(super().train_step(data))

    def test_step(self, data):
        return self._as_vectors(super().test_step(data))


def build_training_model(config, steps_per_epoch):
    """(model, compiled training model): the network, and it behind the augmentation."""
    model = config_lib.build_model(config)
    augmented = with_augmentation(model, config)
    training_model = MultiWorkerModel(augmented.inputs, augmented.outputs, name=augmented.name)
    training_model.compile(
        optimizer=make_optimizer(config, steps_per_epoch),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=config.label_smoothing),
        # The plain cross-entropy, without smoothing: the notebook's "Average loss".
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy"),
                 keras.metrics.CategoricalCrossentropy(name="nll")],
        steps_per_execution=config.steps_per_execution)
    return model, training_model


def train_and_evaluate(config, mnist=None):
    """Trains the model the flags describe, reports the test set, exports it.

    Args:
      config: the parsed flags of `keras_mnist.config` (absl FlagValues or any
        object with the same attributes).
      mnist: a `data.Mnist` to use instead of loading --data_dir.

    Returns:
      The metrics dict (also written as JSON to the run folder and the export).

    Raises:
      data.DataError, export.ExportError, TrainingDiverged, RunFolderError.
    """
    # First: a multi-worker strategy must configure TF before any op runs.
    strategy = make_strategy(config.strategy)
    keras.utils.set_random_seed(config.seed)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    # Every worker trains; the chief alone writes the run folder and exports, the
    # others keep their backups and logs apart in a folder of their own.
    worker = worker_name(strategy)
    run_dir = config_lib.workdir(config)
    if worker:
        run_dir = os.path.join(run_dir, worker)
    claim_run_folder(run_dir, config)

    # Data.
    mnist = mnist or data.load(config.data_dir)
    x_train, y_train = mnist.x_train, mnist.y_train
    if config.train_size:
        x_train, y_train = x_train[:config.train_size], y_train[:config.train_size]
    if config.validation_size:
        (x_train, y_train), (x_eval, y_eval) = data.split_validation(
            x_train, y_train, config.validation_size, config.seed)
        eval_name = "Validation"
    else:
        x_eval, y_eval, eval_name = mnist.x_test, mnist.y_test, "Test"
    backup_dir = os.path.join(run_dir, "backup")
    first_epoch = resumed_epoch(backup_dir)
    if first_epoch:
        print(f"Resuming {run_dir} at epoch {first_epoch + 1} from its backup", flush=True)
    train_ds = one_hot(data.train_dataset(x_train, y_train, config.batch_size, config.seed,
                                          epochs=config.epochs, first_epoch=first_epoch))
    eval_ds = one_hot(data.eval_dataset(x_eval, y_eval, EVAL_BATCH_SIZE))
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)

    # Model: variables are created in the strategy's scope, to be mirrored on every replica.
    with strategy.scope():
        model, training_model = build_training_model(config, steps_per_epoch)
    if config.strategy == "multi_worker":
        training_model.element_spec = train_ds.element_spec
    trainable_params = models.count_trainable_params(model)

    # Train.
    report = EpochReport(eval_name, len(x_eval), os.path.join(run_dir, "epochs.json"), first_epoch)
    callbacks = [
        keras.callbacks.ProgbarLogger(),  # Listed first so the report line follows the bar.
        keras.callbacks.TerminateOnNaN(),
        EpochSeeds(),
        backup := BackupUnlessDiverged(backup_dir),
        keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard")),
        report,
    ]
    start = time.perf_counter()
    history = training_model.fit(train_ds, epochs=config.epochs, steps_per_epoch=steps_per_epoch,
                                 validation_data=eval_ds,
                                 callbacks=callbacks, verbose=config.verbose,
                                 shuffle=False)  # train_ds shuffles itself, by seed.
    train_seconds = time.perf_counter() - start
    losses = history.history.get("loss", [])
    if backup.diverged or not all(np.isfinite(losses)):
        kept = resumed_epoch(backup_dir)
        raise TrainingDiverged(
            f"training diverged (loss NaN) in epoch {first_epoch + len(losses)}; nothing was exported; "
            "lower --learning_rate"
            + (f"; the last good backup (epoch {kept}) is in {backup_dir}: delete it to start over "
               "with other flags" if kept else ""))

    # Evaluate: the model saved is the last epoch's, and so are the numbers reported.
    metrics = {"model": config.model, "trainable_params": trainable_params}
    if config.validation_size:
        metrics["final_validation_accuracy"] = report.records[-1]["validation_accuracy"]
    if config.evaluate_test:
        test_loss, test_accuracy = _evaluate(model, mnist.x_test, mnist.y_test)
        metrics.update(final_test_accuracy=test_accuracy, final_test_loss=test_loss)
        if config.validation_size:
            print(notebook_line("Test", test_loss, test_accuracy, len(mnist.x_test)), flush=True)
    metrics.update({
        "epochs": report.records,
        "train_seconds": train_seconds,
        "seconds_per_epoch": float(np.mean(report.epoch_seconds)) if report.epoch_seconds else None,
        "flags": config_lib.as_dict(config),
        "versions": library_versions(),
        "finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    })
    with open(os.path.join(run_dir, "metrics.json"), "w") as f:
        json.dump(metrics, f, indent=2)
    plots.save_training_curves(report.records, os.path.join(run_dir, "curves.png"), eval_name.lower())
    if config.export and not worker:
        path = export.export_model(model, config.export_dir, config.export_name or config.model,
                                   metrics=metrics, mnist=mnist if config.export_tflite else None)
        metrics["export_path"] = path
    reported = "test" if config.evaluate_test else "validation"
    print(f"Final {reported} accuracy {100 * metrics[f'final_{reported}_accuracy']:.2f}% "
          f"after {len(report.records)} epochs "
          f"({trainable_params:,} trainable parameters, {train_seconds:.0f} s)"
          + (f"; exported to {metrics['export_path']}" if "export_path" in metrics else ""), flush=True)
    return metrics


def _evaluate(model, x, y):
    """(cross-entropy, accuracy) of `model` on raw images `x`, labels `y`.

    Calls the model directly, not `predict`: under a multi-worker strategy
    `predict` would give each worker only its shard of the images.
    """
    infer = tf.function(lambda images: model(images, training=False))
    probabilities = np.concatenate([infer(images).numpy() for images, _ in
                                    data.eval_dataset(x, y, EVAL_BATCH_SIZE)])
    nll = keras.losses.sparse_categorical_crossentropy(y, probabilities)
    return float(np.mean(nll)), float(np.mean(np.argmax(probabilities, axis=-1) == y))
