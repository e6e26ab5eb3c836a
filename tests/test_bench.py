from keras_mnist import bench, data


def test_keras_timing_runs_the_default_recipe(small_mnist):
    tiny = data.Mnist(small_mnist.x_train[:512], small_mnist.y_train[:512], small_mnist.x_test, small_mnist.y_test)
    seconds, batch = bench.keras_epoch_seconds(tiny, ["--batch_size=128"], epochs=2)
    assert batch == 128 and len(seconds) == 1 and seconds[0] > 0  # The warm-up epoch is left out.


def test_torch_reference_is_optional(small_mnist):
    tiny = data.Mnist(small_mnist.x_train[:256], small_mnist.y_train[:256], small_mnist.x_test, small_mnist.y_test)
    seconds = bench.torch_epoch_seconds(tiny, epochs=2)
    try:
        import torch  # noqa: F401
    except ImportError:
        assert seconds is None
    else:
        assert len(seconds) == 1 and seconds[0] > 0


def test_torch_reference_runs_in_a_fresh_process(mnist):
    seconds = bench.torch_epoch_seconds_in_fresh_process(epochs=2)
    try:
        import torch  # noqa: F401
    except ImportError:
        assert seconds is None
    else:
        assert len(seconds) == 1 and seconds[0] > 0
