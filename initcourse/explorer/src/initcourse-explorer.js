/* initcourse explorer: change the initialization of a deep network, watch its signal.
 * Plain JavaScript and canvas, no library, no network. Part of the initcourse package
 * (initcourse/explorer/assets); the same file runs on the website and in notebooks. The
 * numerics (icxCore) follow initcourse.propagation.simulate and
 * initcourse.meanfield.variance_trajectory; tests/test_explorer.py checks the
 * agreement. License: MIT (the initcourse contributors). */
(function (global) {
  "use strict";

  /* ----------------------------------------------------------------------------------
   * Numerics. Self-contained: its source text also runs in a Web Worker.
   * -------------------------------------------------------------------------------- */
  function icxCore() {
    "use strict";
    var TRUNCATION_STD = 0.87962566103423978; // std of N(0, 1) truncated to [-2, 2]
    var SELU_ALPHA = 1.6732632423543772,
      SELU_SCALE = 1.0507009873554805;
    var LEAK = 0.01; // negative slope of leaky_relu (the package's default)
    var SQRT2 = Math.SQRT2,
      INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

    var INITIALIZERS = [
      "zeros",
      "ones",
      "constant",
      "random_normal",
      "random_uniform",
      "lecun_normal",
      "lecun_uniform",
      "glorot_normal",
      "glorot_uniform",
      "he_normal",
      "he_uniform",
      "orthogonal",
      "identity",
      "sparse",
    ];
    var ACTIVATIONS = [
      "linear",
      "relu",
      "leaky_relu",
      "tanh",
      "sigmoid",
      "selu",
      "gelu",
    ];
    var MF_ACTIVATIONS = [
      "tanh",
      "erf",
      "sigmoid",
      "relu",
      "linear",
      "leaky_relu",
      "selu",
      "gelu",
    ];

    function fail(name, value, allowed) {
      throw new Error(name + ": got " + JSON.stringify(value) + "; " + allowed);
    }
    function choice(v, name, allowed) {
      if (allowed.indexOf(v) < 0)
        fail(name, v, "allowed values are " + allowed.join(", "));
      return v;
    }
    function intIn(v, name, lo, hi) {
      if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi)
        fail(name, v, "expected an integer in " + lo + ".." + hi);
      return v;
    }
    function num(v, name, lo, strict) {
      if (typeof v !== "number" || !isFinite(v) || (strict ? v <= lo : v < lo))
        fail(name, v, "expected a finite number " + (strict ? "> " : ">= ") + lo);
      return v;
    }

    /* random numbers: xoshiro128** per (seed, stream); normals by the ziggurat method
     * of Marsaglia and Tsang (2000), 128 layers */
    var ZK = new Uint32Array(128),
      ZW = new Float64Array(128),
      ZF = new Float64Array(128);
    (function () {
      var m1 = 2147483648,
        dn = 3.442619855899,
        tn = dn,
        vn = 9.91256303526217e-3;
      var q = vn / Math.exp(-0.5 * dn * dn);
      ZK[0] = Math.floor((dn / q) * m1);
      ZK[1] = 0;
      ZW[0] = q / m1;
      ZW[127] = dn / m1;
      ZF[0] = 1;
      ZF[127] = Math.exp(-0.5 * dn * dn);
      for (var i = 126; i >= 1; i--) {
        dn = Math.sqrt(-2 * Math.log(vn / dn + Math.exp(-0.5 * dn * dn)));
        ZK[i + 1] = Math.floor((dn / tn) * m1);
        tn = dn;
        ZF[i] = Math.exp(-0.5 * dn * dn);
        ZW[i] = dn / m1;
      }
    })();
    function fmix32(h) {
      h ^= h >>> 16;
      h = Math.imul(h, 0x85ebca6b);
      h ^= h >>> 13;
      h = Math.imul(h, 0xc2b2ae35);
      h ^= h >>> 16;
      return h >>> 0;
    }
    function Rng(seed, stream) {
      var z = fmix32((seed >>> 0) ^ fmix32(((stream >>> 0) + 0x632be5ab) >>> 0));
      function sm() {
        z = (z + 0x9e3779b9) >>> 0;
        return fmix32(z);
      }
      var a = sm(),
        b = sm(),
        c = sm(),
        d = sm();
      if ((a | b | c | d) === 0) a = 1;
      function next() {
        var r = Math.imul(b, 5);
        r = Math.imul((r << 7) | (r >>> 25), 9) >>> 0;
        var t = b << 9;
        c ^= a;
        d ^= b;
        b ^= c;
        a ^= d;
        c ^= t;
        d = (d << 11) | (d >>> 21);
        return r;
      }
      function uniform() {
        return (next() + 0.5) / 4294967296;
      } // in (0, 1)
      function normal() {
        var hz = next() | 0,
          iz = hz & 127;
        if ((hz < 0 ? -hz : hz) < ZK[iz]) return hz * ZW[iz];
        return normalSlow(hz, iz);
      }
      function normalSlow(hz, iz) {
        // the rare slow path of the ziggurat: tail or wedge
        var x, y;
        for (;;) {
          x = hz * ZW[iz];
          if (iz === 0) {
            do {
              x = -Math.log(uniform()) / 3.442619855899;
              y = -Math.log(uniform());
            } while (y + y < x * x);
            return hz > 0 ? 3.442619855899 + x : -3.442619855899 - x;
          }
          if (ZF[iz] + uniform() * (ZF[iz - 1] - ZF[iz]) < Math.exp(-0.5 * x * x))
            return x;
          hz = next() | 0;
          iz = hz & 127;
          if ((hz < 0 ? -hz : hz) < ZK[iz]) return hz * ZW[iz];
        }
      }
      /* out[i] = scale * z_i, z_i ~ N(0, 1), or N(0, 1) re-drawn outside [-limit,
       * limit]; the generator state lives in locals in the hot loop */
      function fill(out, scale, limit) {
        var A = a,
          Bs = b,
          C = c,
          D = d,
          n = out.length;
        for (var i = 0; i < n; i++) {
          var z;
          for (;;) {
            var r = Math.imul(Bs, 5);
            r = Math.imul((r << 7) | (r >>> 25), 9);
            var t = Bs << 9;
            C ^= A;
            D ^= Bs;
            Bs ^= C;
            A ^= D;
            C ^= t;
            D = (D << 11) | (D >>> 21);
            var iz = r & 127;
            if ((r < 0 ? -r : r) < ZK[iz]) z = r * ZW[iz];
            else {
              a = A;
              b = Bs;
              c = C;
              d = D;
              z = normalSlow(r, iz);
              A = a;
              Bs = b;
              C = c;
              D = d;
            }
            if (z <= limit && z >= -limit) break;
          }
          out[i] = scale * z;
        }
        a = A;
        b = Bs;
        c = C;
        d = D;
        return out;
      }
      return { next: next, uniform: uniform, normal: normal, fill: fill };
    }
    function fillNormal(out, rng, std) {
      return rng.fill(out, std, Infinity);
    }

    /* initializers: W has shape (fan_in, fan_out), row-major (the Keras layout) */
    function truncNormal(out, rng, std) {
      // N(0, 1) re-drawn outside [-2, 2], scaled like Keras
      return rng.fill(out, std / TRUNCATION_STD, 2);
    }
    function uniformFill(out, rng, limit) {
      for (var i = 0; i < out.length; i++) out[i] = limit * (2 * rng.uniform() - 1);
      return out;
    }
    function orthogonalFill(out, rows, cols, rng, gain) {
      // QR of a Gaussian (m x k) matrix, m = max, k = min, with q *= sign(diag(r))
      // (Mezzadri 2007)
      var m = Math.max(rows, cols),
        k = Math.min(rows, cols),
        i,
        j,
        p,
        s;
      var A = new Float64Array(m * k); // column-major: A[j * m + i]
      for (i = 0; i < A.length; i++) A[i] = rng.normal();
      var V = new Float64Array(m * k),
        sign = new Float64Array(k);
      for (j = 0; j < k; j++) {
        var col = j * m,
          norm = 0;
        for (i = j; i < m; i++) norm += A[col + i] * A[col + i];
        norm = Math.sqrt(norm);
        var alpha = A[col + j] > 0 ? -norm : norm; // R[j, j]
        sign[j] = alpha < 0 ? -1 : 1;
        var vn = 0;
        for (i = j; i < m; i++) {
          V[col + i] = A[col + i];
        }
        V[col + j] -= alpha;
        for (i = j; i < m; i++) vn += V[col + i] * V[col + i];
        vn = Math.sqrt(vn);
        if (vn > 0) for (i = j; i < m; i++) V[col + i] /= vn;
        for (p = j + 1; p < k; p++) {
          // apply H_j = I - 2 v v^T to the remaining columns
          var cp = p * m;
          s = 0;
          for (i = j; i < m; i++) s += V[col + i] * A[cp + i];
          s *= 2;
          for (i = j; i < m; i++) A[cp + i] -= s * V[col + i];
        }
      }
      var Q = new Float64Array(m * k); // Q = H_0 H_1 ... H_{k-1} I[:, :k]
      for (j = 0; j < k; j++) Q[j * m + j] = 1;
      for (j = k - 1; j >= 0; j--) {
        var cv = j * m;
        for (p = j; p < k; p++) {
          var cq = p * m;
          s = 0;
          for (i = j; i < m; i++) s += V[cv + i] * Q[cq + i];
          s *= 2;
          for (i = j; i < m; i++) Q[cq + i] -= s * V[cv + i];
        }
      }
      for (i = 0; i < rows; i++)
        for (j = 0; j < cols; j++)
          out[i * cols + j] =
            gain * (rows >= cols ? Q[j * m + i] * sign[j] : Q[i * m + j] * sign[i]);
      return out;
    }
    function sparseFill(out, rows, cols, rng, nonzero, std) {
      var k = Math.min(nonzero, rows),
        idx = new Int32Array(rows),
        i,
        j;
      out.fill(0);
      for (j = 0; j < cols; j++) {
        for (i = 0; i < rows; i++) idx[i] = i;
        for (i = 0; i < k; i++) {
          // partial Fisher-Yates: k distinct rows
          var r = i + Math.floor(rng.uniform() * (rows - i));
          var t = idx[i];
          idx[i] = idx[r];
          idx[r] = t;
          out[idx[i] * cols + j] = std * rng.normal();
        }
      }
      return out;
    }
    function initParams(name, p) {
      // the package's default parameters, overridden by p
      p = p || {};
      var d = {
        stddev: name === "sparse" ? 1.0 : 0.05,
        limit: 0.05,
        gain: 1.0,
        nonzero: 15,
      };
      var out = {};
      Object.keys(d).forEach(function (key) {
        out[key] = p[key] === undefined ? d[key] : p[key];
      });
      out.value = p.value;
      if (name === "constant") num(out.value, "value", -Infinity);
      if (name === "random_normal" || name === "sparse")
        num(out.stddev, "stddev", 0, true);
      if (name === "random_uniform") num(out.limit, "limit", 0, true);
      if (name === "orthogonal" || name === "identity") num(out.gain, "gain", 0, true);
      if (name === "sparse") intIn(out.nonzero, "nonzero", 1, 1e9);
      return out;
    }
    function drawWeights(name, rows, cols, rng, p) {
      var out = new Float32Array(rows * cols),
        fanIn = Math.max(1, rows),
        avg = Math.max(1, (rows + cols) / 2);
      switch (name) {
        case "zeros":
          return out;
        case "ones":
          return out.fill(1);
        case "constant":
          return out.fill(p.value);
        case "random_normal":
          return fillNormal(out, rng, p.stddev);
        case "random_uniform":
          return uniformFill(out, rng, p.limit);
        case "lecun_normal":
          return truncNormal(out, rng, Math.sqrt(1 / fanIn));
        case "lecun_uniform":
          return uniformFill(out, rng, Math.sqrt(3 / fanIn));
        case "glorot_normal":
          return truncNormal(out, rng, Math.sqrt(1 / avg));
        case "glorot_uniform":
          return uniformFill(out, rng, Math.sqrt(3 / avg));
        case "he_normal":
          return truncNormal(out, rng, Math.sqrt(2 / fanIn));
        case "he_uniform":
          return uniformFill(out, rng, Math.sqrt(6 / fanIn));
        case "orthogonal":
          return orthogonalFill(out, rows, cols, rng, p.gain);
        case "identity":
          for (var i = 0; i < Math.min(rows, cols); i++) out[i * cols + i] = p.gain;
          return out;
        case "sparse":
          return sparseFill(out, rows, cols, rng, p.nonzero, p.stddev);
      }
      return choice(name, "initializer", INITIALIZERS);
    }
    /* n Var[w] of one square layer of width n: the sigma_w^2 of mean-field theory
     * (null: not i.i.d. zero-mean weights, so mean field does not apply) */
    function sigmaW2(name, n, p) {
      switch (name) {
        case "zeros":
          return 0;
        case "random_normal":
          return n * p.stddev * p.stddev;
        case "random_uniform":
          return (n * p.limit * p.limit) / 3;
        case "lecun_normal":
        case "lecun_uniform":
        case "glorot_normal":
        case "glorot_uniform":
          return 1;
        case "he_normal":
        case "he_uniform":
          return 2;
        case "orthogonal":
          return p.gain * p.gain;
        case "sparse":
          return Math.min(p.nonzero, n) * p.stddev * p.stddev;
      }
      return null; // ones, constant, identity
    }

    /* activations, derivatives and the saturation rules of initcourse.propagation */
    function erf(x) {
      // |error| < 1e-15: Taylor series for |x| < 2.5, continued fraction beyond
      var ax = Math.abs(x);
      if (ax < 2.5) {
        var x2 = x * x,
          term = x,
          sum = x,
          k = 0;
        while (Math.abs(term) > 1e-17 * Math.abs(sum)) {
          k += 1;
          term *= -x2 / k;
          sum += term / (2 * k + 1);
        }
        return 1.1283791670955126 * sum;
      }
      if (ax > 6) return x > 0 ? 1 : -1;
      // erfc(x) = exp(-x^2)/sqrt(pi) / (x + 1/2 / (x + 1 / (x + 3/2 / (x + ...))))
      var f = ax;
      for (var n = 60; n >= 1; n--) f = ax + n / 2 / f;
      var erfc = Math.exp(-ax * ax) / (1.7724538509055159 * f);
      return x > 0 ? 1 - erfc : erfc - 1;
    }
    function expit(h) {
      return h >= 0 ? 1 / (1 + Math.exp(-h)) : Math.exp(h) / (1 + Math.exp(h));
    }
    function phiScalar(name) {
      switch (name) {
        case "linear":
          return function (h) {
            return h;
          };
        case "relu":
          return function (h) {
            return h > 0 ? h : 0;
          };
        case "leaky_relu":
          return function (h) {
            return h > 0 ? h : LEAK * h;
          };
        case "tanh":
          return Math.tanh;
        case "erf":
          return erf;
        case "sigmoid":
          return expit;
        case "selu":
          return function (h) {
            return h > 0 ? SELU_SCALE * h : SELU_SCALE * SELU_ALPHA * Math.expm1(h);
          };
        case "gelu":
          return function (h) {
            return 0.5 * h * (1 + erf(h / SQRT2));
          };
      }
      return choice(name, "activation", MF_ACTIVATIONS);
    }
    function dphiScalar(name) {
      switch (name) {
        case "linear":
          return function () {
            return 1;
          };
        case "relu":
          return function (h) {
            return h > 0 ? 1 : 0;
          };
        case "leaky_relu":
          return function (h) {
            return h > 0 ? 1 : LEAK;
          };
        case "tanh":
          return function (h) {
            var t = Math.tanh(h);
            return 1 - t * t;
          };
        case "erf":
          return function (h) {
            return 1.1283791670955126 * Math.exp(-h * h);
          };
        case "sigmoid":
          return function (h) {
            var s = expit(h);
            return s * (1 - s);
          };
        case "selu":
          return function (h) {
            return h > 0 ? SELU_SCALE : SELU_SCALE * SELU_ALPHA * Math.exp(h);
          };
        case "gelu":
          return function (h) {
            return (
              0.5 * (1 + erf(h / SQRT2)) + h * INV_SQRT_2PI * Math.exp(-0.5 * h * h)
            );
          };
      }
      return choice(name, "activation", MF_ACTIVATIONS);
    }
    /* x = phi(h), d = phi'(h) in place; returns the number of saturated entries */
    function applyActivation(name, h, x, d) {
      var n = h.length,
        i,
        v,
        sat = 0;
      switch (name) {
        case "linear":
          for (i = 0; i < n; i++) {
            x[i] = h[i];
            d[i] = 1;
          }
          return 0;
        case "relu":
          for (i = 0; i < n; i++) {
            v = h[i];
            if (v > 0) {
              x[i] = v;
              d[i] = 1;
            } else {
              x[i] = v <= 0 ? 0 : v;
              d[i] = 0;
              if (x[i] === 0) sat++;
            }
          }
          return sat;
        case "leaky_relu":
          for (i = 0; i < n; i++) {
            v = h[i];
            if (v > 0) {
              x[i] = v;
              d[i] = 1;
            } else {
              x[i] = LEAK * v;
              d[i] = LEAK;
            }
          }
          return 0;
        case "tanh":
          for (i = 0; i < n; i++) {
            v = Math.tanh(h[i]);
            x[i] = v;
            d[i] = 1 - v * v;
            if (v > 0.97 || v < -0.97) sat++;
          }
          return sat;
        case "sigmoid":
          for (i = 0; i < n; i++) {
            v = expit(h[i]);
            x[i] = v;
            d[i] = v * (1 - v);
            if (x[i] < 0.03 || x[i] > 0.97) sat++;
          }
          return sat;
        case "selu":
          for (i = 0; i < n; i++) {
            v = h[i];
            if (v > 0) {
              x[i] = SELU_SCALE * v;
              d[i] = SELU_SCALE;
            } else {
              x[i] = SELU_SCALE * SELU_ALPHA * Math.expm1(v);
              d[i] = SELU_SCALE * SELU_ALPHA * Math.exp(v);
            }
            if (Math.abs(d[i]) < 0.05) sat++;
          }
          return sat;
        case "gelu":
          for (i = 0; i < n; i++) {
            v = h[i];
            var c = 0.5 * (1 + erf(v / SQRT2));
            x[i] = v * c;
            d[i] = c + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v);
            if (Math.abs(d[i]) < 0.05) sat++;
          }
          return sat;
      }
      return choice(name, "activation", ACTIVATIONS);
    }
    var SATURATION_RULES = {
      linear: "never",
      leaky_relu: "never (the slope is at least the leak)",
      relu: "x = 0 exactly (inactive unit)",
      tanh: "|x| > 0.97",
      sigmoid: "x < 0.03 or x > 0.97",
      selu: "|phi'(h)| < 0.05",
      gelu: "|phi'(h)| < 0.05",
    };

    /* ---- dense products (float32 storage, like the package's default dtype) ----
     * WebAssembly SIMD kernels (initcourse/explorer/wasm/kernels.wat, embedded by
     * tools/make_explorer_wasm.py) when the browser has them and rows are multiples of
     * 4 floats; plain JavaScript otherwise. Both compute the same products. */
    var WASM_B64 =
      "AGFzbQEAAAABFAJgBn9/f39/fwBgB39/f39/f38AAwMCAAEFAwEAAQcTAwNtZW0CAANmd2QAAANid2QAAQryAwL0AQQDfwF9AXsFfyAFQQJ0IQ4CQANAIAYgA04NASACIAYgDmxqIQwgDCAOaiEPIAwhCAJAA0AgCCAPTw0BIAj9DAAAAAAAAAAAAAAAAAAAAAD9CwQAIAhBEGohCAwACwsgACAGIARBAnRsaiELQQAhBwJAA0AgByAETg0BIAsgB0ECdGoqAgAhCSAJQwAAAABcBEAgCf0TIQogASAHIA5saiENIAwhCAJAA0AgCCAPTw0BIAggCP0ABAAgCiAN/QAEAP3mAf3kAf0LBAAgCEEQaiEIIA1BEGohDQwACwsLIAdBAWohBwwACwsgBkEBaiEGDAALCwv5AQQCfwF9AXsGfyAGQQJ0IQ4CQANAIAcgBE4NASAAIAcgDmxqIQsgCyAOaiENQQAhCAJAA0AgCCAFTg0BIAcgBWwgCGpBAnQhDyACIA9qKgIAIQkgCUMAAAAAWwRAIAMgD2pDAAAAADgCAAX9DAAAAAAAAAAAAAAAAAAAAAAhCiALIRAgASAIIA5saiEMAkADQCAQIA1PDQEgCiAQ/QAEACAM/QAEAP3mAf3kASEKIBBBEGohECAMQRBqIQwMAAsLIAMgD2ogCSAK/R8AIAr9HwGSIAr9HwIgCv0fA5KSlDgCAAsgCEEBaiEIDAALCyAHQQFqIQcMAAsLCw=="; /*@@WASM@@*/
    var wasm = null;
    try {
      var bin =
        typeof atob === "function"
          ? atob(WASM_B64)
          : Buffer.from(WASM_B64, "base64").toString("binary");
      var bytes = new Uint8Array(bin.length);
      for (var bi = 0; bi < bin.length; bi++) bytes[bi] = bin.charCodeAt(bi);
      if (
        typeof WebAssembly === "object" &&
        bytes.length &&
        WebAssembly.validate(bytes)
      ) {
        var inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
        wasm = {
          fwd: inst.exports.fwd,
          bwd: inst.exports.bwd,
          mem: inst.exports.mem,
          view: null,
        };
      }
    } catch (e) {
      wasm = null;
    }
    var useWasm = wasm !== null;
    function heap(floats) {
      // a Float32Array view of the wasm memory with room for `floats`
      var need = floats * 4 - wasm.mem.buffer.byteLength;
      if (need > 0) wasm.mem.grow(Math.ceil(need / 65536));
      if (wasm.view === null || wasm.view.buffer !== wasm.mem.buffer)
        wasm.view = new Float32Array(wasm.mem.buffer);
      return wasm.view;
    }
    function forward(x, W, out, B, nIn, nOut) {
      // out = x W
      if (useWasm && nOut % 4 === 0) {
        var xo = 0,
          wo = B * nIn,
          oo = wo + nIn * nOut,
          H = heap(oo + B * nOut);
        H.set(x.subarray(0, B * nIn), xo);
        H.set(W, wo);
        wasm.fwd(xo * 4, wo * 4, oo * 4, B, nIn, nOut);
        out.set(H.subarray(oo, oo + B * nOut));
        return out;
      }
      return forwardJs(x, W, out, B, nIn, nOut);
    }
    function backward(delta, W, deriv, out, B, nIn, nOut) {
      // out = (delta W^T) * deriv
      if (useWasm && nOut % 4 === 0 && deriv !== null) {
        var d0 = 0,
          w0 = B * nOut,
          r0 = w0 + nIn * nOut,
          o0 = r0 + B * nIn,
          H = heap(o0 + B * nIn);
        H.set(delta.subarray(0, B * nOut), d0);
        H.set(W, w0);
        H.set(deriv.subarray(0, B * nIn), r0);
        wasm.bwd(d0 * 4, w0 * 4, r0 * 4, o0 * 4, B, nIn, nOut);
        out.set(H.subarray(o0, o0 + B * nIn));
        return out;
      }
      return backwardJs(delta, W, deriv, out, B, nIn, nOut);
    }
    function forwardJs(x, W, out, B, nIn, nOut) {
      out.fill(0);
      for (var b = 0; b < B; b++) {
        var xo = b * nIn,
          oo = b * nOut;
        for (var k = 0; k < nIn; k++) {
          var a = x[xo + k];
          if (a === 0) continue;
          var wo = k * nOut,
            j = 0;
          for (; j + 3 < nOut; j += 4) {
            out[oo + j] += a * W[wo + j];
            out[oo + j + 1] += a * W[wo + j + 1];
            out[oo + j + 2] += a * W[wo + j + 2];
            out[oo + j + 3] += a * W[wo + j + 3];
          }
          for (; j < nOut; j++) out[oo + j] += a * W[wo + j];
        }
      }
      return out;
    }
    function backwardJs(delta, W, deriv, out, B, nIn, nOut) {
      for (var b = 0; b < B; b++) {
        var go = b * nOut,
          oo = b * nIn;
        for (var k = 0; k < nIn; k++) {
          var dk = deriv === null ? 1 : deriv[oo + k];
          if (dk === 0) {
            out[oo + k] = 0;
            continue;
          }
          var wo = k * nOut,
            s0 = 0,
            s1 = 0,
            s2 = 0,
            s3 = 0,
            j = 0;
          for (; j + 3 < nOut; j += 4) {
            s0 += delta[go + j] * W[wo + j];
            s1 += delta[go + j + 1] * W[wo + j + 1];
            s2 += delta[go + j + 2] * W[wo + j + 2];
            s3 += delta[go + j + 3] * W[wo + j + 3];
          }
          for (; j < nOut; j++) s0 += delta[go + j] * W[wo + j];
          out[oo + k] = (s0 + s1 + s2 + s3) * dk;
        }
      }
      return out;
    }
    function meanStd(a) {
      // float64 accumulation, population std (numpy's default)
      var n = a.length,
        s = 0,
        i;
      for (i = 0; i < n; i++) s += a[i];
      var m = s / n,
        v = 0;
      for (i = 0; i < n; i++) {
        var e = a[i] - m;
        v += e * e;
      }
      return [m, Math.sqrt(v / n)];
    }

    /* The weights of recent runs, so that changing the activation, the biases, the
     * batch or the depth does not redraw them (the draw of layer l depends only on
     * these keys). */
    var weightCache = new Map(),
      weightCacheFloats = 0,
      WEIGHT_CACHE_MAX = 8000000;
    function cachedWeights(o, l) {
      var key = [o.initializer, JSON.stringify(o.params), o.width, o.seed, l].join("|");
      var W = weightCache.get(key);
      if (W) {
        weightCache.delete(key);
        weightCache.set(key, W);
        return W;
      }
      W = drawWeights(o.initializer, o.width, o.width, Rng(o.seed, 100 + l), o.params);
      weightCache.set(key, W);
      weightCacheFloats += W.length;
      while (weightCacheFloats > WEIGHT_CACHE_MAX && weightCache.size > 1) {
        var oldest = weightCache.keys().next().value;
        weightCacheFloats -= weightCache.get(oldest).length;
        weightCache.delete(oldest);
      }
      return W;
    }
    function checkSimOptions(o) {
      if (o === null || typeof o !== "object") fail("options", o, "expected an object");
      var r = {
        initializer: choice(o.initializer, "initializer", INITIALIZERS),
        activation: choice(o.activation, "activation", ACTIVATIONS),
        depth: intIn(o.depth, "depth", 1, 1000),
        width: intIn(o.width, "width", 1, 4096),
        batch: intIn(o.batch, "batch", 1, 4096),
        bias_std: num(o.bias_std === undefined ? 0 : o.bias_std, "bias_std", 0),
        seed: intIn(o.seed === undefined ? 0 : o.seed, "seed", 0, 4294967295),
        input_std: num(
          o.input_std === undefined ? 1 : o.input_std,
          "input_std",
          0,
          true
        ),
        keep: Array.isArray(o.keep) ? o.keep : [],
      };
      r.params = initParams(r.initializer, o);
      return r;
    }

    /* Forward and backward pass of initcourse.propagation.simulate (depth layers of
     * width units, n_0 = width): x_0 ~ N(0, input_std^2), h_l = x_{l-1} W_l + b_l, x_l
     * = phi(h_l); delta_L ~ N(0, 1), delta_{l-1} = (delta_l W_l^T) * phi'(h_{l-1}).
     * Statistics over batch and units, per layer 1..L. Different random generator from
     * numpy's: equal in distribution. */
    function simulate(opts) {
      var o = checkSimOptions(opts);
      var L = o.depth,
        n = o.width,
        B = o.batch,
        size = B * n,
        l,
        i;
      var res = {
        preact_mean: [],
        preact_std: [],
        act_mean: [],
        act_std: [],
        saturated: [],
        grad_mean: new Array(L),
        grad_std: new Array(L),
        unit_spread: [],
        nonfinite: [],
        kept: {},
      };
      var x = fillNormal(new Float32Array(size), Rng(o.seed, 1), o.input_std);
      var cache = L * n * n <= 4000000,
        weights = [],
        derivs = [];
      function layerWeights(l) {
        // W_l and b_l, each from its own stream (W_l cached, see cachedWeights)
        var W = cachedWeights(o, l),
          b = null;
        if (o.bias_std > 0)
          b = fillNormal(new Float32Array(n), Rng(o.seed, 100000 + l), o.bias_std);
        return { W: W, b: b };
      }
      for (l = 0; l < L; l++) {
        var wb = layerWeights(l),
          h = forward(x, wb.W, new Float32Array(size), B, n, n);
        if (wb.b)
          for (var bb = 0; bb < B; bb++)
            for (i = 0; i < n; i++) h[bb * n + i] += wb.b[i];
        var xn = new Float32Array(size),
          d = new Float32Array(size);
        var sat = applyActivation(o.activation, h, xn, d);
        var ms = meanStd(h);
        res.preact_mean.push(ms[0]);
        res.preact_std.push(ms[1]);
        ms = meanStd(xn);
        res.act_mean.push(ms[0]);
        res.act_std.push(ms[1]);
        res.saturated.push(sat / size);
        var spread = 0,
          bad = 0;
        for (var r = 0; r < B; r++) {
          var lo = Infinity,
            hi = -Infinity;
          for (i = r * n; i < (r + 1) * n; i++) {
            var v = xn[i];
            if (v < lo) lo = v;
            if (v > hi) hi = v;
            if (!(v - v === 0)) bad++;
          }
          if (hi - lo > spread) spread = hi - lo;
        }
        res.unit_spread.push(spread);
        res.nonfinite.push(bad / size);
        if (o.keep.indexOf(l + 1) >= 0) res.kept[l + 1] = xn;
        weights.push(cache ? wb.W : null);
        if (l < L - 1) derivs.push(d);
        x = xn;
      }
      var delta = fillNormal(new Float32Array(size), Rng(o.seed, 2), 1);
      var buf = new Float32Array(size);
      for (l = L - 1; l >= 0; l--) {
        var g = meanStd(delta);
        res.grad_mean[l] = g[0];
        res.grad_std[l] = g[1];
        if (l > 0) {
          var Wl = weights[l] || layerWeights(l).W;
          backward(delta, Wl, derivs[l - 1], buf, B, n, n);
          var t = delta;
          delta = buf;
          buf = t;
          derivs[l - 1] = null;
        }
      }
      res.sigma_w2 = sigmaW2(o.initializer, n, o.params);
      return res;
    }

    /* mean field: Gauss-Hermite quadrature (100 nodes, as initcourse.meanfield.N_QUAD)
     */
    var N_QUAD = 100,
      nodesCache = {};
    function gaussHermite(nq) {
      // probabilists' nodes and probability weights (sum 1)
      if (nodesCache[nq]) return nodesCache[nq];
      var x = new Float64Array(nq),
        w = new Float64Array(nq),
        m = (nq + 1) >> 1,
        z = 0,
        pp = 0;
      for (var i = 0; i < m; i++) {
        // Newton on orthonormal Hermite polynomials (Numerical Recipes)
        if (i === 0)
          z = Math.sqrt(2 * nq + 1) - 1.85575 * Math.pow(2 * nq + 1, -0.16667);
        else if (i === 1) z -= (1.14 * Math.pow(nq, 0.426)) / z;
        else if (i === 2) z = 1.86 * z - 0.86 * x[0];
        else if (i === 3) z = 1.91 * z - 0.91 * x[1];
        else z = 2 * z - x[i - 2];
        for (var it = 0; it < 100; it++) {
          var p1 = 0.7511255444649425,
            p2 = 0,
            p3;
          for (var j = 0; j < nq; j++) {
            p3 = p2;
            p2 = p1;
            p1 = z * Math.sqrt(2 / (j + 1)) * p2 - Math.sqrt(j / (j + 1)) * p3;
          }
          pp = Math.sqrt(2 * nq) * p2;
          var z1 = z;
          z = z1 - p1 / pp;
          if (Math.abs(z - z1) <= 1e-15 * Math.max(1, Math.abs(z))) break;
        }
        x[i] = z;
        x[nq - 1 - i] = -z;
        w[i] = 2 / (pp * pp);
        w[nq - 1 - i] = w[i];
      }
      var total = 0,
        k;
      for (k = 0; k < nq; k++) total += w[k];
      var out = { z: new Float64Array(nq), w: new Float64Array(nq) };
      for (k = 0; k < nq; k++) {
        out.z[k] = SQRT2 * x[nq - 1 - k];
        out.w[k] = w[nq - 1 - k] / total;
      }
      nodesCache[nq] = out;
      return out;
    }
    /* Above Q_FINE the package (initcourse.meanfield._grid) switches to a trapezoid
     * grid on [-10, 10] with spacing min(0.05, 0.2 / sqrt(q)) (at most 8001 points):
     * 100 nodes no longer resolve phi(sqrt(q) z). Same rule here. */
    var Q_FINE = 4.0,
      MAX_FINE_1D = 8001;
    function fineGrid(n) {
      var key = "t" + n;
      if (nodesCache[key]) return nodesCache[key];
      var z = new Float64Array(n),
        w = new Float64Array(n),
        step = 20 / (n - 1),
        total = 0,
        i;
      for (i = 0; i < n; i++) {
        z[i] = i === n - 1 ? 10 : -10 + i * step;
        w[i] = Math.exp(-0.5 * z[i] * z[i]);
      }
      w[0] *= 0.5;
      w[n - 1] *= 0.5;
      for (i = 0; i < n; i++) total += w[i];
      for (i = 0; i < n; i++) w[i] /= total;
      return (nodesCache[key] = { z: z, w: w });
    }
    function quadGrid(q) {
      if (q <= Q_FINE) return gaussHermite(N_QUAD);
      var dz = Math.min(0.05, 0.2 / Math.sqrt(q));
      return fineGrid(Math.min(MAX_FINE_1D, 2 * Math.ceil(10 / dz) + 1));
    }
    function expectation(f, q) {
      // E_z[f(sqrt(q) z)], z ~ N(0, 1)
      var g = quadGrid(q),
        s = Math.sqrt(q),
        acc = 0,
        n = g.z.length;
      for (var i = 0; i < n; i++) acc += g.w[i] * f(s * g.z[i]);
      return acc;
    }
    function meanSquare(name, q) {
      // E[phi(sqrt(q) z)^2]
      if (name === "linear") return q;
      if (name === "relu") return q / 2;
      if (name === "leaky_relu") return (q * (1 + LEAK * LEAK)) / 2;
      var phi = phiScalar(name);
      return expectation(function (u) {
        var v = phi(u);
        return v * v;
      }, q);
    }
    function meanValue(name, q) {
      // E[phi(sqrt(q) z)]
      if (name === "linear" || name === "tanh" || name === "erf") return 0;
      if (name === "relu") return Math.sqrt(q / (2 * Math.PI));
      if (name === "leaky_relu") return (1 - LEAK) * Math.sqrt(q / (2 * Math.PI));
      return expectation(phiScalar(name), q);
    }
    function derivSquare(name, q) {
      // E[phi'(sqrt(q) z)^2]
      if (name === "linear") return 1;
      if (name === "relu") return q > 0 ? 0.5 : 0;
      if (name === "leaky_relu") return q > 0 ? (1 + LEAK * LEAK) / 2 : LEAK * LEAK;
      var dphi = dphiScalar(name);
      return expectation(function (u) {
        var v = dphi(u);
        return v * v;
      }, q);
    }
    function varianceMap(q, sw2, sb2, name) {
      return sw2 * meanSquare(name, q) + sb2;
    }
    /* initcourse.meanfield.variance_trajectory: [q_0, ..., q_depth] */
    function varianceTrajectory(q0, depth, sw2, sb2, name) {
      num(q0, "q0", 0);
      intIn(depth, "depth", 0, 100000);
      num(sw2, "sigma_w2", 0, true);
      num(sb2, "sigma_b2", 0);
      choice(name, "activation", MF_ACTIVATIONS);
      var out = [q0],
        q = q0;
      for (var l = 0; l < depth; l++) {
        q = varianceMap(q, sw2, sb2, name);
        out.push(q);
      }
      return out;
    }
    /* Mean-field prediction for simulate's statistics (square layers, inputs of
     * variance input_std^2): q_1 = sigma_w2 input_std^2 + sigma_b2, q_l = V(q_{l-1});
     * grad: g_L^2 = 1, g_{l-1}^2 = g_l^2 sigma_w2 E[phi'(h_{l-1})^2]. */
    function predict(sw2, sb2, name, depth, inputStd) {
      var q = sw2 * inputStd * inputStd + sb2,
        pre = [],
        act = [],
        qs = [],
        grad = new Array(depth),
        l;
      for (l = 0; l < depth; l++) {
        if (l > 0) q = varianceMap(q, sw2, sb2, name);
        qs.push(q);
        pre.push(Math.sqrt(q));
        var m = meanValue(name, q);
        act.push(Math.sqrt(Math.max(0, meanSquare(name, q) - m * m)));
      }
      var g2 = 1;
      for (l = depth - 1; l >= 0; l--) {
        grad[l] = Math.sqrt(g2);
        if (l > 0) g2 *= sw2 * derivSquare(name, qs[l - 1]);
      }
      return { q: qs, preact_std: pre, act_std: act, grad_std: grad };
    }
    function root(f, a, b, fa, fb, xtol) {
      // Illinois false position; f(a), f(b) of opposite signs
      var side = 0,
        c = a,
        fc;
      for (var it = 0; it < 200; it++) {
        c = (a * fb - b * fa) / (fb - fa);
        if (!(c > Math.min(a, b) && c < Math.max(a, b))) c = 0.5 * (a + b);
        fc = f(c);
        if (fc === 0 || Math.abs(b - a) < xtol) return c;
        if (fc * fb > 0) {
          b = c;
          fb = fc;
          if (side === -1) fa /= 2;
          side = -1;
        } else {
          a = c;
          fa = fc;
          if (side === 1) fb /= 2;
          side = 1;
        }
      }
      return c;
    }
    /* fixed point q* of the variance map reached from q0 = 1 (as
     * initcourse.meanfield.fixed_point_q) */
    function fixedPointQ(sw2, sb2, name) {
      if (name === "relu" || name === "linear") {
        var a = sw2 * (name === "linear" ? 1 : 0.5);
        if (a < 1) return sb2 / (1 - a);
        if (a === 1 && sb2 === 0) return 1;
        return Infinity;
      }
      var upper = sw2 + sb2;
      var g = function (q) {
        return varianceMap(q, sw2, sb2, name) - q;
      };
      var g0 = g(0);
      if (g0 > 0) return root(g, 0, upper, g0, g(upper), 1e-13 * Math.max(1, upper));
      if (sw2 * Math.pow(dphiScalar(name)(0), 2) <= 1) return 0;
      var lo = upper;
      for (var i = 0; i < 200; i++) {
        lo /= 2;
        var gl = g(lo);
        if (gl > 0) return root(g, lo, upper, gl, g(upper), 1e-13 * Math.max(1, upper));
      }
      return 0;
    }
    function chi1(sw2, sb2, name) {
      if (name === "relu") return sw2 / 2;
      if (name === "linear") return sw2;
      return sw2 * derivSquare(name, fixedPointQ(sw2, sb2, name));
    }
    function criticalSigmaW2(sb2, name) {
      if (name === "relu") return 2;
      if (name === "linear") return 1;
      if (sb2 === 0 && phiScalar(name)(0) === 0)
        return 1 / Math.pow(dphiScalar(name)(0), 2);
      var f = function (w) {
        return chi1(w, sb2, name) - 1;
      };
      var lo = 1e-3,
        hi = 2,
        fhi = f(hi);
      while (fhi < 0 && hi < 1e4) {
        lo = hi;
        hi *= 2;
        fhi = f(hi);
      }
      return root(f, lo, hi, f(lo), fhi, 1e-10);
    }
    function phaseGrid(sw2s, sb2s, name) {
      var chi = new Float64Array(sw2s.length * sb2s.length),
        critical = [];
      for (var i = 0; i < sb2s.length; i++) {
        for (var j = 0; j < sw2s.length; j++)
          chi[i * sw2s.length + j] = chi1(sw2s[j], sb2s[i], name);
        critical.push(criticalSigmaW2(sb2s[i], name));
      }
      return { chi1: chi, critical: critical };
    }

    /* training: an MLP on the 8x8 digits, SGD with momentum, softmax cross-entropy */
    function Trainer(o, data) {
      // o: {arms: [{initializer, ...params}], activation, depth, width, lr, momentum,
      // batch, seed}
      var sizes = [data.nFeatures],
        l;
      for (l = 0; l < o.depth; l++) sizes.push(o.width);
      sizes.push(data.nClasses);
      var nL = sizes.length - 1,
        B = o.batch,
        order = null,
        pos = 0,
        dataRng = Rng(o.seed, 7);
      var arms = o.arms.map(function (spec, a) {
        var layers = [];
        for (var l = 0; l < nL; l++) {
          var nIn = sizes[l],
            nOut = sizes[l + 1],
            q = {};
          Object.keys(spec).forEach(function (k) {
            q[k] = spec[k];
          });
          if (q.value === "fan_in") q.value = 1 / nIn; // constant 1/n
          if (q.limit === "fan_in") q.limit = 1 / Math.sqrt(nIn); // U(+-1/sqrt(n))
          var p = initParams(spec.initializer, q);
          layers.push({
            W: drawWeights(
              spec.initializer,
              nIn,
              nOut,
              Rng(o.seed, 1000 + 100 * a + l),
              p
            ),
            b: new Float32Array(nOut),
            vW: new Float32Array(nIn * nOut),
            vb: new Float32Array(nOut),
            gW: new Float32Array(nIn * nOut),
            gb: new Float32Array(nOut),
          });
        }
        return { layers: layers, diverged: false };
      });
      function nextBatch() {
        var n = data.nTrain,
          idx = new Int32Array(B);
        for (var i = 0; i < B; i++) {
          if (order === null || pos >= n) {
            // a new epoch: shuffle (the same order for every arm)
            order = new Int32Array(n);
            for (var k = 0; k < n; k++) order[k] = k;
            for (k = n - 1; k > 0; k--) {
              var r = Math.floor(dataRng.uniform() * (k + 1));
              var t = order[k];
              order[k] = order[r];
              order[r] = t;
            }
            pos = 0;
          }
          idx[i] = order[pos++];
        }
        return idx;
      }
      function gather(idx, X) {
        var nf = data.nFeatures,
          out = new Float32Array(idx.length * nf);
        for (var i = 0; i < idx.length; i++)
          out.set(X.subarray(idx[i] * nf, (idx[i] + 1) * nf), i * nf);
        return out;
      }
      function run(arm, x, y, bsz, learn) {
        // returns [mean loss, correct]
        var acts = [x],
          ders = [],
          i,
          j;
        for (var l = 0; l < nL; l++) {
          var L = arm.layers[l],
            nIn = sizes[l],
            nOut = sizes[l + 1];
          var h = forward(acts[l], L.W, new Float32Array(bsz * nOut), bsz, nIn, nOut);
          for (i = 0; i < bsz; i++)
            for (j = 0; j < nOut; j++) h[i * nOut + j] += L.b[j];
          if (l < nL - 1) {
            var xa = new Float32Array(h.length),
              d = new Float32Array(h.length);
            applyActivation(o.activation, h, xa, d);
            acts.push(xa);
            ders.push(d);
          } else acts.push(h);
        }
        var logits = acts[nL],
          C = sizes[nL],
          loss = 0,
          correct = 0,
          delta = new Float32Array(bsz * C);
        for (i = 0; i < bsz; i++) {
          var mx = -Infinity,
            arg = 0,
            s = 0;
          for (j = 0; j < C; j++)
            if (logits[i * C + j] > mx) {
              mx = logits[i * C + j];
              arg = j;
            }
          for (j = 0; j < C; j++) s += Math.exp(logits[i * C + j] - mx);
          var lse = mx + Math.log(s);
          loss += lse - logits[i * C + y[i]];
          if (arg === y[i]) correct++;
          for (j = 0; j < C; j++)
            delta[i * C + j] =
              (Math.exp(logits[i * C + j] - lse) - (j === y[i] ? 1 : 0)) / bsz;
        }
        if (!learn) return [loss / bsz, correct];
        for (l = nL - 1; l >= 0; l--) {
          var Ly = arm.layers[l],
            ni = sizes[l],
            no = sizes[l + 1],
            a = acts[l];
          // gW = a^T delta, through the same product kernel
          var aT = new Float32Array(ni * bsz);
          for (i = 0; i < bsz; i++)
            for (var k = 0; k < ni; k++) aT[k * bsz + i] = a[i * ni + k];
          forward(aT, delta, Ly.gW, ni, bsz, no);
          Ly.gb.fill(0);
          for (i = 0; i < bsz; i++)
            for (j = 0; j < no; j++) Ly.gb[j] += delta[i * no + j];
          if (l > 0)
            delta = backward(
              delta,
              Ly.W,
              ders[l - 1],
              new Float32Array(bsz * ni),
              bsz,
              ni,
              no
            );
        }
        for (l = 0; l < nL; l++) {
          // Keras SGD: v = momentum v - lr g; w += v
          var Lz = arm.layers[l];
          for (i = 0; i < Lz.W.length; i++) {
            Lz.vW[i] = o.momentum * Lz.vW[i] - o.lr * Lz.gW[i];
            Lz.W[i] += Lz.vW[i];
          }
          for (i = 0; i < Lz.b.length; i++) {
            Lz.vb[i] = o.momentum * Lz.vb[i] - o.lr * Lz.gb[i];
            Lz.b[i] += Lz.vb[i];
          }
        }
        return [loss / bsz, correct];
      }
      return {
        step: function () {
          // one SGD step of every arm on the same minibatch; returns the losses
          var idx = nextBatch(),
            x = gather(idx, data.xTrain),
            y = new Int32Array(B);
          for (var i = 0; i < B; i++) y[i] = data.yTrain[idx[i]];
          return arms.map(function (arm) {
            if (arm.diverged) return NaN;
            var loss = run(arm, x, y, B, true)[0];
            if (!isFinite(loss)) arm.diverged = true;
            return arm.diverged ? NaN : loss;
          });
        },
        testAccuracy: function () {
          return arms.map(function (arm) {
            if (arm.diverged) return NaN;
            return run(arm, data.xTest, data.yTest, data.nTest, false)[1] / data.nTest;
          });
        },
      };
    }
    /* digits bytes (train pixels | test pixels | labels) -> standardized float32 arrays
     */
    function prepareDigits(bytes, meta) {
      var nf = meta.n_features,
        ntr = meta.n_train,
        nte = meta.n_test,
        N = ntr + nte,
        j,
        i;
      var mean = new Float64Array(nf),
        sd = new Float64Array(nf);
      for (i = 0; i < ntr; i++) for (j = 0; j < nf; j++) mean[j] += bytes[i * nf + j];
      for (j = 0; j < nf; j++) mean[j] /= ntr;
      for (i = 0; i < ntr; i++)
        for (j = 0; j < nf; j++) {
          var e = bytes[i * nf + j] - mean[j];
          sd[j] += e * e;
        }
      for (j = 0; j < nf; j++) sd[j] = Math.sqrt(sd[j] / ntr);
      var X = new Float32Array(N * nf);
      for (i = 0; i < N; i++)
        for (j = 0; j < nf; j++)
          X[i * nf + j] = sd[j] <= 1e-8 ? 0 : (bytes[i * nf + j] - mean[j]) / sd[j];
      var labels = bytes.subarray(N * nf, N * nf + N);
      return {
        nFeatures: nf,
        nClasses: meta.n_classes,
        nTrain: ntr,
        nTest: nte,
        xTrain: X.subarray(0, ntr * nf),
        xTest: X.subarray(ntr * nf),
        yTrain: Int32Array.from(labels.subarray(0, ntr)),
        yTest: Int32Array.from(labels.subarray(ntr)),
      };
    }

    return {
      INITIALIZERS: INITIALIZERS,
      ACTIVATIONS: ACTIVATIONS,
      MF_ACTIVATIONS: MF_ACTIVATIONS,
      SATURATION_RULES: SATURATION_RULES,
      Rng: Rng,
      drawWeights: drawWeights,
      initParams: initParams,
      sigmaW2: sigmaW2,
      erf: erf,
      simulate: simulate,
      gaussHermite: gaussHermite,
      varianceMap: varianceMap,
      varianceTrajectory: varianceTrajectory,
      predict: predict,
      fixedPointQ: fixedPointQ,
      chi1: chi1,
      criticalSigmaW2: criticalSigmaW2,
      phaseGrid: phaseGrid,
      Trainer: Trainer,
      prepareDigits: prepareDigits,
      kernels: function (which) {
        if (which !== undefined) useWasm = which && wasm !== null;
        return useWasm ? "wasm-simd" : "javascript";
      },
    };
  }

  if (typeof module !== "undefined" && module.exports)
    module.exports = { icxCore: icxCore };
  if (typeof document === "undefined") return;
  /* ----------------------------------------------------------------------------------
   * User interface: controls, canvas plots, workers. One instance per container element
   * carrying data-initcourse-explorer (a JSON object: {"preset": ..., "views": [...]}).
   * -------------------------------------------------------------------------------- */
  var VERSION = "1.0.0";
  if (global.initcourseExplorer && global.initcourseExplorer.version === VERSION) {
    global.initcourseExplorer.mountAll();
    return;
  }
  var core = icxCore();
  var ALL_VIEWS = ["fates", "signal", "histograms", "saturation", "phase", "training"];
  var COLORS = {
    preact: "#0072B2",
    act: "#D55E00",
    grad: "#009E73",
    a: "#0072B2",
    b: "#CC79A7",
  };
  var INIT_LABELS = {
    zeros: "zeros",
    ones: "ones",
    constant: "constant c",
    random_normal: "N(0, σ²)",
    random_uniform: "U(±1/√n)",
    lecun_normal: "LeCun normal",
    lecun_uniform: "LeCun uniform",
    glorot_normal: "Glorot normal",
    glorot_uniform: "Glorot uniform",
    he_normal: "He normal",
    he_uniform: "He uniform",
    orthogonal: "orthogonal",
    sparse: "sparse (15 per unit)",
  };
  var UI_INITS = [
    "zeros",
    "constant",
    "random_normal",
    "random_uniform",
    "lecun_normal",
    "lecun_uniform",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "orthogonal",
    "sparse",
  ];
  var ACT_LABELS = {
    linear: "linear",
    relu: "ReLU",
    leaky_relu: "leaky ReLU (0.01)",
    tanh: "tanh",
    sigmoid: "sigmoid",
    selu: "SELU",
    gelu: "GELU",
  };
  var WIDTHS = [8, 16, 32, 64, 128, 256, 512],
    BATCHES = [16, 32, 64, 128, 256];
  var TRAIN_INITS = [
    ["he_normal", "He normal", { initializer: "he_normal" }],
    ["glorot_uniform", "Glorot uniform", { initializer: "glorot_uniform" }],
    ["lecun_normal", "LeCun normal", { initializer: "lecun_normal" }],
    ["orthogonal", "orthogonal", { initializer: "orthogonal" }],
    ["uniform_fan_in", "U(±1/√n)", { initializer: "random_uniform", limit: "fan_in" }],
    ["normal_0.01", "N(0, 0.01²)", { initializer: "random_normal", stddev: 0.01 }],
    ["normal_1", "N(0, 1)", { initializer: "random_normal", stddev: 1 }],
    ["constant", "constant 1/n", { initializer: "constant", value: "fan_in" }],
    ["sparse", "sparse (15 per unit)", { initializer: "sparse" }],
    ["zeros", "zeros", { initializer: "zeros" }],
  ];
  var FATES = [
    [
      "Vanishing",
      "N(0, 0.01²), ReLU",
      { initializer: "random_normal", stddev: 0.01, activation: "relu" },
    ],
    [
      "Exploding",
      "N(0, 1), ReLU",
      { initializer: "random_normal", stddev: 1, activation: "relu" },
    ],
    [
      "Saturating",
      "N(0, 1), tanh",
      { initializer: "random_normal", stddev: 1, activation: "tanh" },
    ],
    [
      "Symmetric",
      "constant 1/n, ReLU",
      { initializer: "constant", value: "fan_in", activation: "relu" },
    ],
    ["Healthy", "He normal, ReLU", { initializer: "he_normal", activation: "relu" }],
  ];
  var BASE = {
    initializer: "he_normal",
    activation: "relu",
    depth: 30,
    width: 128,
    batch: 128,
    bias_std: 0,
    seed: 0,
    stddev: 0.05,
    value: 0.01,
    gain: 1,
    hist: [1, 15, 30],
    train: {
      a: "he_normal",
      b: "zeros",
      activation: "relu",
      depth: 10,
      width: 64,
      lr: 0.02,
      steps: 300,
      seed: 0,
    },
  };
  var PRESETS = {
    default: {
      views: ["signal", "histograms", "saturation", "phase", "training"],
      state: {},
    },
    "four-fates": {
      views: ["fates", "signal", "histograms", "saturation", "training"],
      state: {
        initializer: "random_normal",
        stddev: 0.01,
        depth: 10,
        width: 64,
        hist: [1, 5, 10],
        train: { a: "he_normal", b: "normal_0.01" },
      },
    },
    "mean-field": {
      views: ["signal", "phase"],
      state: {
        initializer: "random_normal",
        stddev: Math.sqrt(1 / 128),
        activation: "tanh",
        bias_std: Math.sqrt(0.05),
      },
    },
  };
  var PHASE_W = [0.5, 4],
    PHASE_B = [0, 0.3],
    PHASE_NW = 71,
    PHASE_NB = 31;

  function merge(a, b) {
    var out = JSON.parse(JSON.stringify(a));
    Object.keys(b || {}).forEach(function (k) {
      out[k] =
        b[k] && typeof b[k] === "object" && !Array.isArray(b[k])
          ? merge(out[k] || {}, b[k])
          : b[k];
    });
    return out;
  }
  function fmt(v, digits) {
    if (v === null || v === undefined) return "–";
    if (!isFinite(v)) return v !== v ? "nan" : v > 0 ? "inf" : "-inf";
    if (v === 0) return "0";
    var a = Math.abs(v);
    if (a >= 1e4 || a < 1e-3)
      return v.toExponential((digits || 2) - 1).replace("e+", "e");
    return Number(v.toPrecision(digits || 2)).toString();
  }
  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") e.textContent = attrs[k];
      else if (k === "class") e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c) e.appendChild(c);
    });
    return e;
  }

  /* workers: an inline Blob worker (works from file:// too), main-thread fallback */
  function workerMain(core, scope) {
    var stopped = {};
    scope.onmessage = function (e) {
      var m = e.data;
      if (m.kind === "stop") {
        stopped[m.id] = true;
        return;
      }
      if (m.kind === "simulate") {
        var t0 = performance.now(),
          r = core.simulate(m.opts);
        r.ms = performance.now() - t0;
        r.kernels = core.kernels();
        var kept = Object.keys(r.kept).map(function (k) {
          return r.kept[k].buffer;
        });
        scope.postMessage({ id: m.id, kind: "simulate", result: r }, kept);
      } else if (m.kind === "phase") {
        var g = core.phaseGrid(m.sw2s, m.sb2s, "tanh");
        scope.postMessage({
          id: m.id,
          kind: "phase",
          result: { chi1: g.chi1, critical: g.critical },
        });
      } else if (m.kind === "train") {
        var data = core.prepareDigits(new Uint8Array(m.bytes), m.meta),
          tr = core.Trainer(m.opts, data);
        var step = 0,
          sums = m.opts.arms.map(function () {
            return 0;
          });
        var chunk = function () {
          if (stopped[m.id]) return;
          var t = performance.now();
          while (step < m.opts.steps && performance.now() - t < 40) {
            var losses = tr.step();
            step++;
            for (var i = 0; i < losses.length; i++) sums[i] += losses[i];
            if (step % m.every === 0 || step === m.opts.steps) {
              var n = step % m.every === 0 ? m.every : step % m.every;
              scope.postMessage({
                id: m.id,
                kind: "progress",
                step: step,
                loss: sums.map(function (s) {
                  return s / n;
                }),
              });
              sums = sums.map(function () {
                return 0;
              });
            }
          }
          if (step < m.opts.steps) setTimeout(chunk, 0);
          else
            scope.postMessage({ id: m.id, kind: "done", accuracy: tr.testAccuracy() });
        };
        chunk();
      }
    };
  }
  var workerUrl = null,
    workerFailed = false;
  /* A channel to a worker: an inline Blob worker, or, where workers are unavailable or
   * blocked (an error before the first answer), the same handler on the main thread,
   * replaying what was sent. */
  function spawn(onMessage) {
    var sent = [],
      impl = null,
      ch = { kind: null };
    function fallback() {
      var scope = {
        postMessage: function (msg) {
          setTimeout(function () {
            onMessage(msg);
          }, 0);
        },
      };
      workerMain(core, scope);
      impl = {
        postMessage: function (m) {
          setTimeout(function () {
            if (scope.onmessage) scope.onmessage({ data: m });
          }, 0);
        },
        terminate: function () {
          scope.onmessage = null;
        },
      };
      ch.kind = "main thread";
    }
    if (!workerFailed && typeof Worker === "function" && typeof Blob === "function") {
      try {
        if (workerUrl === null) {
          var src =
            "var icxCore = " +
            icxCore.toString() +
            ";\nvar core = icxCore();\n(" +
            workerMain.toString() +
            ")(core, self);\n";
          workerUrl = URL.createObjectURL(new Blob([src], { type: "text/javascript" }));
        }
        var w = new Worker(workerUrl);
        w.onmessage = function (e) {
          sent = null;
          onMessage(e.data);
        };
        w.onerror = function (e) {
          // a working worker: errors are the handler's, not the loading's
          if (sent === null) return;
          if (e && e.preventDefault) e.preventDefault();
          workerFailed = true;
          w.terminate();
          var queue = sent;
          fallback();
          queue.forEach(function (m) {
            impl.postMessage(m);
          });
        };
        impl = w;
        ch.kind = "worker";
      } catch (e) {
        workerFailed = true;
      }
    }
    if (impl === null) fallback();
    ch.postMessage = function (m) {
      if (sent !== null) sent.push(m);
      impl.postMessage(m);
    };
    ch.terminate = function () {
      impl.terminate();
    };
    return ch;
  }
  /* The latest request wins: a newer one waits for the running one, or replaces it when
   * that has run for more than 150 ms (the worker is restarted). */
  function LatestRunner(onResult) {
    var self = this,
      worker = null,
      busy = null,
      pending = null,
      nextId = 1;
    function start(req) {
      busy = req;
      busy.t0 = performance.now();
      worker.postMessage({ id: req.id, kind: "simulate", opts: req.opts });
    }
    function handle(msg) {
      if (!busy || msg.id !== busy.id) return;
      var done = busy;
      busy = null;
      onResult(msg.result, done.meta);
      if (pending) {
        var p = pending;
        pending = null;
        start(p);
      }
    }
    worker = spawn(handle);
    self.kind = function () {
      return worker.kind;
    };
    self.request = function (opts, meta) {
      var req = { id: nextId++, opts: opts, meta: meta };
      if (!busy) return start(req);
      pending = req;
      if (performance.now() - busy.t0 > 150) {
        worker.terminate();
        worker = spawn(handle);
        busy = null;
        var p = pending;
        pending = null;
        start(p);
      }
    };
  }
  var auxWorker = null,
    auxHandlers = {},
    auxId = 1;
  function aux(msg, handler) {
    if (auxWorker === null)
      auxWorker = spawn(function (m) {
        if (auxHandlers[m.id]) auxHandlers[m.id](m);
      });
    msg.id = auxId++;
    auxHandlers[msg.id] = handler;
    auxWorker.postMessage(msg);
    return msg.id;
  }
  var digitsPromise = null;
  function loadDigits() {
    // base64 -> zlib -> bytes (DecompressionStream, no library)
    if (digitsPromise) return digitsPromise;
    var meta = global.initcourseDigits;
    if (!meta)
      return Promise.reject(
        new Error("the digits data (initcourse-digits.js) is not loaded")
      );
    if (typeof DecompressionStream !== "function")
      return Promise.reject(new Error("this browser has no DecompressionStream"));
    var bin = atob(meta.data),
      bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    var stream = new Blob([bytes])
      .stream()
      .pipeThrough(new DecompressionStream("deflate"));
    digitsPromise = new Response(stream).arrayBuffer().then(function (buf) {
      return { meta: meta, bytes: buf };
    });
    return digitsPromise;
  }

  /* ---- plotting on canvas ---- */
  function setupCanvas(canvas, height) {
    var w = Math.max(200, canvas.parentNode.clientWidth || 300),
      dpr = global.devicePixelRatio || 1;
    var h = height || Math.round(Math.min(320, Math.max(200, w * 0.62)));
    canvas.style.width = w + "px";
    canvas.style.height = h + "px";
    canvas.width = Math.round(w * dpr);
    canvas.height = Math.round(h * dpr);
    var ctx = canvas.getContext("2d");
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx: ctx, w: w, h: h };
  }
  function inkColor(node) {
    var c = getComputedStyle(node).color;
    return c && c !== "rgba(0, 0, 0, 0)" ? c : "#222";
  }
  function niceTicks(lo, hi, count) {
    var span = hi - lo || 1,
      step = Math.pow(10, Math.floor(Math.log10(span / count)));
    var err = span / count / step;
    step *= err >= 7.5 ? 10 : err >= 3.5 ? 5 : err >= 1.5 ? 2 : 1;
    var out = [];
    for (var t = Math.ceil(lo / step) * step; t <= hi + 1e-9 * span; t += step)
      out.push(Math.abs(t) < 1e-12 * span ? 0 : t);
    return out;
  }
  function tickLabel(v, log) {
    if (log) return v === 0 ? "1" : "1e" + v;
    return Math.abs(v) >= 1e4 || (Math.abs(v) < 1e-3 && v !== 0)
      ? v.toExponential(0)
      : String(Number(v.toPrecision(3)));
  }
  /* spec: {xlabel, ylabel, x: [lo, hi], logY, y: [lo, hi] (optional), series: [{xs, ys,
   * color, dash, width, points}], hlines: [{y, label}]} */
  function linePlot(canvas, spec) {
    var S = setupCanvas(canvas, spec.height),
      ctx = S.ctx,
      ink = inkColor(canvas);
    var m = { l: 52, r: 10, t: 10, b: 40 },
      pw = S.w - m.l - m.r,
      ph = S.h - m.t - m.b;
    var ty = function (v) {
      return spec.logY ? (v > 0 ? Math.log10(v) : NaN) : v;
    };
    var ylo = Infinity,
      yhi = -Infinity;
    spec.series.forEach(function (s) {
      s.ys.forEach(function (v) {
        var t = ty(v);
        if (isFinite(t)) {
          ylo = Math.min(ylo, t);
          yhi = Math.max(yhi, t);
        }
      });
    });
    (spec.hlines || []).forEach(function (h) {
      var t = ty(h.y);
      ylo = Math.min(ylo, t);
      yhi = Math.max(yhi, t);
    });
    if (spec.y) {
      ylo = spec.y[0];
      yhi = spec.y[1];
    }
    if (!isFinite(ylo)) {
      ylo = spec.logY ? -1 : 0;
      yhi = spec.logY ? 1 : 1;
    }
    if (spec.logY) {
      ylo = Math.floor(ylo - 0.05);
      yhi = Math.ceil(yhi + 0.05);
      if (yhi - ylo < 2) {
        ylo -= 1;
        yhi += 1;
      }
    } else if (yhi - ylo < 1e-12) {
      ylo -= 0.5;
      yhi += 0.5;
    }
    var x0 = spec.x[0],
      x1 = spec.x[1] === x0 ? x0 + 1 : spec.x[1];
    var X = function (v) {
      return m.l + ((v - x0) / (x1 - x0)) * pw;
    };
    var Y = function (t) {
      return m.t + (1 - (t - ylo) / (yhi - ylo)) * ph;
    };
    ctx.font = "12px system-ui, sans-serif";
    ctx.strokeStyle = ink;
    ctx.fillStyle = ink;
    ctx.lineWidth = 1;
    ctx.globalAlpha = 0.25;
    var yt = spec.logY
      ? niceTicks(ylo, yhi, 6).filter(function (t) {
          return Math.round(t) === t;
        })
      : niceTicks(ylo, yhi, 5);
    yt.forEach(function (t) {
      ctx.beginPath();
      ctx.moveTo(m.l, Y(t));
      ctx.lineTo(m.l + pw, Y(t));
      ctx.stroke();
    });
    ctx.globalAlpha = 1;
    ctx.strokeRect(m.l, m.t, pw, ph);
    ctx.textAlign = "right";
    ctx.textBaseline = "middle";
    yt.forEach(function (t) {
      ctx.fillText(tickLabel(t, spec.logY), m.l - 4, Y(t));
    });
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    niceTicks(x0, x1, Math.max(3, Math.floor(pw / 60))).forEach(function (t) {
      ctx.fillText(tickLabel(t, false), X(t), m.t + ph + 4);
      ctx.beginPath();
      ctx.moveTo(X(t), m.t + ph);
      ctx.lineTo(X(t), m.t + ph + 3);
      ctx.stroke();
    });
    ctx.fillText(spec.xlabel, m.l + pw / 2, m.t + ph + 20);
    ctx.save();
    ctx.translate(12, m.t + ph / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.textBaseline = "middle";
    ctx.fillText(spec.ylabel, 0, 0);
    ctx.restore();
    ctx.save();
    ctx.beginPath();
    ctx.rect(m.l, m.t, pw, ph);
    ctx.clip();
    (spec.hlines || []).forEach(function (h) {
      ctx.setLineDash([2, 3]);
      ctx.globalAlpha = 0.7;
      ctx.beginPath();
      ctx.moveTo(m.l, Y(ty(h.y)));
      ctx.lineTo(m.l + pw, Y(ty(h.y)));
      ctx.stroke();
      ctx.globalAlpha = 1;
      ctx.setLineDash([]);
      ctx.textAlign = "right";
      ctx.textBaseline = "bottom";
      ctx.fillText(h.label, m.l + pw - 4, Y(ty(h.y)) - 2);
    });
    spec.series.forEach(function (s) {
      ctx.strokeStyle = s.color;
      ctx.fillStyle = s.color;
      ctx.lineWidth = s.width || 2;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      var open = false;
      for (var i = 0; i < s.ys.length; i++) {
        var t = ty(s.ys[i]);
        if (!isFinite(t)) {
          open = false;
          continue;
        }
        if (open) ctx.lineTo(X(s.xs[i]), Y(t));
        else ctx.moveTo(X(s.xs[i]), Y(t));
        open = true;
      }
      ctx.stroke();
      ctx.setLineDash([]);
      if (s.points)
        for (var j = 0; j < s.ys.length; j++) {
          var u = ty(s.ys[j]);
          if (isFinite(u)) {
            ctx.beginPath();
            ctx.arc(X(s.xs[j]), Y(u), 2.2, 0, 2 * Math.PI);
            ctx.fill();
          }
        }
    });
    ctx.restore();
  }
  function histPlot(canvas, values, title, color) {
    var S = setupCanvas(canvas, 150),
      ctx = S.ctx,
      ink = inkColor(canvas),
      m = { l: 8, r: 8, t: 18, b: 30 };
    var pw = S.w - m.l - m.r,
      ph = S.h - m.t - m.b,
      lo = Infinity,
      hi = -Infinity,
      i,
      bad = 0;
    for (i = 0; i < values.length; i++) {
      var v = values[i];
      if (v - v !== 0) {
        bad++;
        continue;
      }
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    ctx.font = "12px system-ui, sans-serif";
    ctx.fillStyle = ink;
    ctx.textAlign = "center";
    ctx.textBaseline = "top";
    ctx.fillText(title, S.w / 2, 2);
    if (!isFinite(lo)) {
      ctx.fillText("no finite values (overflow)", S.w / 2, S.h / 2);
      return;
    }
    if (hi - lo < 1e-30 * Math.max(1, Math.abs(lo))) {
      lo -= 0.5 * Math.max(Math.abs(lo), 1e-30);
      hi += 0.5 * Math.max(Math.abs(hi), 1e-30);
    }
    var nb = 40,
      counts = new Array(nb).fill(0),
      mx = 0;
    for (i = 0; i < values.length; i++) {
      var w = values[i];
      if (w - w !== 0) continue;
      var k = Math.min(nb - 1, Math.floor(((w - lo) / (hi - lo)) * nb));
      counts[k]++;
    }
    counts.forEach(function (c) {
      mx = Math.max(mx, c);
    });
    ctx.fillStyle = color;
    counts.forEach(function (c, k) {
      var bh = (c / mx) * ph;
      ctx.fillRect(m.l + (k * pw) / nb, m.t + ph - bh, pw / nb - 0.5, bh);
    });
    ctx.fillStyle = ink;
    ctx.strokeStyle = ink;
    ctx.beginPath();
    ctx.moveTo(m.l, m.t + ph);
    ctx.lineTo(m.l + pw, m.t + ph);
    ctx.stroke();
    ctx.textAlign = "left";
    ctx.fillText(fmt(lo, 2), m.l, m.t + ph + 4);
    ctx.textAlign = "right";
    ctx.fillText(fmt(hi, 2), m.l + pw, m.t + ph + 4);
    if (bad) {
      ctx.textAlign = "center";
      ctx.fillText(bad + " overflowed", S.w / 2, m.t + ph + 16);
    }
  }
  function divergingColor(t) {
    // t in [-1, 1]: blue (ordered) .. white .. red (chaotic)
    t = Math.max(-1, Math.min(1, t));
    var a = Math.abs(t),
      c = t < 0 ? [33, 102, 172] : [178, 24, 43];
    return [255 + (c[0] - 255) * a, 255 + (c[1] - 255) * a, 255 + (c[2] - 255) * a].map(
      Math.round
    );
  }

  /* ---- one explorer ---- */
  var instances = [],
    counter = 0;
  function Explorer(root) {
    var cfg = {};
    try {
      cfg = JSON.parse(root.getAttribute("data-initcourse-explorer") || "{}") || {};
    } catch (e) {
      cfg = {};
    }
    var preset = PRESETS[cfg.preset] || PRESETS["default"];
    var views = (cfg.views || preset.views).filter(function (v) {
      return ALL_VIEWS.indexOf(v) >= 0;
    });
    var state = merge(merge(BASE, preset.state), cfg.state || {});
    var uid = "icx" + ++counter + "-",
      self = this,
      ctl = {},
      canvases = {},
      texts = {};
    var lastSim = null,
      lastPred = null,
      phase = null,
      training = null;
    var metrics = {
      mfDraws: 0,
      simDraws: 0,
      simRequests: 0,
      updates: [],
      computeMs: [],
      lastUpdateMs: null,
    };
    self.root = root;
    self.state = state;
    self.metrics = metrics;
    self.views = views;
    root.setAttribute("data-icx-mounted", "1");
    root.classList.add("icx", "tex2jax_ignore", "mathjax_ignore");
    root.textContent = "";

    function id(name) {
      return uid + name;
    }
    function field(label, input, output, hint) {
      var wrap = el("div", { class: "icx-field" }, [
        el("label", { for: input.id, text: label }),
        input,
      ]);
      if (output) wrap.appendChild(output);
      if (hint) wrap.appendChild(hint);
      return wrap;
    }
    function select(name, options, value) {
      var s = el("select", { id: id(name) });
      options.forEach(function (o) {
        var op = el("option", { value: o[0], text: o[1] });
        s.appendChild(op);
      });
      s.value = value;
      return s;
    }
    function range(name, min, max, step, value) {
      return el("input", {
        id: id(name),
        type: "range",
        min: String(min),
        max: String(max),
        step: String(step),
        value: String(value),
      });
    }
    function output(name, forId) {
      return el("output", { id: id(name), for: forId, "aria-live": "off" });
    }
    function section(key, title, intro) {
      var h = el("h3", { id: id(key + "-title"), text: title });
      var s = el(
        "section",
        {
          class: "icx-view icx-view-" + key,
          "data-view": key,
          "aria-labelledby": h.id,
        },
        [h]
      );
      if (intro) s.appendChild(el("p", { class: "icx-note", text: intro }));
      return s;
    }
    function canvas(key, label) {
      var c = el("canvas", {
        id: id(key + "-canvas"),
        role: "img",
        "aria-label": label,
      });
      canvases[key] = c;
      return el("div", { class: "icx-canvas" }, [c]);
    }
    function liveText(key) {
      var p = el("p", {
        class: "icx-summary",
        id: id(key + "-text"),
        "aria-live": "polite",
      });
      texts[key] = p;
      return p;
    }

    /* --- header and network controls --- */
    root.appendChild(
      el("p", {
        class: "icx-lead",
        text:
          "Choose an initialization and watch what a deep fully connected network " +
          "does to its signal at initialization: forward (activations) and backward " +
          "(gradients). Everything runs in your browser.",
      })
    );
    var needNet = views.some(function (v) {
      return v !== "training";
    });
    if (views.indexOf("fates") >= 0) {
      var fates = el("div", {
        class: "icx-fates",
        role: "group",
        "aria-label": "Four fates of a deep network: presets",
      });
      FATES.forEach(function (f, i) {
        var b = el(
          "button",
          { type: "button", "aria-pressed": "false", "data-fate": String(i) },
          [el("strong", { text: f[0] }), el("span", { text: f[1] })]
        );
        b.addEventListener("click", function () {
          var p = merge({}, f[2]);
          if (p.value === "fan_in") p.value = 1 / state.width;
          Object.keys(p).forEach(function (k) {
            state[k] = p[k];
          });
          writeControls();
          changed(performance.now());
        });
        fates.appendChild(b);
      });
      root.appendChild(fates);
    }
    if (needNet) {
      ctl.init = select(
        "init",
        UI_INITS.map(function (n) {
          return [n, INIT_LABELS[n]];
        }),
        state.initializer
      );
      ctl.param = range("param", 0, 1000, 1, 500);
      ctl.paramOut = output("param-out", ctl.param.id);
      ctl.paramField = field("σ", ctl.param, ctl.paramOut);
      ctl.act = select(
        "act",
        core.ACTIVATIONS.map(function (a) {
          return [a, ACT_LABELS[a]];
        }),
        state.activation
      );
      ctl.depth = range("depth", 1, 100, 1, state.depth);
      ctl.depthOut = output("depth-out", ctl.depth.id);
      ctl.width = range(
        "width",
        0,
        WIDTHS.length - 1,
        1,
        Math.max(0, WIDTHS.indexOf(state.width))
      );
      ctl.widthOut = output("width-out", ctl.width.id);
      ctl.batch = range(
        "batch",
        0,
        BATCHES.length - 1,
        1,
        Math.max(0, BATCHES.indexOf(state.batch))
      );
      ctl.batchOut = output("batch-out", ctl.batch.id);
      ctl.bias = range("bias", 0, 1, 0.01, state.bias_std);
      ctl.biasOut = output("bias-out", ctl.bias.id);
      ctl.seed = el("input", {
        id: id("seed"),
        type: "number",
        min: "0",
        max: "2147483647",
        step: "1",
        value: String(state.seed),
        inputmode: "numeric",
      });
      ctl.sw2 = el("p", { class: "icx-derived", id: id("sw2") });
      var fs = el("fieldset", { class: "icx-controls" }, [
        el("legend", { text: "Network at initialization" }),
        field("Initializer", ctl.init),
        ctl.paramField,
        field("Activation", ctl.act),
        field("Depth (layers)", ctl.depth, ctl.depthOut),
        field("Width (units per layer)", ctl.width, ctl.widthOut),
        field("Batch size", ctl.batch, ctl.batchOut),
        field("Bias std σ_b", ctl.bias, ctl.biasOut),
        field("Seed", ctl.seed),
        ctl.sw2,
      ]);
      root.appendChild(fs);
    }
    var grid = el("div", { class: "icx-views" });
    root.appendChild(grid);

    /* --- views --- */
    if (views.indexOf("signal") >= 0) {
      var sg = section(
        "signal",
        "Signal through the layers",
        "Standard deviation per layer, log scale. Solid: the simulated network; " +
          "dashed: the mean-field prediction for infinitely wide layers."
      );
      sg.appendChild(canvas("signal", "Per-layer standard deviations"));
      var legend = el("ul", { class: "icx-legend" });
      [
        ["preact", "pre-activations h"],
        ["act", "activations x = φ(h)"],
        ["grad", "gradients ∂L/∂h (δ_L ~ N(0, 1))"],
      ].forEach(function (p) {
        legend.appendChild(
          el("li", {}, [
            el("span", { class: "icx-swatch", style: "background:" + COLORS[p[0]] }),
            document.createTextNode(p[1]),
          ])
        );
      });
      legend.appendChild(
        el("li", {}, [
          el("span", { class: "icx-swatch icx-dashed" }),
          document.createTextNode("mean field (dashed)"),
        ])
      );
      sg.appendChild(legend);
      sg.appendChild(liveText("signal"));
      texts.timing = el("p", { class: "icx-note icx-timing", id: id("timing") });
      sg.appendChild(texts.timing);
      grid.appendChild(sg);
    }
    if (views.indexOf("histograms") >= 0) {
      var hs = section(
        "histograms",
        "Activation histograms",
        "Distribution of the activations x = φ(h) over the batch and the units of " +
          "three layers."
      );
      var row = el("div", { class: "icx-hist-controls" });
      ctl.hist = [0, 1, 2].map(function (i) {
        var inp = el("input", {
          id: id("hist" + i),
          type: "number",
          min: "1",
          max: "100",
          step: "1",
          value: String(state.hist[i]),
        });
        row.appendChild(field("Layer " + "ABC"[i], inp));
        return inp;
      });
      hs.appendChild(row);
      var hw = el("div", { class: "icx-hists" });
      [0, 1, 2].forEach(function (i) {
        var c = el("canvas", {
          id: id("hist-canvas" + i),
          role: "img",
          "aria-label": "histogram",
        });
        canvases["hist" + i] = c;
        hw.appendChild(el("div", { class: "icx-canvas" }, [c]));
      });
      hs.appendChild(hw);
      grid.appendChild(hs);
    }
    if (views.indexOf("saturation") >= 0) {
      var ss = section("saturation", "Saturated fraction", null);
      texts.rule = el("p", { class: "icx-note" });
      ss.appendChild(texts.rule);
      ss.appendChild(canvas("saturation", "Saturated fraction per layer"));
      ss.appendChild(liveText("saturation"));
      grid.appendChild(ss);
    }
    if (views.indexOf("phase") >= 0) {
      var ps = section(
        "phase",
        "Phase diagram (tanh)",
        "Colour: the slope χ₁ = σ_w² E[φ'(h)²] at the fixed point q*; gradients " +
          "shrink (blue, ordered) or grow (red, chaotic) by χ₁ per layer. Full colour" +
          " at χ₁ = ½ and 2; black line: the edge of chaos χ₁ = 1. Click, or focus " +
          "the diagram and use the arrow keys, to set tanh with weights N(0, σ_w²/n) " +
          "and biases N(0, σ_b²)."
      );
      ps.appendChild(canvas("phase", "Phase diagram"));
      canvases.phase.setAttribute("tabindex", "0");
      ctl.msw2 = range("msw2", PHASE_W[0], PHASE_W[1], 0.01, 1);
      ctl.msw2Out = output("msw2-out", ctl.msw2.id);
      ctl.msb2 = range("msb2", PHASE_B[0], PHASE_B[1], 0.005, 0);
      ctl.msb2Out = output("msb2-out", ctl.msb2.id);
      ps.appendChild(
        el("div", { class: "icx-phase-controls" }, [
          field("σ_w² = n Var[w]", ctl.msw2, ctl.msw2Out),
          field("σ_b²", ctl.msb2, ctl.msb2Out),
        ])
      );
      ps.appendChild(liveText("phase"));
      grid.appendChild(ps);
    }
    if (views.indexOf("training") >= 0) {
      var ts = section(
        "training",
        "Training race on the 8×8 digits",
        "Two networks that differ only in their initialization train side by side: " +
          "same data, same minibatches, SGD with momentum 0.9, batch 64, softmax " +
          "cross-entropy. Each draws its own weights; every layer, the output layer " +
          "included, uses the chosen initializer; biases start at 0."
      );
      var opts = TRAIN_INITS.map(function (t) {
        return [t[0], t[1]];
      });
      ctl.ta = select("train-a", opts, state.train.a);
      ctl.tb = select("train-b", opts, state.train.b);
      ctl.tact = select(
        "train-act",
        core.ACTIVATIONS.map(function (a) {
          return [a, ACT_LABELS[a]];
        }),
        state.train.activation
      );
      ctl.tdepth = range("train-depth", 1, 20, 1, state.train.depth);
      ctl.tdepthOut = output("train-depth-out", ctl.tdepth.id);
      ctl.twidth = range(
        "train-width",
        1,
        4,
        1,
        Math.max(1, WIDTHS.indexOf(state.train.width))
      );
      ctl.twidthOut = output("train-width-out", ctl.twidth.id);
      ctl.tlr = range("train-lr", -3, -0.5, 0.01, Math.log10(state.train.lr));
      ctl.tlrOut = output("train-lr-out", ctl.tlr.id);
      ctl.tsteps = range("train-steps", 50, 1000, 50, state.train.steps);
      ctl.tstepsOut = output("train-steps-out", ctl.tsteps.id);
      ctl.tseed = el("input", {
        id: id("train-seed"),
        type: "number",
        min: "0",
        max: "2147483647",
        step: "1",
        value: String(state.train.seed),
      });
      ctl.tstart = el("button", {
        type: "button",
        class: "icx-start",
        id: id("train-start"),
        text: "Train both",
      });
      ts.appendChild(
        el("div", { class: "icx-controls icx-train-controls" }, [
          field("Network A", ctl.ta),
          field("Network B", ctl.tb),
          field("Activation", ctl.tact),
          field("Hidden layers", ctl.tdepth, ctl.tdepthOut),
          field("Width", ctl.twidth, ctl.twidthOut),
          field("Learning rate", ctl.tlr, ctl.tlrOut),
          field("SGD steps", ctl.tsteps, ctl.tstepsOut),
          field("Seed", ctl.tseed),
          ctl.tstart,
        ])
      );
      ts.appendChild(canvas("training", "Training loss of both networks"));
      var tl = el("ul", { class: "icx-legend" });
      ["a", "b"].forEach(function (k) {
        tl.appendChild(
          el("li", {}, [
            el("span", { class: "icx-swatch", style: "background:" + COLORS[k] }),
            el("span", { id: id("legend-" + k) }),
          ])
        );
      });
      ts.appendChild(tl);
      ts.appendChild(liveText("training"));
      grid.appendChild(ts);
    }

    /* --- state <-> controls --- */
    function logSlider(lo, hi) {
      // slider 0..1000 <-> value in [lo, hi], log scale
      return {
        to: function (v) {
          return Math.round(
            ((Math.log10(v) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) *
              1000
          );
        },
        from: function (s) {
          return Math.pow(
            10,
            Math.log10(lo) + (s / 1000) * (Math.log10(hi) - Math.log10(lo))
          );
        },
      };
    }
    var PARAM = {
      random_normal: ["stddev", "Weight std σ", logSlider(1e-3, 10)],
      constant: ["value", "Constant value c", logSlider(1e-4, 1)],
      orthogonal: ["gain", "Gain g", logSlider(0.25, 4)],
    };
    function paramOf() {
      return PARAM[state.initializer];
    }
    function writeControls() {
      if (!ctl.init) return;
      ctl.init.value = state.initializer;
      ctl.act.value = state.activation;
      ctl.depth.value = state.depth;
      ctl.width.value = WIDTHS.indexOf(state.width);
      ctl.batch.value = BATCHES.indexOf(state.batch);
      ctl.bias.value = state.bias_std;
      ctl.seed.value = state.seed;
      var p = paramOf();
      ctl.paramField.hidden = !p;
      if (p) {
        ctl.paramField.querySelector("label").textContent = p[1];
        ctl.param.value = p[2].to(state[p[0]]);
      }
      writeOutputs();
    }
    function writeOutputs() {
      if (!ctl.init) return;
      var p = paramOf();
      if (p) {
        ctl.paramOut.textContent = fmt(state[p[0]], 3);
        ctl.param.setAttribute("aria-valuetext", fmt(state[p[0]], 3));
      }
      ctl.depthOut.textContent = state.depth;
      ctl.widthOut.textContent = state.width;
      ctl.width.setAttribute("aria-valuetext", String(state.width));
      ctl.batchOut.textContent = state.batch;
      ctl.batch.setAttribute("aria-valuetext", String(state.batch));
      ctl.biasOut.textContent = state.bias_std.toFixed(2);
      var sw2 = sigmaW2();
      ctl.sw2.textContent =
        sw2 === null
          ? "σ_w² = n Var[w]: not defined (the weights are not independent with mean 0)"
          : "σ_w² = n Var[w] = " +
            fmt(sw2, 3) +
            ", σ_b² = " +
            fmt(state.bias_std * state.bias_std, 3);
      if (ctl.fatesButtons) ctl.fatesButtons();
    }
    function readControls() {
      state.initializer = ctl.init.value;
      state.activation = ctl.act.value;
      state.depth = parseInt(ctl.depth.value, 10);
      state.width = WIDTHS[parseInt(ctl.width.value, 10)];
      state.batch = BATCHES[parseInt(ctl.batch.value, 10)];
      state.bias_std = parseFloat(ctl.bias.value);
      var s = parseInt(ctl.seed.value, 10);
      state.seed = isFinite(s) && s >= 0 ? s : 0;
      var p = paramOf();
      if (p) state[p[0]] = p[2].from(parseFloat(ctl.param.value));
    }
    function params() {
      var p = { stddev: state.stddev, gain: state.gain, value: state.value };
      if (state.initializer === "random_uniform") p.limit = 1 / Math.sqrt(state.width);
      return p;
    }
    function sigmaW2() {
      return core.sigmaW2(
        state.initializer,
        state.width,
        core.initParams(state.initializer, params())
      );
    }
    function simOptions() {
      var o = params();
      o.initializer = state.initializer;
      o.activation = state.activation;
      o.depth = state.depth;
      o.width = state.width;
      o.batch = state.batch;
      o.bias_std = state.bias_std;
      o.seed = state.seed;
      o.keep = ctl.hist ? histLayers() : [];
      return o;
    }
    function histLayers() {
      return ctl.hist.map(function (inp) {
        var v = parseInt(inp.value, 10);
        return Math.min(state.depth, Math.max(1, isFinite(v) ? v : 1));
      });
    }

    /* --- drawing --- */
    function drawSignal() {
      if (!canvases.signal) return;
      var series = [],
        L = state.depth,
        xs = [];
      for (var l = 1; l <= L; l++) xs.push(l);
      if (lastPred)
        ["preact", "act", "grad"].forEach(function (k) {
          series.push({
            xs: xs,
            ys: lastPred[k + "_std"],
            color: COLORS[k],
            dash: [6, 4],
            width: 1.5,
          });
        });
      if (lastSim) {
        var sx = [];
        for (var j = 1; j <= lastSim.preact_std.length; j++) sx.push(j);
        ["preact", "act", "grad"].forEach(function (k) {
          series.push({
            xs: sx,
            ys: lastSim[k + "_std"],
            color: COLORS[k],
            points: sx.length <= 40,
          });
        });
      }
      linePlot(canvases.signal, {
        xlabel: "layer",
        ylabel: "std (log scale)",
        x: [1, Math.max(L, lastSim ? lastSim.preact_std.length : 1)],
        logY: true,
        series: series,
      });
      describeSignal();
    }
    function describeSignal() {
      var parts = [];
      if (lastSim) {
        var r = lastSim,
          L = r.act_std.length;
        parts.push(
          "Simulated, layer " +
            L +
            ": pre-activation std " +
            fmt(r.preact_std[L - 1]) +
            ", activation std " +
            fmt(r.act_std[L - 1]) +
            "; gradient std at layer 1: " +
            fmt(r.grad_std[0]) +
            "."
        );
        var firstBad = r.nonfinite.findIndex(function (f) {
          return f > 0;
        });
        if (firstBad >= 0)
          parts.push(
            "The values overflow float32 from layer " + (firstBad + 1) + " on."
          );
        if (r.unit_spread[L - 1] === 0 && r.act_std[L - 1] > 0)
          parts.push(
            "All units of a layer compute the same value: the symmetry is never broken."
          );
        if (r.act_std[L - 1] === 0) parts.push("The signal is exactly zero.");
      }
      if (lastPred) {
        var P = lastPred,
          n = P.act_std.length;
        parts.push(
          "Mean field, layer " +
            n +
            ": pre-activation std " +
            fmt(P.preact_std[n - 1]) +
            ", activation std " +
            fmt(P.act_std[n - 1]) +
            "; gradient std at layer 1: " +
            fmt(P.grad_std[0]) +
            "."
        );
      } else
        parts.push(
          "No mean-field prediction: it assumes independent weights with mean 0."
        );
      texts.signal.textContent = parts.join(" ");
      canvases.signal.setAttribute(
        "aria-label",
        "Per-layer standard deviations, log scale. " + parts.join(" ")
      );
    }
    function drawHists() {
      if (!canvases.hist0 || !lastSim) return;
      var layers = Object.keys(lastSim.kept)
        .map(Number)
        .sort(function (a, b) {
          return a - b;
        });
      var wanted = histLayers();
      wanted.forEach(function (l, i) {
        var v = lastSim.kept[l] || lastSim.kept[layers[Math.min(i, layers.length - 1)]];
        if (!v) return;
        histPlot(canvases["hist" + i], v, "layer " + l, COLORS.act);
        canvases["hist" + i].setAttribute(
          "aria-label",
          "Histogram of the activations of layer " +
            l +
            " (std " +
            fmt(lastSim.act_std[l - 1]) +
            ")"
        );
      });
    }
    function drawSaturation() {
      if (!canvases.saturation || !lastSim) return;
      var r = lastSim,
        xs = r.saturated.map(function (_, i) {
          return i + 1;
        });
      linePlot(canvases.saturation, {
        xlabel: "layer",
        ylabel: "fraction saturated",
        x: [1, Math.max(2, xs.length)],
        y: [0, 1],
        series: [
          { xs: xs, ys: r.saturated, color: COLORS.act, points: xs.length <= 40 },
        ],
      });
      var mean =
        r.saturated.reduce(function (a, b) {
          return a + b;
        }, 0) / r.saturated.length;
      var t =
        "Saturated: " +
        fmt(100 * r.saturated[0], 3) +
        " % of layer 1, " +
        fmt(100 * r.saturated[r.saturated.length - 1], 3) +
        " % of layer " +
        r.saturated.length +
        " (mean " +
        fmt(100 * mean, 3) +
        " %).";
      texts.saturation.textContent = t;
      canvases.saturation.setAttribute(
        "aria-label",
        "Saturated fraction per layer. " + t
      );
    }
    function updateRule() {
      if (texts.rule)
        texts.rule.textContent =
          "A unit counts as saturated when it passes almost no gradient back; rule " +
          "for " +
          ACT_LABELS[state.activation] +
          ": " +
          core.SATURATION_RULES[state.activation] +
          " (as in initcourse.propagation).";
    }
    function drawPhase() {
      if (!canvases.phase) return;
      var S = setupCanvas(canvases.phase),
        ctx = S.ctx,
        ink = inkColor(canvases.phase);
      var m = { l: 52, r: 10, t: 10, b: 40 },
        pw = S.w - m.l - m.r,
        ph = S.h - m.t - m.b;
      var X = function (w) {
        return m.l + ((w - PHASE_W[0]) / (PHASE_W[1] - PHASE_W[0])) * pw;
      };
      var Y = function (b) {
        return m.t + (1 - (b - PHASE_B[0]) / (PHASE_B[1] - PHASE_B[0])) * ph;
      };
      ctx.font = "12px system-ui, sans-serif";
      ctx.fillStyle = ink;
      ctx.strokeStyle = ink;
      if (phase) {
        var img = ctx.createImageData(PHASE_NW, PHASE_NB);
        for (var i = 0; i < PHASE_NB; i++)
          for (var j = 0; j < PHASE_NW; j++) {
            var c = divergingColor(
                Math.log(phase.chi1[i * PHASE_NW + j]) / Math.log(2)
              ),
              o = ((PHASE_NB - 1 - i) * PHASE_NW + j) * 4;
            img.data[o] = c[0];
            img.data[o + 1] = c[1];
            img.data[o + 2] = c[2];
            img.data[o + 3] = 255;
          }
        var off = document.createElement("canvas");
        off.width = PHASE_NW;
        off.height = PHASE_NB;
        off.getContext("2d").putImageData(img, 0, 0);
        ctx.imageSmoothingEnabled = true;
        ctx.drawImage(off, m.l, m.t, pw, ph);
        ctx.strokeStyle = "#000";
        ctx.lineWidth = 2;
        ctx.beginPath();
        phase.critical.forEach(function (w, k) {
          var b = phase.sb2s[k];
          if (k) ctx.lineTo(X(w), Y(b));
          else ctx.moveTo(X(w), Y(b));
        });
        ctx.stroke();
        ctx.lineWidth = 1;
        ctx.fillStyle = "#000";
        ctx.textAlign = "left";
        ctx.textBaseline = "top";
        ctx.fillText("ordered", m.l + 6, m.t + 4);
        ctx.textAlign = "right";
        ctx.fillText("chaotic", m.l + pw - 6, m.t + 4);
      } else {
        ctx.textAlign = "center";
        ctx.fillText("computing the phase diagram…", m.l + pw / 2, m.t + ph / 2);
      }
      ctx.strokeStyle = ink;
      ctx.fillStyle = ink;
      ctx.strokeRect(m.l, m.t, pw, ph);
      ctx.textAlign = "center";
      ctx.textBaseline = "top";
      niceTicks(PHASE_W[0], PHASE_W[1], 7).forEach(function (t) {
        ctx.fillText(tickLabel(t), X(t), m.t + ph + 4);
      });
      ctx.fillText("σ_w² = n Var[w]", m.l + pw / 2, m.t + ph + 20);
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      niceTicks(PHASE_B[0], PHASE_B[1], 4).forEach(function (t) {
        ctx.fillText(tickLabel(t), m.l - 4, Y(t));
      });
      ctx.save();
      ctx.translate(12, m.t + ph / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = "center";
      ctx.fillText("σ_b²", 0, 0);
      ctx.restore();
      var sw2 = sigmaW2(),
        sb2 = state.bias_std * state.bias_std,
        text;
      if (sw2 !== null && sw2 > 0) {
        var cx = Math.min(PHASE_W[1], Math.max(PHASE_W[0], sw2)),
          cy = Math.min(PHASE_B[1], Math.max(PHASE_B[0], sb2));
        var inside = cx === sw2 && cy === sb2;
        ctx.lineWidth = 2;
        ctx.strokeStyle = "#000";
        ctx.fillStyle = inside ? "#FFD700" : "#fff";
        ctx.beginPath();
        ctx.arc(X(cx), Y(cy), 6, 0, 2 * Math.PI);
        ctx.fill();
        ctx.stroke();
        ctx.lineWidth = 1;
        var chi = core.chi1(sw2, sb2, "tanh"),
          q = core.fixedPointQ(sw2, sb2, "tanh");
        text =
          "Current point σ_w² = " +
          fmt(sw2, 3) +
          ", σ_b² = " +
          fmt(sb2, 3) +
          (inside ? "" : " (outside the chart; marker at its edge)") +
          ": for tanh, q* = " +
          fmt(q, 3) +
          " and χ₁ = " +
          fmt(chi, 3) +
          ", so gradients " +
          (Math.abs(chi - 1) < 0.02
            ? "keep their scale (edge of chaos)"
            : chi < 1
              ? "shrink (ordered phase)"
              : "grow (chaotic phase)") +
          " going back through the layers." +
          (state.activation !== "tanh"
            ? " The network above uses " + ACT_LABELS[state.activation] + ", not tanh."
            : "");
      } else
        text =
          "The current initializer has no σ_w² (zeros, or weights that are not " +
          "independent with mean 0).";
      texts.phase.textContent = text;
      canvases.phase.setAttribute(
        "aria-label",
        "Phase diagram of tanh networks. " + text + " Arrow keys move the point."
      );
      if (ctl.msw2) {
        if (sw2 !== null && sw2 > 0) {
          ctl.msw2.value = Math.min(PHASE_W[1], Math.max(PHASE_W[0], sw2));
          ctl.msw2Out.textContent = fmt(sw2, 3);
        } else ctl.msw2Out.textContent = "–";
        ctl.msb2.value = Math.min(PHASE_B[1], sb2);
        ctl.msb2Out.textContent = fmt(sb2, 3);
      }
    }
    function setMeanField(sw2, sb2) {
      // tanh, weights N(0, sw2 / n), biases N(0, sb2)
      state.activation = "tanh";
      state.initializer = "random_normal";
      state.stddev = Math.sqrt(sw2 / state.width);
      state.bias_std = Math.min(1, Math.sqrt(sb2));
      writeControls();
      changed(performance.now());
    }
    self.setMeanField = setMeanField;

    /* --- updates: mean field at once, simulation in the worker --- */
    var runner = needNet
      ? new LatestRunner(function (r, meta) {
          lastSim = r;
          drawSignal();
          drawHists();
          drawSaturation();
          metrics.simDraws++;
          var ms = performance.now() - meta.t;
          metrics.updates.push(ms);
          metrics.computeMs.push(r.ms);
          metrics.lastUpdateMs = ms;
          metrics.lastOptions = meta.opts;
          if (texts.timing)
            texts.timing.textContent =
              "Last update: " +
              Math.round(ms) +
              " ms from the control change to the redrawn plots (simulation " +
              Math.round(r.ms) +
              " ms in a " +
              runner.kind() +
              ", " +
              r.kernels +
              ").";
        })
      : null;
    function theory() {
      var sw2 = sigmaW2();
      lastPred =
        sw2 === null
          ? null
          : core.predict(
              sw2,
              state.bias_std * state.bias_std,
              state.activation,
              state.depth,
              1
            );
      metrics.mfDraws++;
      metrics.lastPrediction = lastPred;
      drawSignal();
      drawPhase();
      updateRule();
    }
    function changed(t) {
      writeOutputs();
      theory();
      if (runner) {
        var o = simOptions();
        metrics.simRequests++;
        runner.request(o, { t: t, opts: o });
      }
    }
    self.changed = changed;
    if (needNet) {
      var onInput = function (ev) {
        var t = performance.now();
        readControls();
        if (ev.target === ctl.init) writeControls();
        changed(t);
      };
      [
        ctl.init,
        ctl.act,
        ctl.param,
        ctl.depth,
        ctl.width,
        ctl.batch,
        ctl.bias,
        ctl.seed,
      ].forEach(function (c) {
        c.addEventListener(c.tagName === "SELECT" ? "change" : "input", onInput);
      });
      ctl.init.addEventListener("change", function () {
        if (state.initializer === "constant") {
          state.value = 1 / state.width;
          writeControls();
          changed(performance.now());
        }
      });
      (ctl.hist || []).forEach(function (c) {
        c.addEventListener("input", function () {
          changed(performance.now());
        });
      });
      if (views.indexOf("fates") >= 0) {
        var buttons = root.querySelectorAll(".icx-fates button");
        ctl.fatesButtons = function () {
          FATES.forEach(function (f, i) {
            var p = f[2],
              on =
                state.initializer === p.initializer &&
                state.activation === p.activation &&
                (p.stddev === undefined || Math.abs(state.stddev - p.stddev) < 1e-9) &&
                (p.value === undefined ||
                  Math.abs(state.value - 1 / state.width) < 1e-12);
            buttons[i].setAttribute("aria-pressed", on ? "true" : "false");
          });
        };
      }
    }
    if (canvases.phase) {
      var phaseAt = function (ev) {
        var r = canvases.phase.getBoundingClientRect(),
          m = { l: 52, r: 10, t: 10, b: 40 };
        var fx = (ev.clientX - r.left - m.l) / (r.width - m.l - m.r),
          fy = (ev.clientY - r.top - m.t) / (r.height - m.t - m.b);
        if (fx < 0 || fx > 1 || fy < 0 || fy > 1) return;
        setMeanField(
          PHASE_W[0] + fx * (PHASE_W[1] - PHASE_W[0]),
          PHASE_B[0] + (1 - fy) * (PHASE_B[1] - PHASE_B[0])
        );
      };
      canvases.phase.addEventListener("click", phaseAt);
      canvases.phase.addEventListener("keydown", function (ev) {
        var sw2 = sigmaW2() || 1,
          sb2 = state.bias_std * state.bias_std,
          dw = { ArrowLeft: -0.05, ArrowRight: 0.05 }[ev.key],
          db = { ArrowDown: -0.01, ArrowUp: 0.01 }[ev.key];
        if (dw === undefined && db === undefined) return;
        ev.preventDefault();
        setMeanField(
          Math.min(PHASE_W[1], Math.max(PHASE_W[0], sw2 + (dw || 0))),
          Math.min(PHASE_B[1], Math.max(0, sb2 + (db || 0)))
        );
      });
      ctl.msw2.addEventListener("input", function () {
        setMeanField(parseFloat(ctl.msw2.value), state.bias_std * state.bias_std);
      });
      ctl.msb2.addEventListener("input", function () {
        setMeanField(sigmaW2() > 0 ? sigmaW2() : 1, parseFloat(ctl.msb2.value));
      });
      var sw2s = [],
        sb2s = [],
        i;
      for (i = 0; i < PHASE_NW; i++)
        sw2s.push(PHASE_W[0] + (i * (PHASE_W[1] - PHASE_W[0])) / (PHASE_NW - 1));
      for (i = 0; i < PHASE_NB; i++)
        sb2s.push(PHASE_B[0] + (i * (PHASE_B[1] - PHASE_B[0])) / (PHASE_NB - 1));
      aux({ kind: "phase", sw2s: sw2s, sb2s: sb2s }, function (m) {
        phase = { chi1: m.result.chi1, critical: m.result.critical, sb2s: sb2s };
        metrics.phaseReady = true;
        drawPhase();
      });
    }

    /* --- training --- */
    function trainOutputs() {
      ctl.tdepthOut.textContent = ctl.tdepth.value;
      var w = WIDTHS[parseInt(ctl.twidth.value, 10)];
      ctl.twidthOut.textContent = w;
      ctl.twidth.setAttribute("aria-valuetext", String(w));
      var lr = Math.pow(10, parseFloat(ctl.tlr.value));
      ctl.tlrOut.textContent = fmt(lr, 2);
      ctl.tlr.setAttribute("aria-valuetext", fmt(lr, 2));
      ctl.tstepsOut.textContent = ctl.tsteps.value;
      root.querySelector("#" + id("legend-a")).textContent =
        "A: " + ctl.ta.options[ctl.ta.selectedIndex].text;
      root.querySelector("#" + id("legend-b")).textContent =
        "B: " + ctl.tb.options[ctl.tb.selectedIndex].text;
    }
    function drawTraining() {
      if (!canvases.training) return;
      var t = training,
        series = [];
      if (t)
        ["a", "b"].forEach(function (k, i) {
          series.push({
            xs: t.steps,
            ys: t.curves[i],
            color: COLORS[k],
            points: t.steps.length <= 60,
          });
        });
      linePlot(canvases.training, {
        xlabel: "SGD step",
        ylabel: "training loss (log scale)",
        logY: true,
        x: [0, t ? t.total : parseInt(ctl.tsteps.value, 10)],
        series: series,
        hlines: [{ y: Math.log(10), label: "chance: ln 10" }],
      });
    }
    function describeTraining() {
      var t = training,
        names = [ctl.ta, ctl.tb].map(function (s) {
          return s.options[s.selectedIndex].text;
        }),
        parts = [];
      if (!t) {
        texts.training.textContent = "Press “Train both” to start.";
        return;
      }
      [0, 1].forEach(function (i) {
        var c = t.curves[i],
          last = c.length ? c[c.length - 1] : NaN;
        var s =
          "ABCD"[i] +
          " (" +
          names[i] +
          "): loss " +
          fmt(c[0], 3) +
          " → " +
          fmt(last, 3);
        if (t.accuracy)
          s +=
            ", test accuracy " +
            (isFinite(t.accuracy[i]) ? fmt(t.accuracy[i], 3) : "– (diverged)");
        parts.push(s);
      });
      texts.training.textContent =
        (t.done
          ? "Done after " + t.total + " steps. "
          : "Step " + (t.steps[t.steps.length - 1] || 0) + " of " + t.total + ". ") +
        parts.join("; ") +
        ".";
      canvases.training.setAttribute(
        "aria-label",
        "Training loss of both networks. " + texts.training.textContent
      );
    }
    function startTraining() {
      if (training && !training.done) {
        // stop
        if (training.id) auxWorker.postMessage({ kind: "stop", id: training.id });
        training.done = true;
        training.stopped = true;
        ctl.tstart.textContent = "Train both";
        describeTraining();
        return;
      }
      var spec = function (key) {
        return TRAIN_INITS.filter(function (t) {
          return t[0] === key;
        })[0][2];
      };
      var opts = {
        arms: [spec(ctl.ta.value), spec(ctl.tb.value)],
        activation: ctl.tact.value,
        depth: parseInt(ctl.tdepth.value, 10),
        width: WIDTHS[parseInt(ctl.twidth.value, 10)],
        lr: Math.pow(10, parseFloat(ctl.tlr.value)),
        momentum: 0.9,
        batch: 64,
        steps: parseInt(ctl.tsteps.value, 10),
        seed: Math.max(0, parseInt(ctl.tseed.value, 10) || 0),
      };
      var every = Math.max(5, Math.round(opts.steps / 60));
      training = {
        steps: [0],
        curves: [[], []],
        total: opts.steps,
        done: false,
        accuracy: null,
        opts: opts,
        t0: performance.now(),
      };
      self.training = training;
      ctl.tstart.textContent = "Stop";
      loadDigits().then(
        function (d) {
          var mine = training;
          // the loss before any step, on the first minibatch, is the first point of
          // each curve
          mine.id = aux(
            {
              kind: "train",
              opts: opts,
              meta: d.meta,
              bytes: d.bytes.slice(0),
              every: every,
            },
            function (m) {
              if (mine.stopped) return;
              if (m.kind === "progress") {
                if (mine.curves[0].length === 0) mine.steps = [];
                mine.steps.push(m.step);
                mine.curves[0].push(m.loss[0]);
                mine.curves[1].push(m.loss[1]);
              } else if (m.kind === "done") {
                mine.done = true;
                mine.accuracy = m.accuracy;
                mine.ms = performance.now() - mine.t0;
                ctl.tstart.textContent = "Train both";
              }
              drawTraining();
              describeTraining();
            }
          );
        },
        function (err) {
          training.done = true;
          training.error = String(err.message || err);
          ctl.tstart.textContent = "Train both";
          texts.training.textContent = "Cannot train: " + training.error + ".";
        }
      );
      drawTraining();
      describeTraining();
    }
    self.startTraining = startTraining;
    if (ctl.tstart) {
      [ctl.ta, ctl.tb, ctl.tact, ctl.tdepth, ctl.twidth, ctl.tlr, ctl.tsteps].forEach(
        function (c) {
          c.addEventListener("input", trainOutputs);
          c.addEventListener("change", trainOutputs);
        }
      );
      ctl.tstart.addEventListener("click", startTraining);
      trainOutputs();
      drawTraining();
      describeTraining();
    }

    /* --- first draw, and redraw on resize --- */
    writeControls();
    if (needNet) changed(performance.now());
    var redraw = function () {
      drawSignal();
      drawHists();
      drawSaturation();
      drawPhase();
      drawTraining();
    };
    // the axes and labels take the text colour: redraw when the page switches
    // light/dark
    var themeQueued = false,
      themeRedraw = function () {
        if (themeQueued) return;
        themeQueued = true;
        requestAnimationFrame(function () {
          themeQueued = false;
          metrics.themeRedraws = (metrics.themeRedraws || 0) + 1;
          redraw();
        });
      };
    if (typeof MutationObserver === "function")
      new MutationObserver(themeRedraw).observe(document.documentElement, {
        attributes: true,
        attributeFilter: ["data-theme", "data-mode", "class"],
      });
    if (global.matchMedia) {
      var dark = global.matchMedia("(prefers-color-scheme: dark)");
      if (dark.addEventListener) dark.addEventListener("change", themeRedraw);
    }
    if (typeof ResizeObserver === "function") {
      var lastW = root.clientWidth,
        pendingResize = false;
      new ResizeObserver(function () {
        if (root.clientWidth === lastW || pendingResize) return;
        pendingResize = true;
        requestAnimationFrame(function () {
          pendingResize = false;
          lastW = root.clientWidth;
          redraw();
        });
      }).observe(root);
    }
  }

  function mountAll() {
    var nodes = document.querySelectorAll(
      "[data-initcourse-explorer]:not([data-icx-mounted])"
    );
    for (var i = 0; i < nodes.length; i++) {
      try {
        instances.push(new Explorer(nodes[i]));
      } catch (e) {
        nodes[i].textContent = "The explorer failed to start: " + e.message;
        throw e;
      }
    }
  }
  function hookSimulate(o) {
    var r = core.simulate(o);
    return {
      preact_std: r.preact_std.slice(),
      act_std: r.act_std.slice(),
      grad_std: r.grad_std.slice(),
    };
  }
  function hookTrajectory(o) {
    if (o === null || typeof o !== "object")
      throw new Error(
        "options: expected an object {q0, depth, sigma_w2, sigma_b2, activation}"
      );
    return core.varianceTrajectory(
      o.q0,
      o.depth,
      o.sigma_w2,
      o.sigma_b2,
      o.activation === undefined ? "tanh" : o.activation
    );
  }
  global.initcourseExplorer = {
    version: VERSION,
    simulate: hookSimulate,
    varianceTrajectory: hookTrajectory,
    instances: instances,
    mountAll: mountAll,
    core: core,
    kernels: core.kernels,
    presets: Object.keys(PRESETS),
  };
  if (document.readyState === "loading")
    document.addEventListener("DOMContentLoaded", mountAll);
  else mountAll();
})(typeof window !== "undefined" ? window : this);
