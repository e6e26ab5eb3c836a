import json
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from conftest import quick_config
from keras_mnist import contract
from keras_mnist.training import run_folder, trainer


def test_short_run_learns_reports_and_exports(small_mnist, tmp_path, capsys):
    metrics = trainer.train_and_evaluate(quick_config(tmp_path), mnist=small_mnist)
    out = capsys.readouterr().out
    assert out.count("Test set: Average loss: ") == 2
    assert "Accuracy: " in out and "/1000 (" in out

    assert metrics["trainable_params"] == 16_848
    assert metrics["final_test_accuracy"] > 0.80  # 3,000 images, 2 epochs.
    assert len(metrics["epochs"]) == 2
    # The final figure is the last epoch's, not the best one's.
    assert metrics["final_test_accuracy"] == pytest.approx(metrics["epochs"][-1]["test_accuracy"], abs=1e-6)
    assert metrics["flags"]["epochs"] == 2 and metrics["versions"]["tensorflow"] == tf.__version__
    assert all(e["seconds"] > 0 for e in metrics["epochs"])

    path = metrics["export_path"]
    assert path == os.path.join(str(tmp_path), "models", "reference", "1")
    assert os.path.exists(os.path.join(path, "saved_model.pb"))
    with open(os.path.join(path, "metrics.json")) as f:
        assert json.load(f)["final_test_accuracy"] == metrics["final_test_accuracy"]
    with open(os.path.join(tmp_path, "run", "metrics.json")) as f:
        assert json.load(f)["trainable_params"] == 16_848

    # The exported .keras model is the last epoch's model.
    reloaded = keras.models.load_model(os.path.join(path, contract.KERAS_FILENAME))
    predictions = np.argmax(reloaded.predict(small_mnist.x_test, verbose=0), axis=-1)
    assert np.mean(predictions == small_mnist.y_test) == pytest.approx(metrics["final_test_accuracy"], abs=1e-6)


def test_same_seed_same_result_other_seed_other_result(small_mnist, tmp_path):
    run = lambda name, seed: trainer.train_and_evaluate(  # noqa: E731
        quick_config(tmp_path / name, f"--seed={seed}", "--epochs=1", "--noexport"), mnist=small_mnist)
    a, b, c = run("a", 5), run("b", 5), run("c", 6)
    assert a["final_test_loss"] == b["final_test_loss"]
    assert a["final_test_accuracy"] == b["final_test_accuracy"]
    assert a["final_test_loss"] != c["final_test_loss"]


def test_second_run_exports_a_new_version(small_mnist, tmp_path):
    cfg = quick_config(tmp_path, "--epochs=1", "--export_name=mine")
    first = trainer.train_and_evaluate(cfg, mnist=small_mnist)["export_path"]
    before = sorted(os.listdir(first))
    second = trainer.train_and_evaluate(cfg, mnist=small_mnist)["export_path"]
    assert (os.path.basename(first), os.path.basename(second)) == ("1", "2")
    assert sorted(os.listdir(first)) == before


def test_validation_split_replaces_the_test_set_during_training(small_mnist, tmp_path, capsys):
    metrics = trainer.train_and_evaluate(
        quick_config(tmp_path, "--epochs=1", "--validation_size=500", "--noexport"), mnist=small_mnist)
    out = capsys.readouterr().out
    assert "Validation set: Average loss: " in out and "/500 (" in out
    assert "validation_accuracy" in metrics["epochs"][0] and "test_accuracy" not in metrics["epochs"][0]
    assert out.count("Test set: ") == 1  # Reported once, at the end.


def test_divergence_stops_and_exports_nothing(small_mnist, tmp_path):
    cfg = quick_config(tmp_path, "--learning_rate=1e30", "--schedule=constant", "--augment_rotation=0")
    with pytest.raises(trainer.TrainingDiverged, match="diverged .* nothing was exported; lower --learning_rate$"):
        trainer.train_and_evaluate(cfg, mnist=small_mnist)
    assert not os.path.exists(tmp_path / "models")


@pytest.mark.parametrize("optimizer", ["sgd", "adam", "adamw", "muon"])
def test_each_optimizer_trains(small_mnist, tmp_path, optimizer):
    lr = {"sgd": "0.05", "muon": "0.02"}.get(optimizer, "0.003")
    metrics = trainer.train_and_evaluate(
        quick_config(tmp_path, f"--optimizer={optimizer}", f"--learning_rate={lr}", "--noexport"),
        mnist=small_mnist)
    # Training works: the loss falls. (Test accuracy after 94 steps says more
    # about how far the batch-norm moving averages have come than about the optimizer.)
    records = metrics["epochs"]
    assert records[-1]["train_loss"] < 0.7 * records[0]["train_loss"] or records[-1]["train_accuracy"] > 0.5


def test_run_folder_keeps_curves_tensorboard_and_epoch_records(small_mnist, tmp_path):
    trainer.train_and_evaluate(quick_config(tmp_path, "--noexport"), mnist=small_mnist)
    run = tmp_path / "run"
    assert (run / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert any("events.out.tfevents" in name for _, _, files in os.walk(run / "tensorboard") for name in files)
    with open(run / "epochs.json") as f:
        assert [r["epoch"] for r in json.load(f)] == [1, 2]
    assert not (run / "backup").exists()  # A finished run leaves no backup to resume.


def test_divergence_keeps_the_last_good_backup(small_mnist, tmp_path, monkeypatch):
    """Epoch 1 trains; epoch 2 diverges: the backup of epoch 1 stays, nothing is exported."""
    cfg = quick_config(tmp_path, "--epochs=3", "--schedule=constant")

    class PoisonEpoch2(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            if epoch == 1:
                self.model.optimizer.learning_rate.assign(1e30)

    real_fit = keras.Model.fit
    monkeypatch.setattr(keras.Model, "fit", lambda self, *a, callbacks=(), **k: real_fit(
        self, *a, callbacks=[PoisonEpoch2(), *callbacks], **k))
    with pytest.raises(trainer.TrainingDiverged, match=r"in epoch 2; .*last good backup \(epoch 1\)"):
        trainer.train_and_evaluate(cfg, mnist=small_mnist)
    assert run_folder.resumed_epoch(str(tmp_path / "run")) == 1
    assert not os.path.exists(tmp_path / "models")


def test_no_test_evaluation_for_model_selection(small_mnist, tmp_path):
    """--noevaluate_test: the test images are never looked at."""
    from keras_mnist import data

    blind = data.Mnist(small_mnist.x_train, small_mnist.y_train, x_test=None, y_test=None)
    metrics = trainer.train_and_evaluate(
        quick_config(tmp_path, "--epochs=1", "--noexport", "--validation_size=500", "--noevaluate_test"),
        mnist=blind)
    assert "final_test_accuracy" not in metrics
    assert metrics["final_validation_accuracy"] == metrics["epochs"][-1]["validation_accuracy"]


def test_timed_run_evaluates_the_test_set_once_and_writes_no_logs(small_mnist, tmp_path, capsys):
    """flags/quick.flags's run flags: no evaluation between epochs, no TensorBoard, backups or curves."""
    metrics = trainer.train_and_evaluate(
        quick_config(tmp_path, "--noexport", "--noeval_every_epoch", "--norun_logs"), mnist=small_mnist)
    assert [r["test_accuracy"] for r in metrics["epochs"]] == [None, None]
    assert metrics["final_test_accuracy"] > 0.5
    assert "Test set: " not in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path / "run")) == ["epochs.json", "metrics.json", "run_flags.json"]


def test_validation_after_the_last_epoch_only(small_mnist, tmp_path):
    metrics = trainer.train_and_evaluate(
        quick_config(tmp_path, "--noexport", "--noeval_every_epoch", "--validation_size=500",
                     "--noevaluate_test"), mnist=small_mnist)
    accuracies = [r["validation_accuracy"] for r in metrics["epochs"]]
    assert accuracies[0] is None and accuracies[1] == metrics["final_validation_accuracy"] > 0.5
    assert (tmp_path / "run" / "curves.png").read_bytes()[:4] == b"\x89PNG"  # drawn from the last epoch
