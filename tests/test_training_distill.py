"""Knowledge distillation (--teacher): the loss, the teacher's place in the training graph, its checks."""

import dataclasses
import json
import os

import keras
import numpy as np
import pytest

from conftest import quick_config
from keras_mnist import config, contract, models
from keras_mnist.training import distill, recipe, trainer

RNG = np.random.default_rng(0)
# The flags that build a small cnn (a teacher or student of a few hundred parameters).
SMALL_CNN = ("--model=cnn", "--widths_before_pool=8", "--transition_width=0", "--widths_after_pool=8,8")


def _probabilities(n=6):
    logits = RNG.normal(size=(n, 10)) * 3
    return (np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)).astype("float32")


def _labels(n=6):
    return np.eye(10, dtype="float32")[RNG.integers(0, 10, n)]


def _export_folder(path, split, *builder_flags):
    """An export folder as the training writes it: model.keras and metrics.json with the run's flags."""
    cfg = config.parse([*SMALL_CNN, *builder_flags])
    model = config.build_model(cfg)
    os.makedirs(path, exist_ok=True)
    model.save(os.path.join(path, contract.KERAS_FILENAME))
    with open(os.path.join(path, contract.METRICS_FILENAME), "w") as f:
        json.dump({"flags": {**config.as_dict(cfg), **split}}, f)
    return str(path)


SPLIT = {"train_size": 0, "validation_size": 500, "seed": 3}


def test_weight_0_is_the_labels_cross_entropy():
    y, student, teacher = _labels(), _probabilities(), _probabilities()
    loss = distill.DistillationLoss(0.0, 4.0, label_smoothing=0.1)
    expected = keras.losses.CategoricalCrossentropy(label_smoothing=0.1)(y, student)
    np.testing.assert_allclose(loss(y, np.concatenate([student, teacher], -1)), expected, rtol=1e-5)


def test_teachers_share_is_the_tempered_kl_divergence_times_t_squared():
    y, student, teacher = _labels(), _probabilities(), _probabilities()
    t = 3.0

    def tempered(p):
        z = np.log(p) / t
        return np.exp(z) / np.exp(z).sum(-1, keepdims=True)

    kl = (tempered(teacher) * np.log(tempered(teacher) / tempered(student))).sum(-1)
    loss = distill.DistillationLoss(1.0, t)(y, np.concatenate([student, teacher], -1))
    np.testing.assert_allclose(loss, t * t * kl.mean(), rtol=1e-4)
    # A student that answers as the teacher does has nothing left to learn from it.
    same = distill.DistillationLoss(1.0, t)(y, np.concatenate([teacher, teacher], -1))
    assert float(same) == pytest.approx(0.0, abs=1e-5)


def test_soften_flattens_with_temperature_and_keeps_the_order():
    p = _probabilities(1)
    np.testing.assert_allclose(distill.soften(p, 1.0), p, rtol=1e-4, atol=1e-7)
    soft = np.asarray(distill.soften(p, 4.0))
    assert soft.max() < p.max() and soft.min() > p.min()
    assert list(np.argsort(soft[0])) == list(np.argsort(p[0]))


def test_teacher_sees_the_augmented_batch_in_inference_mode(tmp_path):
    # The teacher has dropout (dropout_scale=1) that would act if it ran in training mode.
    teacher = distill.load_teacher(_export_folder(tmp_path / "t", SPLIT, "--dropout_scale=1"),
                                   config.parse(["--validation_size=500", "--seed=3"]))
    student = config.build_model(config.parse([*SMALL_CNN, "--dropout_scale=0"]))
    cfg = config.parse(["--augment_rotation=0", "--augment_shift=0"])
    graph = recipe.with_augmentation(student, cfg, teacher)
    x = RNG.integers(0, 256, (8, 28, 28, 1)).astype("float32")
    out = np.asarray(graph(x, training=True))
    assert out.shape == (8, 20)
    np.testing.assert_allclose(out[:, 10:], teacher.model(x, training=False), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out[:, :10], student(x, training=True), rtol=1e-5, atol=1e-6)
    # With augmentation on, the teacher answers for the turned digits the student sees, not the raw ones.
    turned = recipe.with_augmentation(student, config.parse(["--augment_rotation=45", "--augment_shift=0"]),
                                      teacher)
    out = np.asarray(turned(x, training=True))
    assert np.abs(out[:, 10:] - np.asarray(teacher.model(x, training=False))).max() > 1e-3
    np.testing.assert_allclose(turned(x, training=False)[:, 10:], teacher.model(x, training=False),
                               rtol=1e-5, atol=1e-6)


def test_teacher_answers_without_its_fitted_temperature(tmp_path):
    """An export's temperature was fitted on its held-out images: this run's validation images."""
    from keras_mnist.deploy import calibration

    folder = _export_folder(tmp_path / "t", SPLIT)
    path = os.path.join(folder, contract.KERAS_FILENAME)
    raw = keras.models.load_model(path)
    calibration.with_temperature(raw, 0.5).save(path)  # As the export writes a calibrated network.
    teacher = distill.load_teacher(folder, config.parse(["--validation_size=500", "--seed=3"]))
    x = RNG.integers(0, 256, (4, 28, 28, 1)).astype("float32")
    np.testing.assert_allclose(teacher(x), raw(x, training=False), rtol=1e-5, atol=1e-6)


def test_fit_trains_the_student_and_leaves_the_teacher(tmp_path):
    folder = _export_folder(tmp_path / "t", {"train_size": 0, "validation_size": 0, "seed": 1})
    cfg = config.parse([*SMALL_CNN, f"--teacher={folder}", "--batch_size=8"])
    model, training_model = recipe.build_training_model(cfg, steps_per_epoch=2)
    teacher = next(layer for layer in training_model.layers if layer.name == "teacher")
    before_teacher = [w.copy() for w in teacher.get_weights()]
    before_student = [w.copy() for w in model.get_weights()]
    x = RNG.integers(0, 256, (16, 28, 28, 1)).astype("float32")
    training_model.fit(x, _labels(16), batch_size=8, epochs=1, verbose=0)
    assert all(np.array_equal(a, b) for a, b in zip(before_teacher, teacher.get_weights()))
    assert not all(np.array_equal(a, b) for a, b in zip(before_student, model.get_weights()))
    assert model.output_shape == (None, 10)  # What is exported: the student alone.


def test_teacher_trained_on_other_images_is_refused(tmp_path):
    folder = _export_folder(tmp_path / "t", SPLIT)
    distill.load_teacher(folder, config.parse(["--validation_size=500", "--seed=3"]))  # The same split.
    # Another seed, size or subset holds out other images, which the teacher may have trained on.
    for flags in (["--validation_size=500", "--seed=4"], ["--validation_size=1000", "--seed=3"],
                  ["--validation_size=500", "--seed=3", "--train_size=5000"]):
        with pytest.raises(distill.TeacherError, match="train the teacher with"):
            distill.load_teacher(folder, config.parse(flags))
    # Without a validation split (the test set reports), any teacher will do.
    distill.load_teacher(folder, config.parse(["--seed=4"]))


def test_unusable_teacher_folders_are_refused(tmp_path):
    cfg = config.parse([])
    with pytest.raises(distill.TeacherError, match="no model.keras and metrics.json there"):
        distill.load_teacher(str(tmp_path), cfg)
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / contract.KERAS_FILENAME).write_bytes(b"not a zip")
    (broken / contract.METRICS_FILENAME).write_text(json.dumps({"flags": SPLIT}))
    with pytest.raises(distill.TeacherError, match="cannot load model.keras"):
        distill.load_teacher(str(broken), cfg)
    (broken / contract.METRICS_FILENAME).write_text("{}")
    with pytest.raises(distill.TeacherError, match="gives no training flags"):
        distill.load_teacher(str(broken), cfg)


def test_student_learns_the_digits_from_the_teacher_alone(small_mnist, trained_export, tmp_path):
    """--distill_weight=1: no label enters the loss, so what the student learns, the teacher taught.

    The teacher (`trained_export`) held out the same 500 images (same size and seed).
    """
    cfg = quick_config(tmp_path, "--model=cnn", "--validation_size=500", "--seed=3", "--epochs=3",
                       f"--teacher={trained_export}", "--distill_weight=1", "--distill_temperature=1",
                       "--noexport", "--noevaluate_test")
    metrics = trainer.train_and_evaluate(cfg, mnist=small_mnist)
    # Chance is 0.1 (the commonest digit: 0.12 of these 500); 0.80 here. The untrained teacher
    # below leaves the same student at chance.
    assert metrics["final_validation_accuracy"] > 0.5
    assert metrics["trainable_params"] == models.count_trainable_params(config.build_model(cfg))
    assert metrics["flags"]["teacher"] == trained_export
    # An untrained teacher teaches nothing: the same run from one stays near chance.
    untrained = _export_folder(tmp_path / "untrained", SPLIT)
    cfg = dataclasses.replace(cfg, teacher=untrained, workdir=str(tmp_path / "run2"))
    assert trainer.train_and_evaluate(cfg, mnist=small_mnist)["final_validation_accuracy"] < 0.18


def test_command_line_refuses_a_bad_teacher_in_one_line(tmp_path):
    from conftest import run_cli
    from keras_mnist import train

    with pytest.raises(SystemExit) as exit_:
        run_cli(train, f"--teacher={tmp_path}/none", "--epochs=1", "--train_size=200",
                f"--export_dir={tmp_path}/out", f"--workdir={tmp_path}/run")
    assert str(exit_.value.code).startswith(f"error: --teacher={tmp_path}/none: no model.keras")
    assert not os.path.exists(tmp_path / "out")
