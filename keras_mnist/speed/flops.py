"""Floating-point work of a training step, counted from layer shapes, and the CPU's peak.

Counted: the multiply-adds of convolutions and dense layers (2 FLOPs each),
forward and backward. Backward is the input gradient plus the weight gradient,
each the forward's arithmetic; the first weighted layer needs no input gradient
(its input is the image). Batch norm, ReLU, pooling, dropout, augmentation and
the optimizer are left out: O(activations) element-wise work, bound by memory,
not arithmetic (a few % of the convolutions' FLOPs here).
"""

import os

# fp32 FLOPs per cycle per core by the vector instructions the code runs (x 2 for
# an FMA's multiply and add). AVX-512: one 16-lane FMA per cycle (AMD Zen 4 issues
# it as two 256-bit halves on its two FMA pipes; Xeons with two 512-bit FMA units
# do 64). AVX2: two 8-lane FMA pipes (Intel since Haswell, AMD Zen 2 and later).
# Both are 32; with neither, SSE: 4 lanes on two pipes.
PEAK_BY_ISA = {
    "avx512": (32, "one 16-lane fp32 AVX-512 FMA per cycle"),
    "avx2": (32, "two 8-lane fp32 AVX2 FMAs per cycle"),
    "sse": (16, "two 4-lane fp32 SSE multiply-adds per cycle"),
}


def _spatial(shape):
    """(height x width, channels) of a channels-last [batch, h, w, c] shape."""
    return shape[1] * shape[2], shape[3]


def layer_forward_flops(layer):
    """[(forward FLOPs per image, kind)] of one Keras layer's multiply-adds; [] if none.

    kind is "depthwise" for the depthwise half of a separable conv or a
    depthwise conv, else "dense": both count the same, oneDNN runs them apart.
    """
    kind = type(layer).__name__
    if kind not in ("Conv2D", "SeparableConv2D", "DepthwiseConv2D", "Dense"):
        return []
    in_shape, out_shape = layer.input.shape, layer.output.shape
    if kind == "Dense":
        return [(2 * in_shape[-1] * out_shape[-1], "dense")]
    kh, kw = layer.kernel_size
    pixels, c_out = _spatial(out_shape)
    _, c_in = _spatial(in_shape)
    if kind == "Conv2D":
        return [(2 * pixels * kh * kw * c_in // layer.groups * c_out, "dense")]
    multiplier = layer.depth_multiplier
    depthwise = (2 * pixels * kh * kw * c_in * multiplier, "depthwise")
    if kind == "DepthwiseConv2D":
        return [depthwise]
    return [depthwise, (2 * pixels * c_in * multiplier * c_out, "dense")]


def weighted_layers(model):
    """The layers of `model` (nested models opened) in order."""
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from weighted_layers(layer)
        else:
            yield layer


def training_flops_per_image(model):
    """(forward FLOPs, forward + backward FLOPs) per training image of `model`."""
    forward = backward = 0
    first = True
    for layer in weighted_layers(model):
        parts = layer_forward_flops(layer)
        for i, (flops, _) in enumerate(parts):
            forward += flops
            # Weight gradient always; input gradient except into the image.
            backward += flops if first and i == 0 else 2 * flops
        first = first and not parts
    return forward, forward + backward


def cpu_clock_ghz(cpuinfo="/proc/cpuinfo"):
    """The cores' clock from /proc/cpuinfo ("cpu MHz"), in GHz; None if unknown."""
    try:
        with open(cpuinfo) as f:
            mhz = [float(line.split(":")[1]) for line in f if line.startswith("cpu MHz")]
    except (OSError, ValueError, IndexError):
        return None
    return max(mhz) / 1000.0 if mhz else None


def usable_cores():
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def cpu_isa(cpuinfo="/proc/cpuinfo", env=None):
    """The widest vector instructions the code may use: "avx512", "avx2" or "sse".

    From the CPU's flags, capped by ONEDNN_MAX_CPU_ISA in `env` (os.environ by
    default), as oneDNN caps itself.
    """
    env = os.environ if env is None else env
    try:
        with open(cpuinfo) as f:
            cpu_flags = set(next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), []))
    except OSError:
        cpu_flags = set()
    isa = "avx512" if "avx512f" in cpu_flags else "avx2" if {"avx2", "fma"} <= cpu_flags else "sse"
    cap = env.get("ONEDNN_MAX_CPU_ISA", "").upper()
    if cap.startswith("AVX2") and isa == "avx512":
        return "avx2"
    if cap.startswith("SSE") or cap == "AVX":
        return "sse"
    return isa


def tensorflow_kernels():
    """"oneDNN" or "Eigen": which kernels this process's TensorFlow runs its convolutions with."""
    from tensorflow.python.util import _pywrap_util_port  # TensorFlow's own switch; no public API.
    return "oneDNN" if _pywrap_util_port.IsMklEnabled() else "Eigen"


def cpu_peak_gflops(cores=None, ghz=None, isa=None):
    """(fp32 peak GFLOP/s, the formula as text) = cores x GHz x FLOPs per cycle of `isa`; (None, why) if unknown."""
    cores = cores or usable_cores()
    ghz = ghz or cpu_clock_ghz()
    flops_per_cycle, how = PEAK_BY_ISA[isa or cpu_isa()]
    if not ghz:
        return None, "clock unknown (no 'cpu MHz' in /proc/cpuinfo)"
    peak = cores * ghz * flops_per_cycle
    return peak, f"{cores} cores x {ghz:.2f} GHz x {flops_per_cycle} FLOPs/cycle ({how}) = {peak:.0f} GFLOP/s"
