"""Benchmark suite: named real layer shapes, timed against PyTorch, ONNX Runtime and JAX.

Every runtime (tconv and each peer) runs in its own worker process, and each
batch of timed calls starts after a short idle gap, so no thread pool spins while
another runtime is timed (ONNX Runtime's and OpenMP's pools spin-wait after a
call; runtimes spinning against each other distort figures badly on 2 cores).
The order of the runtimes is shuffled every round, and each batch starts with
untimed calls (at least 3, for at least 20 ms): what is timed is the steady state
of a layer called in a loop, not the first calls after an idle pause (on this VM
a core that went idle needs a few milliseconds of work to come back to speed). The workers generate the same inputs from the
same seed; before anything is timed, every peer's output is checked against
tconv's. Timing alternates between runtimes in rounds, and the median per call is
reported with the useful GFLOP/s (``2*N*C_in*C_out/groups*prod(k)*prod(i)``), each
peer's time ratio, and the fraction of the machine's GEMM rate measured in the
same run.

Run it with ``tconv bench`` (see ``tconv bench --help``) or :func:`run`.
"""

from __future__ import annotations

import itertools
import json
import math
import multiprocessing
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["LAYERS", "PEERS", "Layer", "Result", "check_output", "format_table", "layer_from_spec", "run", "summary"]

#: Peer runtimes, in report order.
PEERS = ("torch", "onnxruntime", "jax")

#: Seconds of idleness before each runtime's batch of timed calls (see :func:`run`).
IDLE_GAP = 0.05
#: Untimed calls before each batch: at least this many, and for at least this long (see :func:`run`).
WARM_UP_CALLS = 3
WARM_UP_SECONDS = 0.02


@dataclass(frozen=True)
class Layer:
    """One transposed-convolution layer shape, in PyTorch's terms, with where it comes from."""

    name: str
    source: str
    n: int
    c_in: int
    c_out: int
    size: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...] = ()
    output_padding: tuple[int, ...] = ()
    groups: int = 1
    dilation: tuple[int, ...] = ()
    bias: bool = True

    def __post_init__(self):
        nd = len(self.size)
        for name in ("kernel", "stride", "padding", "output_padding", "dilation"):
            value = getattr(self, name)
            if isinstance(value, int):
                value = (value,) * nd
            if value == ():
                value = (1 if name in ("stride", "dilation") else 0,) * nd
            object.__setattr__(self, name, tuple(value))

    @property
    def flops(self) -> int:
        """Useful floating-point operations: ``2*N*C_in*C_out/groups*prod(k)*prod(i)``."""
        return 2 * self.n * self.c_in * self.c_out // self.groups * math.prod(self.kernel) * math.prod(self.size)

    @property
    def output_size(self) -> tuple[int, ...]:
        from .shape import conv_transpose_output_size

        return conv_transpose_output_size(
            self.size,
            self.kernel,
            self.stride,
            self.padding,  # type: ignore[return-value]
            self.output_padding,
            self.dilation,
        )

    def describe(self) -> str:
        dims = "x".join(map(str, self.size))
        out = "x".join(map(str, self.output_size))
        parts = [
            f"N={self.n}",
            f"{self.c_in}->{self.c_out}",
            f"{dims}->{out}",
            f"k={_compact(self.kernel)}",
            f"s={_compact(self.stride)}",
        ]
        if any(self.padding):
            parts.append(f"p={_compact(self.padding)}")
        if any(self.output_padding):
            parts.append(f"op={_compact(self.output_padding)}")
        if any(d != 1 for d in self.dilation):
            parts.append(f"d={_compact(self.dilation)}")
        if self.groups != 1:
            parts.append(f"g={self.groups}")
        return " ".join(parts)

    def kwargs(self) -> dict:
        return dict(
            stride=self.stride,
            padding=self.padding,
            output_padding=self.output_padding,
            groups=self.groups,
            dilation=self.dilation,
        )

    def arrays(self, dtype: str, seed: int = 0):
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((self.n, self.c_in, *self.size), dtype=np.float64).astype(dtype)
        w = (
            rng.standard_normal((self.c_in, self.c_out // self.groups, *self.kernel))
            / math.sqrt(self.c_in // self.groups * math.prod(self.kernel))
        ).astype(dtype)
        b = rng.standard_normal(self.c_out).astype(dtype) if self.bias else None
        return x, w, b


def _compact(values: tuple[int, ...]) -> str:
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


LAYERS: tuple[Layer, ...] = (
    Layer(
        "dcgan-project",
        "DCGAN generator (Radford et al. 2016; PyTorch examples/dcgan netG): z (100x1x1) -> 512x4x4",
        16,
        100,
        512,
        (1, 1),
        4,
        1,
        0,
    ),
    Layer("dcgan-1", "DCGAN generator up-sampling layer 1 (ngf*8 -> ngf*4)", 16, 512, 256, (4, 4), 4, 2, 1),
    Layer("dcgan-2", "DCGAN generator up-sampling layer 2 (ngf*4 -> ngf*2)", 16, 256, 128, (8, 8), 4, 2, 1),
    Layer("dcgan-3", "DCGAN generator up-sampling layer 3 (ngf*2 -> ngf)", 16, 128, 64, (16, 16), 4, 2, 1),
    Layer("dcgan-4", "DCGAN generator output layer (ngf -> 3 RGB channels)", 16, 64, 3, (32, 32), 4, 2, 1),
    Layer(
        "unet-1024",
        "U-Net (Ronneberger et al. 2015) first 2x2 up-convolution, 28x28 -> 56x56",
        1,
        1024,
        512,
        (28, 28),
        2,
        2,
    ),
    Layer("unet-256", "U-Net 2x2 up-convolution 256 -> 128 channels", 4, 256, 128, (32, 32), 2, 2),
    Layer("unet-128", "U-Net 2x2 up-convolution 128 -> 64 channels at 112x112", 2, 128, 64, (112, 112), 2, 2),
    Layer("unet-64", "U-Net last 2x2 up-convolution 64 -> 32 channels at 128x128", 2, 64, 32, (128, 128), 2, 2),
    Layer(
        "fcn8s-up2",
        "FCN-8s (Long et al. 2015) upscore2: x2 up-scoring of 21 class scores, k4 s2, no bias",
        4,
        21,
        21,
        (16, 16),
        4,
        2,
        0,
        bias=False,
    ),
    Layer(
        "fcn8s-up8",
        "FCN-8s upscore8: x8 up-scoring of 21 class scores, k16 s8, no bias",
        2,
        21,
        21,
        (64, 64),
        16,
        8,
        0,
        bias=False,
    ),
    Layer(
        "hifigan-up1", "HiFi-GAN V1 (Kong et al. 2020) generator up-sampler 1: k16 s8 p4", 4, 512, 256, (200,), 16, 8, 4
    ),
    Layer(
        "istft-ola",
        "inverse-STFT-like overlap-add: 1026 -> 1 channel, k1024 s256 (pytorch#120982)",
        1,
        1026,
        1,
        (224,),
        1024,
        256,
        0,
    ),
    Layer("unet3d-up", "3-D U-Net (Cicek et al. 2016) 2x2x2 up-convolution 128 -> 64", 1, 128, 64, (16, 16, 16), 2, 2),
    Layer("vnet-up", "V-Net (Milletari et al. 2016) 2x2x2 de-convolution 256 -> 128", 2, 256, 128, (8, 8, 8), 2, 2),
    Layer("3d-k3s2", "3-D decoder up-sampling k3 s2 p1 op1 64 -> 32", 1, 64, 32, (16, 16, 16), 3, 2, 1, 1),
    Layer("decoder-k3s2", "2-D decoder up-sampling k3 s2 p1 op1 128 -> 64", 8, 128, 64, (32, 32), 3, 2, 1, 1),
    Layer(
        "stride1-3x3",
        "stride-1 3x3 transposed convolution 128 -> 128 (a decoder's refinement layer)",
        8,
        128,
        128,
        (32, 32),
        3,
        1,
        1,
    ),
    Layer("grouped-4", "grouped (groups=4) k4 s2 p1 256 -> 256", 8, 256, 256, (16, 16), 4, 2, 1, groups=4),
    Layer("depthwise", "depthwise (groups=channels=128) k4 s2 p1", 8, 128, 128, (32, 32), 4, 2, 1, groups=128),
    Layer("dilated", "dilated k3 s2 p2 d2 op1 64 -> 64", 4, 64, 64, (32, 32), 3, 2, 2, 1, dilation=2),
)


def layer_from_spec(spec: str) -> Layer:
    """A layer from ``"n=4 c_in=256 c_out=128 size=32x32 kernel=2 stride=2 [padding=..] [groups=..]"``.

    Examples
    --------
    >>> layer_from_spec("n=2 c_in=8 c_out=4 size=16x16 kernel=4 stride=2 padding=1").describe()
    'N=2 8->4 16x16->32x32 k=4 s=2 p=1'
    """
    values: dict[str, object] = {}
    for item in spec.replace(",", " ").split():
        if "=" not in item:
            raise ValueError(f"layer spec entries are key=value, got {item!r} in {spec!r}")
        key, value = item.split("=", 1)
        if key in ("n", "c_in", "c_out", "groups"):
            values[key] = int(value)
        elif key in ("size", "kernel", "stride", "padding", "output_padding", "dilation"):
            values[key] = tuple(int(v) for v in value.split("x"))
        elif key == "bias":
            values[key] = value.lower() in ("1", "true", "yes")
        else:
            raise ValueError(
                f"unknown layer spec key {key!r}, valid keys are n, c_in, c_out, size, kernel, stride, "
                "padding, output_padding, groups, dilation, bias"
            )
    missing = {"n", "c_in", "c_out", "size", "kernel"} - set(values)
    if missing:
        raise ValueError(f"layer spec {spec!r} lacks {sorted(missing)}")
    size = values["size"]
    for key in ("kernel", "stride", "padding", "output_padding", "dilation"):
        if key in values and len(values[key]) == 1:  # type: ignore[arg-type]
            values[key] = values[key] * len(size)  # type: ignore[operator]
    values.setdefault("stride", (1,) * len(size))  # type: ignore[arg-type]
    return Layer(name="custom", source=spec, **values)  # type: ignore[arg-type]


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


# ----------------------------------------------------------------------------------------------
# Workers: one process per runtime.


class _Runtime:
    def __init__(self, threads: int):
        self.threads = threads

    def prepare(self, layer: Layer, x, w, b, algorithm: str) -> Callable[[], np.ndarray]:
        raise NotImplementedError

    def prepare_training(self, layer: Layer, x, w, b, algorithm: str) -> Callable[[], np.ndarray]:
        """One training step: forward, then input and weight gradients (only tconv and torch have it)."""
        raise NotImplementedError(f"{type(self).__name__[1:].lower()} has no training step in this benchmark")


def _training_step(module, x, seed: int = 1):
    """A call doing forward + backward of a torch module; returns output, input and weight gradients."""
    import torch

    xt = torch.from_numpy(x)
    y_shape = module(xt[:1]).shape[1:]
    grad = torch.from_numpy(np.random.default_rng(seed).standard_normal((x.shape[0], *y_shape)).astype(x.dtype))

    def call():
        module.zero_grad(set_to_none=True)
        xg = xt.detach().requires_grad_(True)
        y = module(xg)
        y.backward(grad)
        return np.concatenate([y.detach().numpy().ravel(), xg.grad.numpy().ravel(), module.weight.grad.numpy().ravel()])

    return call


def _torch_module(layer: Layer, w, b):
    import torch

    cls = {1: torch.nn.ConvTranspose1d, 2: torch.nn.ConvTranspose2d, 3: torch.nn.ConvTranspose3d}[len(layer.size)]
    module = cls(
        layer.c_in,
        layer.c_out,
        layer.kernel,
        layer.stride,
        layer.padding,
        layer.output_padding,
        layer.groups,
        b is not None,
        layer.dilation,
        dtype=getattr(torch, str(w.dtype)),
    )
    with torch.no_grad():
        module.weight.copy_(torch.from_numpy(w))
        if b is not None:
            module.bias.copy_(torch.from_numpy(b))
    return module


class _Tconv(_Runtime):
    def __init__(self, threads):
        super().__init__(threads)
        import tconv

        self.tconv = tconv
        tconv.set_options(threads=threads)

    def prepare(self, layer, x, w, b, algorithm):
        tconv = self.tconv
        kwargs = layer.kwargs()
        return lambda: tconv.conv_transpose(x, w, b, **kwargs, algorithm=algorithm)

    def prepare_training(self, layer, x, w, b, algorithm):
        import torch

        from .torch import from_torch

        torch.set_num_threads(self.threads)
        return _training_step(from_torch(_torch_module(layer, w, b), algorithm=algorithm), x)

    def chosen(self, layer, x, w):
        from . import _algorithms
        from .geometry import conv_transpose_geometry

        g = conv_transpose_geometry(
            layer.size, layer.kernel, layer.stride, layer.padding, layer.output_padding, layer.dilation
        )
        return _algorithms.choose(g, layer.groups, layer.n, layer.c_in, layer.c_out)


class _Torch(_Runtime):
    def __init__(self, threads):
        super().__init__(threads)
        import torch

        torch.set_num_threads(threads)
        self.torch = torch

    def prepare(self, layer, x, w, b, algorithm):
        torch = self.torch
        f = {
            1: torch.nn.functional.conv_transpose1d,
            2: torch.nn.functional.conv_transpose2d,
            3: torch.nn.functional.conv_transpose3d,
        }[len(layer.size)]
        xt, wt = torch.from_numpy(x), torch.from_numpy(w)
        bt = None if b is None else torch.from_numpy(b)
        args = (layer.stride, layer.padding, layer.output_padding, layer.groups, layer.dilation)

        def call():
            with torch.inference_mode():
                return f(xt, wt, bt, *args).numpy()

        return call

    def prepare_training(self, layer, x, w, b, algorithm):
        return _training_step(_torch_module(layer, w, b), x)


class _Onnxruntime(_Runtime):
    def prepare(self, layer, x, w, b, algorithm):
        import onnx
        import onnxruntime
        from onnx import TensorProto, helper, numpy_helper

        elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}[x.dtype]
        inputs = ["X", "W"] + (["B"] if b is not None else [])
        node = helper.make_node(
            "ConvTranspose",
            inputs,
            ["Y"],
            kernel_shape=list(layer.kernel),
            strides=list(layer.stride),
            pads=list(layer.padding) * 2,
            output_padding=list(layer.output_padding),
            dilations=list(layer.dilation),
            group=layer.groups,
        )
        initializers = [numpy_helper.from_array(w, "W")] + ([numpy_helper.from_array(b, "B")] if b is not None else [])
        y_shape = [layer.n, layer.c_out, *layer.output_size]
        graph = helper.make_graph(
            [node],
            "convtranspose",
            [helper.make_tensor_value_info("X", elem, list(x.shape))],
            [helper.make_tensor_value_info("Y", elem, y_shape)],
            initializers,
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        model.ir_version = 8
        onnx.checker.check_model(model)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        session = onnxruntime.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        return lambda: session.run(None, {"X": x})[0]


class _Jax(_Runtime):
    def __init__(self, threads):
        super().__init__(threads)
        import jax

        jax.config.update("jax_enable_x64", True)
        jax.config.update("jax_platforms", "cpu")
        self.jax = jax

    def prepare(self, layer, x, w, b, algorithm):
        """``lax.conv_general_dilated`` with PyTorch's semantics: lhs dilation = stride, flipped kernel."""
        jax = self.jax
        nd = len(layer.size)
        g = layer.groups
        cig, cog = layer.c_in // g, layer.c_out // g
        # (C_in, C_out/g, *k) -> (G, Cog, Cig, *k) -> (C_out, C_in/g, *k), spatially flipped: OIHW of the direct conv
        rhs = np.flip(
            w.reshape(g, cig, cog, *layer.kernel).swapaxes(1, 2).reshape(layer.c_out, cig, *layer.kernel),
            axis=tuple(range(2, 2 + nd)),
        ).copy()
        k_eff = [d * (k - 1) + 1 for k, d in zip(layer.kernel, layer.dilation)]
        padding = [(ke - 1 - p, ke - 1 - p + op) for ke, p, op in zip(k_eff, layer.padding, layer.output_padding)]
        spatial = "DHW"[-nd:] if nd <= 3 else None
        dn = (f"NC{spatial}", f"OI{spatial}", f"NC{spatial}")
        xj, rj = jax.device_put(x), jax.device_put(rhs)
        bj = None if b is None else jax.device_put(b.reshape(1, -1, *(1,) * nd))

        @jax.jit
        def f(xv, rv, bv):
            y = jax.lax.conv_general_dilated(
                xv,
                rv,
                (1,) * nd,
                padding,
                lhs_dilation=layer.stride,
                rhs_dilation=layer.dilation,
                dimension_numbers=dn,
                feature_group_count=g,
            )
            return y if bv is None else y + bv

        return lambda: np.asarray(f(xj, rj, bj).block_until_ready())


_RUNTIMES = {"tconv": _Tconv, "torch": _Torch, "onnxruntime": _Onnxruntime, "jax": _Jax}


def _worker(runtime: str, threads: int, conn) -> None:  # pragma: no cover - runs in a subprocess
    try:
        impl = _RUNTIMES[runtime](threads)
    except Exception as error:  # noqa: BLE001 - reported to the parent
        conn.send(("unavailable", f"{type(error).__name__}: {error}"))
        return
    conn.send(("ready", None))
    calls: dict[str, Callable[[], np.ndarray]] = {}  # prepared calls, by algorithm (one worker may run several)
    current = None  # the (layer, dtype) the prepared calls belong to
    while True:
        message = conn.recv()
        kind = message[0]
        try:
            if kind == "quit":
                return
            if kind == "prepare":
                _, layer, dtype, algorithm, training = message
                if current != (layer, dtype):
                    calls.clear()
                    current = (layer, dtype)
                x, w, b = layer.arrays(dtype)
                prepare = impl.prepare_training if training else impl.prepare
                calls[algorithm] = prepare(layer, x, w, b, algorithm)
                out = calls[algorithm]()  # warm-up (compilation) and the output to check
                extra = impl.chosen(layer, x, w) if runtime == "tconv" else ""
                conn.send(("ok", (np.asarray(out), extra)))
            elif kind == "time":
                _, algorithm, repeat = message
                call = calls[algorithm]
                warm_until = time.perf_counter() + WARM_UP_SECONDS
                for count in itertools.count():  # untimed: reach the steady state of a layer called in a loop
                    call()
                    if count + 1 >= WARM_UP_CALLS and time.perf_counter() >= warm_until:
                        break
                times = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    call()
                    times.append(time.perf_counter() - start)
                conn.send(("ok", (algorithm, times)))
            elif kind == "gemm_rate":
                conn.send(("ok", _gemm_rate(message[1])))
        except Exception as error:  # noqa: BLE001 - reported to the parent
            conn.send(("error", f"{type(error).__name__}: {error}"))


def _gemm_rate(dtype: str) -> float:
    """Best GFLOP/s of NumPy's BLAS GEMM on a few large shapes (the machine's peak, as reachable here)."""
    best = 0.0
    rng = np.random.default_rng(0)
    for m, k, n in ((4096, 1024, 1024), (2048, 2048, 2048), (8192, 256, 1024)):
        a = rng.standard_normal((m, k)).astype(dtype)
        b = rng.standard_normal((k, n)).astype(dtype)
        a @ b
        for _ in range(5):
            start = time.perf_counter()
            a @ b
            best = max(best, 2 * m * k * n / (time.perf_counter() - start) / 1e9)
    return best


class _Worker:
    def __init__(self, runtime: str, threads: int):
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_worker, args=(runtime, threads, child), daemon=True)
        self.process.start()
        status, detail = self.conn.recv()
        self.error = detail if status == "unavailable" else None

    def ask(self, *message):
        self.conn.send(message)
        status, payload = self.conn.recv()
        if status != "ok":
            raise RuntimeError(payload)
        return payload

    def close(self):
        try:
            self.conn.send(("quit",))
        except (BrokenPipeError, OSError):
            pass
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()


def _bar(done: float, total: int, width: int = 24) -> str:
    """A text progress bar: ``[#########---------------]  9/24``."""
    filled = int(width * done / max(total, 1))
    return f"[{'#' * filled}{'-' * (width - filled)}] {int(done):>{len(str(total))}}/{total}"


def check_output(out: np.ndarray, reference: np.ndarray, dtype: str) -> str:
    """Why ``out`` does not match ``reference`` (``""`` when it does), with a dtype-aware tolerance."""
    if out.shape != reference.shape:
        return f"shape {out.shape} instead of {reference.shape}"
    tolerance = 1e-3 if dtype == "float32" else 1e-9
    scale = max(1.0, float(np.max(np.abs(reference)))) if reference.size else 1.0
    if not np.allclose(out, reference, rtol=tolerance, atol=tolerance * scale):
        return f"max |difference| {float(np.max(np.abs(out - reference))):.3g}"
    return ""


def run(
    layers: Sequence[Layer] = LAYERS,
    dtypes: Sequence[str] = ("float32",),
    peers: Sequence[str] = PEERS,
    algorithms: Sequence[str] = ("auto",),
    rounds: int = 5,
    repeat: int = 3,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
    training: bool = False,
) -> dict:
    """Run the benchmark; returns a JSON-ready dict (see :func:`format_table`).

    ``algorithms`` are the tconv algorithms timed ("auto" is reported as
    ``tconv``, any other as ``tconv:<name>``); ``rounds`` alternating rounds of
    ``repeat`` calls per runtime give the samples whose median is reported.
    With ``training=True`` each call is one training step (forward, input and
    weight gradients) of a ``torch.nn.ConvTranspose*d`` module: tconv's drop-in
    module (:mod:`tconv.torch`, tconv's kernels through autograd, ``algorithm``
    naming the forward algorithm) against PyTorch's own; the other peers have no
    training step here. Useful FLOPs are then three times the forward's.
    """
    from ._options import get_options

    threads = threads or get_options().threads
    names = [("tconv" if a == "auto" else f"tconv:{a}", "tconv", a) for a in algorithms]
    names += [(p, p, "auto") for p in peers]
    workers = {}
    status: dict[str, str] = {}
    for label, runtime, _ in names:
        if runtime not in workers:
            workers[runtime] = _Worker(runtime, threads)
            if workers[runtime].error:
                status[runtime] = workers[runtime].error
    try:
        gemm = {dtype: workers["tconv"].ask("gemm_rate", dtype) for dtype in dtypes}
        results = []
        steps = len(layers) * len(dtypes)
        for step, (dtype, layer) in enumerate(((d, l) for d in dtypes for l in layers), 1):
            result = Result(layer.name, layer.describe(), dtype, layer.flops * (3 if training else 1) / 1e9)
            outputs = {}
            for label, runtime, algorithm in names:
                if progress:
                    progress(f"{_bar(step - 1, steps)} {layer.name} {dtype}: preparing {label}")
                if runtime in status:
                    result.errors[label] = f"not available: {status[runtime]}"
                    continue
                try:
                    out, extra = workers[runtime].ask("prepare", layer, dtype, algorithm, training)
                    outputs[label] = out
                    if label == "tconv":
                        result.algorithm = extra
                except RuntimeError as error:
                    result.errors[label] = str(error)
            reference = outputs.get(names[0][0])
            for label in list(outputs):
                if reference is None or label == names[0][0]:
                    continue
                problem = check_output(outputs[label], reference, dtype)
                if problem:
                    result.errors[label] = f"output differs from tconv's ({problem}); not timed"
                    del outputs[label]
            samples: dict[str, list[float]] = {label: [] for label in outputs}
            order = list(outputs)
            shuffle = random.Random(step)  # a different, reproducible order every round
            for r in range(rounds):
                rotation = shuffle.sample(order, len(order))
                for label in rotation:
                    # Let the previous runtime's thread pool go idle: some spin-wait after a call (ONNX
                    # Runtime, OpenMP) and would steal the cores from the runtime timed next.
                    time.sleep(IDLE_GAP)
                    if progress:
                        done = step - 1 + r / rounds
                        progress(f"{_bar(done, steps)} {layer.name} {dtype}: round {r + 1}/{rounds} {label}")
                    runtime, algorithm = next((rt, a) for lb, rt, a in names if lb == label)
                    timed, times = workers[runtime].ask("time", algorithm, repeat)
                    if timed != algorithm:  # the worker must time the call it was asked for
                        raise RuntimeError(f"{runtime} worker timed {timed!r} instead of {algorithm!r}")
                    samples[label] += times
            result.times = {label: statistics.median(v) * 1e3 for label, v in samples.items() if v}
            results.append(result)
    finally:
        for worker in workers.values():
            worker.close()
    return {
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "python": sys.version.split()[0],
            "numpy": np.__version__,
            "threads": threads,
        },
        "gemm_gflops": gemm,
        "rounds": rounds,
        "repeat": repeat,
        "unavailable": status,
        "training": training,
        "results": [asdict(r) for r in results],
    }


def summary(report: dict) -> dict:
    """Geometric-mean speed-up over the fastest peer, the slowest shape, and GEMM efficiency."""
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
        text += (
            f"Geometric-mean speed-up over the fastest peer on each shape: "
            f"{s['geomean_speedup_over_fastest_peer']:.2f}x over {s['shapes']} shapes; slowest: "
            f"{s['slowest']['layer']} {s['slowest']['dtype']} at {s['slowest']['ratio']:.2f}x vs {s['slowest']['peer']}."
        )
    notes = [f"{r.layer} {r.dtype}: {lb}: {msg}" for r in rows for lb, msg in r.errors.items()]
    if notes:
        text += "\n\nNot timed:\n" + "\n".join(f"- {n}" for n in notes)
    return text


def save_json(report: dict, path: str) -> None:
    with open(path, "w") as handle:
        json.dump(report, handle, indent=1)
