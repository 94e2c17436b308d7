"use strict";
// The explorer's configuration spelled in PyTorch, TensorFlow, Keras, JAX and ONNX terms: what
// `tconv translate --from tconv --to <framework>` gives for it (TranslationPlan.snippet, .exact, .notes).
// The page computes everything itself, so this is the target rules of tconv/frameworks/{torch,tensorflow,
// keras,jax,onnx}.py for the page's configurations (groups 1, 1 or 2 axes, a crop that begins at b >= 0),
// written again in JavaScript; tests/frameworks/test_explorer_spellings.py checks in a real browser that both
// give the same strings over a grid of configurations.
// `g` is the page's geometry (explorer.js): per axis i, k, s, d, ke = d*(k - 1) + 1, and the crop (b, e) of
// the full output.

function frameworkSpellings(g, cIn, cOut) {
  const nd = g.nd;
  const axes = [...Array(nd).keys()];
  const crop = axes.map((a) => [g.b[a], g.e[a]]);

  // Python's repr of the values the Python side prints: numbers, strings, None, lists and tuples
  const T = (items) => ({ tuple: items });
  function py(v) {
    if (v === null) return "None";
    if (typeof v === "boolean") return v ? "True" : "False";
    if (typeof v === "number") return String(v);
    if (typeof v === "string") return `'${v}'`;
    if (Array.isArray(v)) return "[" + v.map(py).join(", ") + "]";
    return "(" + v.tuple.map(py).join(", ") + (v.tuple.length === 1 ? "," : "") + ")";
  }
  const keywords = (pairs) => pairs.map(([k, v]) => `${k}=${py(v)}`).join(", ");
  const pairsT = (pairs) => T(pairs.map((p) => T(p)));
  const postNote = (name, post, why) => `${name} cannot cut this window (${why}): the plan crops (begin, end) = ` +
    `${py(pairsT(post))} cells per spatial axis of its output afterwards (a negative number appends that many zeros).`;
  const anyNegative = (post) => post.some(([b, e]) => b < 0 || e < 0);
  const anyPositive = (post) => post.some(([b, e]) => b > 0 || e > 0);
  const isExact = (post) => post.every(([b, e]) => b === 0 && e === 0);

  // tconv.weights: the printed weight steps (tconv's layout -> the target's)
  const channelsLast = T([...axes.map((a) => a + 2), 1, 0]);
  const transpose = [`w = np.transpose(w, ${py(channelsLast)})  # (*k, C_out/G, C_in)`];
  function dilate(d) {
    const spans = d.map((v, j) => `${v} * (w.shape[${2 + j}] - 1) + 1`).join(", ");
    return [
      `dilated = np.zeros(w.shape[:2] + (${spans},), dtype=w.dtype)  # (C_in, C_out/G, *k_eff)`,
      `dilated[:, :, ${d.map((v) => "::" + v).join(", ")}] = w  # dilation ${py(T(d))} written into the kernel`,
      "w = dilated",
    ];
  }
  const dilateNote = (why, name) => `${why}: the dilation is written into the kernel (zeros between taps) and ${name}=1.`;

  // frameworks/_code.pad_crop_lines for channels-last arrays
  function padCropLines(post, padCall) {
    const lines = [];
    if (anyNegative(post)) {
      const pads = [[0, 0], ...post.map(([b, e]) => [Math.max(-b, 0), Math.max(-e, 0)]), [0, 0]];
      lines.push(`${padCall}(y, ${py(pads)})  # append zeros where the window runs past the full output`);
    }
    if (anyPositive(post)) {
      const index = [":", ...post.map(([b, e], a) => `${b > 0 ? b : ""}:${e > 0 ? `y.shape[${a + 1}] - ${e}` : ""}`), ":"];
      lines.push(`y = y[${index.join(", ")}]  # crop ${py(pairsT(post))} (begin, end) per spatial axis`);
    }
    return lines;
  }
  const spelling = (lines, post, notes) => ({ code: lines.join("\n"), exact: isExact(post), note: notes.join(" ") });
  const out = {};

  // frameworks/torch.py: padding crops both ends, output_padding < max(stride, dilation) gives cells back at the end
  {
    const padding = [], outputPadding = [], post = [];
    for (const a of axes) {
      const [b, e] = crop[a], most = Math.max(g.s[a], g.d[a]);
      let p, op;
      if (b >= 0 && b - e >= 0 && b - e < most) { p = b; op = b - e; }
      else { p = Math.max(0, Math.min(b, e)); op = Math.min(Math.max(p - e, 0), most - 1); }
      padding.push(p); outputPadding.push(op); post.push([b - p, e - (p - op)]);
    }
    const args = [["kernel_size", T(g.k)], ["stride", T(g.s)], ["padding", T(padding)], ["output_padding", T(outputPadding)],
      ["groups", 1], ["dilation", T(g.d)]];
    // frameworks/_code.pad_then_crop: the zeros to append first, then the cells to crop
    const zeros = post.map(([b, e]) => [Math.max(-b, 0), Math.max(-e, 0)]);
    const crops = post.map(([b, e]) => [Math.max(b, 0), Math.max(e, 0)]);
    const steps = [];
    const flat = (pairs) => T(pairs.slice().reverse().flatMap(([b, e]) => [b, e]));  // the last axis first, as F.pad
    if (zeros.some(([b, e]) => b || e)) {
      steps.push(`    torch.nn.ZeroPad${nd}d(${py(flat(zeros))}),  # append zeros where the window runs past the full output`);
    }
    if (crops.some(([b, e]) => b || e)) {
      steps.push(`    torch.nn.ZeroPad${nd}d(${py(flat(crops.map(([b, e]) => [-b || 0, -e || 0])))}),  ` +
        `# crop (begin, end) = ${py(pairsT(crops))} (negative amounts crop)`);
    }
    const conv = steps.length ? "conv" : "layer";
    const lines = [`${conv} = torch.nn.ConvTranspose${nd}d(${cIn}, ${cOut}, ${keywords(args)}, bias=False)`,
      `${conv}.weight.data.copy_(torch.as_tensor(w))`];
    if (steps.length) lines.push("layer = torch.nn.Sequential(", "    conv,", ...steps, ")");
    lines.push("y = layer(x)");
    const notes = [];
    if (!isExact(post)) {
      notes.push(postNote("PyTorch", post, "its padding crops both ends equally and output_padding only extends the end, by less than max(stride, dilation)"));
    }
    if (anyNegative(post)) notes.push("The bias is added after the crop/pad step, so that appended cells get it too.");
    out.pytorch = spelling(lines, post, notes);
  }

  // frameworks/tensorflow.py: VALID, SAME, explicit padding (2-d), or VALID's full output and a crop or pad
  {
    const notes = [];
    const lines = [];
    if (Math.max(...g.d) > 1) {
      lines.push(...dilate(g.d));
      notes.push(dilateNote("TensorFlow's CPU kernels reject dilations > 1 (except float32 through oneDNN)", "dilations"));
    }
    lines.push(...transpose);
    let padding, window;
    if (crop.every(([b, e], a) => b === 0 && -g.s[a] < e && e <= 0)) { padding = "VALID"; window = crop; }
    else if (crop.every(([b, e], a) => g.ke[a] - g.s[a] <= b + e && b + e <= g.ke[a] - 1 && b === Math.floor(Math.max(b + e, 0) / 2))) {
      padding = "SAME"; window = crop;
    } else if (nd === 2 && crop.every(([b, e], a) => b >= 0 && e > -g.s[a])) {
      padding = [[0, 0], ...crop.map(([b, e]) => [b, Math.max(e, 0)]), [0, 0]]; window = crop;
    } else { padding = "VALID"; window = crop.map(() => [0, 0]); }
    const post = crop.map(([b, e], a) => [b - window[a][0], e - window[a][1]]);
    const offsets = axes.map((a) => g.ke[a] - window[a][0] - window[a][1]);
    if (!isExact(post)) {
      const explicit = nd === 2 ? "explicit padding is non-negative" : "explicit padding is 2-d only";
      notes.push(postNote("TensorFlow", post, "SAME crops floor(T/2) first, VALID nothing, and " + explicit));
    }
    notes.push("TensorFlow's op has no bias: the plan adds it after the call.");
    const sizes = axes.map((a) => `(x.shape[${a + 1}] - 1) * ${g.s[a]} + ${offsets[a]}`);
    lines.push(`output_shape = [${["tf.shape(x)[0]", ...sizes, String(cOut)].join(", ")}]`);
    lines.push(`y = tf.nn.conv${nd}d_transpose(x, w, output_shape, strides=${py(g.s)}, padding=${py(padding)}, ` +
      `data_format=${py(["NWC", "NHWC"][nd - 1])})`);
    lines.push(...padCropLines(post, "y = tf.pad"));
    out.tensorflow = spelling(lines, post, notes);
  }

  // frameworks/keras.py: the windows of "valid" and "same" with output_padding None or < strides, else "valid"
  // and a crop or pad; Keras' rule written as its JAX backend pads the dilated input
  {
    function kerasCrop(ke, s, padding, op) {
      let left, right;
      if (padding === "valid") {
        const a = op === null ? Math.max(ke, s) - ke : op;
        left = ke - 1; right = ke - 1 + a;
      } else {
        const padLen = op === null ? s + ke - 2 : ke + (ke % 2) - 2 + op;
        left = Math.min(Math.floor(padLen / 2) + (padLen % 2), ke - 1);
        right = padLen - left;
      }
      return [ke - 1 - left, ke - 1 - right];
    }
    const same = (x, y) => x[0] === y[0] && x[1] === y[1];
    let choice = null;
    for (const padding of ["valid", "same"]) {
      if (axes.every((a) => same(kerasCrop(g.ke[a], g.s[a], padding, null), crop[a]))) { choice = [padding, null]; break; }
      const chosen = [];
      for (const a of axes) {
        for (let op = 0; op < g.s[a]; op++) {
          // "same" with an even k_eff and output_padding 0 is a size Keras' TensorFlow backend rejects
          if (same(kerasCrop(g.ke[a], g.s[a], padding, op), crop[a]) && !(padding === "same" && g.ke[a] % 2 === 0 && op === 0)) {
            chosen.push(op);
            break;
          }
        }
      }
      if (chosen.length === nd) { choice = [padding, T(chosen)]; break; }
    }
    const notes = [];
    const lines = [];
    // any dilation written into the kernel: Keras forbids it with a stride, and at stride 1 its TensorFlow
    // backend's CPU kernels reject it outside oneDNN
    const dilated = Math.max(...g.d) > 1;
    if (dilated) {
      lines.push(...dilate(g.d));
      notes.push(dilateNote(Math.max(...g.s) > 1 ? "Keras forbids strides > 1 with dilation_rate > 1"
        : "Keras's TensorFlow backend rejects dilation_rate > 1 on CPU outside oneDNN", "dilation_rate"));
    }
    lines.push(...transpose);
    let post = crop.map(() => [0, 0]);
    if (choice === null) {
      choice = ["valid", T(axes.map(() => 0))];
      post = crop;
      notes.push(postNote("Keras", post, "'valid' and 'same' with output_padding < strides reach only their own windows"));
    }
    if (anyNegative(post)) notes.push("The bias is added after the pad step (use_bias=False in the layer), so that appended cells get it too.");
    const args = [["filters", cOut], ["kernel_size", T(dilated ? g.ke : g.k)], ["strides", T(g.s)], ["padding", choice[0]],
      ["output_padding", choice[1]], ["data_format", "channels_last"], ["dilation_rate", T(dilated ? axes.map(() => 1) : g.d)]];
    const zeros = post.map(([b, e]) => T([Math.max(-b, 0), Math.max(-e, 0)]));
    const crops = post.map(([b, e]) => T([Math.max(b, 0), Math.max(e, 0)]));
    const amounts = (pairs) => py(nd === 1 ? pairs[0] : T(pairs));  // Keras: (begin, end) in 1-d, a pair per axis
    const steps = [];
    if (zeros.some((p) => p.tuple[0] || p.tuple[1])) {
      steps.push(`    keras.layers.ZeroPadding${nd}D(${amounts(zeros)}),  # zeros where the window runs past`);
    }
    if (crops.some((p) => p.tuple[0] || p.tuple[1])) {
      steps.push(`    keras.layers.Cropping${nd}D(${amounts(crops)}),  # crop (begin, end) per spatial axis`);
    }
    const conv = steps.length ? "conv" : "layer";
    lines.push(`${conv} = keras.layers.Conv${nd}DTranspose(${keywords(args)}, use_bias=False)`);
    if (steps.length) lines.push("layer = keras.Sequential([", "    conv,", ...steps, "])");
    lines.push(`layer.build((None, ${"None, ".repeat(nd)}${cIn}))`, `${conv}.set_weights([w])`, "y = layer(x)");
    out.keras = spelling(lines, post, notes);
  }

  // frameworks/jax.py: every window, as the pads (k_eff - 1 - b, k_eff - 1 - e) of the dilated input
  {
    const letters = "HW".slice(0, nd);
    const pads = T(crop.map(([b, e], a) => T([g.ke[a] - 1 - b, g.ke[a] - 1 - e])));
    const args = [["strides", T(g.s)], ["padding", pads], ["rhs_dilation", T(g.d)],
      ["dimension_numbers", T([`N${letters}C`, `${letters}IO`, `N${letters}C`])], ["transpose_kernel", true]];
    const lines = [...transpose, `y = lax.conv_transpose(x, w, ${keywords(args)})`];
    out.jax = spelling(lines, crop.map(() => [0, 0]), ["JAX's convolutions have no bias: the plan adds it after the call."]);
  }

  // frameworks/onnx.py: non-negative pads and output_padding < stride, else the full output and Pad/Slice nodes
  {
    const begins = [], ends = [], outputPadding = [], post = [];
    for (const a of axes) {
      const [b, e] = crop[a];
      const [pb, pe, op] = b >= 0 && e > -g.s[a] ? [b, Math.max(e, 0), Math.max(-e, 0)] : [0, 0, 0];
      begins.push(pb); ends.push(pe); outputPadding.push(op); post.push([b - pb, e - (pe - op)]);
    }
    const args = [["kernel_shape", g.k], ["strides", g.s], ["pads", [...begins, ...ends]], ["output_padding", outputPadding],
      ["dilations", g.d], ["group", 1]];
    const lines = [`y = ConvTranspose(x, w, ${keywords(args)})`];
    if (anyNegative(post)) {
      const pads = [0, 0, ...post.map(([b]) => Math.max(-b, 0)), 0, 0, ...post.map(([, e]) => Math.max(-e, 0))];
      lines.push(`y = Pad(y, pads=${py(pads)})  # append zeros`);
    }
    const cropped = axes.filter((a) => post[a][0] > 0 || post[a][1] > 0);
    if (cropped.length) {
      const starts = cropped.map((a) => Math.max(post[a][0], 0));
      const stops = cropped.map((a) => (post[a][1] > 0 ? -post[a][1] : 2 ** 62));
      lines.push(`y = Slice(y, starts=${py(starts)}, ends=${py(stops)}, axes=${py(cropped.map((a) => a + 2))})  # crop ${py(pairsT(post))}`);
    }
    const notes = [];
    if (!isExact(post)) notes.push(postNote("ONNX", post, "pads must be non-negative and output_padding less than the stride"));
    if (anyNegative(post)) notes.push("The bias is added after the pad step (an Add node), so that appended cells get it too.");
    out.onnx = spelling(lines, post, notes);
  }
  return out;
}
