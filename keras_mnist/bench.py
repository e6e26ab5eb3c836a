"""Training-speed benchmark: `python -m keras_mnist.bench`.

Measures, in one run on this machine:
  1. the default recipe's steady-state training speed (images/s, s/epoch) with
     exactly the model, augmentation and optimizer `keras_mnist.train` uses;
  2. the same network trained the notebook's way in PyTorch (SGD, batch 128,
     NumPy tensors in memory), when torch is installed (`pip install torch`),
     in a fresh process, and the ratio;
  3. with --fast_preset: wall time of `python -m keras_mnist.train
     --flagfile=flags/fast.flags` per seed, process start to final evaluation,
     and its final test accuracy;
  4. with --profile_steps: where a training step's time goes, per TensorFlow
     op, from the TensorFlow profiler.
Speed is measured here, never in timed tests. Run nothing else meanwhile.
"""

import collections
import json
import math
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
from absl import app, flags

_EPOCHS = flags.DEFINE_integer("bench_epochs", 2, "Epochs to time; the first is warm-up.", lower_bound=2)
_TORCH = flags.DEFINE_boolean("torch", True, "Also time the PyTorch reference, if torch is installed.")
_FAST = flags.DEFINE_string("fast_preset", None, "Flagfile to time end to end, e.g. flags/fast.flags.")
_FAST_SEEDS = flags.DEFINE_list("fast_seeds", ["1", "2", "3"], "Seeds for --fast_preset.")
_PROFILE_STEPS = flags.DEFINE_integer("profile_steps", 0,
                                      "Profile this many training steps and print the ops "
                                      "that take the most time (0: no profile).", lower_bound=0)
_TORCH_ONLY = flags.DEFINE_boolean("torch_only", False,
                                   "Internal: time only the PyTorch reference and print its epoch "
                                   "seconds as JSON (the benchmark runs this in a fresh process).")


def _recipe(mnist, train_args, epochs):
    """(flags, network, compiled training model, dataset, steps per epoch), set up as training does."""
    import keras
    import tensorflow as tf

    from keras_mnist import config, data, trainer

    cfg = config.parse(list(train_args))
    keras.utils.set_random_seed(cfg.seed)
    if cfg.deterministic:
        tf.config.experimental.enable_op_determinism()
    steps = math.ceil(len(mnist.x_train) / cfg.batch_size)
    model, training_model = trainer.build_training_model(cfg, steps)
    ds = trainer.one_hot(data.train_dataset(mnist.x_train, mnist.y_train, cfg.batch_size, cfg.seed,
                                            epochs=epochs))
    return cfg, model, training_model, ds, steps


def keras_epoch_seconds(mnist, train_args=(), epochs=2):
    """(seconds per epoch after warm-up, batch size) of the recipe the training flags describe."""
    from keras_mnist import trainer

    cfg, _, training_model, ds, steps = _recipe(mnist, train_args, epochs)
    report = trainer.EpochReport("Test", 0)
    training_model.fit(ds, epochs=epochs, steps_per_epoch=steps, callbacks=[report], verbose=0,
                       shuffle=False)
    return report.epoch_seconds[1:], cfg.batch_size


def op_milliseconds_per_step(mnist, train_args=(), steps=30):
    """{(layer, op): ms per step} of the recipe's training step, from the TF profiler.

    Times are kernel times on TensorFlow's executor threads summed over `steps`
    steps (after warm-up) and divided by `steps`; "layer" is the Keras layer the
    op belongs to, with a "grad " prefix for the backward pass.
    """
    import tensorflow as tf
    # The XSpace proto the profiler writes; TensorFlow ships it under tsl.
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    _, model, training_model, ds, _ = _recipe(mnist, train_args, epochs=1)
    ds = ds.repeat()
    training_model.fit(ds, epochs=1, steps_per_epoch=10, verbose=0)  # warm-up: tracing
    with tempfile.TemporaryDirectory(prefix="keras_mnist_profile_") as logdir:
        tf.profiler.experimental.start(logdir)
        training_model.fit(ds, epochs=1, steps_per_epoch=steps, verbose=0)
        tf.profiler.experimental.stop()
        space = xplane_pb2.XSpace()
        for root, _, files in os.walk(logdir):
            for name in files:
                if name.endswith(".xplane.pb"):
                    with open(os.path.join(root, name), "rb") as f:
                        space.ParseFromString(f.read())
    layer_names = {layer.name for layer in model.layers + training_model.layers}
    totals = collections.Counter()
    for plane in space.planes:
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" not in name or "::" in name:  # executor bookkeeping, not a kernel
                    continue
                path, op = name.split(":", 1)
                parts = path.split("/")
                # Keras 3 scopes ops as <model>_<n>/<layer>_<n>/...; strip the counters.
                layers = [p.rsplit("_", 1)[0] for p in parts if p.rsplit("_", 1)[0] in layer_names]
                layer = layers[-1] if layers else "(optimizer, loss, metrics)"
                prefix = "grad " if "gradient_tape" in parts else ""
                totals[(prefix + layer, op.replace("_MklNative", "").replace("_Mkl", ""))] += \
                    event.duration_ps / 1e9 / steps
    return totals


def torch_epoch_seconds(mnist, epochs=2, batch_size=128):
    """The notebook's network and recipe in PyTorch; None if torch is missing."""
    try:
        import torch
        from torch import nn
    except ImportError:
        return None
    torch.manual_seed(1)

    def block(cin, cout, dropout, padding=0):
        layers = [nn.Conv2d(cin, cout, 3, padding=padding, bias=False), nn.ReLU(), nn.BatchNorm2d(cout)]
        return layers + ([nn.Dropout2d(dropout)] if dropout else [])

    net = nn.Sequential(
        *block(1, 16, 0.25), *block(16, 16, 0), *block(16, 16, 0), nn.MaxPool2d(2),
        *block(16, 16, 0.25), *block(16, 16, 0.1, padding=1), *block(16, 16, 0.1), *block(16, 32, 0.25),
        nn.Conv2d(32, 10, 1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.LogSoftmax(-1))
    assert sum(p.numel() for p in net.parameters() if p.requires_grad) == 16_848
    optimizer = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    x = torch.from_numpy(((mnist.x_train.astype(np.float32) / 255.0 - 0.1307) / 0.3081).transpose(0, 3, 1, 2).copy())
    y = torch.from_numpy(mnist.y_train)
    times = []
    net.train()
    for _ in range(epochs):
        start = time.perf_counter()
        order = torch.randperm(len(x))
        for i in range(0, len(x), batch_size):
            idx = order[i:i + batch_size]
            optimizer.zero_grad()
            loss = nn.functional.nll_loss(net(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
        times.append(time.perf_counter() - start)
    return times[1:]


def torch_epoch_seconds_in_fresh_process(epochs):
    """`torch_epoch_seconds` in its own interpreter, None if torch is missing.

    TensorFlow's thread pools, still alive after the Keras timing, slow PyTorch
    by ~10 % in the same process; a fresh process gives PyTorch a clean machine.
    """
    result = subprocess.run([sys.executable, "-m", "keras_mnist.bench", "--torch_only",
                             f"--bench_epochs={epochs}"], capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def fast_preset_runs(flagfile, seeds):
    """(seed, wall seconds, final accuracy) of full training processes."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="keras_mnist_bench_") as scratch:
        for seed in seeds:
            workdir = os.path.join(scratch, f"seed{seed}")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "keras_mnist.train", f"--flagfile={flagfile}",
                            f"--seed={seed}", f"--workdir={workdir}", "--noexport", "--verbose=0"],
                           check=True)
            wall = time.perf_counter() - start
            with open(os.path.join(workdir, "metrics.json")) as f:
                rows.append((int(seed), wall, json.load(f)["final_test_accuracy"]))
    return rows


def main(argv):
    from keras_mnist import data

    mnist = data.load(None)
    if _TORCH_ONLY.value:
        print(json.dumps(torch_epoch_seconds(mnist, _EPOCHS.value)))
        return
    n = len(mnist.x_train)
    print(f"{os.cpu_count()} CPU cores; {n} training images per epoch\n")
    keras_times, batch = keras_epoch_seconds(mnist, argv[1:], _EPOCHS.value)
    keras_epoch = float(np.median(keras_times))
    print("| what | s/epoch | images/s |\n|---|---:|---:|")
    print(f"| keras_mnist default recipe (batch {batch}) | {keras_epoch:.1f} | {n / keras_epoch:,.0f} |")
    if _TORCH.value:
        torch_times = torch_epoch_seconds_in_fresh_process(_EPOCHS.value)
        if torch_times is None:
            print("| PyTorch reference | torch not installed | |")
        else:
            torch_epoch = float(np.median(torch_times))
            print(f"| PyTorch reference (notebook recipe, batch 128) | {torch_epoch:.1f} | {n / torch_epoch:,.0f} |")
            print(f"\nKeras / PyTorch epoch time: {keras_epoch / torch_epoch:.2f}x")
    if _FAST.value:
        print(f"\n{_FAST.value}: wall time, process start to final evaluation\n")
        print("| seed | wall time | final test accuracy |\n|---:|---:|---:|")
        for seed, wall, accuracy in fast_preset_runs(_FAST.value, _FAST_SEEDS.value):
            print(f"| {seed} | {wall:.0f} s | {100 * accuracy:.2f} % |")
    if _PROFILE_STEPS.value:
        totals = op_milliseconds_per_step(mnist, argv[1:], _PROFILE_STEPS.value)
        step = sum(totals.values())
        print(f"\nTensorFlow profiler, {_PROFILE_STEPS.value} steps: {step:.1f} ms of kernel time "
              "per step (both cores' threads summed), the 15 largest:\n")
        print("| layer | op | ms/step | share |\n|---|---|---:|---:|")
        for (layer, op), ms in totals.most_common(15):
            print(f"| {layer} | {op} | {ms:.2f} | {100 * ms / step:.0f} % |")
        by_op = collections.Counter()
        for (_, op), ms in totals.items():
            by_op[op] += ms
        print("\nThe same, summed over layers:\n\n| op | ms/step | share |\n|---|---:|---:|")
        for op, ms in by_op.most_common(10):
            print(f"| {op} | {ms:.2f} | {100 * ms / step:.0f} % |")


if __name__ == "__main__":
    app.run(main)
