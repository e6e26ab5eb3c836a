import json
import os
import signal
import subprocess
import sys
import time

import pytest

from keras_mnist import config, data
from keras_mnist.training import run_folder


def test_a_backup_of_another_recipe_is_not_resumed(tmp_path):
    cfg = config.parse([f"--workdir={tmp_path}", "--learning_rate=0.1"])
    run_folder.claim(str(tmp_path), cfg)
    os.makedirs(tmp_path / "backup")  # As BackupAndRestore leaves it after a crash.
    # The same recipe (other verbosity) may resume...
    run_folder.claim(str(tmp_path), config.parse([f"--workdir={tmp_path}", "--learning_rate=0.1",
                                                          "--verbose=2"]))
    # ...another may not.
    with pytest.raises(run_folder.RunFolderError, match=r"other flags \(--learning_rate\); pass another --workdir"):
        run_folder.claim(str(tmp_path), config.parse([f"--workdir={tmp_path}", "--learning_rate=0.2"]))


def test_a_run_recorded_before_a_flag_existed_resumes_at_its_default(tmp_path):
    cfg = config.parse([f"--workdir={tmp_path}"])
    run_folder.claim(str(tmp_path), cfg)
    os.makedirs(tmp_path / "backup")
    flags_file = tmp_path / run_folder.RUN_FLAGS_FILENAME
    recorded = json.loads(flags_file.read_text())
    del recorded["distill_weight"]  # As written by a version without the flag.
    flags_file.write_text(json.dumps(recorded))
    run_folder.claim(str(tmp_path), cfg)  # Resumes, and records the flags again, the new one too.
    flags_file.write_text(json.dumps(recorded))
    with pytest.raises(run_folder.RunFolderError, match=r"other flags \(--distill_weight\)"):
        run_folder.claim(str(tmp_path), config.parse([f"--workdir={tmp_path}", "--distill_weight=0.9"]))


REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _command(workdir, export_dir):
    return [sys.executable, "-m", "keras_mnist.train", "--epochs=4", "--train_size=3000",
            "--batch_size=64", "--seed=7", "--verbose=0", "--noexport_tflite",
            f"--workdir={workdir}", f"--export_dir={export_dir}"]


def _epochs_done(workdir):
    try:
        with open(os.path.join(workdir, "epochs.json")) as f:
            return len(json.load(f))
    except (OSError, ValueError):
        return 0


def test_sigkill_mid_epoch_then_restart_gives_the_same_final_accuracy(tmp_path):
    if not os.environ.get(data.DATA_DIR_ENV):
        pytest.skip(f"set {data.DATA_DIR_ENV} to a folder of the MNIST IDX files")
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    subprocess.run(_command(reference, tmp_path / "ref_models"), cwd=REPO, check=True, timeout=600)

    process = subprocess.Popen(_command(resumed, tmp_path / "models"), cwd=REPO,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 600
    while _epochs_done(resumed) < 2 and process.poll() is None and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)  # Into epoch 3.
    assert process.poll() is None, "training ended before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    assert not os.path.exists(tmp_path / "models" / "reference")  # Nothing exported by the killed run.

    restarted = subprocess.run(_command(resumed, tmp_path / "models"), cwd=REPO, check=True,
                               timeout=600, capture_output=True, text=True)
    assert "Resuming" in restarted.stdout and "at epoch 3" in restarted.stdout

    with open(reference / "metrics.json") as f:
        expected = json.load(f)
    with open(resumed / "metrics.json") as f:
        got = json.load(f)
    assert [e["epoch"] for e in got["epochs"]] == [1, 2, 3, 4]
    assert got["final_test_accuracy"] == expected["final_test_accuracy"]
    assert got["final_test_loss"] == pytest.approx(expected["final_test_loss"], rel=1e-6)
    assert os.path.exists(tmp_path / "models" / "reference" / "1" / "saved_model.pb")
