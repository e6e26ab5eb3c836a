"""`python -m keras_mnist.demo --static=DIR`: the static site's files, without a browser
(tests/test_demo_static_browser.py runs it in Chromium)."""

import filecmp
import json
import os
import threading
import urllib.request

import pytest
from absl import flags
from absl.testing import flagsaver

from keras_mnist import demo
from keras_mnist.inference import load
from keras_mnist.webdemo import server, site

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODEL = os.path.join(REPO, "savedmodels", "reference", "1")
WEBDEMO = os.path.join(REPO, "keras_mnist", "webdemo")
RUNTIME = os.path.join(WEBDEMO, "node_modules", "@mediapipe", "tasks-vision")
needs_runtime = pytest.mark.skipif(not os.path.isdir(RUNTIME) and os.environ.get("CI") != "true",
                                   reason="npm ci --prefix keras_mnist/webdemo")


def test_the_runtime_is_pinned_to_a_version_that_sends_nothing():
    """tasks-vision 1.x posts usage logs to Google every 60 s; 0.10.x makes no outside request."""
    with open(os.path.join(WEBDEMO, "package.json")) as f:
        wanted = json.load(f)["dependencies"][site.RUNTIME_PACKAGE]
    with open(os.path.join(WEBDEMO, "package-lock.json")) as f:
        locked = json.load(f)["packages"][f"node_modules/{site.RUNTIME_PACKAGE}"]
    assert wanted == locked["version"] == "0.10.35"  # Exact: no range an install could move along.
    assert locked["integrity"].startswith("sha512-")


@needs_runtime
def test_static_site_holds_the_page_the_model_and_the_pinned_runtime(tmp_path, capsys):
    folder = tmp_path / "site"
    with flagsaver.flagsaver():
        demo.main(flags.FLAGS(["demo", f"--static={folder}", MODEL]))
    out = capsys.readouterr().out
    assert out.startswith(f"Static demo of {MODEL} in {folder}/") and f"python -m http.server -d {folder}" in out
    page = (folder / "index.html").read_text()
    assert 'data-model="model_camera.tflite" data-server=""' in page
    assert f'<meta http-equiv="Content-Security-Policy" content="{site.CSP}">' in page
    assert "connect-src 'self'" in site.CSP and "{{" not in page
    for name in site.PAGE_FILES:
        text = (folder / name).read_text()
        assert "http://" not in text and "https://" not in text, name  # Nothing from elsewhere.
    assert filecmp.cmp(folder / "model_camera.tflite", os.path.join(MODEL, "model_camera.tflite"), shallow=False)
    for name in site.RUNTIME_FILES:
        assert filecmp.cmp(folder / "mediapipe" / name, os.path.join(RUNTIME, name), shallow=False), name
    # Built again over itself: replaced whole.
    (folder / "stale.txt").write_text("from an older build")
    site.build(str(folder), MODEL)
    assert not (folder / "stale.txt").exists() and (folder / "index.html").exists()


@pytest.mark.parametrize("model, message", [
    ("model_float32.tflite", "the page gives the model the canvas as one 112x112 RGB image"),
    ("model.keras", "SavedModel, .keras and ONNX need the server"),
    ("missing.tflite", "no such file or folder"),
])
def test_static_site_refuses_a_model_the_page_cannot_run(model, message, tmp_path, capsys):
    with flagsaver.flagsaver(), pytest.raises(SystemExit) as exit_:
        demo.main(flags.FLAGS(["demo", f"--static={tmp_path / 'site'}", os.path.join(MODEL, model)]))
    assert str(exit_.value.code).startswith("error: ") and message in str(exit_.value.code)
    assert "\n" not in str(exit_.value.code) and not (tmp_path / "site").exists()


def test_static_site_refuses_a_folder_it_did_not_build_and_a_missing_runtime(tmp_path, monkeypatch):
    (tmp_path / "notes.txt").write_text("mine")
    monkeypatch.setenv("KERAS_MNIST_TASKS_VISION", str(tmp_path / "no-runtime"))
    with pytest.raises(site.SiteError, match=r"is not installed; run: npm ci --prefix keras_mnist/webdemo"):
        site.build(str(tmp_path / "site"), MODEL)
    monkeypatch.delenv("KERAS_MNIST_TASKS_VISION")
    if os.path.isdir(RUNTIME):
        with pytest.raises(site.SiteError, match="not empty and not a demo site"):
            site.build(str(tmp_path), MODEL)
        assert (tmp_path / "notes.txt").read_text() == "mine"


@needs_runtime
def test_server_mode_serves_the_same_page_and_with_in_browser_the_runtime():
    plain = server.make_server(load.classifier(os.path.join(MODEL, "model_int8.tflite")), port=0)
    in_page = server.make_server(load.classifier(os.path.join(MODEL, "model_int8.tflite")), port=0,
                                 camera_model=site.camera_model(MODEL))
    for httpd in (plain, in_page):
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        page = urllib.request.urlopen(server.address(plain), timeout=30).read().decode()
        assert 'data-model="" data-server="1"' in page
        with pytest.raises(urllib.error.HTTPError):  # Not offered without --in_browser.
            urllib.request.urlopen(server.address(plain) + "mediapipe/vision_bundle.mjs", timeout=30)
        page = urllib.request.urlopen(server.address(in_page), timeout=30).read().decode()
        assert 'data-model="model_camera.tflite" data-server="1"' in page
        with urllib.request.urlopen(server.address(in_page) + "mediapipe/wasm/vision_wasm_internal.wasm",
                                    timeout=30) as reply:
            assert reply.headers["Content-Type"] == "application/wasm"
            assert reply.headers["Content-Security-Policy"] == site.CSP
            assert reply.read()[:4] == b"\0asm"
    finally:
        for httpd in (plain, in_page):
            httpd.shutdown()
            httpd.server_close()
