
import numpy as np
import pytest

from keras_mnist import config
from keras_mnist.training import recipe


def test_onecycle_warms_up_to_the_peak_then_anneals():
    cfg = config.parse(["--learning_rate=0.1", "--warmup_fraction=0.2", "--epochs=10"])
    schedule = recipe.make_schedule(cfg, steps_per_epoch=100)
    lr = [float(schedule(step)) for step in (0, 100, 200, 600, 1000)]
    assert lr[0] == pytest.approx(0.1 / 25)
    assert lr[0] < lr[1] < lr[2] == pytest.approx(0.1)
    assert lr[2] > lr[3] > lr[4] and lr[4] < 1e-6


def test_constant_schedule_is_the_learning_rate():
    cfg = config.parse(["--schedule=constant", "--learning_rate=0.01"])
    assert recipe.make_schedule(cfg, steps_per_epoch=10) == 0.01


def test_augmentation_is_not_part_of_the_exported_model():
    from keras_mnist import models
    cfg = config.parse(["--augment_rotation=15", "--augment_shift=3"])
    model = models.build("reference")
    wrapped = recipe.with_augmentation(model, cfg)
    names = [layer.__class__.__name__ for layer in wrapped.layers]
    assert "RandomRotation" in names and "RandomTranslation" in names
    assert not any(name.startswith("Random") for name in (l.__class__.__name__ for l in model.layers))
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype("float32")
    # In inference the augmentation is the identity.
    np.testing.assert_allclose(wrapped(x, training=False), model(x, training=False), rtol=1e-6)


@pytest.mark.parametrize("optimizer", ["sgd", "muon"])
def test_training_step_is_traced_once(optimizer):
    # Optimizer variables made during the first trace make TensorFlow trace the step twice.
    import keras

    cfg = config.parse([f"--optimizer={optimizer}", "--model=cnn", "--widths_before_pool=4",
                        "--transition_width=0", "--widths_after_pool=4", "--batch_size=8"])
    _, training_model = recipe.build_training_model(cfg, steps_per_epoch=2)
    assert training_model.optimizer.built
    traces = []
    step = training_model.train_step
    training_model.train_step = lambda data: traces.append(1) or step(data)
    x = np.zeros((16, 28, 28, 1), np.uint8)
    y = keras.utils.to_categorical(np.arange(16) % 10, 10)
    training_model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    assert len(traces) == 1
