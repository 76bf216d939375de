// The explorer page: replays recorded NumPy training runs, or trains a network live with the page's
// engine (engine.js, BackproplabEngine). One classic script, no network, no modules (both are blocked
// or unavailable when the page is opened from disk).
//
// Sections: the view (what every picture draws from), drawing, the recorded runs, the live mode, the
// address fragment, start-up. Every picture is drawn from a *view*:
//   {ds: data set record, net: engine Network, activations, hidden, current: {pass, train_loss, ...},
//    history: [{pass, train_loss, train_accuracy, test_loss, test_accuracy}, ...], settings: text}
(function () {
  "use strict";
  var E = BackproplabEngine;
  var DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  var LIVE = DATA.live;
  var CLASS_COLOURS = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [214, 39, 40], [148, 103, 189]];
  var GRID = 90; // heat-map resolution (pixels per side before scaling)
  var UNIT_GRID = 32;
  var BOUNDED = { tanh: [-1, 1], sigmoid: [0, 1] };
  var PAD = 0.5; // the margin around the data (page.PAD)

  var state = { mode: "recorded", run: DATA.runs[0], index: 0, timer: null, live: null };
  var byId = {};
  DATA.runs.forEach(function (r) { byId[r.id] = r; });
  function $(id) { return document.getElementById(id); }
  function hiddenKey(run) { return run.hidden.join(","); }
  function runActivations(run) { return run.hidden.map(function () { return run.activation; }); }

  // -- the view ----------------------------------------------------------------------------------
  function recordedView() {
    var run = state.run, snap = run.snapshots[state.index];
    return {
      ds: DATA.datasets[run.dataset], net: E.networkFromParameters(runActivations(run), snap.params),
      activations: runActivations(run), hidden: run.hidden, current: snap, history: run.snapshots,
      settings: run.label + "; full-batch gradient descent, epsilon " + run.epsilon + ", L2 " + run.reg_lambda +
        ", seed " + run.seed + ", " + run.passes + " passes (recorded by the NumPy engine)."
    };
  }
  function currentView() { return state.mode === "live" ? liveView() : recordedView(); }
  function predict(runId, index, x1, x2) { // the drawn probabilities at one point (for tests and the console)
    var run = byId[runId], net = E.networkFromParameters(runActivations(run), run.snapshots[index].params);
    return Array.prototype.slice.call(net.probabilities(new Float64Array([x1, x2]), 1));
  }

  // -- drawing -------------------------------------------------------------------------------------
  function toCanvas(ds, canvas, x, y) {
    var b = ds.bounds;
    return [(x - b[0]) / (b[1] - b[0]) * canvas.width, (b[3] - y) / (b[3] - b[2]) * canvas.height];
  }
  function planeGrid(ds, n) { // the centres of an n x n grid over the shown rectangle, row by row from the top
    var b = ds.bounds, X = new Float64Array(2 * n * n);
    for (var j = 0; j < n; j++) {
      for (var i = 0; i < n; i++) {
        X[2 * (j * n + i)] = b[0] + (i + 0.5) / n * (b[1] - b[0]);
        X[2 * (j * n + i) + 1] = b[3] - (j + 0.5) / n * (b[3] - b[2]);
      }
    }
    return X;
  }
  function paintGrid(canvas, n, colourAt) {
    var off = document.createElement("canvas");
    off.width = n; off.height = n;
    var octx = off.getContext("2d"), img = octx.createImageData(n, n);
    for (var j = 0; j < n; j++) {
      for (var i = 0; i < n; i++) {
        var c = colourAt(i, j), k = 4 * (j * n + i);
        img.data[k] = c[0]; img.data[k + 1] = c[1]; img.data[k + 2] = c[2]; img.data[k + 3] = 255;
      }
    }
    octx.putImageData(img, 0, 0);
    var ctx = canvas.getContext("2d");
    ctx.imageSmoothingEnabled = true;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
    return ctx;
  }
  function drawBoundary(v) {
    var canvas = $("boundary"), C = v.net.dims[v.net.dims.length - 1];
    var p = v.net.probabilities(planeGrid(v.ds, GRID), GRID * GRID);
    var ctx = paintGrid(canvas, GRID, function (i, j) {
      var c = [0, 0, 0], row = (j * GRID + i) * C;
      for (var k = 0; k < C; k++) {
        var col = CLASS_COLOURS[k % CLASS_COLOURS.length];
        c[0] += p[row + k] * col[0]; c[1] += p[row + k] * col[1]; c[2] += p[row + k] * col[2];
      }
      return c.map(function (x) { return Math.round(0.55 * x + 0.45 * 255); });
    });
    if ($("show-lines").checked) drawUnitLines(ctx, v);
    drawPoints(ctx, v.ds, canvas);
  }
  function drawUnitLines(ctx, v) {
    var W = v.net.W[0], b = v.net.b[0], H = b.length, bd = v.ds.bounds;
    ctx.save();
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = "rgba(40,40,40,0.7)";
    ctx.lineWidth = 1.2;
    for (var j = 0; j < H; j++) {
      var w1 = W[j], w2 = W[H + j], pts = [];
      // where w1 x + w2 y + b = 0 crosses the edges of the shown rectangle
      if (Math.abs(w2) > 1e-12) {
        [bd[0], bd[1]].forEach(function (x) { pts.push([x, -(w1 * x + b[j]) / w2]); });
      }
      if (Math.abs(w1) > 1e-12) {
        [bd[2], bd[3]].forEach(function (y) { pts.push([-(w2 * y + b[j]) / w1, y]); });
      }
      pts = pts.filter(function (p) {
        return p[0] >= bd[0] - 1e-9 && p[0] <= bd[1] + 1e-9 && p[1] >= bd[2] - 1e-9 && p[1] <= bd[3] + 1e-9;
      });
      if (pts.length < 2) continue;
      var a = toCanvas(v.ds, ctx.canvas, pts[0][0], pts[0][1]), c = toCanvas(v.ds, ctx.canvas, pts[1][0], pts[1][1]);
      ctx.beginPath(); ctx.moveTo(a[0], a[1]); ctx.lineTo(c[0], c[1]); ctx.stroke();
    }
    ctx.restore();
  }
  function drawPoints(ctx, ds, canvas) {
    [["train", true], ["test", false]].forEach(function (part) {
      ds[part[0]].forEach(function (p) {
        var xy = toCanvas(ds, canvas, p[0], p[1]), col = CLASS_COLOURS[p[2] % CLASS_COLOURS.length];
        ctx.beginPath();
        ctx.arc(xy[0], xy[1], 3.2, 0, 2 * Math.PI);
        var rgb = "rgb(" + col.join(",") + ")";
        if (part[1]) { ctx.fillStyle = rgb; ctx.fill(); ctx.strokeStyle = "#fff"; ctx.lineWidth = 1; ctx.stroke(); }
        else { ctx.strokeStyle = rgb; ctx.lineWidth = 1.8; ctx.stroke(); }
      });
    });
  }
  function diverging(x) { // x in [-1, 1]: orange (-) .. white (0) .. blue (+)
    var t = Math.max(-1, Math.min(1, x)), end = t < 0 ? CLASS_COLOURS[0] : CLASS_COLOURS[1], s = Math.abs(t);
    return [0, 1, 2].map(function (k) { return Math.round(255 + s * (end[k] - 255)); });
  }
  function drawUnits(v) {
    var H = v.hidden[0], box = $("units"), n = UNIT_GRID * UNIT_GRID;
    v.net.forward(planeGrid(v.ds, UNIT_GRID), n);
    var out = v.net.cache[0].a; // the first hidden layer's outputs over the grid (n x H)
    while (box.children.length > H) box.removeChild(box.lastChild);
    while (box.children.length < H) {
      var fig = document.createElement("figure"), cv = document.createElement("canvas"), cap = document.createElement("figcaption");
      cv.width = UNIT_GRID; cv.height = UNIT_GRID;
      fig.appendChild(cv); fig.appendChild(cap); box.appendChild(fig);
    }
    var bounds = BOUNDED[v.activations[0]];
    for (var u = 0; u < H; u++) {
      var lo = Infinity, hi = -Infinity;
      for (var k = 0; k < n; k++) { lo = Math.min(lo, out[k * H + u]); hi = Math.max(hi, out[k * H + u]); }
      var m = Math.max(Math.abs(lo), Math.abs(hi), 1e-12), unit = u;
      var scale = bounds ? function (x) { return 2 * (x - bounds[0]) / (bounds[1] - bounds[0]) - 1; } : function (x) { return x / m; };
      var fig2 = box.children[u];
      paintGrid(fig2.firstChild, UNIT_GRID, function (i, j) { return diverging(scale(out[(j * UNIT_GRID + i) * H + unit])); });
      fig2.lastChild.textContent = "unit " + (u + 1);
    }
  }
  function svg(tag, attrs, parent) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(el);
    return el;
  }
  function drawNetwork(v) {
    var root = $("network"), net = v.net, widths = net.dims;
    while (root.firstChild) root.removeChild(root.firstChild);
    var Wd = +root.getAttribute("width"), H = +root.getAttribute("height"), pos = [];
    widths.forEach(function (n, l) {
      var x = 30 + l * (Wd - 60) / (widths.length - 1), gap = Math.min(40, (H - 30) / n);
      pos.push([]);
      for (var i = 0; i < n; i++) pos[l].push([x, H / 2 + (i - (n - 1) / 2) * gap]);
    });
    var maxw = 1e-12;
    net.W.forEach(function (W) { for (var i = 0; i < W.length; i++) if (isFinite(W[i])) maxw = Math.max(maxw, Math.abs(W[i])); });
    for (var l = 0; l < widths.length - 1; l++) {
      var W = net.W[l];
      for (var i = 0; i < widths[l]; i++) for (var j = 0; j < widths[l + 1]; j++) {
        var w = W[i * widths[l + 1] + j], col = w >= 0 ? CLASS_COLOURS[1] : CLASS_COLOURS[0];
        if (!isFinite(w)) { w = 0; col = [150, 150, 150]; } // a diverged weight
        svg("line", { x1: pos[l][i][0], y1: pos[l][i][1], x2: pos[l + 1][j][0], y2: pos[l + 1][j][1],
          stroke: "rgb(" + col.join(",") + ")", "stroke-width": (0.3 + 4 * Math.abs(w) / maxw).toFixed(2),
          "stroke-opacity": 0.75, class: "link" }, root);
      }
    }
    pos.forEach(function (layer, l) {
      layer.forEach(function (p) {
        svg("circle", { cx: p[0], cy: p[1], r: Math.max(2.5, Math.min(7, 150 / layer.length)), fill: "#fff",
          stroke: "#333", "stroke-width": 1 }, root);
      });
      var label = l === 0 ? "input" : l === widths.length - 1 ? "softmax" : v.activations[l - 1] + " " + l;
      svg("text", { x: layer[0][0], y: 14, "text-anchor": "middle", "font-size": 11 }, root).textContent = label;
    });
  }
  function drawCurves(v) {
    var root = $("curves"), snaps = v.history;
    while (root.firstChild) root.removeChild(root.firstChild);
    var Wd = +root.getAttribute("width"), H = +root.getAttribute("height"), half = (H - 20) / 2;
    var xmax = Math.max(Math.log1p(snaps[snaps.length - 1].pass), 1e-9);
    function px(pass) { return 40 + Math.log1p(pass) / xmax * (Wd - 55); }
    [["loss", 0], ["accuracy", 1]].forEach(function (panel) {
      var top = 10 + panel[1] * (half + 10), bottom = top + half - 18, key = panel[0];
      var values = [];
      snaps.forEach(function (s) { values.push(s["train_" + key], s["test_" + key]); });
      var lo = key === "accuracy" ? Math.min.apply(null, values.concat([0.5])) : 0;
      var hi = key === "accuracy" ? 1 : Math.max.apply(null, values.filter(isFinite).concat([1e-12]));
      function py(x) { return bottom - (Math.min(Math.max(x, lo), hi) - lo) / (hi - lo || 1) * (bottom - top); }
      svg("rect", { x: 40, y: top, width: Wd - 55, height: bottom - top, fill: "none", stroke: "#bbb" }, root);
      svg("text", { x: 44, y: top + 12, "font-size": 11 }, root).textContent = key + " (" + lo.toFixed(2) + " to " + hi.toFixed(2) + ")";
      ["train", "test"].forEach(function (part) {
        var finite = snaps.filter(function (s) { return isFinite(s[part + "_" + key]); }); // a diverged run's last record
        var d = finite.map(function (s, i) { return (i ? "L" : "M") + px(s.pass).toFixed(1) + "," + py(s[part + "_" + key]).toFixed(1); }).join("");
        svg("path", { d: d, fill: "none", stroke: part === "train" ? "#0877bd" : "#f59322", "stroke-width": 1.6,
          "stroke-dasharray": part === "train" ? "" : "5 3" }, root);
      });
    });
    var x = px(v.current.pass);
    svg("line", { x1: x, x2: x, y1: 8, y2: H - 18, stroke: "#c00", "stroke-width": 1.2, id: "cursor" }, root);
    svg("text", { x: Wd / 2, y: H - 4, "text-anchor": "middle", "font-size": 11 }, root).textContent = "pass (log scale)";
  }
  function setStat(id, value, text) { var el = $(id); el.textContent = text; el.setAttribute("data-value", String(value)); }
  function pct(x) { return (100 * x).toFixed(1) + "%"; }
  function drawStats(v) {
    var s = v.current;
    setStat("stat-pass", s.pass, String(s.pass));
    setStat("stat-train-loss", s.train_loss, s.train_loss.toFixed(4));
    setStat("stat-train-accuracy", s.train_accuracy, pct(s.train_accuracy));
    setStat("stat-test-loss", s.test_loss, s.test_loss.toFixed(4));
    setStat("stat-test-accuracy", s.test_accuracy, pct(s.test_accuracy));
    $("run-settings").textContent = v.settings;
  }
  function draw() {
    var v = currentView();
    drawStats(v); drawBoundary(v); drawUnits(v); drawNetwork(v); drawCurves(v);
  }

  // -- the recorded runs ---------------------------------------------------------------------------
  function nearestIndex(run, pass) {
    var best = 0;
    run.snapshots.forEach(function (s, i) {
      if (Math.abs(s.pass - pass) < Math.abs(run.snapshots[best].pass - pass)) best = i;
    });
    return best;
  }
  function render() {
    draw();
    if (state.mode === "live") { renderLive(); return; }
    var slider = $("pass-slider");
    slider.max = String(state.run.snapshots.length - 1);
    slider.value = String(state.index);
    $("pass-label").textContent = "pass " + currentPass() + " of " + state.run.passes;
    $("train-live").disabled = !runSettings(state.run);
    ["dataset", "activation", "hidden"].forEach(function (k) {
      $("pick-" + k).value = k === "hidden" ? hiddenKey(state.run) : state.run[k];
    });
    setHash("#run=" + encodeURIComponent(state.run.id) + "&pass=" + currentPass());
  }
  function setMode(mode) {
    if (mode !== state.mode) { stop(); livePause(); }
    state.mode = mode;
    $("controls").hidden = mode !== "recorded";
    $("live-controls").hidden = mode !== "live";
    $("mode-recorded").setAttribute("aria-pressed", String(mode === "recorded"));
    $("mode-live").setAttribute("aria-pressed", String(mode === "live"));
  }
  function show(run, pass) { setMode("recorded"); state.run = run; state.index = nearestIndex(run, pass); render(); }
  function currentPass() { return state.run.snapshots[state.index].pass; }
  function fillSelect(id, values) {
    var sel = $(id);
    values.forEach(function (x) { var o = document.createElement("option"); o.value = x; o.textContent = x; sel.appendChild(o); });
  }
  function unique(f) { var seen = []; DATA.runs.forEach(function (r) { if (seen.indexOf(f(r)) < 0) seen.push(f(r)); }); return seen; }
  function pick(changed) {
    // the run that matches the changed control and as many of the others as possible
    var want = { dataset: $("pick-dataset").value, activation: $("pick-activation").value, hidden: $("pick-hidden").value };
    var best = null, bestScore = -1;
    DATA.runs.forEach(function (r) {
      var have = { dataset: r.dataset, activation: r.activation, hidden: hiddenKey(r) };
      if (have[changed] !== want[changed]) return;
      var score = (have.dataset === want.dataset ? 4 : 0) + (have.activation === want.activation ? 2 : 0) + (have.hidden === want.hidden ? 1 : 0);
      if (score > bestScore) { best = r; bestScore = score; }
    });
    if (best) show(best, currentPass());
  }
  function stop() { if (state.timer) { clearInterval(state.timer); state.timer = null; $("play").textContent = "play"; } }
  function play() {
    if (state.timer) { stop(); return; }
    if (state.index === state.run.snapshots.length - 1) state.index = 0;
    $("play").textContent = "pause";
    state.timer = setInterval(function () {
      if (state.index >= state.run.snapshots.length - 1) { stop(); return; }
      state.index += 1; render();
    }, 150);
  }
  function runSettings(run) { // a recorded run's settings as live settings (null: the page cannot make its data)
    var d = LIVE.datasets[run.dataset];
    if (!d) return null;
    return {
      dataset: run.dataset, points: d.n_samples, noise: d.noise, hidden: run.hidden.slice(),
      activations: runActivations(run), lr: run.epsilon, l2: run.reg_lambda, optimizer: "sgd", batch: null, seed: run.seed
    };
  }

  // -- the live mode: the page's engine trains while the views follow -----------------------------
  // state.live: {settings, run: engine LiveRun, history, playing, frame, speed: passes per second}
  var FRAME_BUDGET_MS = 12; // training time per animation frame; the rest draws
  var MAX_PASSES_FROM_ADDRESS = 100000;
  function defaultSettings() { // the first recorded run's network when the page can train it, else the handout's
    var first = runSettings(DATA.runs[0]);
    if (first && !checkSettings(first)) return first;
    var d = LIVE.defaults, ds = LIVE.datasets[d.dataset];
    return {
      dataset: d.dataset, points: ds.n_samples, noise: ds.noise, hidden: d.hidden.slice(),
      activations: d.hidden.map(function () { return d.activation; }), lr: d.lr, l2: d.l2,
      optimizer: d.optimizer, batch: d.batch, seed: d.seed
    };
  }
  function engineSettings(s) { // what E.LiveRun takes: the data set's options and the optimizer's from Python
    var hyper = {}, opt = LIVE.optimizers[s.optimizer];
    Object.keys(opt).forEach(function (k) { if (k !== "lr") hyper[k] = opt[k]; });
    return {
      dataset: s.dataset, points: s.points, noise: s.noise, options: LIVE.datasets[s.dataset].options, seed: s.seed,
      hidden: s.hidden, activations: s.activations, lr: s.lr, l2: s.l2, optimizer: s.optimizer, hyper: hyper, batch: s.batch
    };
  }
  function checkSettings(s) { // null when fine, else one line naming the problem and the fix
    if (!LIVE.datasets[s.dataset]) return "data set " + s.dataset + " is not one the page can make: pick one from the list";
    if (!(s.points >= 8 && s.points <= 2000 && Math.floor(s.points) === s.points)) return "points must be a whole number from 8 to 2000";
    if (!(s.noise >= 0 && s.noise <= 2)) return "noise must be a number from 0 to 2";
    if (!s.hidden.length || s.hidden.length > 6 || s.hidden.some(function (h) { return !(h >= 1 && h <= 64 && Math.floor(h) === h); })) {
      return "hidden layers: 1 to 6 widths from 1 to 64, separated by commas (e.g. 8,8)";
    }
    if (s.activations.some(function (a) { return LIVE.activations.indexOf(a) < 0; })) return "unknown activation: pick one from the list";
    if (!(s.lr > 0 && s.lr < 100)) return "learning rate must be a positive number (e.g. 0.01)";
    if (!(s.l2 >= 0 && s.l2 < 100)) return "L2 must be zero or a positive number (e.g. 0.01)";
    if (!LIVE.optimizers[s.optimizer]) return "unknown optimizer: pick one from the list";
    if (s.batch !== null && !(s.batch >= 1 && s.batch <= s.points && Math.floor(s.batch) === s.batch)) {
      return "batch size must be 'full' or a whole number from 1 to the number of points (" + s.points + ")";
    }
    if (!(s.seed >= 0 && s.seed <= 4294966295 && Math.floor(s.seed) === s.seed)) return "seed must be a whole number from 0 to 4294966295";
    return null;
  }
  function datasetRecord(run) { // the data in the layout of page.dataset_record, for the drawing code
    var d = run.data, lo = [Infinity, Infinity], hi = [-Infinity, -Infinity];
    function rows(X, y) {
      var out = [];
      for (var i = 0; i < y.length; i++) {
        out.push([X[2 * i], X[2 * i + 1], y[i]]);
        for (var f = 0; f < 2; f++) { lo[f] = Math.min(lo[f], X[2 * i + f]); hi[f] = Math.max(hi[f], X[2 * i + f]); }
      }
      return out;
    }
    var train = rows(d.XTrain, d.yTrain), test = rows(d.XTest, d.yTest);
    return { train: train, test: test, n_classes: d.nClasses, bounds: [lo[0] - PAD, hi[0] + PAD, lo[1] - PAD, hi[1] + PAD] };
  }
  function liveReset(settings) {
    var problem = checkSettings(settings);
    $("live-error").textContent = problem || "";
    if (problem) return false;
    var run = new E.LiveRun(engineSettings(settings));
    state.live = {
      settings: settings, run: run, ds: datasetRecord(run), history: [run.measure()],
      playing: state.live ? state.live.playing : false, frame: null, speed: state.live ? state.live.speed : 0
    };
    return true;
  }
  function recordDue(pass) { // every pass up to 100, then about 90 records per decade (the curves are log-scaled)
    return pass < 100 || pass % Math.pow(10, Math.floor(Math.log10(pass)) - 1) === 0;
  }
  function livePasses(count) { // false once the loss is no longer finite (training diverged: the engine stops)
    var live = state.live;
    for (var i = 0; i < count && !live.diverged; i++) {
      live.run.pass();
      if (recordDue(live.run.passesDone())) {
        var m = live.run.measure();
        live.history.push(m);
        if (!isFinite(m.train_loss)) diverged(m.pass, "the loss became " + m.train_loss);
        var h = live.history, limit = LIVE.diverge_factor * h[0].train_loss;
        if (h.length >= 3 && h[h.length - 1].train_loss > limit && h[h.length - 2].train_loss > limit) {
          diverged(m.pass, "the loss stayed above " + LIVE.diverge_factor + "x its starting value");
        }
      }
    }
    return !live.diverged;
  }
  function diverged(pass, what) { // the Trainer's rules end training, with one line saying why
    var live = state.live;
    live.diverged = pass;
    livePause(); live.target = 0;
    $("live-error").textContent = what + " after " + pass + " passes: training diverged; try a smaller learning rate";
  }
  function liveView() {
    var live = state.live, s = live.settings, current = live.run.measure(), last = live.history[live.history.length - 1];
    if (!isFinite(current.train_loss) && !live.diverged) diverged(current.pass, "the loss became " + current.train_loss);
    var history = last.pass === current.pass ? live.history : live.history.concat([current]);
    var batch = s.batch === null ? "full batch" : "batches of " + s.batch;
    return {
      ds: live.ds, net: live.run.net, activations: s.activations, hidden: s.hidden, current: current, history: history,
      settings: "Live: " + s.dataset + " (" + s.points + " points, noise " + s.noise + "), hidden [" + s.hidden.join(", ") +
        "] " + s.activations.join("/") + ", " + s.optimizer + " at learning rate " + s.lr + ", L2 " + s.l2 + ", " + batch +
        ", seed " + s.seed + "; trained in this page by its engine, whose arithmetic is backproplab.scratch's."
    };
  }
  function renderLive() {
    var live = state.live;
    $("live-play").textContent = live.playing ? "pause" : "play";
    $("live-pass").textContent = "pass " + live.run.passesDone();
    $("live-speed").textContent = live.playing && live.speed ? Math.round(live.speed) + " passes/s" : "";
    $("live-speed").setAttribute("data-value", String(live.speed || 0));
    $("live-recorded").disabled = !matchingRun(live.settings);
    if (!live.playing && !live.target) setHash(liveHash(live.settings, live.run.passesDone()));
  }
  function liveFrame() {
    var live = state.live;
    if (!live.playing) return;
    var start = performance.now();
    while (livePasses(1) && performance.now() - start < FRAME_BUDGET_MS) { /* train */ }
    // passes per second while the page also draws: passes over the last second or more of frames
    var now = performance.now(), done = live.run.passesDone();
    if (!live.meter) live.meter = { since: now, passes: done };
    if (now - live.meter.since >= 1000) {
      live.speed = (done - live.meter.passes) / ((now - live.meter.since) / 1000);
      live.meter = { since: now, passes: done };
    }
    render();
    live.frame = requestAnimationFrame(liveFrame);
  }
  function liveCatchUp() { // train to the pass a shared address names, a frame's budget at a time
    var live = state.live;
    if (!live.target || live.playing) return;
    var start = performance.now();
    while (live.run.passesDone() < live.target && performance.now() - start < FRAME_BUDGET_MS && livePasses(1)) { /* train */ }
    if (live.run.passesDone() >= live.target) live.target = 0;
    render();
    if (live.target) live.frame = requestAnimationFrame(liveCatchUp);
  }
  function livePlay() {
    var live = state.live;
    if (live.playing) { livePause(); render(); return; }
    if (live.diverged) return;
    if (live.frame) cancelAnimationFrame(live.frame);
    live.playing = true; live.meter = null; live.target = 0;
    live.frame = requestAnimationFrame(liveFrame);
    render();
  }
  function livePause() {
    var live = state.live;
    if (!live) return;
    live.playing = false;
    if (live.frame) cancelAnimationFrame(live.frame);
    live.frame = null;
  }
  var SETTING_KEYS = ["dataset", "points", "noise", "hidden", "activations", "lr", "l2", "optimizer", "batch", "seed"];
  function settingsKey(s) { return JSON.stringify(SETTING_KEYS.map(function (k) { return s[k]; })); }
  function matchingRun(s) { // the recorded run with exactly these settings, if any
    var found = null;
    DATA.runs.forEach(function (r) { if (runSettings(r) && settingsKey(runSettings(r)) === settingsKey(s)) found = r; });
    return found;
  }
  function readControls() { // the live controls -> settings (numbers may be NaN: checkSettings says so)
    var batch = $("live-batch").value.trim().toLowerCase();
    var hidden = $("live-hidden").value.split(",").map(function (w) { return w.trim() === "" ? NaN : Number(w); });
    var acts = [];
    for (var l = 0; l < hidden.length; l++) {
      var sel = $("live-act-" + l);
      acts.push(sel ? sel.value : (acts[l - 1] || LIVE.defaults.activation));
    }
    return {
      dataset: $("live-dataset").value, points: Number($("live-points").value), noise: Number($("live-noise").value),
      hidden: hidden, activations: acts, lr: Number($("live-lr").value), l2: Number($("live-l2").value),
      optimizer: $("live-optimizer").value, batch: batch === "full" || batch === "" ? null : Number(batch),
      seed: Number($("live-seed").value)
    };
  }
  function writeControls(s) {
    $("live-dataset").value = s.dataset; $("live-points").value = String(s.points); $("live-noise").value = String(s.noise);
    $("live-hidden").value = s.hidden.join(","); $("live-lr").value = String(s.lr); $("live-l2").value = String(s.l2);
    $("live-optimizer").value = s.optimizer; $("live-batch").value = s.batch === null ? "full" : String(s.batch);
    $("live-seed").value = String(s.seed);
    layerSelects(s.activations);
  }
  function layerSelects(acts) { // one activation menu per hidden layer
    var box = $("live-activations");
    while (box.firstChild) box.removeChild(box.firstChild);
    acts.forEach(function (a, l) {
      var label = document.createElement("label"), sel = document.createElement("select");
      sel.id = "live-act-" + l;
      LIVE.activations.forEach(function (name) { var o = document.createElement("option"); o.value = name; o.textContent = name; sel.appendChild(o); });
      sel.value = a;
      sel.addEventListener("change", liveChanged);
      label.appendChild(document.createTextNode("layer " + (l + 1) + " "));
      label.appendChild(sel);
      box.appendChild(label);
    });
  }
  function liveChanged(e) {
    var s = readControls();
    if (e && e.target && e.target.id === "live-dataset") { // a new data set starts from its own defaults
      s.points = LIVE.datasets[s.dataset].n_samples; s.noise = LIVE.datasets[s.dataset].noise;
    }
    if (s.hidden.every(function (h) { return h >= 1; })) layerSelects(s.activations);
    if (liveReset(s)) { writeControls(s); render(); }
  }
  function startLive(settings, passes) {
    setMode("live");
    var fallback = state.live ? state.live.settings : defaultSettings();
    var problem = settings ? checkSettings(settings) : null;
    if (!settings || problem) settings = fallback;
    writeControls(settings);
    liveReset(settings);
    if (problem) $("live-error").textContent = "the address asks for a network the page cannot train: " + problem;
    state.live.target = problem ? 0 : Math.min(passes || 0, MAX_PASSES_FROM_ADDRESS);
    render();
    if (state.live.target) state.live.frame = requestAnimationFrame(liveCatchUp);
  }

  // -- the address fragment: #run=ID&pass=P, or #live&data=...&pass=P ------------------------------
  function setHash(hash) { if (location.hash !== hash) history.replaceState(null, "", hash); }
  function liveHash(s, pass) {
    return "#live&data=" + s.dataset + "&points=" + s.points + "&noise=" + s.noise + "&hidden=" + s.hidden.join(",") +
      "&act=" + s.activations.join(",") + "&lr=" + s.lr + "&l2=" + s.l2 + "&opt=" + s.optimizer +
      "&batch=" + (s.batch === null ? "full" : s.batch) + "&seed=" + s.seed + "&pass=" + pass;
  }
  function fromHash() {
    var params = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var p = kv.split("=");
      params[p[0]] = p.length === 2 ? decodeURIComponent(p[1]) : "";
    });
    var pass = parseInt(params.pass, 10);
    if ("live" in params) {
      var d = defaultSettings(), ds = LIVE.datasets[params.data] ? params.data : d.dataset;
      function num(key, fallback) { return key in params ? Number(params[key]) : fallback; }
      var hidden = "hidden" in params ? params.hidden.split(",").map(Number) : d.hidden;
      var acts = "act" in params ? params.act.split(",") : [d.activations[0]];
      while (acts.length < hidden.length) acts.push(acts[acts.length - 1]);
      startLive({
        dataset: ds, points: num("points", LIVE.datasets[ds].n_samples), noise: num("noise", LIVE.datasets[ds].noise),
        hidden: hidden, activations: acts.slice(0, hidden.length), lr: num("lr", d.lr), l2: num("l2", d.l2),
        optimizer: params.opt || d.optimizer, batch: !params.batch || params.batch === "full" ? null : Number(params.batch),
        seed: num("seed", d.seed)
      }, isFinite(pass) ? pass : 0);
      return;
    }
    var run = byId[params.run] || state.run;
    show(run, isFinite(pass) ? pass : 0);
  }

  // -- start-up --------------------------------------------------------------------------------------
  fillSelect("pick-dataset", unique(function (r) { return r.dataset; }));
  fillSelect("pick-activation", unique(function (r) { return r.activation; }));
  fillSelect("pick-hidden", unique(hiddenKey));
  ["dataset", "activation", "hidden"].forEach(function (k) {
    $("pick-" + k).addEventListener("change", function () { pick(k); });
  });
  $("pass-slider").addEventListener("input", function (e) { state.index = +e.target.value; render(); });
  $("play").addEventListener("click", play);
  $("show-lines").addEventListener("change", function () { drawBoundary(currentView()); });
  fillSelect("live-dataset", Object.keys(LIVE.datasets));
  fillSelect("live-optimizer", Object.keys(LIVE.optimizers));
  ["live-dataset", "live-points", "live-noise", "live-hidden", "live-lr", "live-l2", "live-optimizer", "live-batch", "live-seed"]
    .forEach(function (id) { $(id).addEventListener("change", liveChanged); });
  $("live-play").addEventListener("click", livePlay);
  $("live-step").addEventListener("click", function () { livePasses(1); render(); });  // a no-op once diverged
  $("live-reset").addEventListener("click", function () { liveReset(state.live.settings); render(); });
  $("live-recorded").addEventListener("click", function () {
    var run = matchingRun(state.live.settings);
    if (run) show(run, state.live.run.passesDone());
  });
  $("mode-live").addEventListener("click", function () { startLive(null, 0); });
  $("mode-recorded").addEventListener("click", function () { show(state.run, currentPass()); });
  $("train-live").addEventListener("click", function () { startLive(runSettings(state.run), 0); });
  window.addEventListener("hashchange", fromHash);
  $("snapshot-count").textContent = String(DATA.runs[0].snapshots.length);
  fromHash();
  // for tests and for the curious, in the console
  window.backproplabExplorer = {
    data: DATA, state: state, predict: predict, engine: E,
    show: function (id, pass) { show(byId[id], pass); },
    live: function (settings, passes) { startLive(settings, passes); return state.live; },
    liveRun: function (settings) { return new E.LiveRun(engineSettings(settings)); }
  };
})();
