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

    def gflops(self, runtime: str) -> float:
        return self.gflop / (self.times[runtime] / 1e3)

    def ratio(self, peer: str, runtime: str = "tconv") -> float:
        """How many times faster tconv is than ``peer`` (peer time / tconv time)."""
        return self.times[peer] / self.times[runtime]

    def best_peer(self) -> str | None:
        peers = [p for p in self.times if p in PEERS]
        return min(peers, key=self.times.__getitem__) if peers else None


def summary(report: dict) -> dict:
    """Geometric-mean speed-up over the fastest peer, the slowest shape, and the shapes below 0.8x."""
    ratios = []
    for row in report["results"]:
        r = Result(**row)
        best = r.best_peer()
        if best and "tconv" in r.times:
            ratios.append((r.ratio(best), r.layer, r.dtype, best))
    if not ratios:
        return {"shapes": 0}
    geo = math.exp(sum(math.log(v) for v, *_ in ratios) / len(ratios))
    worst = min(ratios)
    return {
        "shapes": len(ratios),
        "geomean_speedup_over_fastest_peer": geo,
        "slowest": {"ratio": worst[0], "layer": worst[1], "dtype": worst[2], "peer": worst[3]},
        "below_0.8": [f"{layer} {dtype} ({v:.2f}x vs {peer})" for v, layer, dtype, peer in ratios if v < 0.8],
    }


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
        "auto chose",
        *[f"{p} ms (x)" for p in peer_labels],
        "vs fastest peer",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        peak = report["gemm_gflops"].get(r.dtype)
        cells = [r.layer, r.dtype, f"{r.gflop:.3f}"]
        cells += [f"{r.times[lb]:.2f}" if lb in r.times else "-" for lb in tconv_labels]
        if "tconv" in r.times:
            cells += [f"{r.gflops('tconv'):.0f}", f"{100 * r.gflops('tconv') / peak:.0f}%" if peak else "-"]
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
        lines.append("| " + " | ".join(cells) + " |")
    s = summary(report)
    text = "\n".join(lines)
    if report.get("training"):
        text = "Training step (forward + input and weight gradients) of a ConvTranspose module.\n\n" + text
    gemm = ", ".join(f"{k} {v:.0f} GF/s" for k, v in report["gemm_gflops"].items())
    text += f"\n\nGEMM peak measured in this run: {gemm}. "
    if s.get("shapes"):
        slowest = s["slowest"]
        text += (
            f"Geometric-mean speed-up over the fastest peer on each shape: "
            f"{s['geomean_speedup_over_fastest_peer']:.2f}x over {s['shapes']} shapes; slowest: "
            f"{slowest['layer']} {slowest['dtype']} at {slowest['ratio']:.2f}x vs {slowest['peer']}."
        )
    notes = [f"{r.layer} {r.dtype}: {lb}: {msg}" for r in rows for lb, msg in r.errors.items()]
    if notes:
        text += "\n\nNot timed:\n" + "\n".join(f"- {n}" for n in notes)
    return text


def save_json(report: dict, path: str) -> None:
    """Write the report as JSON (the file ``tconv bench --json FILE`` writes)."""
    with open(path, "w") as handle:
        json.dump(report, handle, indent=1)
