"""The demo's HTTP server without a browser: its page, its answers, its refusals."""

import base64
import http.client
import json
import os
import threading

import numpy as np
import pytest
import tensorflow as tf

from keras_mnist.inference import load, predict
from keras_mnist.webdemo import digits, server

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(REPO, "savedmodels", predict.DEFAULT_MODEL_NAME, "1")


def png(array):
    return tf.io.encode_png(tf.constant(np.asarray(array, np.uint8))).numpy()


def canvas_png(image):
    """An MNIST digit as the page's canvas sends it: black ink on white, 280x280."""
    return png(255 - np.kron(np.asarray(image, np.uint8).reshape(28, 28, 1), np.ones((10, 10, 1), np.uint8)))


@pytest.fixture(scope="module", params=["", "model.keras", "model_int8.tflite"])
def demo(request):
    """The demo server on a free port for each model form the project ships."""
    httpd = server.make_server(load.classifier(os.path.join(MODEL, request.param)), port=0)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def request(port, method, path, body=None, headers=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request(method, path, body=body, headers=headers or {})
    response = connection.getresponse()
    payload = response.read()
    connection.close()
    return response, payload


def classify(port, body, name="drawing"):
    response, payload = request(port, "POST", f"/api/classify?name={name}", body)
    return response.status, json.loads(payload)


def test_page_loads_nothing_from_elsewhere(demo):
    response, page = request(demo, "GET", "/")
    assert response.status == 200 and b"<canvas" in page
    assert response.getheader("Content-Security-Policy").startswith("default-src 'self'")
    for path in ("/", "/demo.js", "/demo.css"):
        response, body = request(demo, "GET", path)
        assert response.status == 200
        assert b"http://" not in body and b"https://" not in body and b"@import" not in body
    assert request(demo, "GET", "/demo.js?v=2")[0].status == 200  # A cache-busting query is ignored.
    assert request(demo, "GET", "/secret")[0].status == 404
    assert request(demo, "GET", "/secret?/demo.js")[0].status == 404


def test_canvas_digits_are_classified_with_predicts_preprocessing(demo, small_mnist, tmp_path):
    x, y = small_mnist.x_test[:20], small_mnist.y_test[:20]
    shown = []
    for i, image in enumerate(x):
        status, answer = classify(demo, canvas_png(image))
        assert status == 200, answer
        assert len(answer["probabilities"]) == 10 and abs(sum(answer["probabilities"]) - 1) < 0.02  # int8: 1/256 steps
        shown.append(answer["digit"])
        if i < 3:
            # The 28x28 the page shows is what `predict` makes of the same file.
            (tmp_path / "canvas.png").write_bytes(canvas_png(image))
            seen = tf.io.decode_png(base64.b64decode(answer["input_png"])).numpy()
            np.testing.assert_allclose(seen, np.round(predict.load_image(str(tmp_path / "canvas.png"))), atol=1)
    assert np.mean(np.array(shown) == y) >= 0.9


def test_bad_input_gets_a_message_and_the_server_keeps_serving(demo, small_mnist):
    cases = [(b"not an image\n", "drawing: not a PNG, JPEG, GIF or BMP file"), (b"", "drawing: empty; send"),
             (png(np.full((120, 90, 3), 255)), "drawing: no digit found")]
    for body, message in cases:
        status, answer = classify(demo, body)
        assert status == 400 and message in answer["error"], (message, answer)
    status, answer = classify(demo, canvas_png(small_mnist.x_test[0]))
    assert status == 200 and answer["digit"] == small_mnist.y_test[0]


def test_oversized_body_is_refused_before_it_is_read(demo):
    connection = http.client.HTTPConnection("127.0.0.1", demo, timeout=10)
    connection.putrequest("POST", "/api/classify")
    connection.putheader("Content-Length", str(digits.MAX_BODY_BYTES + 1))
    connection.endheaders()  # No body is sent: a server that tried to read it would time out.
    response = connection.getresponse()
    assert response.status == 413 and "too large" in json.loads(response.read())["error"]
    connection.close()
    response, _ = request(demo, "POST", "/api/classify", b"x", {"Content-Length": "nope"})
    assert response.status in (400, 411)


def test_a_drawn_number_is_answered_as_a_number_and_touching_digits_as_an_error(demo, mnist):
    from test_inference_predict import touching_pair, touching_zeros

    # Three test digits drawn side by side on a wide canvas, as the page would send them.
    strip = np.concatenate([np.zeros((28, 6, 1), np.uint8)] + [
        np.concatenate([d, np.zeros((28, 6, 1), np.uint8)], 1) for d in mnist.x_test[3:6]], 1)
    status, answer = classify(demo, png(255 - np.kron(strip, np.ones((6, 6, 1), np.uint8))))
    assert status == 200
    assert answer["number"] == "".join(str(d) for d in mnist.y_test[3:6])
    assert len(answer["digit_probabilities"]) == 3 and "digit" not in answer
    seen = tf.io.decode_png(base64.b64decode(answer["input_png"])).numpy()
    assert seen.shape == (28, 3 * 28, 1)
    status, answer = classify(demo, touching_zeros(mnist), "zeros.png")
    assert status == 400 and answer["error"].startswith("zeros.png: digits touch")
    status, answer = classify(demo, touching_pair(mnist, [1, 2]), "pair.png")  # No wider than one digit.
    assert status == 200 and answer["number"] == "12"
