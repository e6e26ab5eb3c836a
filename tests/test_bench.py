from keras_mnist import bench, data


def first_images(mnist, n):
    """The first `n` training images of `mnist` (and all its test images)."""
    return data.Mnist(mnist.x_train[:n], mnist.y_train[:n], mnist.x_test, mnist.y_test)


def assert_one_torch_epoch_or_none(seconds):
    """With torch installed: one timed epoch after the warm-up; without it: None."""
    try:
        import torch  # noqa: F401
    except ImportError:
        assert seconds is None
    else:
        assert len(seconds) == 1 and seconds[0] > 0


def test_keras_timing_runs_the_default_recipe(small_mnist):
    tiny = first_images(small_mnist, 512)
    seconds, batch = bench.keras_epoch_seconds(tiny, ["--batch_size=128"], epochs=2)
    assert batch == 128 and len(seconds) == 1 and seconds[0] > 0  # The warm-up epoch is left out.


def test_torch_reference_is_optional(small_mnist):
    tiny = first_images(small_mnist, 256)
    seconds = bench.torch_epoch_seconds(tiny, epochs=2)
    assert_one_torch_epoch_or_none(seconds)


def test_torch_reference_runs_in_a_fresh_process(mnist):
    seconds = bench.torch_epoch_seconds_in_fresh_process(epochs=2)
    assert_one_torch_epoch_or_none(seconds)


def test_profile_attributes_kernel_time_to_layers(small_mnist):
    tiny = first_images(small_mnist, 1024)
    ms = bench.op_milliseconds_per_step(tiny, ["--batch_size=64"], steps=5)
    # Each convolution of the seed network shows up forward and backward, under its layer.
    for layer in ("conv1a_conv", "conv1b_conv", "conv2d_conv"):
        assert ms[(layer, "Conv2D")] > 0
        assert ms[("grad " + layer, "Conv2DBackpropFilter")] > 0
    assert ms[("conv1a_bn", "FusedBatchNormV3")] > 0  # the fused kernel, not unfused moments
    attributed = sum(v for (layer, _), v in ms.items() if not layer.startswith("("))
    assert attributed > 0.5 * sum(ms.values())
