// Drives the demo page in Debian's headless Chromium as a person would, for tests/test_demo_browser.py.
//
//   node drive_demo.mjs PLAN.json RESULT.json
//
// PLAN: {url, chromium, viewport: {width, height}, steps: [...]}, each step one of
//   {draw: [[[x, y], ...], ...]}   strokes in 0..28 units of the canvas, replayed with the mouse
//                                  (hold: true keeps the button down at the end until an answer shows)
//   {touch: [[[x, y], ...], ...]}  the same with touch events (a finger on a phone)
//   {upload: "/path/file"}         chosen in the page's file box
//   {clear: true}                  the Clear button
//   {screenshot: "/path.png"}
//   {engine: true}                 waits until the page's model has loaded or failed (static site)
//   {offline: true}                the browser loses the network (context.setOffline)
//   {idle: MS}                     waits MS milliseconds, doing nothing
// Optional in PLAN: args (more Chromium flags), timeout (ms an answer may take, default 20000),
// without: ["WebAssembly", "WebGL"] (the page runs in a browser that lacks them).
// RESULT: one observation per step: {digit, message, state, seen, bars, probabilities, error?};
// every request the page made (requests), the bytes its responses took (bytes), and the page's
// timings (metrics: readyMs, firstAnswerMs, from navigation start).
// The assertions are the Python test's; this script only acts and reports.
import { readFileSync, writeFileSync } from "node:fs";
import { chromium } from "playwright-core";

const [planPath, resultPath] = process.argv.slice(2);
const plan = JSON.parse(readFileSync(planPath, "utf8"));

const browser = await chromium.launch({
  executablePath: plan.chromium,
  // SwiftShader: WebGL without a GPU, which MediaPipe needs for its image input.
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--enable-unsafe-swiftshader", ...(plan.args || [])],
});
const context = await browser.newContext({ viewport: plan.viewport, hasTouch: !!plan.mobile,
                                           isMobile: !!plan.mobile, deviceScaleFactor: plan.scale || 1 });
if ((plan.without || []).includes("WebAssembly")) await context.addInitScript(() => { delete globalThis.WebAssembly; });
if ((plan.without || []).includes("WebGL")) {
  await context.addInitScript(() => {
    for (const Canvas of [HTMLCanvasElement, globalThis.OffscreenCanvas].filter(Boolean)) {
      const getContext = Canvas.prototype.getContext;
      Canvas.prototype.getContext = function (kind, ...rest) {
        return /webgl/.test(kind) ? null : getContext.call(this, kind, ...rest);
      };
    }
  });
}
const page = await context.newPage();
const external = [];
const origin = new URL(plan.url).origin + "/";
const requests = [];
page.on("request", (r) => {
  requests.push({ url: r.url(), at: Date.now() });
  if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) external.push(r.url());
});
let bytes = 0;
page.on("requestfinished", async (r) => {
  const s = await r.sizes().catch(() => null);
  if (s) bytes += s.responseBodySize + s.responseHeadersSize;
});
const pageErrors = [];
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.on("console", (m) => { if (/Content.Security.Policy/i.test(m.text())) pageErrors.push(m.text()); });
await page.goto(plan.url);
const timeout = plan.timeout || 20000;

const canvas = page.locator("#pad");

// The answer is for the input now on the page once its version matches the page's.
async function settled() {
  // One check reads everything, so a request starting in between cannot mix two answers.
  const handle = await page.waitForFunction(() => {
    const a = document.getElementById("answer");
    if (a.dataset.version !== document.body.dataset.drawn || a.dataset.state === "busy") return false;
    const seen = document.getElementById("seen");
    return {
      digit: document.getElementById("digit").textContent,
      message: document.getElementById("message").textContent,
      state: a.dataset.state,
      seen: seen.style.visibility === "hidden" ? null : seen.src,
      bars: [...document.querySelectorAll("#bars .pct")].map((e) => e.textContent),
      probabilities: a.dataset.probabilities ? JSON.parse(a.dataset.probabilities) : null,
      ms: a.dataset.ms ? Number(a.dataset.ms) : null,  // the model's time in the page
    };
  }, null, { timeout });
  return handle.jsonValue();
}

function toPage(box, [x, y]) {
  return [box.x + (x * box.width) / 28, box.y + (y * box.height) / 28];
}

async function drawMouse(strokes, hold) {
  const box = await canvas.boundingBox();
  let during = null;
  for (const [i, stroke] of strokes.entries()) {
    const [x0, y0] = toPage(box, stroke[0]);
    await page.mouse.move(x0, y0);
    await page.mouse.down();
    for (const p of stroke.slice(1)) {
      const [x, y] = toPage(box, p);
      await page.mouse.move(x, y, { steps: 2 });
    }
    if (hold && i === strokes.length - 1) during = await settled();  // still drawing
    await page.mouse.up();
  }
  return during;
}

// Touch through the DevTools protocol: real touchstart/move/end, which the page sees as pointer events.
async function drawTouch(strokes) {
  const box = await canvas.boundingBox();
  const cdp = await context.newCDPSession(page);
  for (const stroke of strokes) {
    const points = stroke.map((p) => toPage(box, p));
    const touch = ([x, y]) => ({ touchPoints: [{ x, y, radiusX: 8, radiusY: 8, force: 1 }] });
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", ...touch(points[0]) });
    for (const p of points.slice(1)) await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", ...touch(p) });
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
  }
}

const results = [];
for (const step of plan.steps) {
  try {
    if (step.draw) {
      const during = await drawMouse(step.draw, step.hold);
      results.push({ ...(await settled()), during });
    }
    else if (step.touch) { await drawTouch(step.touch); results.push(await settled()); }
    else if (step.upload) { await page.setInputFiles("#file", step.upload); results.push(await settled()); }
    else if (step.clear) { await page.click("#clear"); results.push(await settled()); }
    else if (step.screenshot) { await page.screenshot({ path: step.screenshot }); results.push({}); }
    else if (step.engine) {
      await page.waitForFunction(() => document.body.dataset.engine !== "loading", null, { timeout: 120000 });
      results.push(await page.evaluate(() => ({ engine: document.body.dataset.engine,
                                                line: document.getElementById("engine").textContent })));
      results.at(-1).at = Date.now();
    }
    else if (step.offline) { await context.setOffline(true); results.push({}); }
    else if (step.idle) { await page.waitForTimeout(step.idle); results.push({ at: Date.now() }); }
  } catch (e) {
    results.push({ error: String(e).split("\n")[0] });
  }
}
const layout = await page.evaluate(() => {
  const r = document.getElementById("pad").getBoundingClientRect();
  return { innerWidth: window.innerWidth, scrollWidth: document.documentElement.scrollWidth,
           canvasLeft: r.left, canvasRight: r.right, canvasWidth: r.width, innerHeight: window.innerHeight,
           digitBottom: document.getElementById("digit").getBoundingClientRect().bottom,
           touchAction: getComputedStyle(document.getElementById("pad")).touchAction };
});
const metrics = await page.evaluate(() => ({ readyMs: Number(document.body.dataset.readyMs) || null,
                                              firstAnswerMs: Number(document.body.dataset.firstAnswerMs) || null }));
writeFileSync(resultPath, JSON.stringify({ results, layout, external, pageErrors, requests, bytes, metrics }));
await browser.close();
