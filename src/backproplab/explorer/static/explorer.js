// The explorer page: replays recorded NumPy training runs. One classic script, no network, no modules
// (both are blocked or unavailable when the page is opened from disk).
(function () {
  "use strict";
  var DATA = JSON.parse(document.getElementById("explorer-data").textContent);
  var CLASS_COLOURS = [[245, 147, 34], [8, 119, 189], [44, 160, 44], [214, 39, 40], [148, 103, 189]];
  var GRID = 90; // heat-map resolution (pixels per side before scaling)
  var UNIT_GRID = 32;

  // The activations of backproplab.scratch.activations, written out again for drawing only:
  // the numbers the page prints come from the recorded history, not from this code.
  var ACTIVATIONS = {
    identity: function (z) { return z; },
    tanh: Math.tanh,
    sigmoid: function (z) { return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z)); },
    relu: function (z) { return z > 0 ? z : 0; },
    leaky_relu: function (z) { return z > 0 ? z : 0.01 * z; },
    elu: function (z) { return z > 0 ? z : Math.expm1(z); },
    softplus: function (z) { return Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))); }
  };
  var BOUNDED = { tanh: [-1, 1], sigmoid: [0, 1] };

  var state = { run: DATA.runs[0], index: 0, timer: null };
  var byId = {};
  DATA.runs.forEach(function (r) { byId[r.id] = r; });
  function $(id) { return document.getElementById(id); }
  function hiddenKey(run) { return run.hidden.join(","); }

  // -- the network's forward pass --------------------------------------------------------------
  function layerOutputs(params, act, x) {
    // params: [W1 (D x H1), b1, ..., WL, bL]; returns the activations of every layer, softmax last
    var a = x, outs = [];
    var L = params.length / 2;
    for (var l = 0; l < L; l++) {
      var W = params[2 * l], b = params[2 * l + 1], z = b.slice();
      for (var i = 0; i < a.length; i++) {
        var row = W[i], ai = a[i];
        for (var j = 0; j < z.length; j++) z[j] += ai * row[j];
      }
      if (l < L - 1) { a = z.map(act); } else {
        var m = Math.max.apply(null, z), s = 0;
        a = z.map(function (v) { var e = Math.exp(v - m); s += e; return e; });
        a = a.map(function (v) { return v / s; });
      }
      outs.push(a);
    }
    return outs;
  }
  function predict(runId, index, x1, x2) {
    var run = byId[runId];
    var outs = layerOutputs(run.snapshots[index].params, ACTIVATIONS[run.activation], [x1, x2]);
    return outs[outs.length - 1];
  }

  // -- drawing ---------------------------------------------------------------------------------
  function dataset() { return DATA.datasets[state.run.dataset]; }
  function toCanvas(ds, canvas, x, y) {
    var b = ds.bounds;
    return [(x - b[0]) / (b[1] - b[0]) * canvas.width, (b[3] - y) / (b[3] - b[2]) * canvas.height];
  }
  function planeAt(ds, i, j, n) {
    var b = ds.bounds;
    return [b[0] + (i + 0.5) / n * (b[1] - b[0]), b[3] - (j + 0.5) / n * (b[3] - b[2])];
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
  function drawBoundary() {
    var ds = dataset(), run = state.run, snap = run.snapshots[state.index];
    var act = ACTIVATIONS[run.activation], canvas = $("boundary");
    var ctx = paintGrid(canvas, GRID, function (i, j) {
      var p = layerOutputs(snap.params, act, planeAt(ds, i, j, GRID)).pop(), c = [0, 0, 0];
      for (var k = 0; k < p.length; k++) {
        var col = CLASS_COLOURS[k % CLASS_COLOURS.length];
        c[0] += p[k] * col[0]; c[1] += p[k] * col[1]; c[2] += p[k] * col[2];
      }
      return c.map(function (v) { return Math.round(0.55 * v + 0.45 * 255); });
    });
    if ($("show-lines").checked) drawUnitLines(ctx, ds, snap.params);
    drawPoints(ctx, ds, canvas);
  }
  function drawUnitLines(ctx, ds, params) {
    var W = params[0], b = params[1], bd = ds.bounds;
    ctx.save();
    ctx.setLineDash([5, 4]);
    ctx.strokeStyle = "rgba(40,40,40,0.7)";
    ctx.lineWidth = 1.2;
    for (var j = 0; j < b.length; j++) {
      var w1 = W[0][j], w2 = W[1][j], pts = [];
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
      var a = toCanvas(ds, ctx.canvas, pts[0][0], pts[0][1]), c = toCanvas(ds, ctx.canvas, pts[1][0], pts[1][1]);
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
  function diverging(v) { // v in [-1, 1]: orange (-) .. white (0) .. blue (+)
    var t = Math.max(-1, Math.min(1, v)), end = t < 0 ? CLASS_COLOURS[0] : CLASS_COLOURS[1], s = Math.abs(t);
    return [0, 1, 2].map(function (k) { return Math.round(255 + s * (end[k] - 255)); });
  }
  function drawUnits() {
    var run = state.run, ds = dataset(), snap = run.snapshots[state.index];
    var W = snap.params[0], b = snap.params[1], act = ACTIVATIONS[run.activation], box = $("units");
    while (box.children.length > b.length) box.removeChild(box.lastChild);
    while (box.children.length < b.length) {
      var fig = document.createElement("figure"), cv = document.createElement("canvas"), cap = document.createElement("figcaption");
      cv.width = UNIT_GRID; cv.height = UNIT_GRID;
      fig.appendChild(cv); fig.appendChild(cap); box.appendChild(fig);
    }
    for (var u = 0; u < b.length; u++) {
      var values = [], lo = Infinity, hi = -Infinity;
      for (var j = 0; j < UNIT_GRID; j++) {
        for (var i = 0; i < UNIT_GRID; i++) {
          var x = planeAt(ds, i, j, UNIT_GRID), v = act(W[0][u] * x[0] + W[1][u] * x[1] + b[u]);
          values.push(v); lo = Math.min(lo, v); hi = Math.max(hi, v);
        }
      }
      var bounds = BOUNDED[run.activation], scale;
      if (bounds) { scale = function (v) { return 2 * (v - bounds[0]) / (bounds[1] - bounds[0]) - 1; }; }
      else { var m = Math.max(Math.abs(lo), Math.abs(hi), 1e-12); scale = function (v) { return v / m; }; }
      var fig2 = box.children[u];
      paintGrid(fig2.firstChild, UNIT_GRID, function (i, j) { return diverging(scale(values[j * UNIT_GRID + i])); });
      fig2.lastChild.textContent = "unit " + (u + 1);
    }
  }
  function svg(tag, attrs, parent) {
    var el = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.keys(attrs).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (parent) parent.appendChild(el);
    return el;
  }
  function drawNetwork() {
    var root = $("network"), run = state.run, params = run.snapshots[state.index].params;
    while (root.firstChild) root.removeChild(root.firstChild);
    var widths = [params[0].length].concat(run.hidden, [params[params.length - 1].length]);
    var Wd = +root.getAttribute("width"), H = +root.getAttribute("height"), pos = [];
    widths.forEach(function (n, l) {
      var x = 30 + l * (Wd - 60) / (widths.length - 1), gap = Math.min(40, (H - 30) / n);
      pos.push([]);
      for (var i = 0; i < n; i++) pos[l].push([x, H / 2 + (i - (n - 1) / 2) * gap]);
    });
    var maxw = 1e-12;
    for (var l = 0; l < widths.length - 1; l++) params[2 * l].forEach(function (row) {
      row.forEach(function (w) { maxw = Math.max(maxw, Math.abs(w)); });
    });
    for (var l2 = 0; l2 < widths.length - 1; l2++) {
      var W = params[2 * l2];
      for (var i = 0; i < widths[l2]; i++) for (var j = 0; j < widths[l2 + 1]; j++) {
        var w = W[i][j], col = w >= 0 ? CLASS_COLOURS[1] : CLASS_COLOURS[0];
        svg("line", { x1: pos[l2][i][0], y1: pos[l2][i][1], x2: pos[l2 + 1][j][0], y2: pos[l2 + 1][j][1],
          stroke: "rgb(" + col.join(",") + ")", "stroke-width": (0.3 + 4 * Math.abs(w) / maxw).toFixed(2),
          "stroke-opacity": 0.75, class: "link" }, root);
      }
    }
    pos.forEach(function (layer, l) {
      layer.forEach(function (p) {
        svg("circle", { cx: p[0], cy: p[1], r: Math.max(2.5, Math.min(7, 150 / layer.length)), fill: "#fff",
          stroke: "#333", "stroke-width": 1 }, root);
      });
      var label = l === 0 ? "input" : l === widths.length - 1 ? "softmax" : "hidden " + l;
      svg("text", { x: layer[0][0], y: 14, "text-anchor": "middle", "font-size": 11 }, root).textContent = label;
    });
  }
  function drawCurves() {
    var root = $("curves"), run = state.run, snaps = run.snapshots;
    while (root.firstChild) root.removeChild(root.firstChild);
    var Wd = +root.getAttribute("width"), H = +root.getAttribute("height"), half = (H - 20) / 2;
    var xmax = Math.log1p(snaps[snaps.length - 1].pass);
    function px(pass) { return 40 + Math.log1p(pass) / xmax * (Wd - 55); }
    [["loss", 0], ["accuracy", 1]].forEach(function (panel) {
      var top = 10 + panel[1] * (half + 10), bottom = top + half - 18, key = panel[0];
      var values = [];
      snaps.forEach(function (s) { values.push(s["train_" + key], s["test_" + key]); });
      var lo = key === "accuracy" ? Math.min.apply(null, values.concat([0.5])) : 0;
      var hi = key === "accuracy" ? 1 : Math.max.apply(null, values.filter(isFinite).concat([1e-12]));
      function py(v) { return bottom - (Math.min(Math.max(v, lo), hi) - lo) / (hi - lo || 1) * (bottom - top); }
      svg("rect", { x: 40, y: top, width: Wd - 55, height: bottom - top, fill: "none", stroke: "#bbb" }, root);
      svg("text", { x: 44, y: top + 12, "font-size": 11 }, root).textContent = key + " (" + lo.toFixed(2) + " to " + hi.toFixed(2) + ")";
      ["train", "test"].forEach(function (part) {
        var d = snaps.map(function (s, i) { return (i ? "L" : "M") + px(s.pass).toFixed(1) + "," + py(s[part + "_" + key]).toFixed(1); }).join("");
        svg("path", { d: d, fill: "none", stroke: part === "train" ? "#0877bd" : "#f59322", "stroke-width": 1.6,
          "stroke-dasharray": part === "train" ? "" : "5 3" }, root);
      });
    });
    var x = px(snaps[state.index].pass);
    svg("line", { x1: x, x2: x, y1: 8, y2: H - 18, stroke: "#c00", "stroke-width": 1.2, id: "cursor" }, root);
    svg("text", { x: Wd / 2, y: H - 4, "text-anchor": "middle", "font-size": 11 }, root).textContent = "pass (log scale)";
  }
  function setStat(id, value, text) { var el = $(id); el.textContent = text; el.setAttribute("data-value", String(value)); }
  function pct(v) { return (100 * v).toFixed(1) + "%"; }
  function drawStats() {
    var s = state.run.snapshots[state.index];
    setStat("stat-pass", s.pass, String(s.pass));
    setStat("stat-train-loss", s.train_loss, s.train_loss.toFixed(4));
    setStat("stat-train-accuracy", s.train_accuracy, pct(s.train_accuracy));
    setStat("stat-test-loss", s.test_loss, s.test_loss.toFixed(4));
    setStat("stat-test-accuracy", s.test_accuracy, pct(s.test_accuracy));
    $("pass-label").textContent = "pass " + s.pass + " of " + state.run.passes;
    $("run-settings").textContent = state.run.label + "; full-batch gradient descent, epsilon " + state.run.epsilon +
      ", L2 " + state.run.reg_lambda + ", seed " + state.run.seed + ", " + state.run.passes + " passes.";
  }

  // -- state, URL and controls -----------------------------------------------------------------
  function nearestIndex(run, pass) {
    var best = 0;
    run.snapshots.forEach(function (s, i) {
      if (Math.abs(s.pass - pass) < Math.abs(run.snapshots[best].pass - pass)) best = i;
    });
    return best;
  }
  function render() {
    drawStats(); drawBoundary(); drawUnits(); drawNetwork(); drawCurves();
    var slider = $("pass-slider");
    slider.max = String(state.run.snapshots.length - 1);
    slider.value = String(state.index);
    ["dataset", "activation", "hidden"].forEach(function (k) {
      $("pick-" + k).value = k === "hidden" ? hiddenKey(state.run) : state.run[k];
    });
    var hash = "#run=" + encodeURIComponent(state.run.id) + "&pass=" + state.run.snapshots[state.index].pass;
    if (location.hash !== hash) history.replaceState(null, "", hash);
  }
  function show(run, pass) { state.run = run; state.index = nearestIndex(run, pass); render(); }
  function currentPass() { return state.run.snapshots[state.index].pass; }
  function fromHash() {
    var params = {};
    location.hash.replace(/^#/, "").split("&").forEach(function (kv) {
      var p = kv.split("="); if (p.length === 2) params[p[0]] = decodeURIComponent(p[1]);
    });
    var run = byId[params.run] || state.run, pass = parseInt(params.pass, 10);
    show(run, isFinite(pass) ? pass : 0);
  }
  function fillSelect(id, values) {
    var sel = $(id);
    values.forEach(function (v) { var o = document.createElement("option"); o.value = v; o.textContent = v; sel.appendChild(o); });
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

  fillSelect("pick-dataset", unique(function (r) { return r.dataset; }));
  fillSelect("pick-activation", unique(function (r) { return r.activation; }));
  fillSelect("pick-hidden", unique(hiddenKey));
  ["dataset", "activation", "hidden"].forEach(function (k) {
    $("pick-" + k).addEventListener("change", function () { pick(k); });
  });
  $("pass-slider").addEventListener("input", function (e) { state.index = +e.target.value; render(); });
  $("play").addEventListener("click", play);
  $("show-lines").addEventListener("change", drawBoundary);
  window.addEventListener("hashchange", fromHash);
  $("snapshot-count").textContent = String(DATA.runs[0].snapshots.length);
  fromHash();
  // for tests and for the curious, in the console
  window.backproplabExplorer = { data: DATA, state: state, predict: predict, show: function (id, pass) { show(byId[id], pass); } };
})();
