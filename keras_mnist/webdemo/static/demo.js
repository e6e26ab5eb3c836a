// The draw-a-digit page: pointer events (mouse, touch, pen) draw on the canvas; the canvas
// is classified debounced while drawing and at once when a stroke ends: in the page itself
// when the page names a model (data-model: the phone model, run by browser_model.js), else
// (or when this browser cannot run it) sent as a PNG to the server's /api/classify.
"use strict";
(() => {
  const pad = document.getElementById("pad");
  const ctx = pad.getContext("2d");
  const answer = document.getElementById("answer");
  const digitEl = document.getElementById("digit");
  const message = document.getElementById("message");
  const seen = document.getElementById("seen");
  const bars = document.getElementById("bars");
  const file = document.getElementById("file");
  const maxBytes = Number(document.body.dataset.maxBytes) || 10 * 1024 * 1024;
  const STROKE = 22;      // canvas px of 280: about a fingertip, like MNIST's pen on its 28 px
  const DEBOUNCE_MS = 150;
  const HINT = "Draw a digit in the box, or upload an image.";
  const modelUrl = document.body.dataset.model || "";  // static site: the model runs in the page
  const hasServer = document.body.dataset.server === "1";
  const engineLine = document.getElementById("engine");
  const small = document.createElement("canvas");  // the canvas at the phone model's input size
  // engine: "server" (POST /api/classify), "loading" / "page" (the model in the page), "none".
  let engine = modelUrl ? "loading" : "server", local = null;

  // version counts changes to the input; the answer records which version it shows,
  // so a late reply to an older drawing never overwrites a newer one.
  let version = 0, shown = 0, sent = 0, inflight = false, queued = null, timer = null, last = null;
  let inked = false;

  const rows = [];
  for (let d = 0; d < 10; d++) {
    const li = document.createElement("li");
    li.innerHTML = `<span>${d}</span><div class="bar"><span></span></div><span class="pct">&ndash;</span>`;
    bars.appendChild(li);
    rows.push(li);
  }

  function bump() { version += 1; document.body.dataset.drawn = String(version); return version; }

  function blank() {
    ctx.fillStyle = "#fff";  // opaque white paper: a transparent PNG would read as black
    ctx.fillRect(0, 0, pad.width, pad.height);
    inked = false;
  }

  function show(v, state, text, result) {
    if (v < shown) return;
    shown = v;
    answer.dataset.state = state;
    answer.dataset.version = String(v);
    message.textContent = text;
    digitEl.textContent = result ? String(result.number || result.digit) : "\u2013";
    seen.style.visibility = result ? "visible" : "hidden";
    if (result) seen.src = "data:image/png;base64," + result.input_png;
    if (result) seen.width = 112 * (result.number ? result.number.length : 1);  // a number: its digits side by side
    rows.forEach((li, d) => {
      const p = result && result.probabilities ? result.probabilities[d] : 0;  // a number: no bars
      li.classList.toggle("best", !!result && d === result.digit);
      li.querySelector(".bar span").style.width = (100 * p).toFixed(1) + "%";
      li.querySelector(".pct").textContent = result && result.probabilities ? (100 * p).toFixed(1) + "%" : "\u2013";
    });
  }

  async function classify(v, body, name) {
    answer.dataset.state = "busy";
    try {
      const url = "/api/classify?name=" + encodeURIComponent(name);
      const reply = await fetch(url, { method: "POST", body,
                                                   headers: { "Content-Type": "application/octet-stream" } });
      const data = await reply.json();
      if (reply.ok && data.number) {
        const each = data.digit_probabilities.map((p) => (100 * p).toFixed(1) + "%").join(", ");
        show(v, "done", `Looks like ${data.number} (each digit: ${each}).`, data);
      } else if (reply.ok) show(v, "done", `Looks like a ${data.digit}.`, data);
      else show(v, "error", data.error || `The server answered ${reply.status}.`, null);
    } catch (err) {
      show(v, "error", "No answer from the demo server: is it still running?", null);
    }
  }

  // One request at a time; the newest waiting canvas is sent when the current one returns.
  async function sendCanvas() {
    if (!inked || version === sent) return;  // nothing new to ask about
    if (engine === "loading") return;  // asked again once the model is loaded
    if (engine !== "server") { classifyHere(sent = version); return; }
    if (inflight) { queued = true; return; }
    inflight = true;
    const v = sent = version;
    const blob = await new Promise((resolve) => pad.toBlob(resolve, "image/png"));
    await classify(v, blob, "drawing");
    inflight = false;
    if (queued) { queued = false; sendCanvas(); }
  }

  // The phone model in the page: the canvas scaled to its 112x112 input, no round trip.
  function classifyHere(v) {
    if (!local) {
      show(v, "error", engineLine.textContent, null);
      return;
    }
    const sctx = small.getContext("2d");
    sctx.imageSmoothingQuality = "high";
    sctx.drawImage(pad, 0, 0, small.width, small.height);
    const t0 = performance.now();
    const p = local(sctx.getImageData(0, 0, small.width, small.height));
    answer.dataset.ms = (performance.now() - t0).toFixed(1);
    answer.dataset.probabilities = JSON.stringify(p);
    const top = Math.max(...p);
    if (top - Math.min(...p) < 1e-3) {  // the camera model's "no digit": 0.1 for every label
      show(v, "error", "drawing: no digit found; draw a digit", null);
      return;
    }
    const digit = p.indexOf(top);
    show(v, "done", `Looks like a ${digit}.`,
         { digit, probabilities: p, input_png: small.toDataURL("image/png").split(",")[1] });
    if (!document.body.dataset.firstAnswerMs) document.body.dataset.firstAnswerMs = performance.now().toFixed(0);
  }

  function offlineNote() {
    document.getElementById("offline").hidden = engine !== "page" || navigator.onLine;
  }
  window.addEventListener("online", offlineNote);
  window.addEventListener("offline", offlineNote);

  function started(state, text) {
    engine = state;
    document.body.dataset.engine = state;
    engineLine.textContent = text;
    offlineNote();
    sendCanvas();  // a digit drawn while the model loaded
  }

  if (modelUrl) {
    document.body.dataset.engine = engine;
    engineLine.textContent = "Loading the model into this page\u2026";
    import("./browser_model.js").then(async (m) => {
      const why = m.missing();
      if (why) throw new Error(why);
      small.width = small.height = m.SIZE;
      local = await m.load(modelUrl);
      document.body.dataset.readyMs = performance.now().toFixed(0);
      document.getElementById("seen-caption").textContent =
        `What the model was given: the canvas at ${m.SIZE}\u00d7${m.SIZE} (it centres the digit in 28\u00d728 inside)`;
      started("page", "The model runs in this page (MediaPipe, WebAssembly): nothing you draw leaves this device.");
    }).catch((err) => {
      const why = String((err && err.message) || err).split("\n")[0].slice(0, 120);
      started(hasServer ? "server" : "none", hasServer
        ? `This browser cannot run the model in the page (${why}); the server answers instead.`
        : `This browser cannot run the model in the page (${why}), and a static page has no server to ask.`);
    });
    if (!hasServer) document.getElementById("upload").hidden = true;  // uploads need the server
  }

  function schedule(delay) {
    clearTimeout(timer);
    timer = setTimeout(sendCanvas, delay);
  }

  function point(e) {
    const r = pad.getBoundingClientRect();
    return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
  }

  function line(a, b) {
    ctx.strokeStyle = "#000";
    ctx.lineWidth = STROKE;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    ctx.beginPath();
    ctx.moveTo(a[0], a[1]);
    ctx.lineTo(b[0], b[1]);
    ctx.stroke();
    inked = true;
    bump();
  }

  pad.addEventListener("pointerdown", (e) => {
    e.preventDefault();
    pad.setPointerCapture(e.pointerId);
    if (file.value) file.value = "";
    last = point(e);
    line(last, last);  // a tap leaves a dot
  });
  pad.addEventListener("pointermove", (e) => {
    if (!last) return;
    for (const ev of (e.getCoalescedEvents ? e.getCoalescedEvents() : [e])) {
      const p = point(ev);
      line(last, p);
      last = p;
    }
    schedule(DEBOUNCE_MS);
  });
  const end = () => { if (last) { last = null; schedule(0); } };
  pad.addEventListener("pointerup", end);
  pad.addEventListener("pointercancel", end);

  document.getElementById("clear").addEventListener("click", () => {
    clearTimeout(timer);
    blank();
    file.value = "";
    show(bump(), "empty", HINT, null);
  });

  file.addEventListener("change", () => {
    const f = file.files[0];
    if (!f) return;
    clearTimeout(timer);
    blank();
    const v = bump();
    if (f.size > maxBytes) {
      show(v, "error", `File too large (${(f.size / 1e6).toFixed(1)} MB): the limit is ${maxBytes / 1048576} MB.`, null);
      return;
    }
    classify(v, f, f.name);
  });

  blank();
  show(0, "empty", HINT, null);
})();
