import json
import os
import signal
import socket
import subprocess
import sys

import pytest

from conftest import run_cli
from keras_mnist import config, models, tune as tune_command
from keras_mnist.tuning import frontier
from keras_mnist.training import trainer


# A search small enough for a test: 600 training images, 200 of them held out, one epoch.
TINY_SEARCH = ["--train_size=600", "--validation_size=200", "--epochs=1", "--batch_size=64",
               "--tuner=bayesian", "--seed=2"]


def trial_statuses(tune_dir):
    """{trial id: status} from the search folder."""
    folder = os.path.join(tune_dir, "search")
    statuses = {}
    for name in os.listdir(folder):
        if name.startswith("trial_"):
            with open(os.path.join(folder, name, "trial.json")) as f:
                trial = json.load(f)
            statuses[trial["trial_id"]] = trial["status"]
    return statuses


def test_search_fits_every_trial_to_the_budget_and_writes_a_runnable_flagfile(mnist, tmp_path, capsys):
    run_cli(tune_command, *TINY_SEARCH, f"--tune_dir={tmp_path}/tune", "--max_trials=4", "--max_params=3000",
            "--optimizers=sgd,muon", "--fix=separable=true,optimizer=muon")
    out = capsys.readouterr().out
    statuses = trial_statuses(tmp_path / "tune")
    # No trial wasted: every sampled network was fitted to the budget and trained.
    assert len(statuses) == 4 and set(statuses.values()) == {"COMPLETED"}
    assert "failed: " not in out and "0 failed" in out
    # No trial ever evaluated the test set.
    assert "Test set" not in out
    trials = frontier.read_trials(tmp_path / "tune")
    assert len(trials) == 4
    for trial in trials:
        # Each trial's flagfile is the network it trained, within the budget.
        trial_flags = config.parse(flagfile=str(tmp_path / "tune" / "search" / f"trial_{trial['trial_id']}" /
                                                "trial.flags"))
        assert models.count_trainable_params(config.build_model(trial_flags)) == trial["params"] <= 3000
        assert trial_flags.separable and trial_flags.optimizer == "muon"  # --fix held in every trial,
        assert 0.01 <= trial_flags.learning_rate <= 0.08  # with Muon's own learning-rate range.

    best_flags = tmp_path / "tune" / "best.flags"
    recipe = config.parse(flagfile=str(best_flags))
    assert recipe.model == "cnn" and models.count_trainable_params(config.build_model(recipe)) <= 3000
    best_score = max(t["accuracy"] for t in trials)
    assert f"final validation accuracy {100 * best_score:.2f} %" in best_flags.read_text()
    # The flagfile trains unchanged (here on the same small subset, without export).
    metrics = trainer.train_and_evaluate(
        config.parse([f"--workdir={tmp_path}/final", "--train_size=600", "--noexport", "--verbose=0"],
                     flagfile=str(best_flags)), mnist)
    assert metrics["flags"]["widths_after_pool"] == recipe.widths_after_pool
    assert metrics["trainable_params"] == models.count_trainable_params(config.build_model(recipe))
    best_trial_flags = [line for line in best_flags.read_text().splitlines() if "trainable parameters" in line]
    assert f"{metrics['trainable_params']:,} trainable parameters" in best_trial_flags[0]


@pytest.mark.parametrize("argv, message", [
    (["--max_params=100"], "error: --max_params=100 is below the search space's smallest networks"),
    (["--nosearch_architecture", "--max_params=8000"],
     "error: --nosearch_architecture keeps the command line's network, 16,848 trainable parameters > "
     "--max_params=8,000"),
    (["--tuner=hyperband", "--epochs_choices=5,10"], "error: --epochs_choices is for --tuner=bayesian"),
    (["--epochs_choices=5,ten"], "error: --epochs_choices must be whole numbers of epochs, got 5,ten"),
    (["--epochs_choices=0,5"], "error: --epochs_choices must be at least 1"),
    (["--trial_seeds=1,two"], "error: --trial_seeds must be whole numbers, got 1,two"),
    (["--trial_seeds=1,1"], "error: --trial_seeds must be distinct seeds >= 0, got 1,1"),
    (["--fix=separable"], "error: --fix takes name=value items, e.g. --fix=separable=true,shared_repeats=0; "
                          "got 'separable'"),
    (["--fix=width_first=40"], "error: --fix: width_first=40 is outside the space; width_first is 4 to 16"),
    (["--fix=separable=true,separable=false"], "error: --fix gives separable twice; give each name once"),
    (["--optimizers=sgd,lion"], "error: --optimizers=sgd,lion: give one or more of sgd, adamw, muon, each once"),
    # The teacher is checked once, before any trial, not failed in every one.
    (["--teacher=no/such/export"], "error: --teacher=no/such/export: no model.keras and metrics.json there"),
    (["--fix=optimizer=muon"], "error: --fix: optimizer=muon is outside the space; optimizer is one of sgd, "
                               "adamw"),
])
def test_a_search_that_cannot_run_is_one_line_before_any_trial(tmp_path, argv, message):
    flags_ = [f for f in TINY_SEARCH if not f.startswith("--tuner")] + ["--tuner=bayesian"]
    with pytest.raises(SystemExit) as exit_:
        run_cli(tune_command, *flags_, f"--tune_dir={tmp_path}/tune", "--max_trials=3", *argv)
    assert str(exit_.value.code).startswith(message) and "\n" not in str(exit_.value.code)
    assert not (tmp_path / "tune" / "search").exists()


def test_killed_search_resumes_from_its_folder(mnist, tmp_path):
    command = [sys.executable, "-m", "keras_mnist.tune", *TINY_SEARCH, "--max_trials=3",
               "--max_params=20000", "--epochs=2", f"--tune_dir={tmp_path}/tune"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    # Kill it in its second trial's training.
    trained = 0
    for line in process.stdout:
        if "Final validation accuracy" in line:
            trained += 1
        if trained == 1 and line.startswith("Epoch 2/2"):
            break
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert "RUNNING" in trial_statuses(tmp_path / "tune").values()

    resumed = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "Reloading Tuner" in resumed.stdout
    assert set(trial_statuses(tmp_path / "tune").values()) == {"COMPLETED"}
    assert len(trial_statuses(tmp_path / "tune")) == 3
    # The first trial finished before the kill and is not trained again.
    assert resumed.stdout.count("Final validation accuracy") == 2


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_distributed_search_chief_and_a_worker(mnist, tmp_path):
    """keras-tuner's distributed mode on 127.0.0.1: the chief serves the oracle, the worker trains."""
    port = free_port()
    command = [sys.executable, "-m", "keras_mnist.tune", "--train_size=300", "--validation_size=100", "--epochs=1",
               "--batch_size=64", "--tuner=bayesian", "--seed=2", "--max_trials=2", "--max_params=2000",
               "--threads=1", f"--tune_dir={tmp_path}/tune"]
    processes = {}
    for tuner_id in ("chief", "tuner0"):
        env = dict(os.environ, KERASTUNER_TUNER_ID=tuner_id, KERASTUNER_ORACLE_IP="127.0.0.1",
                   KERASTUNER_ORACLE_PORT=str(port))
        processes[tuner_id] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                               text=True, env=env)
    outputs = {}
    try:
        for tuner_id, process in processes.items():
            outputs[tuner_id] = process.communicate(timeout=300)[0]
    finally:
        for process in processes.values():
            process.kill()
    for tuner_id, process in processes.items():
        assert process.returncode == 0, f"{tuner_id}:\n{outputs[tuner_id][-2000:]}"
    # The worker trained both trials; the chief only served the oracle and wrote the result.
    assert outputs["tuner0"].count("Final validation accuracy") == 2
    assert "tuner0: no trials left; the chief writes the result" in outputs["tuner0"]
    assert "Final validation accuracy" not in outputs["chief"]
    assert "Best trial" in outputs["chief"]
    statuses = trial_statuses(tmp_path / "tune")
    assert len(statuses) == 2 and set(statuses.values()) == {"COMPLETED"}
    # The chief's record holds each trial's size (the frontier's x), within the budget.
    assert all(t["params"] <= 2000 for t in frontier.read_trials(tmp_path / "tune"))
    recipe = config.parse(flagfile=str(tmp_path / "tune" / "best.flags"))
    assert recipe.model == "cnn" and models.count_trainable_params(config.build_model(recipe)) <= 2000
