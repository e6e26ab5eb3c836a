"""`python -m keras_mnist.renderings`, run in-process on a few digits."""

import os

import pytest

from conftest import REPO, run_cli
from keras_mnist import renderings


def _table(capsys, rendering, limit, header):
    """The committed model's table for one rendering: `header` in it, and a row of percentages for
    `rendering`; returns what was printed."""
    model = os.path.join(REPO, "savedmodels", "reference", "1")
    run_cli(renderings, f"--saved_model={model}", f"--renderings={rendering}", f"--limit={limit}")
    out = capsys.readouterr().out
    assert header in out
    row = [line for line in out.splitlines() if line.startswith(f"| {rendering} |")][0]
    assert all(cell.strip().endswith("%") for cell in row.strip("|").split("|")[1:])
    return out


def test_prints_a_markdown_table(mnist, capsys):
    out = _table(capsys, "crop", 40, "| rendering | original test images | `predict` | `serve_image_bytes` |")
    original, by_predict, by_signature = (float(cell.strip(" %")) for cell in [
        line for line in out.splitlines() if line.startswith("| crop |")][0].strip("|").split("|")[1:])
    # predict's Python path and the SavedModel's own graph are two implementations: they agree.
    assert by_predict == by_signature
    assert 90.0 <= by_predict <= original


def test_unknown_rendering_and_missing_model_are_one_line_errors(tmp_path):
    from absl import app

    with pytest.raises(app.UsageError, match="choose from photo, scan, crop, marker"):
        run_cli(renderings, "--renderings=fax")
    with pytest.raises(SystemExit, match="not a SavedModel folder"):
        run_cli(renderings, f"--saved_model={tmp_path}")


def test_saved_model_without_the_image_bytes_signature_is_a_one_line_error(tmp_path):
    import tensorflow as tf

    from keras_mnist.inference import load

    module = tf.Module()
    module.serve = tf.function(lambda x: {"y": x}, input_signature=[tf.TensorSpec([None], tf.float32)])
    tf.saved_model.save(module, str(tmp_path), signatures={"serving_default": module.serve})
    with pytest.raises(load.ModelLoadError, match="no serve_image_bytes signature .* python -m keras_mnist.export"):
        renderings.image_bytes_signature(load.classifier(str(tmp_path)))


def test_number_renderings_print_digit_and_whole_number_accuracy(mnist, capsys):
    out = _table(capsys, "number_scan", 12,
                 "| rendering | original test images | `predict`: digits | `predict`: whole numbers |")
    assert "`serve_image_bytes` |" not in out  # No single-digit rows asked for.
