"""The demo page driven in Debian's headless Chromium by playwright-core (tests/browser/drive_demo.mjs).

Shared by tests/test_demo_browser.py and tests/test_demo_static_browser.py: what they need
(skipped outside CI when it is absent, a failure under CI) and one run of a plan of steps.
"""

import json
import os
import shutil
import subprocess

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BROWSER_DIR = os.path.join(REPO, "tests", "browser")
CHROMIUM = os.environ.get("KERAS_MNIST_CHROMIUM", "/usr/bin/chromium")
INSTALL = "apt-get install chromium; npm ci --prefix tests/browser"


def require(ok, what, install=INSTALL):
    if ok:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is missing under CI; .ci/run should have installed it")
    pytest.skip(f"{what} is missing: {install}")


def node(*more, install=INSTALL):
    """node's path, once Chromium, node, playwright-core and `more` ((ok, what) pairs) are there."""
    require(os.path.exists(CHROMIUM), f"Chromium ({CHROMIUM})", install)
    require(shutil.which("node"), "node", install)
    require(os.path.isdir(os.path.join(BROWSER_DIR, "node_modules", "playwright-core")),
            "playwright-core (tests/browser/node_modules)", install)
    for ok, what in more:
        require(ok, what, install)
    return shutil.which("node")


def drive(node, url, steps, tmp_path, wait_s=300, **options):
    """Runs `steps` on the page at `url` (at most `wait_s` seconds); returns drive_demo.mjs's report,
    checked to hold no request to another site and no page error (Content-Security-Policy
    violations included). `options` go into the plan (viewport, mobile, scale, without, timeout)."""
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"url": url, "chromium": CHROMIUM, "steps": steps,
                                "viewport": {"width": 900, "height": 640}, **options}))
    result = tmp_path / "result.json"
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    subprocess.run([node, os.path.join(BROWSER_DIR, "drive_demo.mjs"), str(plan), str(result)],
                   check=True, timeout=wait_s, env=env)
    report = json.loads(result.read_text())
    assert report["external"] == [], "the page fetched something from elsewhere"
    assert report["pageErrors"] == []
    return report
