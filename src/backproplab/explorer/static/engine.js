// The page's training engine: backproplab.scratch written again in plain JavaScript, operation by
// operation, in float64 (Float64Array), so that a network trained here is the network the NumPy engine
// trains from the same settings (tests/test_explorer_live.py proves it in Chromium to 1e-9). No DOM here.
//
// Sections, each the twin of a Python module:
//   1. RandomState   numpy.random.RandomState (MT19937): seeds, randn, uniform, shuffle, permutation
//   2. GENERATORS    backproplab.datasets.toy (+ load(..., fresh_test=True)): moons, circles, spirals, xor
//   3. ACTIVATIONS   backproplab.scratch.activations: forward(z) and derivative(z, a)
//   4. Network       backproplab.scratch.deep (and layer): init, forward, loss, backward
//   5. OPTIMIZERS    backproplab.scratch.optimizers: the in-place update rules, same operation order
//   6. Trainer       backproplab.scratch.trainer: one pass = full batch or shuffled mini-batches
//   7. LiveRun       one settings object -> data set, network and trainer (the live page, the tests)
// Matrices are row-major Float64Arrays, rows are examples, W is (fan_in x fan_out) as in NumPy.
var BackproplabEngine = (function () {
  "use strict";

  // -- 1. RandomState: NumPy's legacy generator, ported exactly --------------------------------
  // Same 32-bit words as np.random.RandomState(seed), hence the same weights and batch order.
  var MT_N = 624, MT_M = 397;
  function RandomState(seed) {
    if (!(seed >= 0 && seed <= 4294967295 && Math.floor(seed) === seed)) {
      throw new Error("seed must be an integer between 0 and 2**32 - 1, got " + seed);
    }
    var mt = new Uint32Array(MT_N);
    mt[0] = seed >>> 0;
    for (var i = 1; i < MT_N; i++) {
      var s = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, s) + i) >>> 0; // init_genrand: 1812433253 * s + i, mod 2**32
    }
    this.mt = mt;
    this.index = MT_N;
    this.hasGauss = false;
    this.gauss = 0;
  }
  RandomState.prototype.nextUint32 = function () {
    var mt = this.mt, y, k;
    if (this.index >= MT_N) { // regenerate the whole block (the reference genrand_int32)
      for (k = 0; k < MT_N; k++) {
        y = (mt[k] & 0x80000000) | (mt[(k + 1) % MT_N] & 0x7fffffff);
        mt[k] = mt[(k + MT_M) % MT_N] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      this.index = 0;
    }
    y = mt[this.index++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  };
  RandomState.prototype.random = function () { // 53 random bits in [0, 1), as NumPy's random_sample
    var a = this.nextUint32() >>> 5, b = this.nextUint32() >>> 6;
    return (a * 67108864.0 + b) / 9007199254740992.0;
  };
  RandomState.prototype.gaussian = function () { // legacy_gauss: the polar method, one value kept
    if (this.hasGauss) { this.hasGauss = false; return this.gauss; }
    var x1, x2, r2;
    do {
      x1 = 2.0 * this.random() - 1.0;
      x2 = 2.0 * this.random() - 1.0;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1.0 || r2 === 0.0);
    var f = Math.sqrt(-2.0 * Math.log(r2) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  };
  RandomState.prototype.randn = function (n) {
    var out = new Float64Array(n);
    for (var i = 0; i < n; i++) out[i] = this.gaussian();
    return out;
  };
  RandomState.prototype.uniform = function (low, high) { return low + (high - low) * this.random(); };
  RandomState.prototype.interval = function (max) { // random_interval: masked rejection, 32-bit draws
    if (max === 0) return 0;
    var mask = max;
    mask |= mask >>> 1; mask |= mask >>> 2; mask |= mask >>> 4; mask |= mask >>> 8; mask |= mask >>> 16;
    var value;
    while ((value = (this.nextUint32() & mask) >>> 0) > max) { /* reject */ }
    return value;
  };
  RandomState.prototype.shuffle = function (arr) { // Fisher-Yates from the end, as RandomState.shuffle
    for (var i = arr.length - 1; i > 0; i--) {
      var j = this.interval(i), t = arr[i];
      arr[i] = arr[j]; arr[j] = t;
    }
    return arr;
  };
  RandomState.prototype.permutation = function (n) {
    var arr = new Int32Array(n);
    for (var i = 0; i < n; i++) arr[i] = i;
    return this.shuffle(arr);
  };

  // -- 2. Data sets: the 2-D generators and load(name, ..., fresh_test=True) ---------------------
  // Each generator returns {X: Float64Array (n x 2), y: Int32Array}; options are those of the Python
  // generator (the page gets their defaults from Python).
  function linspace(start, stop, num, endpoint) { // numpy.linspace: i * step + start, last = stop
    var out = new Float64Array(num), div = endpoint ? num - 1 : num;
    if (num === 0) return out;
    var step = (stop - start) / div;
    for (var i = 0; i < num; i++) out[i] = div > 0 ? i * step + start : start;
    if (endpoint && num > 1) out[num - 1] = stop;
    return out;
  }
  function twoArcs(n, outer, inner, noise, rng) {
    // scikit-learn's make_moons / make_circles: n // 2 points on the first curve, the rest on the
    // second, rows shuffled (sklearn.utils.shuffle), then Gaussian noise (generator.normal)
    var nOut = Math.floor(n / 2), nIn = n - nOut, X = new Float64Array(2 * n), y = new Int32Array(n);
    var a = outer(nOut), b = inner(nIn);
    for (var i = 0; i < nOut; i++) { X[2 * i] = a[0][i]; X[2 * i + 1] = a[1][i]; y[i] = 0; }
    for (var k = 0; k < nIn; k++) { X[2 * (nOut + k)] = b[0][k]; X[2 * (nOut + k) + 1] = b[1][k]; y[nOut + k] = 1; }
    var order = rng.permutation(n), Xs = new Float64Array(2 * n), ys = new Int32Array(n);
    for (var r = 0; r < n; r++) {
      Xs[2 * r] = X[2 * order[r]]; Xs[2 * r + 1] = X[2 * order[r] + 1]; ys[r] = y[order[r]];
    }
    for (var q = 0; q < 2 * n; q++) Xs[q] += noise * rng.gaussian();
    return { X: Xs, y: ys };
  }
  function mapped(values, f) { var out = new Float64Array(values.length); values.forEach(function (v, i) { out[i] = f(v); }); return out; }
  var GENERATORS = {
    moons: function (n, noise, seed) {
      return twoArcs(n, function (m) {
        var t = linspace(0, Math.PI, m, true);
        return [mapped(t, Math.cos), mapped(t, Math.sin)];
      }, function (m) {
        var t = linspace(0, Math.PI, m, true);
        return [mapped(t, function (v) { return 1 - Math.cos(v); }), mapped(t, function (v) { return 1 - Math.sin(v) - 0.5; })];
      }, noise, new RandomState(seed));
    },
    circles: function (n, noise, seed, options) {
      var factor = options.factor;
      return twoArcs(n, function (m) {
        var t = linspace(0, 2 * Math.PI, m, false);
        return [mapped(t, Math.cos), mapped(t, Math.sin)];
      }, function (m) {
        var t = linspace(0, 2 * Math.PI, m, false);
        return [mapped(t, function (v) { return Math.cos(v) * factor; }), mapped(t, function (v) { return Math.sin(v) * factor; })];
      }, noise, new RandomState(seed));
    },
    spirals: function (n, noise, seed, options) {
      // arm k = i mod K; radius = (i div K) / (points on the arm - 1); angle 2 pi (turns r + k / K)
      var K = options.n_arms, turns = options.turns, rng = new RandomState(seed);
      var X = new Float64Array(2 * n), y = new Int32Array(n), perArm = new Int32Array(K);
      for (var i = 0; i < n; i++) perArm[i % K] += 1;
      var jitter = rng.randn(2 * n);
      for (var j = 0; j < n; j++) {
        var arm = j % K, r = Math.floor(j / K) / Math.max(perArm[arm] - 1, 1);
        var t = 2.0 * Math.PI * (turns * r + arm / K);
        y[j] = arm;
        X[2 * j] = r * Math.sin(t) + noise * jitter[2 * j];
        X[2 * j + 1] = r * Math.cos(t) + noise * jitter[2 * j + 1];
      }
      return { X: X, y: y };
    },
    xor: function (n, noise, seed) {
      // uniform in [-1, 1]^2, pushed 0.05 off the axes; class 1 where x1 x2 < 0; then jitter
      var rng = new RandomState(seed), X = new Float64Array(2 * n), y = new Int32Array(n);
      for (var i = 0; i < 2 * n; i++) { X[i] = rng.uniform(-1.0, 1.0); X[i] += X[i] >= 0 ? 0.05 : -0.05; }
      for (var j = 0; j < n; j++) y[j] = X[2 * j] * X[2 * j + 1] < 0 ? 1 : 0;
      for (var k = 0; k < 2 * n; k++) X[k] = X[k] + noise * rng.gaussian();
      return { X: X, y: y };
    }
  };
  var TEST_SIZE = 0.25, TEST_SEED_OFFSET = 1000; // load()'s defaults
  function loadDataset(name, n, noise, seed, options) {
    // load(name, n, noise, seed, fresh_test=True): train on the n generated points, test on a fresh
    // draw (seed + 1000) of n * 0.25 / 0.75 points, both standardised with the training mean and std
    var make = GENERATORS[name];
    if (!make) throw new Error("the page cannot generate data set " + name);
    var train = make(n, noise, seed, options || {});
    var nClasses = 0;
    train.y.forEach(function (c) { nClasses = Math.max(nClasses, c + 1); });
    var nTest = Math.max(nClasses, Math.round(n * TEST_SIZE / (1 - TEST_SIZE)));
    var test = make(nTest, noise, seed + TEST_SEED_OFFSET, options || {});
    var mean = [0, 0], scale = [0, 0];
    for (var f = 0; f < 2; f++) {
      var sum = 0, sq = 0;
      for (var i = 0; i < n; i++) sum += train.X[2 * i + f];
      mean[f] = sum / n;
      for (var j = 0; j < n; j++) { var d = train.X[2 * j + f] - mean[f]; sq += d * d; }
      scale[f] = Math.sqrt(sq / n) || 1.0;
    }
    [train, test].forEach(function (part) {
      for (var k = 0; k < part.X.length; k++) part.X[k] = (part.X[k] - mean[k % 2]) / scale[k % 2];
    });
    nClasses = Math.max(nClasses, Math.max.apply(null, Array.prototype.slice.call(test.y)) + 1);
    return { XTrain: train.X, yTrain: train.y, XTest: test.X, yTest: test.y, nClasses: nClasses };
  }

  // -- 3. Activations: forward(z) and derivative(z, a), a = forward(z) ---------------------------
  // Written as whole-array loops (one per activation) rather than one call per number: the engine
  // spends most of its time here and in the products below.
  var LEAKY_RELU_SLOPE = 0.01;
  function sigmoid(z) { var e = Math.exp(-Math.abs(z)); return z >= 0 ? 1.0 / (1.0 + e) : e / (1.0 + e); }
  var ACTIVATIONS = {
    identity: {
      forward: function (z, a) { a.set(z); },
      derivative: function (z, a, d) { d.fill(1.0); }
    },
    tanh: {
      forward: function (z, a) { for (var i = 0; i < z.length; i++) a[i] = Math.tanh(z[i]); },
      derivative: function (z, a, d) { for (var i = 0; i < z.length; i++) d[i] = 1.0 - a[i] * a[i]; }
    },
    sigmoid: {
      forward: function (z, a) { for (var i = 0; i < z.length; i++) a[i] = sigmoid(z[i]); },
      derivative: function (z, a, d) { for (var i = 0; i < z.length; i++) d[i] = a[i] * (1.0 - a[i]); }
    },
    relu: {
      forward: function (z, a) { for (var i = 0; i < z.length; i++) a[i] = z[i] > 0 ? z[i] : 0.0; },
      derivative: function (z, a, d) { for (var i = 0; i < z.length; i++) d[i] = z[i] > 0 ? 1.0 : 0.0; }
    },
    leaky_relu: {
      forward: function (z, a) { for (var i = 0; i < z.length; i++) a[i] = z[i] > 0 ? z[i] : LEAKY_RELU_SLOPE * z[i]; },
      derivative: function (z, a, d) { for (var i = 0; i < z.length; i++) d[i] = z[i] > 0 ? 1.0 : LEAKY_RELU_SLOPE; }
    },
    elu: {
      forward: function (z, a) { for (var i = 0; i < z.length; i++) a[i] = z[i] > 0 ? z[i] : Math.expm1(Math.min(z[i], 0.0)); },
      derivative: function (z, a, d) { for (var i = 0; i < z.length; i++) d[i] = z[i] > 0 ? 1.0 : a[i] + 1.0; }
    },
    softplus: {
      forward: function (z, a) {
        for (var i = 0; i < z.length; i++) a[i] = Math.max(z[i], 0.0) + Math.log1p(Math.exp(-Math.abs(z[i])));
      },
      derivative: function (z, a, d) { for (var i = 0; i < z.length; i++) d[i] = sigmoid(z[i]); }
    }
  };

  // -- 4. Network: DeepNeuralNetwork's init, forward, loss and backward --------------------------
  // spec: {inputs, hidden: [H1, ...], outputs, activations: [name per hidden layer], l2, seed}
  function Network(spec) {
    this.spec = spec;
    this.dims = [spec.inputs].concat(spec.hidden, [spec.outputs]);
    this.acts = spec.activations.map(function (name) {
      if (!ACTIVATIONS[name]) throw new Error("unknown activation " + name);
      return ACTIVATIONS[name];
    }).concat([ACTIVATIONS.identity]);
    var rng = new RandomState(spec.seed);
    this.W = []; this.b = []; this.dW = []; this.db = [];
    for (var l = 0; l + 1 < this.dims.length; l++) {
      var fanIn = this.dims[l], fanOut = this.dims[l + 1], W = rng.randn(fanIn * fanOut);
      var root = Math.sqrt(fanIn);
      for (var i = 0; i < W.length; i++) W[i] = W[i] / root; // "scaled_normal": randn / sqrt(fan_in)
      this.W.push(W); this.b.push(new Float64Array(fanOut));
      this.dW.push(new Float64Array(W.length)); this.db.push(new Float64Array(fanOut));
    }
    this.cache = null;
    this.work = {};
  }
  var MAX_REUSED_ROWS = 2000; // the most training rows the page offers; larger (drawing) grids get fresh arrays
  Network.prototype.workspace = function (n) {
    // every layer's z, a, dz and the delta for the layer below, for steps on n rows: made once per
    // batch size, since allocating them every step cost more than the handout network's arithmetic
    if (this.work[n]) return this.work[n];
    var w = { delta: new Float64Array(n * this.dims[this.dims.length - 1]), layers: [] };
    for (var l = 0; l + 1 < this.dims.length; l++) {
      var size = n * this.dims[l + 1];
      w.layers.push({ z: new Float64Array(size), a: new Float64Array(size), dz: new Float64Array(size), below: new Float64Array(n * this.dims[l]) });
    }
    if (n <= MAX_REUSED_ROWS) this.work[n] = w;
    return w;
  };
  Network.prototype.parameters = function () { // [W1, b1, ..., WL, bL], live arrays
    var out = [];
    for (var l = 0; l < this.W.length; l++) out.push(this.W[l], this.b[l]);
    return out;
  };
  Network.prototype.gradients = function () {
    var out = [];
    for (var l = 0; l < this.dW.length; l++) out.push(this.dW[l], this.db[l]);
    return out;
  };
  Network.prototype.forward = function (X, n) {
    // returns the scores (n x C); keeps every layer's input, z and a for backward
    var a = X, cache = [], work = this.workspace(n);
    for (var l = 0; l < this.W.length; l++) {
      var din = this.dims[l], dout = this.dims[l + 1], W = this.W[l], b = this.b[l], act = this.acts[l];
      var z = work.layers[l].z.fill(0.0), out = work.layers[l].a;
      for (var r = 0; r < n; r++) { // z = X @ W (summed over i in order), then z += b
        var zr = r * dout, ar = r * din;
        for (var i = 0; i < din; i++) {
          var ai = a[ar + i], wi = i * dout;
          for (var j = 0; j < dout; j++) z[zr + j] += ai * W[wi + j];
        }
        for (var j2 = 0; j2 < dout; j2++) z[zr + j2] += b[j2];
      }
      act.forward(z, out);
      cache.push({ input: a, z: z, a: out });
      a = out;
    }
    this.cache = cache;
    return a;
  };
  Network.prototype.probabilities = function (X, n) { // softmax of the scores, row by row (n x C)
    var C = this.dims[this.dims.length - 1], p = this.forward(X, n).slice();
    for (var r = 0; r < n; r++) {
      var top = p[r * C], sum = 0.0;
      for (var j = 1; j < C; j++) top = Math.max(top, p[r * C + j]);
      for (var k = 0; k < C; k++) { p[r * C + k] = Math.exp(p[r * C + k] - top); sum += p[r * C + k]; }
      for (var q = 0; q < C; q++) p[r * C + q] /= sum;
    }
    return p;
  };
  Network.prototype.nestedParameters = function () { // [W1 rows, b1, ...] as plain arrays (the records' layout)
    var dims = this.dims, out = [];
    this.W.forEach(function (W, l) {
      var rows = [];
      for (var i = 0; i < dims[l]; i++) rows.push(Array.prototype.slice.call(W, i * dims[l + 1], (i + 1) * dims[l + 1]));
      out.push(rows, Array.prototype.slice.call(this.b[l]));
    }, this);
    return out;
  };
  function networkFromParameters(activations, nested) { // a network holding recorded parameters
    var hidden = [];
    for (var l = 1; l < nested.length / 2; l++) hidden.push(nested[2 * l].length);
    var net = new Network({
      inputs: nested[0].length, hidden: hidden, outputs: nested[nested.length - 1].length,
      activations: activations, l2: 0, seed: 0
    });
    net.W.forEach(function (W, k) {
      var rows = nested[2 * k];
      for (var i = 0; i < rows.length; i++) W.set(rows[i], i * rows[i].length);
      net.b[k].set(nested[2 * k + 1]);
    });
    return net;
  }
  Network.prototype.l2 = function () { // sum of every squared weight (biases are not penalised)
    var s = 0.0;
    this.W.forEach(function (W) { for (var i = 0; i < W.length; i++) s += W[i] * W[i]; });
    return s;
  };
  Network.prototype.evaluate = function (X, y, n) {
    // {loss: L = sum_n -log softmax(scores)[n, y_n] + (l2 / 2) sum ||W||^2, accuracy}
    var C = this.dims[this.dims.length - 1], scores = this.forward(X, n), nll = 0.0, right = 0;
    for (var r = 0; r < n; r++) {
      var top = scores[r * C], best = 0, sum = 0.0;
      for (var j = 1; j < C; j++) if (scores[r * C + j] > top) { top = scores[r * C + j]; best = j; }
      for (var k = 0; k < C; k++) sum += Math.exp(scores[r * C + k] - top);
      nll += top + Math.log(sum) - scores[r * C + y[r]]; // log-sum-exp minus the picked score
      if (best === y[r]) right += 1;
    }
    return { loss: nll + 0.5 * this.spec.l2 * this.l2(), accuracy: right / n };
  };
  Network.prototype.backward = function (X, y, n, regScale) {
    // fills dW, db with the gradient of sum_batch NLL + (l2 / 2) regScale sum ||W||^2
    var C = this.dims[this.dims.length - 1], scores = this.forward(X, n), work = this.workspace(n), delta = work.delta;
    for (var r = 0; r < n; r++) { // delta = softmax(scores) - onehot(y)
      var top = scores[r * C], sum = 0.0;
      for (var j = 1; j < C; j++) top = Math.max(top, scores[r * C + j]);
      for (var k = 0; k < C; k++) { delta[r * C + k] = Math.exp(scores[r * C + k] - top); sum += delta[r * C + k]; }
      for (var q = 0; q < C; q++) delta[r * C + q] /= sum;
      delta[r * C + y[r]] -= 1.0;
    }
    for (var l = this.W.length - 1; l >= 0; l--) {
      var din = this.dims[l], dout = this.dims[l + 1], c = this.cache[l], act = this.acts[l];
      var W = this.W[l], dW = this.dW[l], db = this.db[l], dz = work.layers[l].dz;
      act.derivative(c.z, c.a, dz);
      for (var m = 0; m < n * dout; m++) dz[m] = delta[m] * dz[m]; // dz = delta * f'(z)
      dW.fill(0.0); db.fill(0.0);
      for (var row = 0; row < n; row++) { // dW = X.T @ dz, db = sum over rows of dz
        for (var i = 0; i < din; i++) {
          var xi = c.input[row * din + i];
          for (var o = 0; o < dout; o++) dW[i * dout + o] += xi * dz[row * dout + o];
        }
        for (var o2 = 0; o2 < dout; o2++) db[o2] += dz[row * dout + o2];
      }
      if (l > 0) { // delta for the layer below: dz @ W.T
        delta = work.layers[l].below;
        for (var r2 = 0; r2 < n; r2++) {
          for (var i2 = 0; i2 < din; i2++) {
            var s = 0.0;
            for (var o3 = 0; o3 < dout; o3++) s += dz[r2 * dout + o3] * W[i2 * dout + o3];
            delta[r2 * din + i2] = s;
          }
        }
      }
    }
    if (this.spec.l2) { // the L2 term's gradient, weights only
      var coef = this.spec.l2 * regScale;
      for (var L = 0; L < this.W.length; L++) {
        for (var w = 0; w < this.W[L].length; w++) this.dW[L][w] += coef * this.W[L][w];
      }
    }
  };

  // -- 5. Optimizers: the update rules of backproplab.scratch.optimizers -------------------------
  // Each rule updates every parameter p (a Float64Array) with its gradient g, element by element, in
  // the order of NumPy's in-place operations (so the roundings are the same).
  function Optimizer(name, params, lr, hyper) {
    if (!OPTIMIZERS[name]) throw new Error("unknown optimizer " + name);
    this.name = name; this.params = params; this.lr = lr; this.hyper = hyper; this.t = 0;
    var buffers = OPTIMIZERS[name].buffers || []; // per parameter, zeros to start, named as in Python
    this.state = params.map(function (p) {
      var state = {};
      buffers.forEach(function (b) { state[b] = new Float64Array(p.length); });
      return state;
    });
  }
  Optimizer.prototype.step = function (grads) {
    this.t += 1;
    var rule = OPTIMIZERS[this.name], shared = rule.perStep ? rule.perStep(this) : null;
    for (var k = 0; k < this.params.length; k++) rule.update(this, this.params[k], grads[k], this.state[k], shared);
  };
  var OPTIMIZERS = {
    sgd: { update: function (o, p, g) { for (var i = 0; i < p.length; i++) p[i] -= g[i] * o.lr; } },
    momentum: { // v = mu v + g; p -= lr v
      buffers: ["velocity"],
      update: function (o, p, g, s) {
        var v = s.velocity, mu = o.hyper.momentum;
        for (var i = 0; i < p.length; i++) { v[i] *= mu; v[i] += g[i]; p[i] -= v[i] * o.lr; }
      }
    },
    nesterov: { // v = mu v + g; p -= lr (g + mu v)
      buffers: ["velocity"],
      update: function (o, p, g, s) {
        var v = s.velocity, mu = o.hyper.momentum;
        for (var i = 0; i < p.length; i++) { v[i] *= mu; v[i] += g[i]; p[i] -= (v[i] * mu + g[i]) * o.lr; }
      }
    },
    adagrad: { // G += g^2; p -= lr g / (sqrt(G) + eps)
      buffers: ["sum_sq"],
      update: function (o, p, g, s) {
        var G = s.sum_sq;
        for (var i = 0; i < p.length; i++) { G[i] += g[i] * g[i]; p[i] -= (g[i] / (Math.sqrt(G[i]) + o.hyper.eps)) * o.lr; }
      }
    },
    rmsprop: { // s = alpha s + (1 - alpha) g^2; p -= lr g / (sqrt(s) + eps)
      buffers: ["square_avg"],
      update: function (o, p, g, st) {
        var sq = st.square_avg, alpha = o.hyper.alpha;
        for (var i = 0; i < p.length; i++) {
          sq[i] *= alpha; sq[i] += (g[i] * g[i]) * (1.0 - alpha);
          p[i] -= (g[i] / (Math.sqrt(sq[i]) + o.hyper.eps)) * o.lr;
        }
      }
    },
    adam: { // m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2; p -= (lr / (1-b1^t)) m / (sqrt(v) / sqrt(1-b2^t) + eps)
      perStep: function (o) {
        return { stepSize: o.lr / (1.0 - Math.pow(o.hyper.beta1, o.t)), invSqrtBc2: 1.0 / Math.sqrt(1.0 - Math.pow(o.hyper.beta2, o.t)) };
      },
      buffers: ["m", "v"],
      update: function (o, p, g, s, k) {
        var m = s.m, v = s.v, b1 = o.hyper.beta1, b2 = o.hyper.beta2;
        for (var i = 0; i < p.length; i++) {
          m[i] *= b1; m[i] += g[i] * (1.0 - b1);
          v[i] *= b2; v[i] += (g[i] * g[i]) * (1.0 - b2);
          p[i] -= ((m[i] / (Math.sqrt(v[i]) * k.invSqrtBc2 + o.hyper.eps)) * k.stepSize);
        }
      }
    }
  };

  // -- 6. Trainer: passes over the training rows --------------------------------------------------
  // config: {X, y, n (rows), net, optimizer, lr, hyper, batch (null = full batch), seed}
  function Trainer(config) {
    this.X = config.X; this.y = config.y; this.n = config.n; this.net = config.net;
    this.batch = config.batch || null;
    if (this.batch !== null && !(this.batch >= 1 && this.batch <= this.n)) {
      throw new Error("batch size must be between 1 and the " + this.n + " training rows, or full");
    }
    this.rng = new RandomState(config.seed); // the Trainer's own RandomState(seed): the batch order
    this.optimizer = new Optimizer(config.optimizer, this.net.parameters(), config.lr, config.hyper || {});
    this.passes = 0;
  }
  Trainer.prototype.pass = function () { // one epoch: one step, or one step per batch of a fresh permutation
    var net = this.net, n = this.n;
    if (this.batch === null) {
      net.backward(this.X, this.y, n, 1.0);
      this.optimizer.step(net.gradients());
    } else {
      var D = net.dims[0], order = this.rng.permutation(n), X = new Float64Array(D * n), y = new Int32Array(n);
      for (var r = 0; r < n; r++) {
        for (var d = 0; d < D; d++) X[r * D + d] = this.X[order[r] * D + d];
        y[r] = this.y[order[r]];
      }
      for (var start = 0; start < n; start += this.batch) {
        var stop = Math.min(start + this.batch, n);
        net.backward(X.subarray(start * D, stop * D), y.subarray(start, stop), stop - start, (stop - start) / n);
        this.optimizer.step(net.gradients());
      }
    }
    this.passes += 1;
  };

  // -- 7. LiveRun: one settings object -> data set, network and trainer ---------------------------
  // settings: {dataset, points, noise, options, seed, hidden: [widths], activations: [one per hidden
  // layer], lr, l2, optimizer, hyper: {the optimizer's options}, batch: rows or null (full batch)}.
  // One seed draws the data (test set: seed + 1000), the weights and the batch order, as in the explorer's
  // Python runs (RunSpec.seed).
  function LiveRun(settings) {
    var s = settings;
    this.settings = s;
    this.data = loadDataset(s.dataset, s.points, s.noise, s.seed, s.options);
    this.nTrain = this.data.yTrain.length;
    this.nTest = this.data.yTest.length;
    this.net = new Network({
      inputs: 2, hidden: s.hidden, outputs: this.data.nClasses, activations: s.activations, l2: s.l2, seed: s.seed
    });
    this.trainer = new Trainer({
      X: this.data.XTrain, y: this.data.yTrain, n: this.nTrain, net: this.net,
      optimizer: s.optimizer, lr: s.lr, hyper: s.hyper, batch: s.batch, seed: s.seed
    });
  }
  LiveRun.prototype.pass = function () { this.trainer.pass(); };
  LiveRun.prototype.passesDone = function () { return this.trainer.passes; };
  LiveRun.prototype.trainingLoss = function () { // L summed over the training rows (the Trainer's history["loss"])
    return this.net.evaluate(this.data.XTrain, this.data.yTrain, this.nTrain).loss;
  };
  LiveRun.prototype.measure = function () { // the numbers of a recorded snapshot: losses per example, accuracies
    var train = this.net.evaluate(this.data.XTrain, this.data.yTrain, this.nTrain);
    var test = this.net.evaluate(this.data.XTest, this.data.yTest, this.nTest);
    return {
      pass: this.trainer.passes, train_loss: train.loss / this.nTrain, train_accuracy: train.accuracy,
      test_loss: test.loss / this.nTest, test_accuracy: test.accuracy
    };
  };

  return {
    LiveRun: LiveRun,
    networkFromParameters: networkFromParameters,
    RandomState: RandomState,
    GENERATORS: GENERATORS,
    loadDataset: loadDataset,
    ACTIVATIONS: ACTIVATIONS,
    OPTIMIZERS: OPTIMIZERS,
    Network: Network,
    Optimizer: Optimizer,
    Trainer: Trainer
  };
})();
