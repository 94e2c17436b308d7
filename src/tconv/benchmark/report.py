"""The benchmark's results: one :class:`Result` per layer and dtype, their summary and their table.

:func:`tconv.benchmark.run` returns a JSON-ready report (``save_json`` writes it);
its ``"results"`` are :class:`Result` fields, so ``Result(**row)`` reads a row back.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

from ._runtimes import PEERS

__all__ = ["Result", "format_table", "save_json", "summary"]


@dataclass
class Result:
    """Timings of one layer in one dtype (milliseconds per call, medians)."""

    layer: str
    description: str
    dtype: str
    gflop: float
    times: dict[str, float] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    algorithm: str = ""
    megabytes: float = 0.0  # the bytes a call must move at least (read the operands, write the result)
    samples: dict[str, int] = field(default_factory=dict)  # timed calls per column (the medians' sizes)

    def gflops(self, runtime: str) -> float:
        return self.gflop / (self.times[runtime] / 1e3)

    def ratio(self, peer: str, runtime: str = "tconv") -> float:
        """How many times faster tconv is than ``peer`` (peer time / tconv time)."""
        return self.times[peer] / self.times[runtime]

    def roofline_ms(self, gemm_gflops: float, bandwidth_gbs: float) -> float:
        """The limit: the larger of the FLOPs at the GEMM rate and the bytes at the memory speed."""
        return max(self.gflop / gemm_gflops, self.megabytes / 1e3 / bandwidth_gbs) * 1e3

    def best_peer(self) -> str | None:
        peers = [p for p in self.times if p in PEERS]
        return min(peers, key=self.times.__getitem__) if peers else None


def _geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values))


#: The label of tconv's prepared call (:func:`tconv.prepare`) in a report.
PREPARED = "tconv:prepared"


def summary(report: dict) -> dict:
    """Geometric-mean speed-up over the fastest peer, the slowest shape, and the shapes below 0.8x; the
    prepared call against ONNX Runtime's session; the layers above 0.5 GFLOP below 70% of their roofline."""
    ratios, prepared, roofline = [], [], []
    gemm, bandwidth = report["gemm_gflops"], report.get("bandwidth_gbs")
    for row in report["results"]:
        r = Result(**row)
        if r.gflop < 1e-6:  # a fixed-cost probe (the 1-element call) is reported, not counted as a layer
            continue
        best = r.best_peer()
        if best and "tconv" in r.times:
            ratios.append((r.ratio(best), r.layer, r.dtype, best))
        if PREPARED in r.times and "onnxruntime" in r.times:
            prepared.append((r.ratio("onnxruntime", PREPARED), r.layer, r.dtype))
        if bandwidth and r.megabytes and "tconv" in r.times and r.dtype in gemm:
            fraction = r.roofline_ms(gemm[r.dtype], bandwidth) / r.times["tconv"]
            roofline.append((fraction, r.layer, r.dtype, r.gflop))
    if not ratios:
        return {"shapes": 0}
    worst = min(ratios)
    out = {
        "shapes": len(ratios),
        "geomean_speedup_over_fastest_peer": _geomean([v for v, *_ in ratios]),
        "slowest": {"ratio": worst[0], "layer": worst[1], "dtype": worst[2], "peer": worst[3]},
        "below_0.8": [f"{layer} {dtype} ({v:.2f}x vs {peer})" for v, layer, dtype, peer in ratios if v < 0.8],
    }
    if prepared:
        slowest = min(prepared)
        out["prepared_vs_onnxruntime"] = {
            "geomean": _geomean([v for v, *_ in prepared]),
            "slowest": {"ratio": slowest[0], "layer": slowest[1], "dtype": slowest[2]},
            "below_1.0": [f"{layer} {dtype} ({v:.2f}x)" for v, layer, dtype in prepared if v < 1.0],
        }
    if roofline:
        big = [(f, layer, dtype) for f, layer, dtype, gflop in roofline if gflop > 0.5]
        out["roofline_below_70%_above_0.5_GFLOP"] = [
            f"{layer} {dtype} ({100 * f:.0f}%)" for f, layer, dtype in big if f < 0.7
        ]
    return out


def format_table(report: dict) -> str:
    """The report as a Markdown table plus a summary paragraph."""
    rows = [Result(**row) for row in report["results"]]
    labels = []
    for r in rows:
        for label in list(r.times) + list(r.errors):
            if label not in labels:
                labels.append(label)
    tconv_labels = [lb for lb in labels if lb.startswith("tconv")]
    peer_labels = [lb for lb in labels if lb in PEERS]
    head = [
        "layer",
        "dtype",
        "GFLOP",
        *[f"{lb} ms" for lb in tconv_labels],
        "tconv GF/s",
        "% GEMM peak",
        "roofline ms",
        "% roofline",
        "auto chose",
        *[f"{p} ms (x)" for p in peer_labels],
        "vs fastest peer",
    ]
    with_prepared = PREPARED in tconv_labels and "onnxruntime" in peer_labels
    if with_prepared:
        head.append("prepared vs onnxruntime")
    bandwidth = report.get("bandwidth_gbs")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        peak = report["gemm_gflops"].get(r.dtype)
        cells = [r.layer, r.dtype, f"{r.gflop:.3f}"]
        cells += [f"{r.times[lb]:.2f}" if lb in r.times else "-" for lb in tconv_labels]
        if "tconv" in r.times:
            cells += [f"{r.gflops('tconv'):.0f}", f"{100 * r.gflops('tconv') / peak:.0f}%" if peak else "-"]
        else:
            cells += ["-", "-"]
        if peak and bandwidth and r.megabytes:
            limit = r.roofline_ms(peak, bandwidth)
            cells.append(f"{limit:.2f}")
            cells.append(f"{100 * limit / r.times['tconv']:.0f}%" if "tconv" in r.times else "-")
        else:
            cells += ["-", "-"]
        cells.append(r.algorithm or "-")
        for p in peer_labels:
            if p in r.times and "tconv" in r.times:
                cells.append(f"{r.times[p]:.2f} ({r.ratio(p):.2f}x)")
            else:
                cells.append("n/a" if p in r.errors else "-")
        best = r.best_peer()
        cells.append(f"{r.ratio(best):.2f}x ({best})" if best and "tconv" in r.times else "-")
        if with_prepared:
            both = PREPARED in r.times and "onnxruntime" in r.times
            cells.append(f"{r.ratio('onnxruntime', PREPARED):.2f}x" if both else "-")
        lines.append("| " + " | ".join(cells) + " |")
    s = summary(report)
    text = "\n".join(lines)
    if report.get("training"):
        text = "Training step (forward + input and weight gradients) of a ConvTranspose module.\n\n" + text
    gemm = ", ".join(f"{k} {v:.0f} GF/s" for k, v in report["gemm_gflops"].items())
    text += f"\n\nGEMM peak measured in this run: {gemm}"
    if bandwidth:
        text += f"; memory bandwidth {bandwidth:.1f} GB/s (roofline = max(FLOPs / GEMM peak, bytes / bandwidth))"
    text += "."
    sentences = []
    if s.get("shapes"):
        slowest = s["slowest"]
        sentences.append(
            f"Geometric-mean speed-up over the fastest peer on each shape: "
            f"{s['geomean_speedup_over_fastest_peer']:.2f}x over {s['shapes']} shapes; slowest: "
            f"{slowest['layer']} {slowest['dtype']} at {slowest['ratio']:.2f}x vs {slowest['peer']}."
        )
    if "prepared_vs_onnxruntime" in s:
        p = s["prepared_vs_onnxruntime"]
        sentences.append(
            f"Prepared call vs ONNX Runtime's session: {p['geomean']:.2f}x in geometric mean; slowest "
            f"{p['slowest']['layer']} {p['slowest']['dtype']} at {p['slowest']['ratio']:.2f}x."
        )
    if s.get("roofline_below_70%_above_0.5_GFLOP") is not None:
        below = s["roofline_below_70%_above_0.5_GFLOP"]
        sentences.append(
            f"Layers above 0.5 GFLOP below 70% of their roofline: {', '.join(below) if below else 'none'}."
        )
    if sentences:
        text += " " + " ".join(sentences)
    notes = [f"{r.layer} {r.dtype}: {lb}: {msg}" for r in rows for lb, msg in r.errors.items()]
    if notes:
        text += "\n\nNot timed:\n" + "\n".join(f"- {n}" for n in notes)
    full = report.get("rounds", 0) * report.get("repeat", 0)
    fewer = [f"{r.layer} {r.dtype}: {lb} ({count})" for r in rows for lb, count in r.samples.items() if count < full]
    if fewer:  # runner.COLUMN_SECONDS
        text += f"\n\nTimed fewer than {full} times (slow calls; median of the count given):\n"
        text += "\n".join(f"- {n}" for n in fewer)
    return text


def save_json(report: dict, path: str) -> None:
    """Write the report as JSON (the file ``tconv bench --json FILE`` writes)."""
    with open(path, "w") as handle:
        json.dump(report, handle, indent=1)
