"""A draw-a-digit page for a model: `python -m keras_mnist.demo [PATH] [--port=8000]`.

`python -m keras_mnist.demo --static=DIR [PATH]` writes the page instead as a static
site that runs the phone model (`model_camera.tflite`) in the browser with MediaPipe
Tasks for Web; serve it with any static file host, e.g. `python -m http.server -d DIR`.

PATH is a `.keras` file, a SavedModel folder or a `.tflite` file (default: the
newest savedmodels/reference/<version>). Serves on 127.0.0.1 only and prints the
address; open it, draw a digit with the mouse, a finger or a pen, or upload a
photo or scan. Works with no internet. The server is `keras_mnist.webdemo.server`.
"""

import os
import sys

from absl import app, flags, logging

from keras_mnist.inference import load, predict

_PORT = flags.DEFINE_integer("port", 8000, "The port on 127.0.0.1 to serve on (0: any free port).",
                             lower_bound=0, upper_bound=65535)
_STATIC = flags.DEFINE_string(
    "static", None, "Write the page as a static site into this folder instead of serving it: the model "
    "(PATH's model_camera.tflite) runs in the browser with MediaPipe Tasks for Web.")
_IN_BROWSER = flags.DEFINE_bool(
    "in_browser", False, "Serving: the page runs PATH's model_camera.tflite itself, as the static site does; "
    "the server answers uploads, and drawings where the browser cannot run the model.")


def main(argv, ready=None):
    """Serves until interrupted. `ready(server)` is called once it listens (tests stop it with it)."""
    if len(argv) > 2:
        raise app.UsageError("usage: python -m keras_mnist.demo [PATH] [--port=8000] | --static=DIR [PATH]")
    logging.set_verbosity(logging.WARNING)
    path = argv[1] if len(argv) == 2 else predict.default_model()
    if not path:
        sys.exit(f"error: no model found under savedmodels/{predict.DEFAULT_MODEL_NAME}/; pass PATH "
                 "(a .keras file, a SavedModel folder or a .tflite file)")
    if _STATIC.value:
        return write_static(_STATIC.value, path)
    from keras_mnist.webdemo import server as demo_server

    try:
        classifier = load.classifier(path)
    except load.ModelLoadError as e:
        sys.exit(f"error: {e}")
    camera_model = None
    if _IN_BROWSER.value:
        from keras_mnist.webdemo import site

        try:
            own = os.path.isdir(path) or path.endswith(".tflite")
            camera_model = site.camera_model(path if own else os.path.dirname(path) or ".")
            site.runtime_dir()
        except site.SiteError as e:
            sys.exit(f"error: --in_browser: {e}")
    try:
        server = demo_server.make_server(classifier, port=_PORT.value, camera_model=camera_model)
    except OSError as e:
        sys.exit(f"error: cannot listen on 127.0.0.1:{_PORT.value} ({e.strerror}); pick another --port")
    print(f"Demo of {path} at {demo_server.address(server)} (Ctrl+C stops it)", flush=True)
    if ready:
        ready(server)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def write_static(directory, path):
    from keras_mnist.webdemo import site

    try:
        files = site.build(directory, path)
    except (site.SiteError, OSError) as e:
        sys.exit(f"error: {e}")
    size = sum(os.path.getsize(os.path.join(directory, f)) for f in files)
    print(f"Static demo of {path} in {directory}/ ({len(files)} files, {size / 1e6:.1f} MB); "
          f"serve it with: python -m http.server -d {directory} 8000", flush=True)


def run():
    """Console-script entry point."""
    app.run(main)


if __name__ == "__main__":
    run()
