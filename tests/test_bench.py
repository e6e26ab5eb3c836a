"""`python -m keras_mnist.bench`: the preset timing table (the Keras/PyTorch comparison: test_speed_peer)."""

import os
import re

from conftest import REPO, run_cli

from keras_mnist import bench


def test_fast_preset_table_has_a_row_per_seed_after_the_runs(mnist, tmp_path, capfd, monkeypatch):
    # quick.flags on 1,024 images for one epoch: each seed a real, fresh training process.
    preset = tmp_path / "tiny.flags"
    preset.write_text(f"--flagfile={os.path.join(REPO, 'flags', 'quick.flags')}\n--train_size=1024\n--epochs=1\n")
    monkeypatch.chdir(tmp_path)
    run_cli(bench, "--rounds=0", f"--fast_preset={preset}", "--fast_seeds=1,2")
    out = capfd.readouterr().out
    table = out[out.index("| seed | parameters"):]
    rows = re.findall(r"^\| (\d) \| ([\d,]+) \| ([\d.]+) s \| ([\d.]+) s \| ([\d.]+) % \|$", table, re.M)
    assert [row[0] for row in rows] == ["1", "2"]
    # The training processes' own final lines come before the table, not inside it.
    finals = re.findall(r"^Final test accuracy ([\d.]+)%", out, re.M)
    assert len(finals) == 2 and "Final test accuracy" not in table
    for (_, params, wall, fit, accuracy), final in zip(rows, finals):
        assert params == "18,544"
        assert 0 < float(fit) < float(wall)  # Wall time: process start to exit, fit() inside it.
        assert accuracy == final  # The table reads each run's own metrics.
