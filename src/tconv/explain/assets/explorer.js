"use strict";
// The tconv explorer: a transposed convolution computed and drawn in the browser.
// Model (tconv/shape.py): per axis, input element j and kernel tap t meet at position s*j + d*t of the
// full output, of size (i - 1)*s + d*(k - 1) + 1; the output is the window [b, b + o) of it.
(function () {
  // the configuration: JSON, with the non-finite numbers JSON has no words for written as strings
  const NONFINITE = new Map([["NaN", NaN], ["Infinity", Infinity], ["-Infinity", -Infinity]]);
  const CONFIG = JSON.parse(document.getElementById("tconv-config").textContent, (key, value) =>
    Array.isArray(value) ? value.map((v) => (typeof v === "string" && NONFINITE.has(v) ? NONFINITE.get(v) : v)) : value);
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
  // Drawing. A grid of up to CELL_LIMIT cells is drawn cell by cell (focusable elements, numbers where they
  // fit); a larger one as a heat-map on a canvas, where the pointer or the arrow keys pick a cell. Cells
  // are sized to the room the page has (MIN_CELL to MAX_CELL pixels); a grid whose structure is unchanged
  // is updated in place, and highlights only touch the cells they mark.

  const CELL_LIMIT = CONFIG.limits.cells;
  const MAX_CELL = 36, MIN_CELL = 14;

  function fmt(v) {
    if (Number.isNaN(v)) return "NaN";
    if (v === Infinity) return "inf";
    if (v === -Infinity) return "-inf";
    if (v === 0) return "0";
    if (Number.isInteger(v) && Math.abs(v) < 1e7) return String(v);
    return v.toPrecision(3);
  }

  function finiteScale(values) {
    let m = 0;
    for (const v of values) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
    return m;
  }

  function colour(v, scale) {  // diverging blue-white-red; non-finite values grey
    if (!Number.isFinite(v)) return "#c8c8c8";
    if (!scale) return "#ffffff";
    const a = Math.max(-1, Math.min(1, v / scale));
    const f = Math.round(255 * (1 - 0.65 * Math.abs(a)));
    return a >= 0 ? `rgb(${255},${f},${f})` : `rgb(${f},${f},255)`;
  }

  const grids = {};  // role -> {el, shape, mode, cell, values, colours, marks, cursor, ...}

  function roomFor(container) {  // pixels a grid may take across
    const el = $(container);
    const section = el.closest(".card") || document.body;
    return Math.max(120, section.clientWidth - 36);
  }

  function grid(container, values, shape, role, opts) {
    opts = opts || {};
    const cols = shape.length === 1 ? shape[0] : shape[1];
    const rows = shape.length === 1 ? 1 : shape[0];
    const n = rows * cols;
    const room = opts.room || roomFor(container);
    const tall = Math.max(160, 0.75 * window.innerHeight);  // a grid fits the screen's height too
    const across = Math.min(Math.floor(room / cols), Math.floor(tall / rows));
    const mode = n > CELL_LIMIT || across - 1 < MIN_CELL ? "canvas" : "cells";
    const cell = mode === "cells" ? Math.min(MAX_CELL, across - 1) : Math.max(2, Math.min(MAX_CELL, across));
    const scale = opts.scale !== undefined ? opts.scale : finiteScale(values);
    const colours = new Array(n);
    const texts = new Array(n);
    let q = 0;
    for (const idx of indices(shape)) {
      const v = values[q];
      colours[q] = opts.colour ? opts.colour(v, idx) : colour(v, scale);
      texts[q] = opts.text ? opts.text(v, idx) : fmt(v);
      q++;
    }
    let g = grids[role];
    const same = g && g.mode === mode && g.shape.join("x") === shape.join("x") && g.cell === cell &&
      g.el.isConnected && g.el.parentElement === $(container);
    if (!same) {
      $(container).innerHTML = "";
      g = { role: role, shape: shape.slice(), rows: rows, cols: cols, mode: mode, cell: cell, marks: {}, cursor: 0,
            el: null, cells: null, container: container };
      grids[role] = g;
      if (mode === "cells") buildCells(g);
      else buildCanvas(g);
      $(container).appendChild(g.el);
    }
    g.values = values;
    g.colours = colours;
    g.texts = texts;
    g.decorate = opts.decorate || null;
    g.onEnter = opts.onEnter || null;  // pointer or focus on a cell
    g.onPick = opts.onPick || null;    // click, Enter or Space
    g.el.dataset.render = mode;
    if (mode === "cells") paintCells(g);
    else paintCanvas(g);
    return g;
  }

  function buildCells(g) {
    const div = document.createElement("div");
    div.className = "grid";
    div.dataset.role = g.role;
    div.dataset.shape = g.shape.join("x");
    div.setAttribute("role", "grid");
    div.style.gridTemplateColumns = `repeat(${g.cols}, ${g.cell}px)`;
    div.style.setProperty("--cell", g.cell + "px");
    const frag = document.createDocumentFragment();
    const cells = [];
    let q = 0;
    for (const idx of indices(g.shape)) {
      const cell = document.createElement("div");
      cell.className = "cell";
      cell.dataset.role = g.role;
      cell.dataset.index = idx.join(",");
      cell.dataset.n = String(q);
      cell.setAttribute("role", "gridcell");
      cell.tabIndex = q === 0 ? 0 : -1;  // roving: the grid is one tab stop, the arrow keys move inside
      frag.appendChild(cell);
      cells.push(cell);
      q++;
    }
    div.appendChild(frag);
    g.el = div;
    g.cells = cells;
    const at = (e) => { const c = e.target.closest(".cell"); return c && c.parentElement === div ? Number(c.dataset.n) : -1; };
    div.addEventListener("mouseover", (e) => { const q = at(e); if (q >= 0 && g.onEnter) g.onEnter(unravel(q, g.shape), "pointer"); });
    div.addEventListener("click", (e) => { const q = at(e); if (q >= 0) { focusCell(g, q, false); if (g.onPick) g.onPick(unravel(q, g.shape)); } });
    div.addEventListener("focusin", (e) => { const q = at(e); if (q >= 0) { rove(g, q); if (g.onEnter) g.onEnter(unravel(q, g.shape), "focus"); } });
    div.addEventListener("keydown", (e) => keyMove(g, e, Number((e.target.closest(".cell") || {}).dataset?.n ?? g.cursor)));
  }

  function rove(g, q) {
    if (g.cells[g.cursor]) g.cells[g.cursor].tabIndex = -1;
    g.cursor = q;
    g.cells[q].tabIndex = 0;
  }

  function focusCell(g, q, focus) {
    q = Math.max(0, Math.min(g.rows * g.cols - 1, q));
    if (g.mode === "cells") {
      rove(g, q);
      if (focus) g.cells[q].focus();
    } else {
      g.cursor = q;
      paintOverlay(g);
      if (g.onEnter) g.onEnter(unravel(q, g.shape), "focus");
    }
  }

  function keyMove(g, e, q) {
    const step = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -g.cols, ArrowDown: g.cols }[e.key];
    let next = null;
    if (step !== undefined) {
      const r = Math.floor(q / g.cols), c = q % g.cols;
      if ((e.key === "ArrowLeft" && c === 0) || (e.key === "ArrowRight" && c === g.cols - 1)) return;
      if ((e.key === "ArrowUp" && r === 0) || (e.key === "ArrowDown" && r === g.rows - 1)) return;
      next = q + step;
    } else if (e.key === "Home") next = q - (q % g.cols);
    else if (e.key === "End") next = q - (q % g.cols) + g.cols - 1;
    else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      if (g.onPick) g.onPick(unravel(q, g.shape));
      return;
    } else return;
    e.preventDefault();
    focusCell(g, next, true);
  }

  function fontFor(g) {  // the numbers' font (9 to 12 px), or null when they do not fit the cells (colours only)
    let widest = 1;
    for (const t of g.texts) if (t.length > widest) widest = t.length;
    const size = Math.min(12, Math.floor(g.cell * 0.5), Math.floor((g.cell - 4) / (widest * 0.62)));
    return size >= 9 ? size : null;
  }

  function paintCells(g) {
    const font = fontFor(g);
    g.el.classList.toggle("no-numbers", font === null);
    g.el.style.fontSize = font ? font + "px" : "";
    for (let q = 0; q < g.cells.length; q++) {
      const cell = g.cells[q];
      const text = g.texts[q];
      if (cell.textContent !== text) cell.textContent = text;
      cell.dataset.value = String(g.values[q]);
      cell.style.background = g.colours[q];
      cell.className = "cell";
      if (g.decorate) g.decorate(cell, unravel(q, g.shape));
    }
    g.marks = {};
  }

  function buildCanvas(g) {
    const wrap = document.createElement("div");
    wrap.className = "heat";
    wrap.dataset.role = g.role;
    wrap.dataset.shape = g.shape.join("x");
    const base = document.createElement("canvas");
    const over = document.createElement("canvas");
    for (const c of [base, over]) { c.width = g.cols * g.cell; c.height = g.rows * g.cell; }
    over.className = "overlay";
    over.tabIndex = 0;
    over.setAttribute("role", "img");
    over.setAttribute("aria-label", `${g.role}: a ${g.shape.join(" by ")} heat-map; arrow keys move, Enter picks`);
    wrap.appendChild(base);
    wrap.appendChild(over);
    g.el = wrap;
    g.base = base;
    g.over = over;
    const at = (e) => {
      const rect = over.getBoundingClientRect();
      const c = Math.floor((e.clientX - rect.left) / rect.width * g.cols);
      const r = Math.floor((e.clientY - rect.top) / rect.height * g.rows);
      return r >= 0 && r < g.rows && c >= 0 && c < g.cols ? r * g.cols + c : -1;
    };
    over.addEventListener("mousemove", (e) => { const q = at(e); if (q >= 0 && g.onEnter) { g.cursor = q; paintOverlay(g); g.onEnter(unravel(q, g.shape), "pointer"); } });
    over.addEventListener("click", (e) => { const q = at(e); if (q >= 0) { g.cursor = q; paintOverlay(g); if (g.onPick) g.onPick(unravel(q, g.shape)); } });
    over.addEventListener("focus", () => { paintOverlay(g); if (g.onEnter) g.onEnter(unravel(g.cursor, g.shape), "focus"); });
    over.addEventListener("keydown", (e) => keyMove(g, e, g.cursor));
  }

  function paintCanvas(g) {
    const ctx = g.base.getContext("2d");
    const s = g.cell;
    for (let q = 0; q < g.colours.length; q++) {
      ctx.fillStyle = g.colours[q];
      ctx.fillRect((q % g.cols) * s, Math.floor(q / g.cols) * s, s, s);
    }
    g.marks = {};
    if (g.decorate) {  // the decorations a cell grid shows as classes, as tints
      const tint = { outside: "rgba(200,200,200,0.85)", dim: "rgba(255,255,255,0.6)" };
      for (let q = 0; q < g.colours.length; q++) {
        const probe = { classList: { add: (c) => { if (tint[c]) { ctx.fillStyle = tint[c]; ctx.fillRect((q % g.cols) * s, Math.floor(q / g.cols) * s, s, s); } else if (c !== "win") mark(g, unravel(q, g.shape), c); } } };
        g.decorate(probe, unravel(q, g.shape));
      }
    }
    paintOverlay(g);
  }

  const MARK_COLOURS = { "hl-in": "#1f77b4", "hl-tap": "#d62728", "hl-out": "#d62728", "hl-stamp": "#1f77b4" };

  function paintOverlay(g) {
    if (g.mode !== "canvas") return;
    const ctx = g.over.getContext("2d");
    const s = g.cell;
    ctx.clearRect(0, 0, g.over.width, g.over.height);
    ctx.lineWidth = Math.max(1, Math.min(3, s / 4));
    for (const [q, cls] of Object.entries(g.marks)) {
      ctx.strokeStyle = MARK_COLOURS[cls] || "#000";
      const n = Number(q);
      ctx.strokeRect((n % g.cols) * s + 0.5, Math.floor(n / g.cols) * s + 0.5, s - 1, s - 1);
    }
    if (g.windowBox) {
      const [r0, c0, r1, c1] = g.windowBox;
      ctx.strokeStyle = "#2ca02c";
      ctx.setLineDash([4, 3]);
      ctx.strokeRect(c0 * s + 1, r0 * s + 1, (c1 - c0) * s - 2, (r1 - r0) * s - 2);
      ctx.setLineDash([]);
    }
    if (document.activeElement === g.over) {  // the keyboard's cursor
      ctx.strokeStyle = "#000";
      ctx.lineWidth = 2;
      ctx.strokeRect((g.cursor % g.cols) * s - 1, Math.floor(g.cursor / g.cols) * s - 1, s + 2, s + 2);
    }
  }

  function mark(g, idx, cls) {
    if (!g) return;
    const q = ravel(idx, g.shape);
    if (g.mode === "cells") g.cells[q].classList.add(cls);
    else g.marks[q] = cls;
  }

  function clearMarks() {
    for (const g of Object.values(grids)) {
      if (g.mode === "cells") {
        for (const c of g.el.querySelectorAll(".hl-in, .hl-tap, .hl-out, .hl-stamp")) {
          c.classList.remove("hl-in", "hl-tap", "hl-out", "hl-stamp");
        }
      } else if (Object.keys(g.marks).length) {
        g.marks = {};
        paintOverlay(g);
      }
    }
  }

  function finishMarks() {
    for (const g of Object.values(grids)) if (g.mode === "canvas") paintOverlay(g);
  }

  const name = (v) => "[" + v.join(", ") + "]";

  // ------------------------------------------------------------------------------------------
  // State, update, interaction

  const state = { cfg: null, g: null, x: null, w: null, y: null, pinned: null, step: 0, timer: null,
                  wantGiven: CONFIG.values === "given", key: null };
  const LIMIT_IDS = { in: "input_size", k: "kernel_size", s: "stride", p: "padding", op: "output_padding", d: "dilation" };

  function readConfig() {
    const nd = Number($("ndim").value);
    const cfg = { ndim: nd, i: [], k: [], s: [], p: [], op: [], d: [], pmode: $("pmode").value,
                  values: $("values").value, seed: 0, error: null };
    const num = (id) => {  // an integer within the field's limits (the page's), else an error naming them
      const el = $(id);
      const v = Number(el.value);
      const lo = Number(el.min), hi = Number(el.max);
      const what = LIMIT_IDS[id.replace(/[01]$/, "")] || id;
      if (el.value.trim() === "" || !Number.isInteger(v) || v < lo || v > hi) {
        if (!cfg.error) cfg.error = `${what} must be an integer from ${lo} to ${hi} on this page, got ${el.value === "" ? "nothing" : el.value}`;
      }
      return v;
    };
    for (let a = 0; a < nd; a++) {
      cfg.i.push(num("in" + a)); cfg.k.push(num("k" + a)); cfg.s.push(num("s" + a));
      cfg.p.push(cfg.pmode === "int" ? num("p" + a) : 0); cfg.op.push(num("op" + a)); cfg.d.push(num("d" + a));
    }
    const seed = $("seed");
    cfg.seed = Number(seed.value);
    if (!Number.isInteger(cfg.seed) || cfg.seed < Number(seed.min) || cfg.seed > Number(seed.max)) {
      if (!cfg.error) cfg.error = `seed must be an integer from ${seed.min} to ${seed.max}, got ${seed.value}`;
    }
    return cfg;
  }

  function writeConfig(c) {
    for (const [id, key] of Object.entries(LIMIT_IDS)) {  // the page's limits, from the configuration
      for (let a = 0; a < 2; a++) { $(id + a).min = c.limits[key][0]; $(id + a).max = c.limits[key][1]; }
    }
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
      opt.dataset.label = opt.textContent;
      $("values").insertBefore(opt, $("values").firstChild);
    }
    $("values").value = c.values;
    $("seed").value = c.seed;
    $("limits").textContent = `This page takes input sizes up to ${c.limits.input_size[1]}, kernel sizes up to ` +
      `${c.limits.kernel_size[1]}, strides up to ${c.limits.stride[1]} and dilations up to ${c.limits.dilation[1]}. ` +
      `Grids of up to ${CELL_LIMIT} cells are drawn cell by cell (numbers where the cells are wide enough for ` +
      `them); larger grids are heat-maps: point at a cell, or focus the map and use the arrow keys, to see it.`;
  }

  function givenFits(g) {  // the given arrays have this configuration's sizes
    return CONFIG.given && CONFIG.given[0].shape.join("x") === g.i.join("x") && CONFIG.given[1].shape.join("x") === g.k.join("x");
  }

  function syncValueMenu(g) {
    // the menu names what the cells show: the given values only where their sizes fit, else 1, 2, 3, ...
    const opt = $("values").querySelector("option[value=given]");
    if (!opt) return $("values").value;
    const fits = givenFits(g);
    opt.disabled = !fits;
    const [xs, ws] = CONFIG.given.map((a) => a.shape.join("x"));
    opt.textContent = fits ? opt.dataset.label : `${opt.dataset.label} (for a ${xs} input and a ${ws} kernel only)`;
    if (!fits && $("values").value === "given") $("values").value = "sequential";
    else if (fits && state.wantGiven) $("values").value = "given";
    return $("values").value;
  }

  function showFormula(o) {
    const g = state.g;
    const terms = contributions(g, o);
    const parts = terms.map((c) => `x${name(c.j)}*w${name(c.t)}`);
    const nums = terms.map((c) => `${fmt(state.x[ravel(c.j, g.i)])}*${fmt(state.w[ravel(c.t, g.k)])}`);
    const value = state.y[ravel(o, g.o)];
    const shown = 24;
    const clip = (list) => (list.length > shown ? list.slice(0, shown).join(" + ") + ` + ... (${list.length} terms)` : list.join(" + "));
    $("formula").textContent = terms.length
      ? `y${name(o)} = ${clip(parts)}\n     = ${clip(nums)} = ${fmt(value)}`
      : `y${name(o)} = 0: no input element and kernel tap reach this output (a hole or a border)`;
  }

  function highlightOutput(o) {
    clearMarks();
    const g = state.g;
    mark(grids.output, o, "hl-out");
    for (const c of contributions(g, o)) {
      mark(grids.input, c.j, "hl-in");
      mark(grids.kernel, c.t, "hl-tap");
    }
    finishMarks();
    showFormula(o);
  }

  function showStamp(j) {
    clearMarks();
    const g = state.g;
    const v = state.x[ravel(j, g.i)];
    mark(grids.input, j, "hl-in");
    const values = new Float64Array(prod(g.o));
    const reached = stampOf(g, j);
    for (const r of reached) values[ravel(r.o, g.o)] += v * state.w[ravel(r.t, g.k)];
    for (const t of indices(g.k)) mark(grids.kernel, t, "hl-tap");
    $("stamp-title").textContent = `stamp of x${name(j)} = ${fmt(v)}: ${fmt(v)} * w at ${name(position(g, j, g.k.map(() => 0)).map((f, a) => f - g.b[a]))}`;
    grid("grid-stamp", values, g.o, "stamp", { scale: finiteScale(state.y) });
    for (const r of reached) {
      mark(grids.output, r.o, "hl-stamp");
      mark(grids.stamp, r.o, "hl-stamp");
    }
    finishMarks();
    $("formula").textContent = reached.length
      ? `x${name(j)} = ${fmt(v)} adds ${reached.slice(0, 24).map((r) => `${fmt(v)}*w${name(r.t)} to y${name(r.o)}`).join(", ")}${reached.length > 24 ? ", ..." : ""}`
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
    const inputs = state.inputs;
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
    const full = grid("grid-full", total, cv.size, "full", {
      scale: finiteScale(state.y),
      decorate: (cell, idx) => {
        const f = idx.map((v, a) => v + cv.lo[a]);
        if (f.some((v, a) => v < 0 || v >= g.full[a])) cell.classList.add("outside");
        if (f.every((v, a) => v >= g.b[a] && v < g.b[a] + g.o[a])) cell.classList.add("win");
        else cell.classList.add("dim");
        if (stampCells.has(idx.join(","))) cell.classList.add("hl-tap");
      },
    });
    const r0 = g.nd === 1 ? 0 : g.b[0] - cv.lo[0], c0 = g.b[g.nd - 1] - cv.lo[g.nd - 1];
    full.windowBox = [r0, c0, r0 + (g.nd === 1 ? 1 : g.o[0]), c0 + g.o[g.nd - 1]];
    paintOverlay(full);
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

  function clearGrids() {
    for (const id of ["grid-input", "grid-kernel", "grid-output", "grid-stamp", "grid-full", "grid-overlap", "grid-phase"]) $(id).innerHTML = "";
    for (const role of Object.keys(grids)) delete grids[role];
  }

  function update() {
    stopPlay();
    const cfg = readConfig();
    document.body.classList.toggle("one-d", cfg.ndim === 1);
    const g = cfg.error ? { error: cfg.error } : geometry(cfg);
    state.cfg = cfg;
    if (g.error) {
      $("error").textContent = g.error;
      $("output-shape").textContent = "";
      $("shape-formula").textContent = "";
      clearGrids();
      state.g = null;
      state.key = state.valuesKey = null;
      return;
    }
    $("error").textContent = "";
    cfg.values = syncValueMenu(g);
    // only what changed is computed again: the values for new sizes or values, the rest for a new geometry
    const key = JSON.stringify([g.i, g.k, g.s, g.d, g.b, g.o]);
    const valuesKey = JSON.stringify([g.i, g.k, cfg.values, cfg.seed]);
    const newGeometry = key !== state.key;
    const newValues = newGeometry || valuesKey !== state.valuesKey;
    state.key = key;
    state.valuesKey = valuesKey;
    state.g = g;
    if (!newValues) return;
    state.x = makeValues(g.i, cfg.values, cfg.seed, 0);
    state.w = makeValues(g.k, cfg.values, cfg.seed, 1);
    state.y = convTranspose(state.x, state.w, g);
    state.inputs = Array.from(indices(g.i));
    $("output-shape").textContent = g.o.join("x");
    $("shape-formula").textContent = g.o.map((o, a) =>
      `(${g.i[a]}-1)*${g.s[a]} + ${g.d[a]}*(${g.k[a]}-1) + 1 = ${g.full[a]} full, window [${g.b[a]}, ${g.b[a] + g.o[a]}) = ${o}`).join(";  ");
    const room = roomFor("grid-output");
    const small = Math.max(120, Math.floor(room / 3));
    grid("grid-input", state.x, g.i, "input", { room: small, onPick: (j) => { state.pinned = j; showStamp(j); } });
    grid("grid-kernel", state.w, g.k, "kernel", { room: small });
    grid("grid-output", state.y, g.o, "output", {
      room: room,
      onEnter: (o, how) => { if (!state.pinned || how === "focus") highlightOutput(o); },
      onPick: (o) => { state.pinned = o; highlightOutput(o); },
    });
    $("grid-stamp").innerHTML = "";
    delete grids.stamp;
    $("stamp-title").textContent = "stamp of an input (click one)";
    $("formula").textContent = "Hover over an output cell, or click one to pin it; click an input cell to see its stamp. " +
      "From the keyboard: Tab to a grid, move with the arrow keys, Enter picks.";
    state.pinned = null;
    // overlap
    if (newGeometry) {
      const ov = overlap(g);
      const top = Math.max(1, ...ov.counts);
      const seq = (v) => (v ? `hsl(${200 - 140 * v / top}, 70%, ${88 - 40 * v / top}%)` : "#ffffff");
      grid("grid-overlap", ov.counts, g.o, "overlap", { colour: seq, room: room });
      const topPhase = Math.max(...ov.phase);
      grid("grid-phase", ov.phase, ov.phaseShape, "phase", { colour: (v) => (v ? `hsl(${200 - 140 * v / topPhase}, 70%, ${88 - 40 * v / topPhase}%)` : "#ffffff"), room: small });
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
    }
    stepTo(0);
  }

  function init() {
    writeConfig(CONFIG);
    for (const el of document.querySelectorAll("#controls input, #controls select")) {
      el.addEventListener("input", update);
      el.addEventListener("change", update);
    }
    $("values").addEventListener("change", () => { state.wantGiven = $("values").value === "given"; });
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
    let width = window.innerWidth;
    window.addEventListener("resize", () => {  // cells are sized to the room: a new width redraws
      if (Math.abs(window.innerWidth - width) < 40 || !state.g) return;
      width = window.innerWidth;
      state.key = null;
      update();
    });
    update();
  }

  // for tests and the curious: the page's own computation
  window.tconvExplorer = {
    geometry: geometry, convTranspose: convTranspose, overlap: overlap, frameworkSpellings: frameworkSpellings,
    state: state, update: update, stepTo: stepTo, grids: grids,
  };
  init();
})();
