"""The audit as one self-contained HTML page: one section per layer, with the picture of its geometry.

The picture is :func:`tconv.explain.pictures.overlap_figure` of the layer's configuration and
trained weights (the overlap map, the taps per phase, and the response of the weights to a
constant input), embedded as a PNG; it needs matplotlib (``tconv[viz]``) and is left out,
with a note, without it or for layers with more than two spatial axes. No network, no
scripts: the page works offline.
"""

from __future__ import annotations

import base64
import html
import io
from typing import TYPE_CHECKING

from ..translation import TranslationPlan
from ._report import checkerboard_text, parameters_text

if TYPE_CHECKING:
    from ._analysis import LayerAudit
    from ._report import Report

__all__ = ["report_html"]

_CSS = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
td, th { border: 1px solid #ddd; padding: 0.25em 0.5em; vertical-align: top; text-align: left; }
th { background: #f4f4f4; } code { font-size: 0.95em; }
.risk { color: #b00020; font-weight: bold; } .ok { color: #1b7e3c; font-weight: bold; }
.fails, .differs { background: #fde8ea; } .caution { background: #fff7e0; }
img { max-width: 100%; border: 1px solid #eee; } .note { color: #666; }
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _picture(audit: LayerAudit) -> str:
    analysis = audit.checkerboard
    if analysis is None:
        return '<p class="note">No trained weights: no picture of their response.</p>'
    if analysis.overlap.geometry.ndim > 2:
        return '<p class="note">The picture shows 1-d and 2-d layers; this one has more axes.</p>'
    try:
        from ..explain.pictures import overlap_figure
    except ImportError:
        return '<p class="note">The picture needs matplotlib: pip install "tconv[viz]".</p>'
    import matplotlib.pyplot as plt

    from ..artifacts import analyze

    spec = audit.spec
    weight = analysis.weights.weight if analysis.weights is not None else None
    # a small input: the picture shows two periods of the pattern, not the model's whole feature map
    small = analyze(None, spec.stride, spec.crop, 0, spec.dilation, weight=weight, groups=spec.groups)
    fig = overlap_figure(small)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="overlap map and phase response of {_e(audit.layer.name)}" src="data:image/png;base64,{data}">'


def _rows(rows: list[tuple[str, str]]) -> str:
    return "<table>" + "".join(f"<tr><th>{_e(k)}</th><td>{v}</td></tr>" for k, v in rows) + "</table>"


def _section(audit: LayerAudit) -> str:
    layer, spec, g = audit.layer, audit.spec, audit.geometry
    state = '<span class="risk">at risk</span>' if audit.at_risk else '<span class="ok">ok</span>'
    rows = [
        ("parameters", f"<code>{_e(layer.op)}({_e(parameters_text(audit))})</code>"),
        ("channels", f"{spec.in_channels} &rarr; {spec.out_channels}, groups {spec.groups}"),
        ("input → output", "unknown" if g is None else f"{_e(g.input_size)} &rarr; {_e(g.output_size)}"),
        (
            "window",
            f"kernel {_e(spec.kernel_size)}, stride {_e(spec.stride)}, dilation {_e(spec.dilation)}; crop (begin, end) "
            f"{_e(spec.crop)} of the full output" + ("" if g is None else f" {_e(g.full_size)}"),
        ),
        ("checkerboard", _e(checkerboard_text(audit))),
    ]
    parts = [f"<h2>{_e(layer.name)} &mdash; {state}</h2>", _rows(rows)]
    translations = []
    for target, plan in audit.translations.items():
        if not isinstance(plan, TranslationPlan):
            translations.append(f"<tr><td>{_e(target)}</td><td colspan=3>no equivalent: {_e(plan)}</td></tr>")
            continue
        call = f"{plan.function}(" + ", ".join(f"{k}={v!r}" for k, v in plan.arguments.items()) + ")"
        post = "exact" if plan.post_crop is None else f"then crop {plan.post_crop} (negative: append zeros)"
        translations.append(
            f"<tr><td>{_e(target)}</td><td><code>{_e(call)}</code></td><td>{_e(post)}</td>"
            f"<td>{_e('; '.join(plan.weight_steps) or 'same layout')}</td></tr>"
        )
    parts.append(
        "<table><tr><th>framework</th><th>the exact equivalent</th><th>after the call</th><th>weight</th></tr>"
        + "".join(translations)
        + "</table>"
    )
    if audit.findings:
        rows_html = "".join(
            f'<tr class="{_e(f.issue.effect)}"><td>{_e(f.issue.tool)} {_e(f.version or "newest")}</td>'
            f"<td>{_e(f.issue.effect)}</td><td>{_e(f.detail)}<br><b>fix:</b> {_e(f.fix)}</td>"
            f"<td>{_e(f.issue.source)}<br><i>{_e(f.issue.evidence)}</i></td></tr>"
            for f in audit.findings
        )
        parts.append(
            "<table><tr><th>tool</th><th>effect</th><th>what happens</th><th>source, evidence</th></tr>"
            + rows_html
            + "</table>"
        )
    else:
        parts.append("<p>No known difference applies for the targets and versions asked about.</p>")
    if audit.verification:
        parts.append(
            "<table><tr><th>verified in</th><th>max |difference| from tconv</th></tr>"
            + "".join(
                f"<tr><td>{_e(k)}</td><td>{_e(f'{v:.3g}' if isinstance(v, float) else v)}</td></tr>"
                for k, v in audit.verification.items()
            )
            + "</table>"
        )
    parts.append(_picture(audit))
    parts += [f'<p class="note">{_e(note)}</p>' for note in layer.notes]
    return "\n".join(parts)


def report_html(report: Report) -> str:
    """The whole page."""
    n = len(report.layers)
    risky = len(report.at_risk)
    versions = ", ".join(f"{t} {v or '(not installed: newest)'}" for t, v in report.versions.items())
    head = (
        f"<h1>tconv audit: {_e(report.model)}</h1><p>{_e(report.header or report.kind)}: {n} transposed "
        f"convolution{'s' * (n != 1)}, "
        + (f'<span class="risk">{risky} at risk</span>' if risky else '<span class="ok">none at risk</span>')
        + f' for {_e(", ".join(report.targets))}.</p><p class="note">Versions checked: {_e(versions)}.</p>'
    )
    body = "\n".join([head, *(_section(a) for a in report.layers)])
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>tconv audit: '
        f"{_e(report.model)}</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )
