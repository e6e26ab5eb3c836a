"""The demo page's files, for the server and as a static site (`python -m keras_mnist.demo --static=DIR`).

One page serves both modes; its <body> says which:
    data-model   empty: drawings go to the server; a file name: the page runs that
                 TFLite model itself with MediaPipe Tasks for Web (static/browser_model.js)
    data-server  "1" when a demo server answers /api/classify (server mode; also the
                 fallback when the browser cannot run the model)

The static site holds the page, its scripts, the model and MediaPipe's runtime, copied
from the npm package `@mediapipe/tasks-vision` in keras_mnist/webdemo/node_modules (pinned
to an exact version by keras_mnist/webdemo/package-lock.json; `npm ci --prefix
keras_mnist/webdemo` installs it). The runtime's 11 MB of wasm are not committed to git:
npm's lock file pins them by hash, and a binary committed per version would stay in the
history forever. Any static file host serves the folder; nothing is fetched from elsewhere.
KERAS_MNIST_TASKS_VISION names another folder holding the same package version.
"""

import importlib.resources
import json
import os
import shutil

# The page may load only its own files: sent as a header by the server, and in the page as
# a <meta> for static hosts. 'wasm-unsafe-eval' lets it compile the runtime's WebAssembly.
CSP = ("default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; img-src 'self' data: blob:; "
       "connect-src 'self'")
PAGE_FILES = ("index.html", "demo.css", "demo.js", "browser_model.js")
HERE = os.path.dirname(os.path.abspath(__file__))
RUNTIME_PACKAGE = "@mediapipe/tasks-vision"
# What the page loads from the package: the ES module and both WebAssembly builds
# (MediaPipe picks the SIMD one where the browser has SIMD, which all current ones do).
RUNTIME_FILES = ("vision_bundle.mjs", "wasm/vision_wasm_internal.js", "wasm/vision_wasm_internal.wasm",
                 "wasm/vision_wasm_nosimd_internal.js", "wasm/vision_wasm_nosimd_internal.wasm")
CAMERA_MODEL = "model_camera.tflite"
# The phone model the page can run: the canvas, scaled, is its input.
INPUT_SHAPE = (1, 112, 112, 3)
MARKER = ".keras_mnist_demo_site"


class SiteError(Exception):
    """The static site cannot be built; the message says why and what to do."""


def static_file(name):
    return importlib.resources.files("keras_mnist.webdemo").joinpath("static", name).read_bytes()


def render(name, model="", server=True, max_body_bytes=0):
    """A page file with its placeholders filled: the mode (see the module docstring) and the CSP."""
    body = static_file(name)
    if name != "index.html":
        return body
    for key, value in (("CSP", CSP), ("MODEL", model), ("SERVER", "1" if server else ""),
                       ("MAX_BODY_BYTES", str(max_body_bytes))):
        body = body.replace(b"{{" + key.encode() + b"}}", value.encode())
    return body


def runtime_dir():
    """The pinned npm package's folder, checked against package-lock.json; or SiteError."""
    install = "run: npm ci --prefix keras_mnist/webdemo"
    try:
        with open(os.path.join(HERE, "package-lock.json")) as f:
            pinned = json.load(f)["packages"][f"node_modules/{RUNTIME_PACKAGE}"]["version"]
    except (OSError, ValueError, KeyError) as e:
        raise SiteError(f"keras_mnist/webdemo/package-lock.json does not pin {RUNTIME_PACKAGE} ({e}); "
                        "use a checkout of the project") from None
    folder = os.environ.get("KERAS_MNIST_TASKS_VISION") or os.path.join(HERE, "node_modules", RUNTIME_PACKAGE)
    try:
        with open(os.path.join(folder, "package.json")) as f:
            installed = json.load(f)["version"]
    except OSError:
        raise SiteError(f"the page's runtime ({RUNTIME_PACKAGE} {pinned}) is not installed; {install}") from None
    if installed != pinned:
        raise SiteError(f"{folder} holds {RUNTIME_PACKAGE} {installed}, package-lock.json pins {pinned}; {install}")
    missing = [name for name in RUNTIME_FILES if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise SiteError(f"{folder} lacks {', '.join(missing)}; {install}")
    return folder


def camera_model(path):
    """PATH (a model folder or a .tflite file) -> the .tflite the page can run; or SiteError."""
    if os.path.isdir(path):
        candidate = os.path.join(path, CAMERA_MODEL)
        if not os.path.isfile(candidate):
            raise SiteError(f"{path} has no {CAMERA_MODEL}; the static page runs the phone camera model "
                            "(re-export the model, or pass a .tflite file)")
        path = candidate
    elif not os.path.isfile(path):
        raise SiteError(f"{path}: no such file or folder")
    if not path.endswith(".tflite"):
        raise SiteError(f"{path}: the static page runs a .tflite camera model in the browser; "
                        "SavedModel, .keras and ONNX need the server: python -m keras_mnist.demo PATH")
    from ai_edge_litert.interpreter import Interpreter

    try:
        interpreter = Interpreter(model_path=path)
    except (ValueError, RuntimeError) as e:
        raise SiteError(f"{path}: not a TFLite model ({str(e).splitlines()[0]})") from None
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    shape = tuple(int(d) for d in inputs[0]["shape"]) if len(inputs) == 1 else None
    if shape != INPUT_SHAPE or len(outputs) != 1 or tuple(outputs[0]["shape"]) != (1, 10):
        raise SiteError(f"{path}: takes {[tuple(int(n) for n in d['shape']) for d in inputs]}; the page gives "
                        f"the model the "
                        f"canvas as one {INPUT_SHAPE[1]}x{INPUT_SHAPE[2]} RGB image ({CAMERA_MODEL})")
    return path


def build(directory, model_path):
    """Writes the static site for `model_path` into `directory`; returns the files written (relative)."""
    model = camera_model(model_path)
    runtime = runtime_dir()
    if os.path.isdir(directory) and os.listdir(directory) and not os.path.exists(os.path.join(directory, MARKER)):
        raise SiteError(f"{directory} is not empty and not a demo site built before; pick a new folder")
    staging = directory.rstrip(os.sep) + ".partial"
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(os.path.join(staging, "mediapipe", "wasm"))
    name = os.path.basename(model)
    written = {}
    for page_file in PAGE_FILES:
        written[page_file] = render(page_file, model=name, server=False)
    for path, body in written.items():
        with open(os.path.join(staging, path), "wb") as f:
            f.write(body)
    shutil.copyfile(model, os.path.join(staging, name))
    for runtime_file in RUNTIME_FILES:
        shutil.copyfile(os.path.join(runtime, runtime_file), os.path.join(staging, "mediapipe", runtime_file))
    with open(os.path.join(staging, MARKER), "w") as f:
        f.write(f"python -m keras_mnist.demo --static={directory} {model_path}\n")
    # Whole or not at all: a host never serves half a site.
    if os.path.isdir(directory):
        shutil.rmtree(directory)
    os.rename(staging, directory)
    return [*PAGE_FILES, name, *(f"mediapipe/{f}" for f in RUNTIME_FILES)]
