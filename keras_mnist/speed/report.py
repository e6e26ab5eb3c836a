"""The benchmark's speed tables: Keras against its PyTorch peer, and FLOP/s against the CPU's peak."""

import os

import numpy as np

from keras_mnist.speed import flops, peer


def subset(mnist, train_args):
    """`mnist` cut to the training flags' --train_size (all of it if 0)."""
    from keras_mnist import config, data

    n = config.parse(list(train_args)).train_size
    if not n:
        return mnist
    return data.Mnist(mnist.x_train[:n], mnist.y_train[:n], mnist.x_test, mnist.y_test)


def network_flops(train_args):
    """{"keras": (params, fwd, fwd+bwd), "torch": ...}: the recipe's network and the reference net."""
    from keras_mnist import config, models

    cfg = config.parse(list(train_args))
    keras_model = config.build_model(cfg)
    reference = models.build("reference")  # the PyTorch peer's network

    def count(model):
        return (models.count_trainable_params(model), *flops.training_flops_per_image(model))

    return {"keras": count(keras_model), "torch": count(reference)}


def print_code_paths(isa, with_torch=True):
    """Prints, and returns as a dict, the instruction sets each framework runs on under `isa`."""
    paths = {"tensorflow": peer.code_path("tensorflow", isa)}
    if with_torch:
        paths["torch"] = peer.code_path("torch", isa)
    print(f"code path ({isa}): TensorFlow: {paths['tensorflow'] or 'not installed'}"
          + (f"; PyTorch: {paths['torch'] or 'not installed'}" if with_torch else ""))
    return paths


def print_comparison(mnist, train_args, rounds, epochs, with_torch=True, isa="native"):
    """Times `rounds` alternating runs and prints per-run seconds/epoch, medians, ratio and FLOP/s."""
    n = len(subset(mnist, train_args).x_train)
    print(f"\n## Instruction set: {isa}\n")
    print_code_paths(isa, with_torch)
    print(f"{flops.usable_cores()} CPU cores; {n} training images per epoch; {rounds} runs each, "
          f"alternating, each a fresh process timing {epochs - 1} epoch(s) after a warm-up epoch")
    # Other work on the machine slows PyTorch's OpenMP threads far more than TensorFlow's.
    print("load average before: {:.1f} (1 min); compare only runs on a quiet machine\n".format(os.getloadavg()[0]))
    def progress(name, run, seconds):
        shown = "torch not installed" if seconds is None else f"{seconds:.1f} s/epoch"
        print(f"  run {run}, {name}: {shown}", flush=True)

    times = peer.compare(mnist, rounds, epochs, train_args, train_size=n if n < len(mnist.x_train) else 0,
                         with_torch=with_torch, on_result=progress, isa=isa)
    print()
    torch_times = times["torch"]
    print("| run | Keras s/epoch | PyTorch s/epoch |\n|---:|---:|---:|")
    for i, k in enumerate(times["keras"]):
        print(f"| {i + 1} | {k:.1f} | {'—' if torch_times is None else f'{torch_times[i]:.1f}'} |")
    medians = {name: float(np.median(t)) for name, t in times.items() if t}
    missing = "torch not installed" if with_torch else "not timed (--notorch)"
    print(f"| median | {medians['keras']:.1f} | {medians['torch']:.1f} |" if "torch" in medians
          else f"| median | {medians['keras']:.1f} | {missing} |")
    if "torch" in medians:
        print(f"\nKeras / PyTorch epoch time (medians): {medians['keras'] / medians['torch']:.2f}x "
              f"(per round: {', '.join(f'{k / t:.2f}' for k, t in zip(times['keras'], torch_times))})")
    print(f"load average after: {os.getloadavg()[0]:.1f} (1 min)")
    peak, formula = flops.cpu_peak_gflops(isa=flops.cpu_isa(env=peer.isa_env(isa)))
    print(f"\nfp32 peak: {formula}\n")
    print("| network | parameters | MFLOP/image forward | MFLOP/image forward+backward "
          "| achieved GFLOP/s | of peak |\n|---|---:|---:|---:|---:|---:|")
    labels = {"keras": "Keras recipe", "torch": "PyTorch peer (reference net)"}
    for name, (params, forward, train) in network_flops(train_args).items():
        if name not in medians:
            continue
        achieved = train * n / medians[name] / 1e9
        share = f"{100 * achieved / peak:.0f} %" if peak else "?"
        print(f"| {labels[name]} | {params:,} | {forward / 1e6:.2f} | {train / 1e6:.2f} "
              f"| {achieved:.1f} | {share} |")
    print("\n(FLOPs: convolution and dense multiply-adds, 2 FLOPs each; backward = weight "
          "gradient + input gradient, each the forward's arithmetic; no input gradient for the "
          "first layer; element-wise ops not counted.)")
    return medians


def print_isa_summary(medians_by_isa):
    """One row per instruction set: the medians and their ratio (README's speed table)."""
    print("\n| instruction set | Keras s/epoch | PyTorch s/epoch | Keras / PyTorch |\n|---|---:|---:|---:|")
    for isa, medians in medians_by_isa.items():
        torch = medians.get("torch")
        ratio = f"{medians['keras'] / torch:.2f}x" if torch else "—"
        print(f"| {isa} | {medians['keras']:.1f} | {f'{torch:.1f}' if torch else '—'} | {ratio} |")
