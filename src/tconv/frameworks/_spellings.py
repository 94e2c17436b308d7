"""One transposed convolution spelled in PyTorch, TensorFlow/Keras, JAX and ONNX terms, for the explorer page.

The explorer page (``tconv explain --html``) computes everything in the browser for
whatever configuration a person dials in, so it needs this translation in
JavaScript: ``frameworkSpellings`` in ``tconv/explain/assets/explorer.js`` is this
module's twin, and the browser test checks both give the same strings. The
authority is :func:`tconv.translate` (every plan verified in the real
frameworks): ``tests/test_spellings.py`` checks that, over a grid of the page's
configurations, each spelling is exact exactly when translate's plan is, and runs
every spelled call verbatim in its framework. This module covers only the page's
subset -- groups 1, symmetric padding, "same"/"valid", output_padding, dilation,
1-d and 2-d -- as one-line calls a person can copy.

Everything is derived from the window model of :mod:`tconv.geometry`: per axis the
full output has ``full = (i - 1)*s + k_eff`` cells and the result is the window
``[b, b + o)`` of it, with ``e = full - b - o`` cropped at the end (negative:
zeros appended). Each framework is asked for the same window, natively when its
arguments can express it (FRAMEWORKS.md 7; Keras also through 'same' with an
explicit output_padding, as translate does), otherwise as its full output
followed by a slice. Weights in PyTorch's layout ``w`` of shape ``(C_in, C_out, *k)``.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..geometry import PaddingArg, conv_transpose_geometry

__all__ = ["framework_spellings"]


def _t(values: Sequence[int]) -> str:
    """A Python tuple literal."""
    values = [int(v) for v in values]
    return "(" + ", ".join(map(str, values)) + ("," if len(values) == 1 else "") + ")"


def _l(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(int(v)) for v in values) + "]"


def _pairs(pairs: Sequence[Sequence[int]]) -> str:
    """A tuple literal of (lo, hi) pairs."""
    inner = ", ".join(_t(p) for p in pairs)
    return "(" + inner + ("," if len(pairs) == 1 else "") + ")"


def _slices(begin: Sequence[int], size: Sequence[int]) -> str:
    return ", ".join(f"{b}:{b + o}" for b, o in zip(begin, size))


def _keras_same_output_padding(i, ke, s, o, b):
    """Per-axis output_padding making Keras' 'same' return the window ``(b, o)``, or None.

    Keras 3 with ``padding='same'`` and an explicit ``output_padding=a`` returns
    ``(i - 1)*s + k_eff % 2 + a`` cells, cropping ``k_eff - 1 - left`` at the start
    with ``left = min(ceil(pad/2), k_eff - 1)``, ``pad = k_eff + k_eff % 2 - 2 + a``
    (FRAMEWORKS.md 2.3; the rule tconv.compat.keras implements and tconv.translate uses).
    An even ``k_eff`` with ``a = 0`` is skipped: that size, ``(i - 1)*s``, is one
    Keras' TensorFlow backend rejects.
    """
    result = []
    for ii, kk, ss, oo, bb in zip(i, ke, s, o, b):
        for a in range(ss):
            if kk % 2 == 0 and a == 0:
                continue
            pad = kk + kk % 2 - 2 + a
            left = min(-(-pad // 2), kk - 1)
            if (ii - 1) * ss + kk % 2 + a == oo and kk - 1 - left == bb:
                result.append(a)
                break
        else:
            return None
    return result


def framework_spellings(
    input_size: Sequence[int],
    kernel_size: Sequence[int],
    stride: int | Sequence[int] = 1,
    padding: PaddingArg = 0,
    output_padding: int | Sequence[int] = 0,
    dilation: int | Sequence[int] = 1,
    *,
    in_channels: int = 1,
    out_channels: int = 1,
) -> dict[str, dict]:
    """The same transposed convolution as a call in each framework.

    Parameters
    ----------
    input_size, kernel_size : sequence of int
        Spatial sizes (1 or 2 axes for TensorFlow's explicit padding; any for the others).
    stride, padding, output_padding, dilation
        As for :func:`tconv.conv_transpose` (groups 1).
    in_channels, out_channels : int

    Returns
    -------
    dict
        ``{"pytorch" | "tensorflow" | "keras" | "jax" | "onnx": {"code": str,
        "exact": bool, "note": str, "args": dict}}``: ``code`` is one line that
        assumes ``x`` (the input, in that framework's data layout) and ``w`` (the
        weight in PyTorch's layout) exist; ``exact`` is False when the framework
        needs a slice after its own output; ``args`` holds the computed arguments.

    Examples
    --------
    >>> s = framework_spellings((2, 2), (3, 3), stride=2)
    >>> s["pytorch"]["code"]
    'torch.nn.functional.conv_transpose2d(x, w, stride=(2, 2), padding=(0, 0), output_padding=(0, 0), dilation=(1, 1))'
    >>> s["tensorflow"]["code"]
    "tf.nn.conv2d_transpose(x, tf.transpose(w, (2, 3, 1, 0)), output_shape=[1, 5, 5, 1], strides=(2, 2), padding='VALID', dilations=(1, 1))"
    >>> framework_spellings((4,), (3,), stride=2, padding="same")["pytorch"]["exact"]   # odd crop: not expressible
    False
    """
    if not isinstance(padding, str) and any(
        not isinstance(v, int) for v in ((padding,) if isinstance(padding, int) else padding)
    ):
        raise ValueError(
            f"framework_spellings takes padding as an int, one int per axis, 'same' or 'valid', got {padding!r}; "
            "(begin, end) pairs are left to tconv.translate"
        )
    g = conv_transpose_geometry(tuple(input_size), tuple(kernel_size), stride, padding, output_padding, dilation)
    nd = g.ndim
    i, k, s, d = g.input_size, g.kernel_size, g.stride, g.dilation
    ke, full, b, o, e = g.effective_kernel_size, g.full_size, g.crop_begin, g.output_size, g.crop_end
    n = f"{nd}d"
    perm = _t((*range(2, nd + 2), 1, 0))  # (C_in, C_out, *k) -> (*k, C_out, C_in)
    out: dict[str, dict] = {}

    # PyTorch: window begin p, size full - 2p + op with 0 <= op < max(s, d)
    op = [oo - f + 2 * bb for oo, f, bb in zip(o, full, b)]
    if all(bb >= 0 for bb in b) and all(0 <= a < max(ss, dd) for a, ss, dd in zip(op, s, d)):
        code = (
            f"torch.nn.functional.conv_transpose{n}(x, w, stride={_t(s)}, padding={_t(b)}, "
            f"output_padding={_t(op)}, dilation={_t(d)})"
        )
        out["pytorch"] = {"code": code, "exact": True, "note": "", "args": {"padding": b, "output_padding": tuple(op)}}
    else:
        extra = [max(0, bb + oo - f) for bb, oo, f in zip(b, o, full)]
        code = (
            f"torch.nn.functional.conv_transpose{n}(x, w, stride={_t(s)}, output_padding={_t(extra)}, "
            f"dilation={_t(d)})[..., {_slices(b, o)}]"
        )
        out["pytorch"] = {
            "code": code,
            "exact": False,
            "note": "PyTorch crops symmetrically (padding) and extends only at the end (output_padding): "
            "this window needs a slice of its output.",
            "args": {"padding": (0,) * nd, "output_padding": tuple(extra), "slice": tuple(zip(b, o))},
        }

    # TensorFlow tf.nn: VALID, SAME, explicit pairs (2-d only), or VALID + slice
    valid = all(bb == 0 and 0 <= oo - f < ss for bb, oo, f, ss in zip(b, o, full, s))
    same = all(
        (ii - 1) * ss + 1 <= oo <= ii * ss and bb == max(f - oo, 0) // 2 for ii, ss, oo, f, bb in zip(i, s, o, full, b)
    )
    explicit = nd == 2 and all(
        bb >= 0 and (oo + bb + max(ee, 0) - kk) // ss + 1 == ii for bb, ee, oo, kk, ss, ii in zip(b, e, o, ke, s, i)
    )
    note = "TensorFlow's CPU kernels reject dilation > 1." if max(d) > 1 else ""
    shape = _l((1, *o, out_channels))
    head = f"tf.nn.conv{n}_transpose(x, tf.transpose(w, {perm}), output_shape="
    tail = f", strides={_t(s)}, " + "{padding}" + f", dilations={_t(d)})"
    if valid:
        code, tf_args = head + shape + tail.format(padding="padding='VALID'"), {"padding": "VALID"}
    elif same:
        code, tf_args = head + shape + tail.format(padding="padding='SAME'"), {"padding": "SAME"}
    elif explicit:
        pads = [[0, 0], *([bb, max(ee, 0)] for bb, ee in zip(b, e)), [0, 0]]
        code = head + shape + tail.format(padding=f"padding={pads}")
        tf_args = {"padding": pads}
    else:
        extra = [max(0, bb + oo - f) for bb, oo, f in zip(b, o, full)]
        reach = [min(x, ss - 1) for x, ss in zip(extra, s)]  # VALID reaches s - 1 cells past the full output
        size = [f + r for f, r in zip(full, reach)]
        code = head + _l((1, *size, out_channels)) + tail.format(padding="padding='VALID'")
        if any(x > r for x, r in zip(extra, reach)):
            code = f"tf.pad({code}, {[[0, 0], *([0, x - r] for x, r in zip(extra, reach)), [0, 0]]})"
        code += f"[:, {_slices(b, o)}, :]"
        tf_args = {"padding": "VALID", "output_shape": tuple(size), "slice": tuple(zip(b, o))}
        note = (
            "This window is neither VALID nor SAME"
            + (" nor explicit (2-d only)" if nd != 2 else "")
            + ": slice the VALID output. "
            + note
        ).strip()
    out["tensorflow"] = {"code": code, "exact": "slice" not in tf_args, "note": note, "args": tf_args}

    # Keras 3: 'valid' + output_padding (< s), 'same' (output_padding=None), 'same' with an explicit
    # output_padding (Keras' own size rule, as tconv.translate uses it), or valid + cropping.
    notes = []
    if max(s) > 1 and max(d) > 1:  # Keras forbids it: write the dilation into the kernel, as tconv.translate does
        kk_keras, d_keras = ke, (1,) * nd
        notes.append(
            "Keras forbids strides > 1 with dilation_rate > 1: write the dilation into the kernel "
            "(zeros between taps) and use dilation 1."
        )
    else:
        kk_keras, d_keras = k, d
    ks = f"kernel_size={_t(kk_keras)}, strides={_t(s)}"
    same_op = _keras_same_output_padding(i, ke, s, o, b)
    if valid:
        code = (
            f"keras.layers.Conv{n[0].upper()}DTranspose({out_channels}, {ks}, padding='valid', "
            f"output_padding={_t([oo - f for oo, f in zip(o, full)])}, dilation_rate={_t(d_keras)}, use_bias=False)"
        )
        exact = True
    elif same and all(oo == ii * ss for oo, ii, ss in zip(o, i, s)):
        code = (
            f"keras.layers.Conv{n[0].upper()}DTranspose({out_channels}, {ks}, padding='same', "
            f"dilation_rate={_t(d_keras)}, use_bias=False)"
        )
        exact = True
    elif same_op is not None:
        code = (
            f"keras.layers.Conv{n[0].upper()}DTranspose({out_channels}, {ks}, padding='same', "
            f"output_padding={_t(same_op)}, dilation_rate={_t(d_keras)}, use_bias=False)"
        )
        exact = True
    else:
        extra = [max(0, bb + oo - f) for bb, oo, f in zip(b, o, full)]
        reach = [min(x, ss - 1) for x, ss in zip(extra, s)]  # Keras: output_padding < strides
        crop = [(bb, f + x - bb - oo) for bb, f, x, oo in zip(b, full, extra, o)]
        pairs = lambda v: _t(v[0]) if nd == 1 else "(" + ", ".join(_t(c) for c in v) + ")"  # noqa: E731
        code = (
            f"keras.layers.Conv{n[0].upper()}DTranspose({out_channels}, {ks}, padding='valid', "
            f"output_padding={_t(reach)}, dilation_rate={_t(d_keras)}, use_bias=False)"
        )
        if any(x > r for x, r in zip(extra, reach)):
            code += (
                f", then keras.layers.ZeroPadding{n[0].upper()}D({pairs([(0, x - r) for x, r in zip(extra, reach)])})"
            )
        code += f", then keras.layers.Cropping{n[0].upper()}D({pairs(crop)})"
        exact = False
        notes.append("Keras crops only through 'same'; this window needs a Cropping layer.")
    out["keras"] = {
        "code": code,
        "exact": exact,
        "note": " ".join(notes + ["Set the layer's kernel to tf.transpose(w, " + perm + ")."]),
        "args": {},
    }

    # JAX: explicit pads of the lhs-dilated input, lo = k_eff - 1 - b, hi = k_eff - 1 - e (any sign)
    pads = tuple((kk - 1 - bb, kk - 1 - ee) for kk, bb, ee in zip(ke, b, e))
    spatial = "HWD"[:nd] if nd <= 3 else None
    dn = f"('N{spatial}C', '{spatial}IO', 'N{spatial}C')" if spatial else "..."
    code = (
        f"jax.lax.conv_transpose(x, jnp.transpose(w, {perm}), strides={_t(s)}, "
        f"padding={_pairs(pads)}, rhs_dilation={_t(d)}, "
        f"dimension_numbers={dn}, transpose_kernel=True)"
    )
    out["jax"] = {"code": code, "exact": True, "note": "", "args": {"padding": pads}}

    # ONNX: pads [begin..., end...] >= 0, output_padding for an extended end
    end = [max(ee, 0) for ee in e]
    needed = [max(-ee, 0) for ee in e]
    onnx_op = [min(x, ss - 1) for x, ss in zip(needed, s)]  # ONNX Runtime requires output_padding < stride
    code = (
        f"ConvTranspose(X, W, kernel_shape={_l(k)}, strides={_l(s)}, pads={_l((*b, *end))}, "
        f"output_padding={_l(onnx_op)}, dilations={_l(d)}, group=1)"
    )
    after = [x - a for x, a in zip(needed, onnx_op)]
    note = "W is w, unchanged (same layout as PyTorch)."
    if any(after):
        code += f", then Pad(pads={_l((0, 0, *([0] * nd), 0, 0, *after))})"
        note += " ONNX Runtime rejects output_padding >= stride: the last zeros come from a Pad node."
    out["onnx"] = {
        "code": code,
        "exact": not any(after),
        "note": note,
        "args": {"pads": (*b, *end), "output_padding": tuple(onnx_op), "pad_after": tuple(after)},
    }
    return out
