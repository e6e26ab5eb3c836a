"""`python -m keras_mnist.demo`: it serves the page and prints where; a bad model is one line."""

import json
import os
import threading
import urllib.request

import pytest
from absl import flags
from absl.testing import flagsaver

from keras_mnist import demo
from keras_mnist.inference import predict

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(REPO, "savedmodels", predict.DEFAULT_MODEL_NAME, "1", "model_float32.tflite")


def test_serves_the_page_and_prints_its_address(capsys):
    started = threading.Event()
    servers = []

    def ready(server):
        servers.append(server)
        started.set()

    with flagsaver.flagsaver():
        argv = flags.FLAGS(["demo", "--port=0", MODEL])
        thread = threading.Thread(target=demo.main, args=(argv, ready), daemon=True)
        thread.start()
        assert started.wait(120), "the demo did not start"
    try:
        address = capsys.readouterr().out.strip().split(" at ")[1].split()[0]
        assert address.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(address, timeout=30) as page:
            assert b"<canvas" in page.read()
        with urllib.request.urlopen(urllib.request.Request(address + "api/classify", data=b"text"),
                                    timeout=30) as reply:
            pytest.fail(f"a text file was classified: {reply.read()}")
    except urllib.error.HTTPError as e:
        assert e.code == 400 and "image: not a PNG, JPEG, GIF or BMP file" in json.loads(e.read())["error"]
    finally:
        servers[0].shutdown()
        thread.join(30)


@pytest.mark.parametrize("model", ["/nonexistent/model", "setup.cfg", "tests"])
def test_a_model_that_does_not_load_is_one_line(model, capsys):
    with flagsaver.flagsaver(), pytest.raises(SystemExit) as exit_:
        demo.main(flags.FLAGS(["demo", "--port=0", model]))
    message = str(exit_.value.code)
    assert message.startswith(f"error: {model}") and "\n" not in message
    assert capsys.readouterr().out == ""  # No address printed for a demo that is not serving.
