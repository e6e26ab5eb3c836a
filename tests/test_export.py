import os
import stat

import numpy as np
import pytest
import tensorflow as tf

from keras_mnist import export, models


@pytest.fixture(scope="module")
def model():
    return models.build("seed")


def test_versions_count_up_and_never_overwrite(model, tmp_path):
    first = export.export_model(model, str(tmp_path), "m", metrics={"a": 1})
    second = export.export_model(model, str(tmp_path), "m")
    assert (first, second) == (str(tmp_path / "m" / "1"), str(tmp_path / "m" / "2"))
    assert export.versions(str(tmp_path / "m")) == [1, 2]
    assert os.path.exists(os.path.join(first, "metrics.json"))
    assert not os.path.exists(os.path.join(second, "metrics.json"))
    # Nothing is left staging.
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "2"]


def test_serving_signature_takes_raw_images(model, tmp_path):
    path = export.export_model(model, str(tmp_path), "m")
    loaded = tf.saved_model.load(path)
    serve = loaded.signatures["serving_default"]
    assert list(serve.structured_input_signature[1]) == ["images"]
    assert sorted(serve.structured_outputs) == ["classes", "probabilities"]
    x = np.random.default_rng(0).integers(0, 256, (5, 28, 28, 1)).astype(np.float32)
    out = serve(images=tf.constant(x))
    expected = model.predict(x, verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, rtol=1e-4, atol=1e-6)
    assert out["classes"].dtype == tf.int64
    np.testing.assert_array_equal(out["classes"].numpy(), np.argmax(expected, axis=-1))


def test_export_dir_that_is_a_file_is_refused(model, tmp_path):
    path = tmp_path / "file"
    path.write_text("keep me")
    with pytest.raises(export.ExportError, match="is a file"):
        export.export_model(model, str(path), "m")
    assert path.read_text() == "keep me"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes through permissions")
def test_unwritable_export_dir_is_refused(model, tmp_path):
    os.chmod(tmp_path, stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(export.ExportError, match="writable"):
            export.export_model(model, str(tmp_path), "m")
    finally:
        os.chmod(tmp_path, stat.S_IRWXU)


def test_failed_export_leaves_no_half_written_version(model, tmp_path, monkeypatch):
    export.export_model(model, str(tmp_path), "m")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(model), "save", disk_full)
    with pytest.raises(export.ExportError, match=r"No space left on device\); nothing was written"):
        export.export_model(model, str(tmp_path), "m")
    assert sorted(os.listdir(tmp_path / "m")) == ["1"]


def test_cli_reexports_a_keras_file_as_a_new_version(tmp_path):
    import subprocess
    import sys

    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    source = os.path.join(repo, "savedmodels", "seed", "1", "model.keras")
    for expected in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-m", "keras_mnist.export", source, f"--export_dir={tmp_path}",
             "--export_name=again", "--notflite"],
            capture_output=True, text=True, cwd=repo, timeout=300)
        assert result.returncode == 0, result.stderr[-2000:]
        assert f"to {tmp_path}/again/{expected}" in result.stdout
    assert os.path.exists(tmp_path / "again" / "2" / "saved_model.pb")
    # metrics.json beside the source travels with it.
    assert os.path.exists(tmp_path / "again" / "1" / "metrics.json")
    bad = subprocess.run([sys.executable, "-m", "keras_mnist.export", str(tmp_path / "nope.keras")],
                         capture_output=True, text=True, cwd=repo, timeout=300)
    assert bad.returncode == 1 and "error: " in bad.stderr and "Traceback" not in bad.stderr
