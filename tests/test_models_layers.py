import keras
import numpy as np
import tensorflow as tf

from keras_mnist import data, models
from keras_mnist.models.layers import BroadcastSpatialDropout2D, FusedBatchNormalization


def _pair(shape):
    stock, fused = keras.layers.BatchNormalization(momentum=0.9), FusedBatchNormalization(momentum=0.9)
    stock.build(shape)
    fused.build(shape)
    return stock, fused


def test_fused_batch_norm_matches_keras_in_training():
    x = np.random.default_rng(0).normal(2.0, 3.0, (32, 9, 9, 16)).astype(np.float32)
    stock, fused = _pair(x.shape)
    np.testing.assert_allclose(fused(x, training=True), stock(x, training=True), atol=1e-4)
    np.testing.assert_allclose(fused.moving_mean, stock.moving_mean, rtol=1e-5)
    # The fused kernel updates the moving variance with the unbiased batch
    # variance (n / (n - 1)); n = 32 * 9 * 9 here.
    np.testing.assert_allclose(fused.moving_variance, stock.moving_variance, rtol=1e-3)
    assert not np.allclose(fused.moving_mean, 0.0)


def test_fused_batch_norm_gradients_match_keras():
    x = tf.constant(np.random.default_rng(1).normal(0.0, 1.0, (16, 5, 5, 8)).astype(np.float32))
    stock, fused = _pair(x.shape)
    grads = []
    for layer in (stock, fused):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.sin(layer(x, training=True)))
        grads.append(tape.gradient(loss, [x] + layer.trainable_weights))
    for g_stock, g_fused in zip(*grads):
        np.testing.assert_allclose(g_fused, g_stock, rtol=1e-3, atol=1e-4)


def test_fused_batch_norm_infers_with_moving_statistics_and_round_trips(tmp_path):
    inputs = keras.Input((4, 4, 3))
    model = keras.Model(inputs, FusedBatchNormalization()(inputs))
    layer = model.layers[-1]
    layer.moving_mean.assign([1.0, 2.0, 3.0])
    layer.moving_variance.assign([4.0, 4.0, 4.0])
    x = np.full((1, 4, 4, 3), 5.0, np.float32)
    expected = (5.0 - np.array([1.0, 2.0, 3.0])) / np.sqrt(4.0 + layer.epsilon)
    np.testing.assert_allclose(model(x, training=False)[0, 0, 0], expected, rtol=1e-5)
    model.save(tmp_path / "m.keras")
    reloaded = keras.models.load_model(tmp_path / "m.keras")
    assert isinstance(reloaded.layers[-1], FusedBatchNormalization)
    np.testing.assert_allclose(reloaded(x), model(x), rtol=1e-6)


def test_broadcast_spatial_dropout_draws_and_drops_as_keras_spatial_dropout():
    x, weights = tf.unstack(tf.constant(np.random.default_rng(2).normal(0.0, 1.0, (2, 64, 6, 6, 16)), tf.float32))
    results = []
    for layer_class in (keras.layers.SpatialDropout2D, BroadcastSpatialDropout2D):
        layer = layer_class(0.25, seed=7)

        @tf.function  # As in fit(): a traced step, called once per batch, one draw per call.
        def step(x, layer=layer):
            with tf.GradientTape() as tape:
                tape.watch(x)
                outputs = layer(x, training=True)
                loss = tf.reduce_sum(tf.sin(outputs) * weights)
            return outputs, tape.gradient(loss, x)

        results.append([t.numpy() for _ in range(2) for t in step(x)])
    for name, stock, broadcast in zip(("outputs", "gradient", "next outputs", "next gradient"), *results):
        if "gradient" in name:
            # TensorFlow's graph rewrites may order the products next to the layer
            # differently (one ulp); in the network the training is the same to the
            # bit (the next test).
            np.testing.assert_allclose(broadcast, stock, rtol=1e-6, atol=1e-7, err_msg=name)
        else:
            np.testing.assert_array_equal(broadcast, stock, err_msg=name)
    outputs, _, next_outputs, _ = results[1]
    kept = np.any(outputs != 0, axis=(1, 2), keepdims=True)  # Whole channels dropped ...
    assert 0.5 < kept.mean() < 0.95
    np.testing.assert_allclose(outputs, np.where(kept, x.numpy() / 0.75, 0.0), rtol=1e-6)  # ... the rest scaled.
    assert not np.array_equal(outputs, next_outputs)  # Each step draws afresh.
    np.testing.assert_array_equal(BroadcastSpatialDropout2D(0.25)(x, training=False), x)


def test_reference_network_trains_to_the_same_bits_as_with_keras_spatial_dropout(monkeypatch):
    import math

    from keras_mnist import config
    from keras_mnist.models import layers as model_layers
    from keras_mnist.training import recipe

    rng = np.random.default_rng(3)
    x, y = rng.integers(0, 256, (512, 28, 28, 1)).astype(np.uint8), rng.integers(0, 10, 512)
    # The default recipe with dropout on (the default has none since issue 20), so the layer is there.
    cfg = config.parse(["--batch_size=128", "--dropout_scale=0.4"])
    weights = []
    for dropout_class in (keras.layers.SpatialDropout2D, BroadcastSpatialDropout2D):
        monkeypatch.setattr(model_layers, "BroadcastSpatialDropout2D", dropout_class)
        recipe.make_reproducible(cfg)
        model, training_model = recipe.build_training_model(cfg, steps_per_epoch=4)
        assert type(model.get_layer("conv1a_drop")) is dropout_class
        batches = data.one_hot(data.train_dataset(x, y, 128, cfg.seed, epochs=2))
        training_model.fit(batches, epochs=2, steps_per_epoch=math.ceil(len(x) / 128), verbose=0,
                           callbacks=[recipe.EpochSeeds()], shuffle=False)
        weights.append(model.get_weights())
    for stock, broadcast in zip(*weights):
        np.testing.assert_array_equal(broadcast, stock)


def test_stock_copy_predicts_the_same_and_loads_without_keras_mnist(tmp_path):
    import subprocess
    import sys

    model = models.build("reference")
    x = np.random.default_rng(0).integers(0, 256, (4, 28, 28, 1)).astype(np.float32)
    model(x, training=True)  # Move the batch-norm statistics off their initial values.
    stock = models.with_stock_layers(model)
    assert not any(type(l).__module__.startswith("keras_mnist") for l in stock.layers)
    np.testing.assert_allclose(stock(x, training=False), model(x, training=False), rtol=1e-5, atol=1e-7)
    stock.save(tmp_path / "m.keras")
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "expected.npy", np.asarray(model(x, training=False)))
    code = (f"import keras, numpy as np; m = keras.models.load_model({str(tmp_path / 'm.keras')!r}); "
            f"np.testing.assert_allclose(m.predict(np.load({str(tmp_path / 'x.npy')!r}), verbose=0), "
            f"np.load({str(tmp_path / 'expected.npy')!r}), rtol=1e-5, atol=1e-7)")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300)
