"""The demo server tried as a new user would, with its log read: every request gets a status code
and a JSON error, and the log holds no traceback (issue 23: a negative Content-Length got no answer
and a ValueError traceback; a body over the limit a 413, then a BrokenPipeError traceback; a
truncated JPEG "Improper call to JPEG library in state 201" in the log)."""

import http.client
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
import tensorflow as tf

from keras_mnist.webdemo import digits

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(REPO, "savedmodels", "reference", "1", "model_int8.tflite")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`python -m keras_mnist.demo` in its own process, its stderr kept in a file: (port, log path)."""
    log = tmp_path_factory.mktemp("demo") / "stderr.log"
    with open(log, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "keras_mnist.demo", "--port=0", MODEL], cwd=REPO,
                                   stdout=subprocess.PIPE, stderr=stderr, text=True)
    try:
        line = process.stdout.readline()
        assert " at http://127.0.0.1:" in line, f"the demo did not start: {line!r}"
        yield int(line.split(" at ")[1].split()[0].rstrip("/").rsplit(":", 1)[1]), log
    finally:
        process.terminate()
        process.wait(timeout=30)


def answer(connection):
    response = connection.getresponse()
    return response.status, json.loads(response.read())


def post(port, headers, body=b""):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.putrequest("POST", "/api/classify?name=photo.jpg")
    for key, value in headers.items():
        connection.putheader(key, value)
    connection.endheaders()
    if body:
        connection.send(body)
    try:
        return answer(connection)
    finally:
        connection.close()


def jpeg():
    image = np.full((240, 200, 3), 205, np.uint8)
    image[40:200, 90:112] = 30  # A dark "1" on grey paper.
    return tf.io.encode_jpeg(image, quality=90).numpy()


def test_bad_requests_get_a_status_and_a_json_error_and_the_log_no_traceback(demo):
    port, log = demo
    limit = digits.MAX_BODY_BYTES
    status, body = post(port, {"Content-Length": "-5"})
    assert status == 400 and "negative" in body["error"]

    # The whole oversized body sent, as curl or a browser does: the 413 is read, not a reset.
    status, body = post(port, {"Content-Length": str(limit + 1)}, b"\0" * (limit + 1))
    assert status == 413 and "too large" in body["error"]

    # A client that gives up while the server drops the body: nothing to answer, nothing to log.
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(f"POST /api/classify HTTP/1.1\r\nHost: x\r\nContent-Length: {limit * 3}\r\n\r\n".encode()
              + b"\0" * 100_000)
    s.close()

    status, body = post(port, {"Transfer-Encoding": "chunked"}, b"5\r\nhello\r\n0\r\n\r\n")
    assert status == 411 and "Content-Length" in body["error"]

    # A body shorter than announced, its sender done: answered, not waited for forever.
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    s.sendall(b"POST /api/classify?name=photo.jpg HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\nshort")
    s.shutdown(socket.SHUT_WR)
    # Read to the server's close: headers and body may arrive in separate packets.
    reply = b""
    while chunk := s.recv(65536):
        reply += chunk
    reply = reply.decode()
    s.close()
    assert reply.startswith("HTTP/1.0 400") and "stopped after 5 of 1000 bytes" in reply

    whole = jpeg()
    for cut in (300, len(whole) // 2, len(whole) - 2):  # In the header, in the image data, the end marker.
        status, body = post(port, {"Content-Length": str(cut)}, whole[:cut])
        assert status == 400 and body["error"] == ("photo.jpg: cannot be decoded (the JPEG ends before its "
                                                   "image does); the file is damaged or truncated"), cut
    status, body = post(port, {"Content-Length": str(len(whole))}, whole)
    assert status == 200 and body["digit"] == 1  # The whole file, and the server still serves.

    time.sleep(1)  # The dropped connection's thread writes whatever it writes.
    text = log.read_text()
    for bad in ("Traceback", "Error:", "JPEG library", "Premature end of JPEG"):
        assert bad not in text, text


def test_truncated_jpegs_are_told_from_whole_ones():
    whole = jpeg()
    progressive = tf.io.encode_jpeg(np.tile(np.arange(64, dtype=np.uint8)[:, None, None] * 4, (1, 64, 3)),
                                    progressive=True).numpy()
    for data in (whole, progressive):
        assert not digits.jpeg_truncated(data)
        assert not digits.jpeg_truncated(data + b"camera trailer \xff\xd8 after the end")
        assert all(digits.jpeg_truncated(data[:cut]) for cut in range(2, len(data) - 1))
    assert not digits.jpeg_truncated(b"\x89PNG\r\n\x1a\n")
