"""Training and evaluation of one MNIST model: `train_and_evaluate(config)`.

data -> model -> fit -> evaluate -> export, in that order, with a
`keras_mnist.config.Config` as the configuration.
"""

import math
import os
import time

import keras
import numpy as np

from keras_mnist import config as config_lib
from keras_mnist import contract, data, models
from keras_mnist.deploy import saved_model
from keras_mnist.inference import evaluate, load
from keras_mnist.speed import flops
from keras_mnist.training import distribute, recipe, report, run_folder


class TrainingDiverged(Exception):
    """The loss became NaN or infinite; nothing was exported."""


def train_and_evaluate(config, mnist=None):
    """Trains the model `config` describes, reports the test set, exports it.

    Args:
      config: a `config.Config` (or any object with its attributes).
      mnist: a `data.Mnist` to use instead of loading --data_dir.

    Returns:
      The metrics dict (also written as JSON to the run folder and the export).

    Raises:
      data.DataError, saved_model.ExportError, TrainingDiverged, run_folder.RunFolderError.
    """
    strategy = distribute.make_strategy(config.strategy)  # First: it may configure TF.
    recipe.make_reproducible(config)
    # Every worker trains; the chief alone writes the run folder and exports, the
    # others keep their backups and logs apart in a folder of their own.
    worker = distribute.worker_name(strategy)
    run_dir = run_folder.default_workdir(config)
    run_dir = os.path.join(run_dir, worker) if worker else run_dir
    run_folder.claim(run_dir, config)

    mnist = mnist or data.load(config.data_dir)
    (x_train, y_train), (x_eval, y_eval), eval_name = _splits(mnist, config)
    first_epoch = run_folder.resumed_epoch(run_dir)
    if first_epoch:
        print(f"Resuming {run_dir} at epoch {first_epoch + 1} from its backup", flush=True)
    train_ds = data.one_hot(data.train_dataset(x_train, y_train, config.batch_size, config.seed,
                                               epochs=config.epochs, first_epoch=first_epoch))
    eval_ds = data.one_hot(data.eval_dataset(x_eval, y_eval, contract.EVAL_BATCH_SIZE))
    steps_per_epoch = math.ceil(len(x_train) / config.batch_size)

    # Variables are created in the strategy's scope, to be mirrored on every replica.
    with strategy.scope():
        model, training_model = recipe.build_training_model(
            config, steps_per_epoch, distribute.training_model_class(config.strategy))
    if config.strategy == "multi_worker":
        training_model.element_spec = train_ds.element_spec

    epochs = report.EpochReport(eval_name, len(x_eval), os.path.join(run_dir, "epochs.json"), first_epoch)
    backup = run_folder.BackupUnlessDiverged(run_folder.backup_dir(run_dir))
    start = time.perf_counter()
    logs = [backup, keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"))] if config.run_logs else []
    history = training_model.fit(
        train_ds, epochs=config.epochs, steps_per_epoch=steps_per_epoch, **_evaluation(config, eval_ds),
        callbacks=[keras.callbacks.ProgbarLogger(),  # First, so the report line follows the bar.
                   keras.callbacks.TerminateOnNaN(), *recipe.training_callbacks(config), *logs, epochs],
        verbose=config.verbose, shuffle=False)  # train_ds shuffles itself, by seed.
    train_seconds = time.perf_counter() - start
    _check_finite(history, backup, run_dir, first_epoch)

    # Results differ between instruction sets and kernel libraries: the record says which trained.
    metrics = {"model": config.model, "trainable_params": models.count_trainable_params(model),
               "instruction_set": flops.cpu_isa(), "tensorflow_kernels": flops.tensorflow_kernels()}
    metrics.update(_final_evaluation(model, mnist, config, epochs))
    metrics.update(report.run_record(epochs, train_seconds, config_lib.as_dict(config)))
    saved_model.write_json(os.path.join(run_dir, contract.METRICS_FILENAME), metrics)
    if config.run_logs:
        report.save_training_curves(epochs.records, os.path.join(run_dir, "curves.png"), eval_name.lower())
    if config.export and not worker:
        metrics["export_path"] = saved_model.export_model(
            model, config.export_dir, config.export_name or config.model,
            metrics=metrics, mnist=mnist if config.export_tflite else None,
            # A held-out split fits the softmax temperature (never the test set).
            holdout=(x_eval, y_eval) if config.validation_size else None)
    print(report.final_line(metrics, config.evaluate_test), flush=True)
    return metrics


def _evaluation(config, eval_ds):
    """fit()'s evaluation arguments: every epoch, or only the last (none if the final test evaluation follows)."""
    if config.eval_every_epoch:
        return {"validation_data": eval_ds}
    if config.validation_size:
        return {"validation_data": eval_ds, "validation_freq": config.epochs}
    return {}  # _final_evaluation evaluates the test set once.


def _splits(mnist, config):
    """(training arrays, evaluation arrays, evaluation name): the test set, or a validation split."""
    x, y = mnist.x_train, mnist.y_train
    if config.train_size:
        x, y = x[:config.train_size], y[:config.train_size]
    if config.validation_size:
        train, validation = data.split_validation(x, y, config.validation_size, config.seed)
        return train, validation, "Validation"
    return (x, y), (mnist.x_test, mnist.y_test), "Test"


def _check_finite(history, backup, run_dir, first_epoch):
    losses = history.history.get("loss", [])
    if backup.diverged or not all(np.isfinite(losses)):
        kept = run_folder.resumed_epoch(run_dir)
        raise TrainingDiverged(
            f"training diverged (loss NaN) in epoch {first_epoch + len(losses)}; nothing was exported; "
            "lower --learning_rate"
            + (f"; the last good backup (epoch {kept}) is in {run_folder.backup_dir(run_dir)}: delete it "
               "to start over with other flags" if kept else ""))


def _final_evaluation(model, mnist, config, epochs):
    """The last epoch's numbers: the model saved is the last epoch's, and so are the numbers reported."""
    metrics = {}
    if config.validation_size:
        metrics["final_validation_accuracy"] = epochs.records[-1]["validation_accuracy"]
    if config.evaluate_test:
        test = evaluate.evaluate(load.KerasClassifier(model), mnist.x_test, mnist.y_test)
        metrics.update(final_test_accuracy=test.accuracy, final_test_loss=test.loss)
        if config.validation_size:
            print(report.notebook_line("Test", test.loss, test.accuracy, len(mnist.x_test)), flush=True)
    return metrics
