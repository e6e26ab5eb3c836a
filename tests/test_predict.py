"""`python -m keras_mnist.predict --model_path=PATH FILE...`, run in-process."""

import os

import numpy as np
import pytest

from conftest import REPO, run_cli, write_png
from keras_mnist import predict


def test_cli_classifies_good_files_and_reports_bad_ones(trained_export, digits, tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("not an image")
    files = [digits["mnist.png"][0], str(tmp_path / "notes.txt"), digits["drawing.jpg"][0], digits["rgba.png"][0]]
    for model in ("model.keras", ".", "model_float16.tflite"):
        with pytest.raises(SystemExit) as exit_:
            run_cli(predict, f"--model_path={os.path.normpath(os.path.join(trained_export, model))}", *files)
        assert exit_.value.code == 1
        out, err = capsys.readouterr()
        lines = out.strip().splitlines()
        assert [line.split(":")[0] for line in lines] == [files[0], files[2], files[3]]
        for line in lines:
            digit, probability = line.split(": ")[1].split()
            assert 0 <= int(digit) <= 9 and 0 < float(probability.strip("()")) <= 1
        assert f"error: {tmp_path}/notes.txt: not a PNG" in err


def test_the_old_flag_name_model_still_works(capsys):
    assert predict.old_flag_names(["predict", "--model=m.keras", "a.png"]) == \
        ["predict", "--model_path=m.keras", "a.png"]
    assert predict.old_flag_names(["predict", "--model", "m.keras"]) == ["predict", "--model_path", "m.keras"]
    assert "note: --model is now --model_path" in capsys.readouterr().err
    assert predict.old_flag_names(["predict", "--model_path=m", "--models.png"])[1:] == ["--model_path=m", "--models.png"]


def test_one_line_per_bad_file_and_the_rest_classified(trained_export, digits, tmp_path, capsys):
    from test_inference_decode import BAD

    bad = []
    for name in ("empty", "text", "png bomb", "zero-sized png", "animated gif", "truncated png",
                 "truncated jpeg", "palette bmp"):
        path = tmp_path / (name.replace(" ", "_") + ".img")
        path.write_bytes(BAD[name][0])
        bad.append(str(path))
    good = [digits["mnist.png"][0], digits["drawing.jpg"][0]]
    with pytest.raises(SystemExit) as exit_:
        run_cli(predict, f"--model_path={os.path.join(trained_export, 'model.keras')}", good[0], *bad, good[1])
    assert exit_.value.code == 1
    out, err = capsys.readouterr()
    assert [line.split(":")[0] for line in out.strip().splitlines()] == good
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert [line.split(":")[1].strip() for line in errors] == bad
    assert "Traceback" not in err


def test_no_digit_in_line_and_show_writes_what_the_model_saw(digits, tmp_path, capsys):
    """With the committed model: a blank page is `no digit found`; --show draws the 28x28 inputs."""
    blank = write_png(tmp_path / "blank.png", np.full((60, 40, 1), 230, np.uint8))
    show = tmp_path / "seen.png"
    files = [digits["mnist.png"][0], blank, digits["drawing.jpg"][0]]
    with pytest.raises(SystemExit) as exit_:
        run_cli(predict, f"--model_path={REPO}/savedmodels/reference/1/model.keras", f"--show={show}", *files)
    assert exit_.value.code == 1
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[1] == f"{blank}: no digit found"
    assert lines[0].startswith(f"{files[0]}: {digits['mnist.png'][1]} (")
    assert lines[2].startswith(f"{files[2]}: {digits['drawing.jpg'][1]} (")
    assert show.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_number_prints_each_digits_probability_and_touching_digits_are_said_so(mnist, tmp_path, capsys):
    from keras_mnist.inference import renderings
    from test_inference_predict import touching_pair, touching_zeros

    number = tmp_path / "number.jpg"
    number.write_bytes(renderings.render_number(mnist.x_test[[3, 4, 5]], "number_photo", 1))
    touching = tmp_path / "touching.png"
    touching.write_bytes(touching_zeros(mnist))
    pair = tmp_path / "pair.png"  # A 1 touching a 2, no wider than one digit.
    pair.write_bytes(touching_pair(mnist, [1, 2]))
    with pytest.raises(SystemExit) as exit_:
        run_cli(predict, f"--model_path={REPO}/savedmodels/reference/1/model.keras", f"--show={tmp_path}/seen.png",
                str(number), str(touching), str(pair))
    assert exit_.value.code == 1  # Touching digits are not an answer.
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    read, probabilities = lines[0].split(": ")[1].split(" ", 1)
    assert read == "".join(str(d) for d in mnist.y_test[[3, 4, 5]])
    assert len(probabilities.strip("()").split()) == 3
    assert all(0 < float(p) <= 1 for p in probabilities.strip("()").split())
    assert lines[1].startswith(f"{touching}: digits touch")
    assert lines[2].startswith(f"{pair}: 12 (")
    assert "Traceback" not in err
