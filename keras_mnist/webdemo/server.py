"""The draw-a-digit page: a standard-library HTTP server, a static page, one JSON endpoint.

    GET  /                  the page (static/index.html; its CSS and JS are served from here too)
    POST /api/classify      body: an encoded image (the canvas as PNG, or an uploaded file);
                            ?name=... names it in error messages (the file's name, or "drawing")
                            -> {"digit", "probabilities" [10], "input_png" (base64 28x28)}, or for
                            a number {"number": "42", "digit_probabilities", "input_png" (28 x 28n)}
                            or {"error": "..."} with status 400/404/411/413/500

Every request gets a status code and a JSON error when it fails, and the log holds no
traceback: a client that hangs up is not an error, and an unexpected failure is one line.
The page is keras_mnist.webdemo.site's, in server mode; `--static` writes it as a static site.

Nothing is fetched from elsewhere: the page has no external fonts, scripts or analytics.
"""

import base64
import http.server
import json
import os
import socket
import sys
import threading
import urllib.parse

import numpy as np

from keras_mnist.webdemo import digits, site

STATIC = {
    "/": ("index.html", "text/html; charset=utf-8"),
    "/demo.css": ("demo.css", "text/css; charset=utf-8"),
    "/demo.js": ("demo.js", "text/javascript; charset=utf-8"),
}
# The page may load only what this server serves.
CSP = site.CSP
# After a 413 the body the client is still sending is read and dropped (up to this much,
# for this long), so that it reads the answer instead of a reset connection.
DRAIN_BYTES = 64 * 1024 * 1024
DRAIN_SECONDS = 10


def _png_base64(pixels):
    import tensorflow as tf

    image = tf.cast(tf.round(tf.clip_by_value(pixels, 0.0, 255.0)), tf.uint8)
    return base64.b64encode(tf.io.encode_png(image).numpy()).decode("ascii")


class Classifier:
    """One model behind a lock: the loaders are not promised to be thread-safe."""

    def __init__(self, model):
        self.model = model
        self.lock = threading.Lock()

    def _predict(self, pixels):
        with self.lock:
            return self.model.predict(pixels)

    def classify(self, raw, name="image"):
        from keras_mnist.inference import predict

        candidates = digits.to_candidates(raw, name)
        pixels, probabilities = predict.read_candidates(self._predict, [candidates])[0]
        if len(pixels) > 1:  # A number: its digits, each one's probability, the inputs side by side.
            read = np.argmax(probabilities, -1)
            return {"number": "".join(str(d) for d in read),
                    "digit_probabilities": [round(float(p[d]), 6) for p, d in zip(probabilities, read)],
                    "input_png": _png_base64(np.concatenate(list(pixels), axis=1))}
        return {"digit": int(np.argmax(probabilities[0])),
                "probabilities": [round(float(p), 6) for p in probabilities[0]],
                "input_png": _png_base64(pixels[0])}


class Handler(http.server.BaseHTTPRequestHandler):
    server_version = "keras-mnist-demo"
    classifier = None  # set by make_server
    # With --in_browser: {url path: (file path, content type)} of the model and the runtime the
    # page runs itself, and the model's file name for the page (see make_server).
    browser_files = {}
    browser_model = ""

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
        path = urllib.parse.urlsplit(self.path).path
        if path in self.browser_files:
            file_path, content_type = self.browser_files[path]
            with open(file_path, "rb") as f:
                return self._send(200, f.read(), content_type)
        page = STATIC.get(path)
        if page is None:
            return self._json(404, {"error": "not found"})
        name, content_type = page
        self._send(200, site.render(name, model=self.browser_model, server=True,
                                    max_body_bytes=digits.MAX_BODY_BYTES), content_type)

    def do_POST(self):  # noqa: N802
        url = urllib.parse.urlsplit(self.path)
        if url.path != "/api/classify":
            return self._json(404, {"error": "not found"})
        # Shown back to the user in a message: printable characters only, and short.
        name = "".join(c for c in urllib.parse.parse_qs(url.query).get("name", ["image"])[0]
                       if c.isprintable())[:80] or "image"
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            return self._json(411, {"error": "send the image with a Content-Length, not chunked"})
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True  # Where the body ends is unknown: the connection cannot be reused.
            return self._json(411, {"error": "send the image with a Content-Length"})
        if length < 0:
            self.close_connection = True
            return self._json(400, {"error": f"Content-Length {length} is negative; send the image's size in bytes"})
        if length > digits.MAX_BODY_BYTES:
            # Refused before reading: answered at once, then the body is dropped and the connection closed.
            self.close_connection = True
            self._json(413, {"error": f"file too large ({length / 1_000_000:.1f} MB): the limit is "
                                      f"{digits.MAX_BODY_BYTES // (1024 * 1024)} MB"})
            return self._drain(length)
        raw = self.rfile.read(length)
        if len(raw) < length:
            self.close_connection = True
            return self._json(400, {"error": f"{name}: the upload stopped after {len(raw)} of {length} bytes"})
        try:
            return self._json(200, self.classifier.classify(raw, name))
        except digits.InputError as e:
            return self._json(400, {"error": str(e)})

    def _drain(self, length):
        self.wfile.flush()
        self.connection.settimeout(DRAIN_SECONDS)
        left = min(length, DRAIN_BYTES)
        try:
            while left > 0:
                chunk = self.rfile.read1(min(left, 1 << 16))
                if not chunk:
                    break
                left -= len(chunk)
        except OSError:  # Timed out or hung up: the answer was sent; closing is all that is left.
            pass

    def handle_one_request(self):
        """http.server's, with every failure answered: 500 and one line on stderr, never a traceback."""
        try:
            super().handle_one_request()
        except (ConnectionError, socket.timeout):
            self.close_connection = True  # The client went away: nothing to answer, nothing to log.
        except Exception as e:  # noqa: BLE001 - the last line of defence; the next request is served.
            self.close_connection = True
            print(f"demo: {self.command} {self.path}: {type(e).__name__}: {e}".splitlines()[0], file=sys.stderr,
                  flush=True)
            try:
                self._json(500, {"error": f"the demo server failed on this request ({type(e).__name__}); "
                                          "see its log"})
            except OSError:
                pass

    def finish(self):
        try:
            super().finish()
        except ConnectionError:  # The answer's last bytes had nowhere to go: the client hung up.
            pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """socketserver prints a traceback here; the log gets one line instead."""
        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, socket.timeout)):
            print(f"demo: request from {client_address[0]}: {type(error).__name__}: {error}".splitlines()[0],
                  file=sys.stderr, flush=True)


def browser_files(camera_model):
    """The files the page needs to run `camera_model` itself: {url path: (file, content type)}."""
    types = {".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm"}
    runtime = site.runtime_dir()
    files = {f"/mediapipe/{name}": (os.path.join(runtime, name), types[os.path.splitext(name)[1]])
             for name in site.RUNTIME_FILES}
    files["/browser_model.js"] = (os.path.join(site.HERE, "static", "browser_model.js"), types[".js"])
    files["/" + os.path.basename(camera_model)] = (camera_model, "application/octet-stream")
    return files


def make_server(model, port=0, host="127.0.0.1", camera_model=None):
    """A ThreadingHTTPServer serving the page for `model` (see keras_mnist.inference.load).

    With `camera_model` (a checked path, site.camera_model) the page runs that model itself and
    the server answers uploads, and drawings when the browser cannot run it.
    """
    attributes = {"classifier": Classifier(model)}
    if camera_model:
        attributes.update(browser_files=browser_files(camera_model), browser_model=os.path.basename(camera_model))
    handler = type("DemoHandler", (Handler,), attributes)
    server = Server((host, port), handler)
    server.daemon_threads = True
    return server


def address(server):
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/"
