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
