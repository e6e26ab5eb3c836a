"""FLOPs per training image from layer shapes, and the CPU's fp32 peak (keras_mnist/speed/flops.py)."""

import keras
import pytest

from keras_mnist import models
from keras_mnist.speed import flops


def test_flops_of_a_small_net_match_a_hand_count():
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, use_bias=False)(x)           # 6x6x4 from 1 channel
    x = keras.layers.SeparableConv2D(8, 3, use_bias=False)(x)  # 4x4: depthwise 4, pointwise 4->8
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(10)(x)                        # 8 -> 10
    model = keras.Model(inputs, outputs)
    conv = 2 * 36 * 9 * 1 * 4          # 2 FLOPs per multiply-add
    depthwise = 2 * 16 * 9 * 4
    pointwise = 2 * 16 * 4 * 8
    dense = 2 * 8 * 10
    forward = conv + depthwise + pointwise + dense
    # Backward: weight gradients of all, input gradients of all but the first conv.
    backward = conv + 2 * (depthwise + pointwise + dense)
    assert flops.training_flops_per_image(model) == (forward, forward + backward)


def test_flops_of_the_reference_network_open_nested_models():
    net = models.build("reference")
    inputs = keras.Input((28, 28, 1))
    wrapped = keras.Model(inputs, net(keras.layers.RandomRotation(0.1)(inputs)))
    forward, train = flops.training_flops_per_image(net)
    assert (forward, train) == flops.training_flops_per_image(wrapped)
    # conv1a 26x26x(9x1x16), conv1b 24x24x(9x16x16), conv1c 22x22x.., then 9, 9, 7 and 5 px, 1x1.
    macs = (676 * 144 + 576 * 2304 + 484 * 2304 + 81 * 2304 + 81 * 2304 + 49 * 2304
            + 25 * 9 * 16 * 32 + 25 * 32 * 10)
    assert forward == 2 * macs
    assert train == 3 * forward - 2 * 676 * 144


def test_peak_formula(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\ncpu MHz\t\t: 2500.000\nprocessor\t: 1\ncpu MHz\t\t: 2600.000\n")
    assert flops.cpu_clock_ghz(str(cpuinfo)) == pytest.approx(2.6)
    peak, formula = flops.cpu_peak_gflops(cores=2, ghz=2.5, isa="avx512")
    assert peak == pytest.approx(2 * 2.5 * 16 * 2) and "160 GFLOP/s" in formula and "AVX-512" in formula
    peak, formula = flops.cpu_peak_gflops(cores=2, ghz=2.5, isa="avx2")
    assert peak == pytest.approx(2 * 2.5 * 8 * 2 * 2) and "AVX2" in formula and "AVX-512" not in formula
    assert flops.cpu_clock_ghz(str(tmp_path / "missing")) is None


@pytest.mark.parametrize("cpu_flags, env, expected", [
    ("fpu sse2 avx avx2 fma avx512f avx512bw", {}, "avx512"),
    ("fpu sse2 avx avx2 fma avx512f avx512bw", {"ONEDNN_MAX_CPU_ISA": "AVX2"}, "avx2"),
    ("fpu sse2 avx avx2 fma", {}, "avx2"),  # Zen 2/3, most laptops
    ("fpu sse2 avx avx2 fma", {"ONEDNN_MAX_CPU_ISA": "AVX512_CORE"}, "avx2"),  # a cap never widens
    ("fpu sse2 sse4_2", {}, "sse"),
])
def test_isa_is_read_from_the_cpu_flags_and_capped_like_onednn(tmp_path, cpu_flags, env, expected):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"processor\t: 0\nflags\t\t: {cpu_flags}\ncpu MHz\t\t: 2500.000\n")
    assert flops.cpu_isa(str(cpuinfo), env) == expected
