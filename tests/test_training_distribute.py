import json
import os
import socket
import subprocess
import sys

import pytest
import tensorflow as tf

from conftest import EARLIER_RECIPE, quick_config
from keras_mnist.inference import evaluate, load
from keras_mnist.training import distribute, recipe, trainer


def _spy_on_strategy(monkeypatch):
    """A list with, for each train_and_evaluate from now on: the strategy it makes, the models
    it builds, the strategy in scope while they are built, and how many steps ran through
    `strategy.run`."""
    runs = []

    def make_strategy(name):
        seen = {"strategy": make(name), "steps": 0}
        runs.append(seen)
        run = seen["strategy"].run

        def counted_run(*args, **kwargs):
            seen["steps"] += 1
            return run(*args, **kwargs)

        seen["strategy"].run = counted_run
        return seen["strategy"]

    def build_training_model(*args, **kwargs):
        runs[-1]["strategy_in_scope"] = tf.distribute.get_strategy()
        runs[-1]["model"], runs[-1]["training_model"] = build(*args, **kwargs)
        return runs[-1]["model"], runs[-1]["training_model"]

    make, build = distribute.make_strategy, recipe.build_training_model
    monkeypatch.setattr(distribute, "make_strategy", make_strategy)
    monkeypatch.setattr(recipe, "build_training_model", build_training_model)
    return runs


def _mirrored_variables(seen):
    """Whether every variable of the network and its optimizer is mirrored by the run's strategy."""
    variables = seen["model"].weights + seen["training_model"].optimizer.variables
    return bool(variables) and all(isinstance(v.value, tf.distribute.DistributedValues)
                                   and seen["strategy"].extended.variable_created_in_scope(v.value)
                                   for v in variables)


def test_mirrored_strategy_trains_the_same_model(small_mnist, tmp_path, monkeypatch):
    """--strategy=mirrored on this machine's one device: same training, same result."""
    runs = _spy_on_strategy(monkeypatch)
    run = lambda name, *extra: trainer.train_and_evaluate(  # noqa: E731
        quick_config(tmp_path / name, "--epochs=1", "--noexport", *extra), mnist=small_mnist)
    default, mirrored = run("default"), run("mirrored", "--strategy=mirrored")
    plain, seen = runs

    # The run really was mirrored: a MirroredStrategy (TF puts one replica on a machine
    # without GPUs), in scope while the network was built, so that every variable of the
    # network and of its optimizer is mirrored; fit() and evaluate() ran their steps through it.
    strategy = seen["strategy"]
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == len(strategy.extended.worker_devices) >= 1
    assert seen["strategy_in_scope"] is strategy
    assert seen["training_model"].distribute_strategy is strategy
    assert _mirrored_variables(seen)
    assert seen["steps"] > 0
    assert mirrored["flags"]["strategy"] == "mirrored"
    # The same checks tell the default run apart: nothing of it is mirrored.
    assert not isinstance(plain["strategy"], tf.distribute.MirroredStrategy)
    assert not _mirrored_variables(plain)
    assert not any(isinstance(v.value, tf.distribute.DistributedValues) for v in plain["model"].weights)

    assert mirrored["final_test_accuracy"] == pytest.approx(default["final_test_accuracy"], abs=0.01)
    assert mirrored["final_test_loss"] == pytest.approx(default["final_test_loss"], rel=0.05)


# A fresh process: logical devices can only be configured before TensorFlow starts.
_TWO_CPUS = r"""
import json, os, sys
import tensorflow as tf
tf.config.set_logical_device_configuration(tf.config.list_physical_devices("CPU")[0],
                                           [tf.config.LogicalDeviceConfiguration()] * 2)
import numpy as np
from conftest import quick_config
from keras_mnist import data
from keras_mnist.training import recipe, trainer

mnist = data.load_idx_folder(os.environ[data.DATA_DIR_ENV])
small = data.Mnist(mnist.x_train[:3000], mnist.y_train[:3000], mnist.x_test[:1000], mnist.y_test[:1000])
seen, build = {}, recipe.build_training_model

def spy(*args, **kwargs):
    seen["strategy"] = tf.distribute.get_strategy()
    seen["model"], seen["training_model"] = build(*args, **kwargs)
    seen["initial"] = [np.array(v.numpy()) for v in seen["model"].weights]
    return seen["model"], seen["training_model"]

recipe.build_training_model = spy
metrics = trainer.train_and_evaluate(quick_config(sys.argv[1], *sys.argv[2:]), mnist=small)
initial = seen["initial"]
weights = seen["model"].weights
replicas = [[c.numpy() for c in getattr(v.value, "values", [v.value])] for v in weights]
print(json.dumps({
    "replicas": seen["strategy"].num_replicas_in_sync,
    "copies": sorted({len(r) for r in replicas}),
    "devices": sorted({c.device for v in weights for c in getattr(v.value, "values", [v.value])}),
    "copies_differ_by": max(float(np.max(np.abs(r[0] - c))) for r in replicas for c in r),
    "trained_by": max(float(np.max(np.abs(r[0] - w))) for r, w in zip(replicas, initial)),
    "accuracy": metrics["final_test_accuracy"]}))
"""


def _train_on_two_cpus(tmp_path, *flags):
    result = subprocess.run([sys.executable, "-c", _TWO_CPUS, str(tmp_path), "--epochs=1", "--noexport", *flags],
                            cwd=os.path.dirname(os.path.abspath(__file__)), capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_mirrored_strategy_on_two_cpus_trains_two_replicas_in_step(mnist, tmp_path):
    """Two logical CPUs: --strategy=mirrored makes two replicas, each with its own copy of every
    weight, and keeps the copies equal while they train (the gradients are all-reduced)."""
    mirrored = _train_on_two_cpus(tmp_path / "mirrored", "--strategy=mirrored")
    assert mirrored["replicas"] == 2 and mirrored["copies"] == [2], mirrored
    assert len(mirrored["devices"]) == 2 and all("CPU" in d for d in mirrored["devices"]), mirrored
    assert mirrored["trained_by"] > 0.01 and mirrored["copies_differ_by"] == 0.0, mirrored
    # It learned: chance is 0.1. One epoch of 3,000 images gives about 0.5, and how far above or
    # below depends on the CPU's kernels (0.495 with oneDNN's AVX2 ones), so the bar is well under it.
    assert mirrored["accuracy"] > 0.3, mirrored


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_two_workers_train_together_and_only_the_chief_exports(mnist, tmp_path):
    ports = free_ports(2)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in ports]}
    processes = []
    for index in range(2):
        env = dict(os.environ, TF_CONFIG=json.dumps({"cluster": cluster,
                                                     "task": {"type": "worker", "index": index}}))
        processes.append(subprocess.Popen(
            [sys.executable, "-m", "keras_mnist.train", "--strategy=multi_worker", "--train_size=1000",
             "--epochs=2", "--batch_size=64", *EARLIER_RECIPE, f"--workdir={tmp_path}/run",
             f"--export_dir={tmp_path}/models", "--noexport_tflite", "--verbose=2"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=300)[0])
    finally:
        for process in processes:
            process.kill()
    for index, process in enumerate(processes):
        assert process.returncode == 0, f"worker {index}:\n{outputs[index][-3000:]}"

    # Worker 0 is the chief: it alone exports; worker 1 keeps its records apart.
    assert os.listdir(tmp_path / "models" / "reference") == ["1"]
    with open(tmp_path / "run" / "metrics.json") as f:
        chief = json.load(f)
    with open(tmp_path / "run" / "worker1" / "metrics.json") as f:
        worker = json.load(f)
    assert "exported to" in outputs[0] and "exported to" not in outputs[1]
    # Both trained the same model: same weights and batch-norm statistics, same accuracy.
    assert chief["final_test_accuracy"] == worker["final_test_accuracy"]
    # 1,000 images, two epochs: it learned (chance: 0.1; 0.43 with oneDNN's AVX2 kernels).
    assert chief["final_test_accuracy"] > 0.3
    assert chief["epochs"][-1]["train_loss"] == pytest.approx(worker["epochs"][-1]["train_loss"])

    # The export answers as the chief measured it.
    exported = evaluate.evaluate(load.classifier(str(tmp_path / "models" / "reference" / "1")),
                                 mnist.x_test, mnist.y_test)
    assert exported.accuracy == pytest.approx(chief["final_test_accuracy"], abs=2e-4)
