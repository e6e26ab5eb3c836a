"""The phone model in the page (issue 23), in Debian's headless Chromium driven by playwright-core.

`python -m keras_mnist.demo --static=DIR` is built and served by `python -m http.server`, as
README says; the page runs model_camera.tflite with MediaPipe Tasks for Web (WebGL from
SwiftShader). The same 30 MNIST-skeleton drawings as tests/test_demo_browser.py are drawn:
  - on the static site, offline once loaded, with a 65 s idle (tasks-vision 1.x would post
    usage logs every 60 s): every request goes to the page's own origin, none after the load;
  - on `python -m keras_mnist.demo --in_browser` in a Chromium without WebAssembly: the page
    says so in one line and the server answers, as in server mode.
The page's probabilities are checked against Python on the same 112x112 pixels: LiteRT
(ai_edge_litert) and MediaPipe's own Python ImageClassifier (in the phone tools venv).

KERAS_MNIST_DEMO_PHONE_SCREENSHOT=docs/demo_phone.png saves the phone-screen screenshot there.
`.ci/run` installs chromium (apt), playwright-core (npm ci in tests/browser) and the page's
runtime (npm ci in keras_mnist/webdemo); outside CI the tests skip when they are absent.
"""

import base64
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import demo_driver
import demo_strokes

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNTIME = os.path.join(REPO, "keras_mnist", "webdemo", "node_modules", "@mediapipe", "tasks-vision")
CAMERA_MODEL = os.path.join(REPO, "savedmodels", "reference", "1", "model_camera.tflite")
N_DRAWN = 30
IDLE_MS = 65_000
# The page and Python agree to this on the same pixels (measured: see README).
TOLERANCE = 1e-3


@pytest.fixture(scope="module")
def node():
    return demo_driver.node((os.path.isdir(RUNTIME), "the page's runtime (keras_mnist/webdemo/node_modules)"),
                            install=f"{demo_driver.INSTALL}; npm ci --prefix keras_mnist/webdemo")


def _serve(command, marker):
    """Starts `command`; returns (process, its first stdout line holding `marker`)."""
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if marker not in line:
        process.terminate()
        pytest.fail(f"{command[2:]} did not start: {line!r}")
    return process, line


@pytest.fixture(scope="module")
def site_url(node, tmp_path_factory):
    """README's two commands: build the static site, serve it with python -m http.server."""
    folder = tmp_path_factory.mktemp("static") / "site"
    built = subprocess.run([sys.executable, "-m", "keras_mnist.demo", f"--static={folder}"], cwd=REPO,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0 and "Static demo of" in built.stdout, built.stderr[-2000:]
    assert os.path.isfile(folder / "mediapipe" / "wasm" / "vision_wasm_internal.wasm")
    process, line = _serve([sys.executable, "-u", "-m", "http.server", "0", "-b", "127.0.0.1", "-d", str(folder)],
                           "Serving HTTP on")
    try:
        yield f"http://127.0.0.1:{line.split(' port ')[1].split()[0]}/"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def server_url(node):
    """Server mode with the page running the camera model itself: --in_browser."""
    process, line = _serve([sys.executable, "-m", "keras_mnist.demo", "--port=0", "--in_browser"], " at http://")
    try:
        yield line.split(" at ")[1].split()[0]
    finally:
        process.terminate()
        process.wait(timeout=30)


def drive(node, url, steps, tmp_path, **options):
    """demo_driver.drive with more time, and every request checked to go to the page's own origin."""
    report = demo_driver.drive(node, url, steps, tmp_path, wait_s=600, **{"timeout": 120_000, **options})
    assert all(r["url"].startswith(url) for r in report["requests"]), report["requests"]
    return report


def drawings(mnist):
    steps = []
    for i in range(N_DRAWN):
        steps += [{"clear": True}, {"draw": demo_strokes.strokes(mnist.x_test[i])}]
    return steps


def recognised(results, steps, labels):
    drawn = [r for r, s in zip(results, steps) if "draw" in s][:N_DRAWN]
    assert all("error" not in r for r in drawn), drawn
    shown = [int(r["digit"]) if r["state"] == "done" else None for r in drawn]
    return sum(s == t for s, t in zip(shown, labels)), shown, drawn


def litert(pixels):
    """model_camera.tflite in Python (LiteRT) on float32 [112, 112, 3] 0-255 pixels."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=CAMERA_MODEL)
    interpreter.allocate_tensors()
    interpreter.set_tensor(interpreter.get_input_details()[0]["index"], pixels[np.newaxis].astype(np.float32))
    interpreter.invoke()
    return interpreter.get_tensor(interpreter.get_output_details()[0]["index"])[0]


def mediapipe_python(images, tmp_path):
    """model_camera.tflite in MediaPipe's Python ImageClassifier (the phone tools venv, issue 13);
    None outside CI when that venv is missing (.ci/run creates it)."""
    from keras_mnist.deploy import toolenv

    try:
        toolenv.python(install=os.environ.get("CI") == "true")
    except toolenv.ToolError:
        return None
    np.save(tmp_path / "images.npy", images.astype(np.uint8))
    toolenv.run("classify.py", "mediapipe", CAMERA_MODEL, tmp_path / "images.npy", tmp_path / "scores.npy")
    return np.load(tmp_path / "scores.npy")


def page_input(observation):
    """The 112x112 RGB image the page gave the model (its "seen" image, a lossless PNG of it)."""
    import tensorflow as tf

    assert observation["seen"].startswith("data:image/png;base64,")
    image = tf.io.decode_png(base64.b64decode(observation["seen"].split(",", 1)[1]), channels=3).numpy()
    assert image.shape == (112, 112, 3)
    return image.astype(np.float32)


def test_static_site_offline_same_answers_as_python_and_server(node, site_url, server_url, mnist, tmp_path):
    labels = mnist.y_test[:N_DRAWN]
    # The first digit is drawn at once: its answer waits for the model, the time to the first answer.
    first = {"draw": demo_strokes.strokes(mnist.x_test[0])}
    steps = [first, {"engine": True}, {"offline": True}, *drawings(mnist)[2:], {"idle": IDLE_MS},
             {"clear": True}, first]
    report = drive(node, site_url, steps, tmp_path)
    results = report["results"]
    assert results[1]["engine"] == "page" and "runs in this page" in results[1]["line"]
    ready_at = results[1]["at"]
    # Nothing is fetched once the model has loaded: not while drawing offline, not while idle.
    assert [r["url"] for r in report["requests"] if r["at"] >= ready_at] == []
    correct, shown, drawn = recognised(results, steps, labels)
    assert results[-1]["state"] == "done" and results[-1]["digit"] == drawn[0]["digit"]  # after the idle, offline

    # The same pixels in Python: LiteRT, and MediaPipe's Python SDK, on the 112x112 image the page gave
    # MediaPipe for Web.
    answered = [r for r in drawn if r["state"] == "done"]
    assert len(answered) >= N_DRAWN - 2
    images = np.stack([page_input(r) for r in answered])
    in_page = np.array([r["probabilities"] for r in answered])
    python = {"LiteRT": np.stack([litert(image) for image in images]),
              "MediaPipe": mediapipe_python(images, tmp_path)}
    python = {name: expected for name, expected in python.items() if expected is not None}
    differences = {}
    for name, expected in python.items():
        assert (expected.argmax(-1) == [int(r["digit"]) for r in answered]).all(), name
        differences[name] = float(np.max(np.abs(in_page - expected)))
    assert max(differences.values()) <= TOLERANCE, differences

    # Server mode on the same drawings: --in_browser in a Chromium without WebAssembly falls back to it.
    server_steps = [{"engine": True}, *drawings(mnist)]
    served = drive(node, server_url, server_steps, tmp_path, without=["WebAssembly"])
    assert served["results"][0]["engine"] == "server"
    assert served["results"][0]["line"] == ("This browser cannot run the model in the page (no WebAssembly); "
                                            "the server answers instead.")
    server_correct, server_shown, _ = recognised(served["results"], server_steps, labels)

    print(f"\nstatic site: {correct}/{N_DRAWN} recognised (shown {shown}); server: {server_correct}/{N_DRAWN} "
          f"(shown {server_shown}); largest |page - Python| probability difference "
          f"{', '.join(f'{k} {v:.2e}' for k, v in differences.items())}; "
          f"first load {report['bytes']:,} bytes; model ready {report['metrics']['readyMs']} ms, "
          f"first answer {report['metrics']['firstAnswerMs']} ms after navigation; the model's time per "
          f"answer in the page: median {np.median([r['ms'] for r in answered]):.0f} ms, "
          f"largest {max(r['ms'] for r in answered):.0f} ms")
    assert correct >= server_correct, (shown, server_shown)
    assert report["bytes"] < 13_000_000  # One of the two wasm builds, the model, the page.


@pytest.mark.parametrize("lacking, why", [("WebAssembly", "no WebAssembly"), ("WebGL", "no WebGL 2")])
def test_a_browser_that_cannot_run_the_model_is_told_in_one_line(lacking, why, node, site_url, mnist, tmp_path):
    steps = [{"engine": True}, {"draw": demo_strokes.strokes(mnist.x_test[0])}]
    results = drive(node, site_url, steps, tmp_path, without=[lacking])["results"]
    line = f"This browser cannot run the model in the page ({why}), and a static page has no server to ask."
    assert results[0] == {"engine": "none", "line": line, "at": results[0]["at"]}
    assert results[1]["state"] == "error" and results[1]["message"] == line


def test_phone_screen_offline(node, site_url, mnist, tmp_path):
    """390x844 CSS px at 2x, a finger drawing, the network gone after the page loaded."""
    steps = [{"engine": True}, {"offline": True}, {"touch": demo_strokes.strokes(mnist.x_test[1])},
             {"screenshot": str(tmp_path / "phone.png")}]
    report = drive(node, site_url, steps, tmp_path, viewport={"width": 390, "height": 844}, mobile=True, scale=2)
    layout = report["layout"]
    assert layout["touchAction"] == "none" and layout["scrollWidth"] <= layout["innerWidth"]
    assert 0 <= layout["canvasLeft"] and layout["canvasRight"] <= layout["innerWidth"]
    assert layout["digitBottom"] <= layout["innerHeight"]  # The answer in sight while drawing.
    touched = report["results"][2]
    assert touched["state"] == "done" and int(touched["digit"]) == mnist.y_test[1], touched
    target = os.environ.get("KERAS_MNIST_DEMO_PHONE_SCREENSHOT")
    if target:
        shutil.copyfile(tmp_path / "phone.png", os.path.join(REPO, target))
