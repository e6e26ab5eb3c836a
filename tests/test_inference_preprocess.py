"""The MNIST-like preprocessing: properties on synthetic images, and its phone (TFLite) form."""

import numpy as np
import pytest
import tensorflow as tf

from keras_mnist.inference import preprocess


def stroke_digit(height=120, width=90, thickness=12):
    """Ink coverage [h, w] in [0, 1] of a '7'-like figure (bar and diagonal), off-centre on a page."""
    page = np.zeros((300, 260), np.float32)
    top, left = 40, 130
    page[top:top + thickness, left:left + width] = 1.0
    for y in range(height):
        x = left + width - thickness - int(y * (width - thickness) / height * 0.6)
        page[top + y, x:x + thickness] = 1.0
    return page


def run(image):
    pixels, found = preprocess.preprocess(tf.constant(image))
    return pixels.numpy()[..., 0], bool(found)


def grey(coverage, paper, ink):
    return (paper * (1 - coverage) + ink * coverage)[..., None].astype(np.float32)


@pytest.fixture(scope="module")
def reference():
    pixels, found = run(grey(stroke_digit(), 0.0, 255.0))
    assert found
    return pixels


def test_fitted_into_20x20_and_centred_by_mass(reference):
    rows, cols = np.flatnonzero(reference.max(1) > 64), np.flatnonzero(reference.max(0) > 64)
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) in (19, 20, 21)
    y, x = np.mgrid[0:28, 0:28] + 0.5
    mass = reference.sum()
    # MNIST: the centre of mass inside the central pixel (14, 14).
    assert 13.9 <= (reference * y).sum() / mass <= 15.1 and 13.9 <= (reference * x).sum() / mass <= 15.1
    assert reference.max() == pytest.approx(255, abs=1) and reference.min() == 0


def test_polarity_either_way(reference):
    dark_on_light, found = run(grey(stroke_digit(), 230.0, 40.0))
    assert found and np.abs(dark_on_light - reference).mean() < 3


def test_light_gradient_and_noise_are_not_ink(reference):
    h, w = stroke_digit().shape
    light = np.linspace(0.55, 1.0, w)[None, :] * np.linspace(0.9, 1.1, h)[:, None]
    noise = np.random.default_rng(0).normal(0, 4, (h, w))
    photo = grey(stroke_digit(), 220.0, 60.0)[..., 0] * light + noise
    pixels, found = run(photo[..., None].astype(np.float32))
    assert found
    assert np.abs(pixels - reference).mean() < 8
    assert np.corrcoef(pixels.ravel(), reference.ravel())[0, 1] > 0.95


def test_isolated_specks_do_not_move_the_box(reference):
    page = grey(stroke_digit(), 255.0, 0.0)
    page[270:274, 10:14] = 0.0  # Dirt far from the digit.
    page[5:8, 240:243] = 0.0
    pixels, found = run(page)
    assert found and np.abs(pixels - reference).mean() < 3


@pytest.mark.parametrize("name", ["white page", "grey", "colour", "gradient", "paper texture",
                                  "narrow grey", "narrow gradient", "wide gradient", "narrow texture"])
def test_no_ink_no_digit(name):
    rng = np.random.default_rng(1)
    y, x = np.mgrid[0:200, 0:150] / 200.0
    # Narrow frames get a second look with bands across them (issue 22): still no ink.
    image = {"white page": np.full((200, 150, 1), 255.0),
             "grey": np.full((200, 150, 1), 128.0),
             "colour": np.broadcast_to([30.0, 160.0, 90.0], (200, 150, 3)),
             "gradient": (60 + 150 * (0.6 * x + 0.4 * y))[..., None],
             "paper texture": 190 + rng.normal(0, 6, (200, 150, 1)),
             "narrow grey": np.full((112, 20, 1), 150.0),
             "narrow gradient": (np.linspace(100, 220, 112)[:, None] + np.linspace(0, 30, 20)[None, :])[..., None],
             "wide gradient": np.broadcast_to(np.linspace(100, 220, 300)[None, :, None], (60, 300, 1)),
             "narrow texture": 190 + rng.normal(0, 6, (112, 30, 1))}[name]
    pixels, found = run(np.asarray(image, np.float32))
    assert not found and not pixels.any()


def test_colour_alpha_and_16_bit(reference):
    coverage = stroke_digit()[..., None]
    red_on_green = (np.array([40.0, 170.0, 60.0]) * (1 - coverage) + np.array([200.0, 30.0, 40.0]) * coverage)
    pixels, found = run(red_on_green.astype(np.float32))
    assert found and np.abs(pixels - reference).mean() < 3
    # Black strokes on a transparent background (its RGB black too), as drawing apps save them.
    rgba = np.concatenate([np.zeros_like(coverage).repeat(3, -1), 255 * coverage], -1).astype(np.float32)
    pixels, found = run(rgba)
    assert found and np.abs(pixels - reference).mean() < 3
    png16 = tf.io.encode_png(tf.constant((65535 * (1 - coverage)).astype(np.uint16))).numpy()
    pixels, found = run(tf.io.decode_png(png16, dtype=tf.uint16))
    assert found and np.abs(pixels - reference).mean() < 3


def test_mnist_digits_stay_as_they_are(mnist):
    """MNIST's own digits are already fitted and centred: most come out nearly unchanged
    (the thickest, wider than MNIST's 75th percentile, are thinned a little)."""
    x = mnist.x_train[:100].astype(np.float32)
    fn = tf.function(preprocess.mnist_like, input_signature=[tf.TensorSpec([28, 28, 1], tf.float32)])
    out = np.stack([fn(tf.constant(image))[0].numpy() for image in x])
    difference = np.abs(out - x).reshape(len(x), -1).mean(1)
    assert np.median(difference) < 2 and difference.mean() < 4


def phone_function(size):
    @tf.function(input_signature=[tf.TensorSpec([1, size, size, 3], tf.float32)])
    def phone(images):
        pixels, found = preprocess.mnist_like(images[0])
        return {"pixels": pixels[None], "found": tf.cast(found, tf.float32)[None]}
    return phone


def test_converts_to_tflite_builtins_and_matches_tensorflow(mnist):
    """A fixed 112x112 RGB input: the phone model's preprocessing, builtin ops only, same output in LiteRT."""
    from ai_edge_litert.interpreter import Interpreter

    from keras_mnist.inference import renderings

    phone = phone_function(112)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([phone.get_concrete_function()], phone)
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    interpreter = Interpreter(model_content=converter.convert())
    interpreter.allocate_tensors()
    source = interpreter.get_input_details()[0]["index"]
    outputs = [d["index"] for d in interpreter.get_output_details()]
    for i, rendering in enumerate(renderings.RENDERINGS):
        encoded = renderings.render(mnist.x_test[i], rendering, i)
        image = tf.image.resize(preprocess.decode(tf.constant(encoded)), [112, 112], antialias=True)[None]
        interpreter.set_tensor(source, image.numpy())
        interpreter.invoke()
        lite = {interpreter.get_tensor(o).ndim: interpreter.get_tensor(o) for o in outputs}
        expected = phone(image)
        assert expected["found"].numpy()[0] == 1.0 == lite[1][0]
        np.testing.assert_allclose(lite[4], expected["pixels"].numpy(), atol=0.05)
