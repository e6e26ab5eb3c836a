import os

import numpy as np
import pytest
import tensorflow as tf

from keras_mnist import models
from keras_mnist.deploy import saved_model


@pytest.fixture(scope="module")
def model():
    return models.build("reference")


def test_versions_count_up_and_never_overwrite(model, tmp_path):
    first = saved_model.export_model(model, str(tmp_path), "m", metrics={"a": 1})
    second = saved_model.export_model(model, str(tmp_path), "m")
    assert (first, second) == (str(tmp_path / "m" / "1"), str(tmp_path / "m" / "2"))
    assert saved_model.versions(str(tmp_path / "m")) == [1, 2]
    assert os.path.exists(os.path.join(first, "metrics.json"))
    assert not os.path.exists(os.path.join(second, "metrics.json"))
    # Nothing is left staging.
    assert sorted(os.listdir(tmp_path / "m")) == ["1", "2"]


def test_serving_signature_takes_raw_images(model, tmp_path):
    path = saved_model.export_model(model, str(tmp_path), "m")
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
    with pytest.raises(saved_model.ExportError, match="is a file"):
        saved_model.export_model(model, str(path), "m")
    assert path.read_text() == "keep me"


@pytest.mark.parametrize("blocked", ["export_dir's parent", "the model's folder"])
def test_unwritable_export_dir_is_refused(model, tmp_path, blocked):
    # A regular file where a folder must be created: no folder can be made there, even
    # by root (CI runs as root, and root writes through permission bits).
    if blocked == "export_dir's parent":
        in_the_way, export_dir = tmp_path / "parent", tmp_path / "parent" / "savedmodels"
    else:
        in_the_way, export_dir = tmp_path / "savedmodels" / "m", tmp_path / "savedmodels"
        export_dir.mkdir()
    in_the_way.write_text("keep me")
    with pytest.raises(saved_model.ExportError,
                       match=r"cannot create .*/m \(.+\); pass a writable --export_dir"):
        saved_model.export_model(model, str(export_dir), "m")
    assert in_the_way.read_text() == "keep me"
    assert sorted(os.listdir(tmp_path)) == [in_the_way.relative_to(tmp_path).parts[0]]


def test_failed_export_leaves_no_half_written_version(model, tmp_path, monkeypatch):
    saved_model.export_model(model, str(tmp_path), "m")

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(type(model), "save", disk_full)
    with pytest.raises(saved_model.ExportError, match=r"No space left on device\); nothing was written"):
        saved_model.export_model(model, str(tmp_path), "m")
    assert sorted(os.listdir(tmp_path / "m")) == ["1"]
