import keras
import numpy as np

from keras_mnist import config
from keras_mnist.training import conv_muon, recipe


def _network():
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(6, 3, use_bias=False, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.SeparableConv2D(5, 3, use_bias=False, name="separable")(x)
    x = keras.layers.Conv2D(10, 1, use_bias=False, name=conv_muon.CLASSIFIER)(x)
    return keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(x))


def _one_step(model, gradients):
    """The change one ConvMuon step makes to each variable, without momentum or weight decay."""
    optimizer = conv_muon.ConvMuon(learning_rate=1.0, momentum=0.0, nesterov=False,
                                   weight_decay=None, adam_weight_decay=None, rms_rate=None)
    before = {v.path: np.array(v) for v in model.trainable_variables}
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    return optimizer, {v.path: before[v.path] - np.array(v) for v in model.trainable_variables}


def test_a_conv_kernel_steps_as_an_orthogonalised_matrix():
    model = _network()
    rng = np.random.default_rng(0)
    # A gradient whose singular values span two orders of magnitude.
    u, _ = np.linalg.qr(rng.normal(size=(27, 6)))
    v, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    conv_gradient = (u * np.logspace(-1, 1, 6)) @ v.T
    gradients = [conv_gradient.reshape(3, 3, 3, 6).astype("float32") if v_.path == "conv/kernel"
                 else rng.normal(size=v_.shape).astype("float32")
                 for v_ in model.trainable_variables]
    _, step = _one_step(model, gradients)
    singular = np.linalg.svd(step["conv/kernel"].reshape(27, 6), compute_uv=False)
    # Newton-Schulz pulls every direction's step towards the same size (it
    # does not converge exactly, by design): not Adam's or SGD's step.
    assert singular.max() / singular.min() < 3, singular
    assert np.all((singular > 0.5) & (singular < 1.3)), singular
    # The step keeps the gradient's directions: it points downhill.
    assert np.sum(step["conv/kernel"].reshape(27, 6) * conv_gradient) > 0


def test_classifier_depthwise_kernels_and_batch_norm_step_with_adamw():
    model = _network()
    gradients = [np.ones(v.shape, "float32") for v in model.trainable_variables]
    optimizer, _ = _one_step(model, gradients)
    uses_adamw = {v.path: optimizer.adam_velocities[optimizer._get_variable_index(v)] is not None
                  for v in model.trainable_variables}
    assert uses_adamw == {
        "conv/kernel": False,
        "bn/gamma": True,
        "bn/beta": True,
        "separable/depthwise_kernel": True,
        "separable/pointwise_kernel": False,
        f"{conv_muon.CLASSIFIER}/kernel": True,
    }


def test_a_conv_kernel_steps_as_keras_muon_steps_the_same_matrix():
    """With every option on (momentum, Nesterov, Keras's lr scaling, weight decay that
    differs for Muon and AdamW variables), three steps of a 4-D kernel equal three steps
    of plain keras.optimizers.Muon on the (height x width x input channels, output
    channels) matrix."""
    rng = np.random.default_rng(1)
    start = rng.normal(size=(3, 3, 4, 6)).astype("float32")
    gradients = [rng.normal(size=start.shape).astype("float32") for _ in range(3)]
    options = dict(learning_rate=0.05, momentum=0.9, nesterov=True, rms_rate=0.2,
                   weight_decay=0.3, adam_weight_decay=7.0)

    kernel = keras.Variable(start, name="kernel")
    matrix = keras.Variable(start.reshape(36, 6), name="kernel")
    conv_optimizer = conv_muon.ConvMuon(**options)
    matrix_optimizer = keras.optimizers.Muon(**options)
    for gradient in gradients:
        conv_optimizer.apply_gradients([(gradient, kernel)])
        matrix_optimizer.apply_gradients([(gradient.reshape(36, 6), matrix)])

    assert not np.allclose(np.array(kernel), start)
    np.testing.assert_allclose(np.array(kernel).reshape(36, 6), np.array(matrix), rtol=1e-5, atol=1e-6)


def test_muon_flag_builds_conv_muon_with_the_recipe():
    cfg = config.parse(["--optimizer=muon", "--learning_rate=0.04", "--momentum=0.8", "--nonesterov",
                        "--weight_decay=0.01", "--schedule=constant", "--epochs=2"])
    optimizer = recipe.make_optimizer(cfg, steps_per_epoch=10)
    assert isinstance(optimizer, conv_muon.ConvMuon)
    assert optimizer.momentum == 0.8 and not optimizer.nesterov
    assert optimizer.weight_decay == optimizer.adam_weight_decay == 0.01
    assert abs(float(optimizer.learning_rate) - 0.04) < 1e-6
