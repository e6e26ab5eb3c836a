"""The draw-a-digit page: a standard-library HTTP server, a static page, one JSON endpoint.

    GET  /                  the page (static/index.html; its CSS and JS are served from here too)
    POST /api/classify      body: an encoded image (the canvas as PNG, or an uploaded file);
                            ?name=... names it in error messages (the file's name, or "drawing")
                            -> {"digit", "probabilities" [10], "input_png" (base64 28x28)}
                            or {"error": "..."} with status 400/413

Nothing is fetched from elsewhere: the page has no external fonts, scripts or analytics.
"""

import base64
import http.server
import importlib.resources
import json
import threading
import urllib.parse

import numpy as np

from keras_mnist.webdemo import digits

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/demo.css": ("demo.css", "text/css; charset=utf-8"),
    "/demo.js": ("demo.js", "text/javascript; charset=utf-8"),
}
# The page may load only what this server serves.
CSP = "default-src 'self'; img-src 'self' data: blob:; connect-src 'self'"


def _static(name):
    return importlib.resources.files("keras_mnist.webdemo").joinpath("static", name).read_bytes()


def _png_base64(pixels):
    import tensorflow as tf

    image = tf.cast(tf.round(tf.clip_by_value(pixels, 0.0, 255.0)), tf.uint8)
    return base64.b64encode(tf.io.encode_png(image).numpy()).decode("ascii")


class Classifier:
    """One model behind a lock: the loaders are not promised to be thread-safe."""

    def __init__(self, model):
        self.model = model
        self.lock = threading.Lock()

    def classify(self, raw, name="image"):
        pixels = digits.to_model_input(raw, name)
        with self.lock:
            probabilities = np.asarray(self.model.predict(pixels[np.newaxis]))[0]
        return {"digit": int(np.argmax(probabilities)),
                "probabilities": [round(float(p), 6) for p in probabilities],
                "input_png": _png_base64(pixels)}


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "keras-mnist-demo"
    classifier = None  # set by make_server

    def log_message(self, format, *args):  # noqa: A002 - the base class's name.
        pass  # One line per drawn stroke would bury the address the user needs.

    def _send(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status, payload):
        self._send(status, json.dumps(payload).encode(), "application/json")

    def do_GET(self):  # noqa: N802 - http.server's naming.
        page = STATIC.get(urllib.parse.urlsplit(self.path).path)
        if page is None:
            return self._json(404, {"error": "not found"})
        name, content_type = page
        body = _static(name).replace(b"{{MAX_BODY_BYTES}}", str(digits.MAX_BODY_BYTES).encode())
        self._send(200, body, content_type)

    def do_POST(self):  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/api/classify":
            return self._json(404, {"error": "not found"})
        # Shown back to the user in a message: printable characters only, and short.
        name = "".join(c for c in urllib.parse.parse_qs(url.query).get("name", ["image"])[0]
                       if c.isprintable())[:80] or "image"
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            return self._json(411, {"error": "send the image with a Content-Length"})
        if length > digits.MAX_BODY_BYTES:
            # Refused before reading; the connection is closed so the unread body is dropped.
            self.close_connection = True
            return self._json(413, {"error": f"file too large ({length // 1_000_000} MB): the limit is "
                                             f"{digits.MAX_BODY_BYTES // (1024 * 1024)} MB"})
        raw = self.rfile.read(length)
        try:
            return self._json(200, self.classifier.classify(raw, name))
        except digits.InputError as e:
            return self._json(400, {"error": str(e)})


def make_server(model, port=0, host="127.0.0.1"):
    """A ThreadingHTTPServer serving the page for `model` (see keras_mnist.inference.load)."""
    handler = type("DemoHandler", (Handler,), {"classifier": Classifier(model)})
    server = http.server.ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def address(server):
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
