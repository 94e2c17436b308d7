"use strict";
// The tconv explorer: a transposed convolution computed and drawn in the browser.
// Model (tconv/shape.py): per axis, input element j and kernel tap t meet at position s*j + d*t of the
// full output, of size (i - 1)*s + d*(k - 1) + 1; the output is the window [b, b + o) of it.
(function () {
  const CONFIG = JSON.parse(document.getElementById("tconv-config").textContent);
  const $ = (id) => document.getElementById(id);
  const AXES = ["0", "1"];

  // ------------------------------------------------------------------------------------------
  // The window model: a port of tconv.geometry.conv_transpose_geometry (PyTorch-style padding,
  // "same" and "valid"), with the same rules and error wording.

  function geometry(cfg) {
    const nd = cfg.ndim;
    const g = { nd: nd, i: [], k: [], s: [], d: [], op: [], ke: [], full: [], b: [], o: [], e: [] };
    const names = { i: "input_size", k: "kernel_size", s: "stride", d: "dilation" };
    for (const key of ["i", "k", "s", "d"]) {
      for (let a = 0; a < nd; a++) {
        const v = cfg[key][a];
        if (!Number.isInteger(v) || v < 1) return { error: `${names[key]} must be positive in every axis, got ${v}` };
        g[key].push(v);
      }
    }
    for (let a = 0; a < nd; a++) {
      const op = cfg.op[a];
      if (!Number.isInteger(op) || op < 0) return { error: `output_padding must be non-negative in every axis, got ${op}` };
      if (op >= Math.max(g.s[a], g.d[a])) {
        return { error: `output_padding must be smaller than stride or dilation in every axis, got output_padding=${op}, stride=${g.s[a]}, dilation=${g.d[a]}` };
      }
      g.op.push(op);
      g.ke.push(g.d[a] * (g.k[a] - 1) + 1);
      g.full.push((g.i[a] - 1) * g.s[a] + g.ke[a]);
    }
    if (cfg.pmode === "same" && g.op.some((v) => v !== 0)) {
      return { error: "output_padding must be 0 with padding='same' (its output size is input*stride)" };
    }
    for (let a = 0; a < nd; a++) {
      if (cfg.pmode === "same") {
        g.o.push(g.i[a] * g.s[a]);
        g.b.push(Math.floor(Math.max(g.full[a] - g.o[a], 0) / 2));
      } else {
        const p = cfg.pmode === "valid" ? 0 : cfg.p[a];
        if (!Number.isInteger(p) || p < 0) return { error: `padding must be non-negative, got ${p}` };
        g.b.push(p);
        g.o.push(g.full[a] - 2 * p + g.op[a]);
      }
      if (g.o[a] < 1) {
        return { error: `padding=${cfg.p[a]} leaves no output: the full output has size ${g.full[a]}, and the cropped output would have size ${g.o[a]}` };
      }
      g.e.push(g.full[a] - g.b[a] - g.o[a]);
    }
    return g;
  }

  // ------------------------------------------------------------------------------------------
  // Arrays: flat Float64Array + shape (1 or 2 axes), row-major.

  const prod = (shape) => shape.reduce((p, v) => p * v, 1);
  function unravel(n, shape) { return shape.length === 1 ? [n] : [Math.floor(n / shape[1]), n % shape[1]]; }
  function ravel(idx, shape) { return shape.length === 1 ? idx[0] : idx[0] * shape[1] + idx[1]; }
  function* indices(shape) { for (let n = 0; n < prod(shape); n++) yield unravel(n, shape); }

  function mulberry32(seed) {
    let a = seed >>> 0;
    return function () {
      a = (a + 0x6D2B79F5) >>> 0;
      let t = a;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  function makeValues(shape, mode, seed, salt) {
    const n = prod(shape);
    const given = CONFIG.given ? CONFIG.given[salt] : null;  // values from the command line
    if (mode === "given" && given && given.shape.join("x") === shape.join("x")) return Float64Array.from(given.values);
    const out = new Float64Array(n);
    const rand = mulberry32(seed * 2 + salt);
    for (let q = 0; q < n; q++) {
      if (mode === "ones") out[q] = 1;
      else if (mode === "random") out[q] = Math.floor(rand() * 19) - 9;
      else out[q] = q + 1;
    }
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // The operator and its explanations

  function position(g, j, t) { return j.map((jj, a) => g.s[a] * jj + g.d[a] * t[a]); }  // in the full output

  function convTranspose(x, w, g) {  // scatter into the window
    const y = new Float64Array(prod(g.o));
    for (const j of indices(g.i)) {
      for (const t of indices(g.k)) {
        const o = position(g, j, t).map((f, a) => f - g.b[a]);
        if (o.every((v, a) => v >= 0 && v < g.o[a])) y[ravel(o, g.o)] += x[ravel(j, g.i)] * w[ravel(t, g.k)];
      }
    }
    return y;
  }

  function contributions(g, o) {  // every (j, t) with s*j + d*t - b == o
    const out = [];
    for (const t of indices(g.k)) {
      const j = [];
      let ok = true;
      for (let a = 0; a < g.nd; a++) {
        const rest = o[a] + g.b[a] - g.d[a] * t[a];
        if (rest % g.s[a] !== 0 || rest < 0 || rest / g.s[a] >= g.i[a]) { ok = false; break; }
        j.push(rest / g.s[a]);
      }
      if (ok) out.push({ j: j, t: t });
    }
    return out;
  }

  function stampOf(g, j) {  // the output positions input j reaches, with their taps
    const out = [];
    for (const t of indices(g.k)) {
      const o = position(g, j, t).map((f, a) => f - g.b[a]);
      if (o.every((v, a) => v >= 0 && v < g.o[a])) out.push({ o: o, t: t });
    }
    return out;
  }

  function phaseTaps(k, s, d) {
    const counts = new Array(s).fill(0);
    for (let t = 0; t < k; t++) counts[(d * t) % s] += 1;
    return counts;
  }

  function overlap(g) {
    const counts = new Float64Array(prod(g.o));
    for (const o of indices(g.o)) counts[ravel(o, g.o)] = contributions(g, o).length;
    const taps = g.k.map((k, a) => phaseTaps(k, g.s[a], g.d[a]));
    const phaseShape = g.s.slice();
    const phase = new Float64Array(prod(phaseShape));
    for (const r of indices(phaseShape)) phase[ravel(r, phaseShape)] = r.reduce((p, v, a) => p * taps[a][v], 1);
    const lo = Math.min(...phase), hi = Math.max(...phase);
    const verdict = lo === 0 ? "holes" : lo === hi ? "even" : "checkerboard";
    return { counts: counts, taps: taps, phase: phase, phaseShape: phaseShape, uniformity: lo / hi, verdict: verdict };
  }

  // ------------------------------------------------------------------------------------------
  // INTERIM: the same configuration spelled in other frameworks. This is the JavaScript twin of
  // tconv/_spellings.py (the browser test checks that both give the same strings); once
  // tconv.translate exists, both should come from it.

  function frameworkSpellings(g, cIn, cOut) {
    const nd = g.nd;
    const t = (v) => "(" + v.join(", ") + (v.length === 1 ? "," : "") + ")";
    const l = (v) => "[" + v.join(", ") + "]";
    const pairs = (v) => "(" + v.map(t).join(", ") + (v.length === 1 ? "," : "") + ")";
    const slices = g.b.map((b, a) => `${b}:${b + g.o[a]}`).join(", ");
    const n = `${nd}d`, N = `${nd}D`;
    const perm = t([...Array(nd).keys()].map((a) => a + 2).concat([1, 0]));
    const out = {};
    const op = g.o.map((o, a) => o - g.full[a] + 2 * g.b[a]);
    if (g.b.every((b) => b >= 0) && op.every((v, a) => v >= 0 && v < Math.max(g.s[a], g.d[a]))) {
      out.pytorch = { code: `torch.nn.functional.conv_transpose${n}(x, w, stride=${t(g.s)}, padding=${t(g.b)}, output_padding=${t(op)}, dilation=${t(g.d)})`, exact: true, note: "" };
    } else {
      const extra = g.b.map((b, a) => Math.max(0, b + g.o[a] - g.full[a]));
      out.pytorch = {
        code: `torch.nn.functional.conv_transpose${n}(x, w, stride=${t(g.s)}, output_padding=${t(extra)}, dilation=${t(g.d)})[..., ${slices}]`,
        exact: false,
        note: "PyTorch crops symmetrically (padding) and extends only at the end (output_padding): this window needs a slice of its output.",
      };
    }
    const valid = g.b.every((b, a) => b === 0 && g.o[a] - g.full[a] >= 0 && g.o[a] - g.full[a] < g.s[a]);
    const same = g.b.every((b, a) => (g.i[a] - 1) * g.s[a] + 1 <= g.o[a] && g.o[a] <= g.i[a] * g.s[a] && b === Math.floor(Math.max(g.full[a] - g.o[a], 0) / 2));
    const explicit = nd === 2 && g.b.every((b, a) => b >= 0 && Math.floor((g.o[a] + b + Math.max(g.e[a], 0) - g.ke[a]) / g.s[a]) + 1 === g.i[a]);
    let note = Math.max(...g.d) > 1 ? "TensorFlow's CPU kernels reject dilation > 1." : "";
    const shape = l([1, ...g.o, cOut]);
    const head = `tf.nn.conv${n}_transpose(x, tf.transpose(w, ${perm}), output_shape=`;
    const tail = (padding) => `, strides=${t(g.s)}, ${padding}, dilations=${t(g.d)})`;
    let code, exact = true;
    if (valid) code = head + shape + tail("padding='VALID'");
    else if (same) code = head + shape + tail("padding='SAME'");
    else if (explicit) {
      const pads = [[0, 0], ...g.b.map((b, a) => [b, Math.max(g.e[a], 0)]), [0, 0]];
      code = head + shape + tail(`padding=${l(pads.map(l))}`);
    } else {
      const extra = g.b.map((b, a) => Math.max(0, b + g.o[a] - g.full[a]));
      const reach = extra.map((x, a) => Math.min(x, g.s[a] - 1));
      const size = g.full.map((f, a) => f + reach[a]);
      code = head + l([1, ...size, cOut]) + tail("padding='VALID'");
      if (extra.some((x, a) => x > reach[a])) {
        code = `tf.pad(${code}, ${l([[0, 0], ...extra.map((x, a) => [0, x - reach[a]]), [0, 0]].map(l))})`;
      }
      code += `[:, ${slices}, :]`;
      exact = false;
      note = ("This window is neither VALID nor SAME" + (nd !== 2 ? " nor explicit (2-d only)" : "") + ": slice the VALID output. " + note).trim();
    }
    out.tensorflow = { code: code, exact: exact, note: note };
    // Keras: 'valid' + output_padding, 'same', 'same' with an explicit output_padding (Keras' size rule, as
    // tconv.translate uses it), or valid + cropping; with strides > 1 and dilation > 1 (which Keras forbids) the
    // dilation is written into the kernel. Mirrors _spellings.py (the browser test compares them).
    const notes = [];
    const dilatedKernel = Math.max(...g.s) > 1 && Math.max(...g.d) > 1;
    const kKeras = dilatedKernel ? g.ke : g.k;
    const dKeras = dilatedKernel ? g.ke.map(() => 1) : g.d;
    if (dilatedKernel) notes.push("Keras forbids strides > 1 with dilation_rate > 1: write the dilation into the kernel (zeros between taps) and use dilation 1.");
    const ks = `kernel_size=${t(kKeras)}, strides=${t(g.s)}`;
    const sameOp = [];
    for (let a = 0; a < nd; a++) {
      const ke = g.ke[a], st = g.s[a];
      let found = -1;
      for (let op = 0; op < st && found < 0; op++) {
        if (ke % 2 === 0 && op === 0) continue; // (i-1)*s: rejected by Keras' TensorFlow backend
        const pad = ke + (ke % 2) - 2 + op;
        const left = Math.min(Math.ceil(pad / 2), ke - 1);
        if ((g.i[a] - 1) * st + (ke % 2) + op === g.o[a] && ke - 1 - left === g.b[a]) found = op;
      }
      sameOp.push(found);
    }
    if (valid) {
      code = `keras.layers.Conv${N}Transpose(${cOut}, ${ks}, padding='valid', output_padding=${t(g.o.map((o, a) => o - g.full[a]))}, dilation_rate=${t(dKeras)}, use_bias=False)`;
      exact = true;
    } else if (same && g.o.every((o, a) => o === g.i[a] * g.s[a])) {
      code = `keras.layers.Conv${N}Transpose(${cOut}, ${ks}, padding='same', dilation_rate=${t(dKeras)}, use_bias=False)`;
      exact = true;
    } else if (sameOp.every((op) => op >= 0)) {
      code = `keras.layers.Conv${N}Transpose(${cOut}, ${ks}, padding='same', output_padding=${t(sameOp)}, dilation_rate=${t(dKeras)}, use_bias=False)`;
      exact = true;
    } else {
      const extra = g.b.map((b, a) => Math.max(0, b + g.o[a] - g.full[a]));
      const reach = extra.map((x, a) => Math.min(x, g.s[a] - 1));
      const crop = g.b.map((b, a) => [b, g.full[a] + extra[a] - b - g.o[a]]);
      const pp = (v) => (nd === 1 ? t(v[0]) : "(" + v.map(t).join(", ") + ")");
      code = `keras.layers.Conv${N}Transpose(${cOut}, ${ks}, padding='valid', output_padding=${t(reach)}, dilation_rate=${t(dKeras)}, use_bias=False)`;
      if (extra.some((x, a) => x > reach[a])) code += `, then keras.layers.ZeroPadding${N}(${pp(extra.map((x, a) => [0, x - reach[a]]))})`;
      code += `, then keras.layers.Cropping${N}(${pp(crop)})`;
      exact = false;
      notes.push("Keras crops only through 'same'; this window needs a Cropping layer.");
    }
    notes.push(`Set the layer's kernel to tf.transpose(w, ${perm}).`);
    out.keras = { code: code, exact: exact, note: notes.join(" ") };
    const sp = "HWD".slice(0, nd);
    const jaxPads = g.ke.map((ke, a) => [ke - 1 - g.b[a], ke - 1 - g.e[a]]);
    out.jax = {
      code: `jax.lax.conv_transpose(x, jnp.transpose(w, ${perm}), strides=${t(g.s)}, padding=${pairs(jaxPads)}, rhs_dilation=${t(g.d)}, dimension_numbers=('N${sp}C', '${sp}IO', 'N${sp}C'), transpose_kernel=True)`,
      exact: true, note: "",
    };
    const end = g.e.map((e) => Math.max(e, 0));
    const needed = g.e.map((e) => Math.max(-e, 0));
    const onnxOp = needed.map((x, a) => Math.min(x, g.s[a] - 1));
    const after = needed.map((x, a) => x - onnxOp[a]);
    code = `ConvTranspose(X, W, kernel_shape=${l(g.k)}, strides=${l(g.s)}, pads=${l(g.b.concat(end))}, output_padding=${l(onnxOp)}, dilations=${l(g.d)}, group=1)`;
    note = "W is w, unchanged (same layout as PyTorch).";
    if (after.some((v) => v)) {
      code += `, then Pad(pads=${l([0, 0, ...g.b.map(() => 0), 0, 0, ...after])})`;
      note += " ONNX Runtime rejects output_padding >= stride: the last zeros come from a Pad node.";
    }
    out.onnx = { code: code, exact: !after.some((v) => v), note: note };
    return out;
  }

  // ------------------------------------------------------------------------------------------
  // Drawing

  function fmt(v) {
    if (v === 0) return "0";
    if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
    return v.toPrecision(3);
  }

  function colour(v, scale) {  // diverging blue-white-red
    if (!scale) return "#ffffff";
    const a = Math.max(-1, Math.min(1, v / scale));
    const f = Math.round(255 * (1 - 0.65 * Math.abs(a)));
    return a >= 0 ? `rgb(255,${f},${f})` : `rgb(${f},${f},255)`;
  }

  function grid(container, values, shape, role, opts) {
    opts = opts || {};
    const el = $(container);
    el.innerHTML = "";
    const div = document.createElement("div");
    div.className = "grid";
    div.dataset.role = role;
    div.dataset.shape = shape.join("x");
    const cols = shape.length === 1 ? shape[0] : shape[1];
    div.style.gridTemplateColumns = `repeat(${cols}, var(--cell))`;
    const scale = opts.scale !== undefined ? opts.scale : Math.max(0, ...Array.from(values, Math.abs));
    let n = 0;
    for (const idx of indices(shape)) {
      const cell = document.createElement("div");
      cell.className = "cell";
      cell.dataset.role = role;
      cell.dataset.index = idx.join(",");
      const v = values[n];
      cell.textContent = opts.text ? opts.text(v, idx) : fmt(v);
      cell.dataset.value = String(v);
      cell.style.background = opts.colour ? opts.colour(v, idx) : colour(v, scale);
      if (opts.decorate) opts.decorate(cell, idx);
      div.appendChild(cell);
      n++;
    }
    el.appendChild(div);
    return div;
  }

  function cellsOf(role) { return Array.from(document.querySelectorAll(`.cell[data-role=${role}]`)); }
  function cellAt(role, idx) { return document.querySelector(`.cell[data-role=${role}][data-index="${idx.join(",")}"]`); }
  function clearMarks() {
    for (const c of document.querySelectorAll(".hl-in, .hl-tap, .hl-out, .hl-stamp")) {
      c.classList.remove("hl-in", "hl-tap", "hl-out", "hl-stamp");
    }
  }
  const name = (v) => "[" + v.join(", ") + "]";

  // ------------------------------------------------------------------------------------------
  // State, update, interaction

  const state = { cfg: null, g: null, x: null, w: null, y: null, pinned: null, step: 0, timer: null, frames: null };

  function readConfig() {
    const nd = Number($("ndim").value);
    const num = (id) => Number($(id).value);
    const cfg = { ndim: nd, i: [], k: [], s: [], p: [], op: [], d: [], pmode: $("pmode").value,
                  values: $("values").value, seed: Math.max(0, Math.floor(num("seed")) || 0) };
    for (let a = 0; a < nd; a++) {
      cfg.i.push(num("in" + a)); cfg.k.push(num("k" + a)); cfg.s.push(num("s" + a));
      cfg.p.push(num("p" + a)); cfg.op.push(num("op" + a)); cfg.d.push(num("d" + a));
    }
    return cfg;
  }

  function writeConfig(c) {
    $("ndim").value = String(c.ndim);
    for (let a = 0; a < 2; a++) {
      const pick = (v, dflt) => (v.length > a ? v[a] : v.length ? v[0] : dflt);
      $("in" + a).value = pick(c.input_size, 3);
      $("k" + a).value = pick(c.kernel_size, 3);
      $("s" + a).value = pick(c.stride, 1);
      $("p" + a).value = typeof c.padding === "string" ? 0 : pick(c.padding, 0);
      $("op" + a).value = pick(c.output_padding, 0);
      $("d" + a).value = pick(c.dilation, 1);
    }
    $("pmode").value = typeof c.padding === "string" ? c.padding : "int";
    if (c.given) {
      const opt = document.createElement("option");
      opt.value = "given";
      opt.textContent = c.given_label || "the given values";
      $("values").insertBefore(opt, $("values").firstChild);
    }
    $("values").value = c.values;
    $("seed").value = c.seed;
  }

  function showFormula(o) {
    const g = state.g;
    const terms = contributions(g, o);
    const parts = terms.map((c) => `x${name(c.j)}*w${name(c.t)}`);
    const nums = terms.map((c) => `${fmt(state.x[ravel(c.j, g.i)])}*${fmt(state.w[ravel(c.t, g.k)])}`);
    const value = state.y[ravel(o, g.o)];
    $("formula").textContent = terms.length
      ? `y${name(o)} = ${parts.join(" + ")}\n     = ${nums.join(" + ")} = ${fmt(value)}`
      : `y${name(o)} = 0: no input element and kernel tap reach this output (a hole or a border)`;
  }

  function highlightOutput(o) {
    clearMarks();
    const g = state.g;
    cellAt("output", o).classList.add("hl-out");
    for (const c of contributions(g, o)) {
      cellAt("input", c.j).classList.add("hl-in");
      cellAt("kernel", c.t).classList.add("hl-tap");
    }
    showFormula(o);
  }

  function showStamp(j) {
    clearMarks();
    const g = state.g;
    const v = state.x[ravel(j, g.i)];
    cellAt("input", j).classList.add("hl-in");
    const values = new Float64Array(prod(g.o));
    const reached = stampOf(g, j);
    for (const r of reached) values[ravel(r.o, g.o)] += v * state.w[ravel(r.t, g.k)];
    for (const t of indices(g.k)) cellAt("kernel", t).classList.add("hl-tap");
    $("stamp-title").textContent = `stamp of x${name(j)} = ${fmt(v)}: ${fmt(v)} * w at ${name(position(g, j, g.k.map(() => 0)).map((f, a) => f - g.b[a]))}`;
    grid("grid-stamp", values, g.o, "stamp", { scale: Math.max(...Array.from(state.y, Math.abs)) });
    for (const r of reached) {
      cellAt("output", r.o).classList.add("hl-stamp");
      cellAt("stamp", r.o).classList.add("hl-stamp");
    }
    $("formula").textContent = reached.length
      ? `x${name(j)} = ${fmt(v)} adds ${reached.map((r) => `${fmt(v)}*w${name(r.t)} to y${name(r.o)}`).join(", ")}`
      : `x${name(j)} reaches no output: its whole stamp is cropped away`;
  }

  // --- the scatter animation on the full output (plus the window where it extends past it)
  function canvasGeometry(g) {
    const lo = g.b.map((b) => Math.min(0, b));
    const size = g.full.map((f, a) => Math.max(f, g.b[a] + g.o[a]) - lo[a]);
    return { lo: lo, size: size };
  }

  function drawStep() {
    const g = state.g;
    const cv = canvasGeometry(g);
    const total = new Float64Array(prod(cv.size));
    const inputs = Array.from(indices(g.i));
    let current = null;
    for (let n = 0; n < state.step; n++) {
      const j = inputs[n];
      for (const t of indices(g.k)) {
        const f = position(g, j, t).map((p, a) => p - cv.lo[a]);
        total[ravel(f, cv.size)] += state.x[ravel(j, g.i)] * state.w[ravel(t, g.k)];
      }
      current = j;
    }
    const stampCells = new Set();
    if (current) for (const t of indices(g.k)) stampCells.add(position(g, current, t).map((p, a) => p - cv.lo[a]).join(","));
    const finalScale = Math.max(0, ...Array.from(state.y, Math.abs));
    grid("grid-full", total, cv.size, "full", {
      scale: finalScale,
      decorate: (cell, idx) => {
        const f = idx.map((v, a) => v + cv.lo[a]);
        if (f.some((v, a) => v < 0 || v >= g.full[a])) cell.classList.add("outside");
        if (f.every((v, a) => v >= g.b[a] && v < g.b[a] + g.o[a])) cell.classList.add("win");
        else cell.classList.add("dim");
        if (stampCells.has(idx.join(","))) cell.classList.add("hl-tap");
      },
    });
    $("step-label").textContent = `step ${state.step} of ${inputs.length}` +
      (current ? `: x${name(current)} = ${fmt(state.x[ravel(current, g.i)])} stamps ${fmt(state.x[ravel(current, g.i)])} * w at ${name(position(g, current, g.k.map(() => 0)))}` : "");
  }

  function stepTo(n) {
    const total = prod(state.g.i);
    state.step = Math.max(0, Math.min(total, n));
    drawStep();
  }

  function stopPlay() {
    if (state.timer) { clearInterval(state.timer); state.timer = null; $("play").textContent = "\u25B6 play"; }
  }

  function update() {
    stopPlay();
    const cfg = readConfig();
    document.body.classList.toggle("one-d", cfg.ndim === 1);
    const g = geometry(cfg);
    state.cfg = cfg;
    if (g.error) {
      $("error").textContent = g.error;
      $("output-shape").textContent = "";
      $("shape-formula").textContent = "";
      for (const id of ["grid-input", "grid-kernel", "grid-output", "grid-stamp", "grid-full", "grid-overlap", "grid-phase"]) $(id).innerHTML = "";
      state.g = null;
      return;
    }
    $("error").textContent = "";
    state.g = g;
    state.x = makeValues(g.i, cfg.values, cfg.seed, 0);
    state.w = makeValues(g.k, cfg.values, cfg.seed, 1);
    state.y = convTranspose(state.x, state.w, g);
    $("output-shape").textContent = g.o.join("x");
    $("shape-formula").textContent = g.o.map((o, a) =>
      `(${g.i[a]}-1)*${g.s[a]} + ${g.d[a]}*(${g.k[a]}-1) + 1 = ${g.full[a]} full, window [${g.b[a]}, ${g.b[a] + g.o[a]}) = ${o}`).join(";  ");
    grid("grid-input", state.x, g.i, "input");
    grid("grid-kernel", state.w, g.k, "kernel");
    grid("grid-output", state.y, g.o, "output");
    $("grid-stamp").innerHTML = "";
    $("stamp-title").textContent = "stamp of an input (click one)";
    $("formula").textContent = "Hover over an output cell, or click one to pin it; click an input cell to see its stamp.";
    state.pinned = null;
    for (const c of cellsOf("output")) {
      const o = c.dataset.index.split(",").map(Number);
      c.addEventListener("mouseenter", () => { if (!state.pinned) highlightOutput(o); });
      c.addEventListener("click", () => { state.pinned = o; highlightOutput(o); });
    }
    for (const c of cellsOf("input")) {
      const j = c.dataset.index.split(",").map(Number);
      c.addEventListener("click", () => { state.pinned = j; showStamp(j); });
    }
    // overlap
    const ov = overlap(g);
    const top = Math.max(1, ...ov.counts);
    const seq = (v) => (v ? `hsl(${200 - 140 * v / top}, 70%, ${88 - 40 * v / top}%)` : "#ffffff");
    grid("grid-overlap", ov.counts, g.o, "overlap", { colour: seq });
    grid("grid-phase", ov.phase, ov.phaseShape, "phase", { colour: (v) => (v ? `hsl(${200 - 140 * v / Math.max(...ov.phase)}, 70%, ${88 - 40 * v / Math.max(...ov.phase)}%)` : "#ffffff") });
    $("verdict").textContent = ov.verdict.toUpperCase();
    $("uniformity").textContent = `taps per phase ${JSON.stringify(ov.taps.length === 1 ? ov.taps[0] : ov.taps)}, uniformity (fewest/most) ${Number(ov.uniformity.toPrecision(3))}`;
    const adv = [];
    for (let a = 0; a < g.nd; a++) {
      const ax = g.nd > 1 ? `axis ${a}: ` : "";
      const taps = ov.taps[a];
      if (Math.min(...taps) === 0) adv.push(`${ax}dilation ${g.d[a]} and stride ${g.s[a]} share a factor, so some phases get no tap (holes).`);
      else if (Math.min(...taps) !== Math.max(...taps)) adv.push(`${ax}kernel size ${g.k[a]} is not divisible by stride ${g.s[a]}: uneven overlap.`);
    }
    if (adv.length) adv.push("Try a kernel size divisible by the stride (coprime to the dilation), resize-then-convolve, or an ICNR/bilinear initialisation; `tconv artifacts` explains.");
    $("advice").textContent = adv.join(" ");
    // frameworks
    const spells = frameworkSpellings(g, 1, 1);
    for (const key of Object.keys(spells)) {
      $("spell-" + key).textContent = spells[key].code;
      $("note-" + key).textContent = spells[key].note;
    }
    stepTo(0);
  }

  function init() {
    writeConfig(CONFIG);
    for (const el of document.querySelectorAll("#controls input, #controls select")) {
      el.addEventListener("input", update);
      el.addEventListener("change", update);
    }
    $("reset").addEventListener("click", () => { stopPlay(); stepTo(0); });
    $("step-back").addEventListener("click", () => { stopPlay(); stepTo(state.step - 1); });
    $("step-next").addEventListener("click", () => { stopPlay(); stepTo(state.step + 1); });
    $("play").addEventListener("click", () => {
      if (state.timer) { stopPlay(); return; }
      if (state.step >= prod(state.g.i)) stepTo(0);
      $("play").textContent = "\u23F8 pause";
      state.timer = setInterval(() => {
        if (!state.g || state.step >= prod(state.g.i)) { stopPlay(); return; }
        stepTo(state.step + 1);
      }, 700);
    });
    update();
  }

  // for tests and the curious: the page's own computation
  window.tconvExplorer = {
    geometry: geometry, convTranspose: convTranspose, overlap: overlap, frameworkSpellings: frameworkSpellings,
    state: state, update: update, stepTo: stepTo,
  };
  init();
})();
