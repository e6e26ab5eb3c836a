import keras
import numpy as np
import tensorflow as tf

from keras_mnist.layers import FusedBatchNormalization


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
