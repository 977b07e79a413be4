"""Forward + backward time of stride-2 downsampling methods, as ratios to a strided conv.

Two ratios per method, measured side by side in one run (interleaved repeats, median):

- **op**: the downsampling op alone against the 3×3 stride-2 conv it replaces;
- **stage**: a 3×3 stride-1 conv followed by the op, against the strided-conv stage (the
  strided conv alone). A stride-1 conv already costs about 4× a stride-2 one, so the stage
  ratio shows the real price of moving the stride out of the conv.

SPD-Conv's op already contains its conv (space-to-depth, then a 3×3 stride-1 conv on
``4·C`` channels at half resolution): it replaces the strided conv by itself, so its op
ratio is the one to read.

    python benchmarks/downsampling.py                 # batch 32, 64 channels, 56×56
    python benchmarks/downsampling.py --format json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from stridekit.nn import BlurPool2d, DiffStride2d, SPDConv, SpectralPool2d

DIFFSTRIDE_TARGET = 4.0  # DiffStride op alone: at most 4× the strided conv on CPU


def _conv(channels: int, stride: int) -> nn.Conv2d:
    return nn.Conv2d(channels, channels, 3, stride=stride, padding=1, bias=False)


def build_methods(channels: int) -> dict[str, tuple[nn.Module, nn.Module]]:
    """``{name: (op, stage)}``; the stage is a stride-1 conv then the op."""
    ops: dict[str, nn.Module] = {
        "max_pool": nn.MaxPool2d(3, 2, 1),
        "blur_pool": BlurPool2d(channels, filter_size=4, stride=2),
        "spd_conv": SPDConv(channels, channels, kernel_size=3, block=2, bias=False),
        "spectral_pool": SpectralPool2d(2.0),
        "diff_stride": DiffStride2d(2.0, smoothness=4.0),
    }
    strided = _conv(channels, 2)
    methods = {"strided_conv": (strided, strided)}
    for name, op in ops.items():
        methods[name] = (op, nn.Sequential(_conv(channels, 1), op))
    return methods


def _step(module: nn.Module, x: torch.Tensor) -> Callable[[], float]:
    with torch.no_grad():
        grad = torch.randn_like(module(x))

    def run() -> float:
        module.zero_grad(set_to_none=True)
        inp = x.detach().requires_grad_(True)
        start = time.perf_counter()
        module(inp).backward(grad)
        return time.perf_counter() - start

    return run


def measure(batch: int, channels: int, size: int, repeats: int, warmup: int) -> dict:
    torch.manual_seed(0)
    x = torch.randn(batch, channels, size, size)
    methods = build_methods(channels)
    runs = {
        (name, kind): _step(module, x)
        for name, pair in methods.items()
        for kind, module in zip(("op", "stage"), pair, strict=True)
        if not (name == "strided_conv" and kind == "stage")
    }
    times: dict[tuple[str, str], list[float]] = {key: [] for key in runs}
    for round_index in range(warmup + repeats):
        for key, run in runs.items():  # interleaved: every method once per round
            elapsed = run()
            if round_index >= warmup:
                times[key].append(elapsed)
    median = {key: statistics.median(values) for key, values in times.items()}
    base = median[("strided_conv", "op")]
    rows = []
    for name, (op, _) in methods.items():
        op_time = median[(name, "op")]
        stage_time = base if name == "strided_conv" else median[(name, "stage")]
        with torch.no_grad():
            out_size = tuple(op(x[:1]).shape[-2:])
        rows.append(
            {
                "method": name,
                "output": list(out_size),
                "op_ms": round(op_time * 1e3, 2),
                "stage_ms": round(stage_time * 1e3, 2),
                "op_ratio": round(op_time / base, 2),
                "stage_ratio": round(stage_time / base, 2),
            }
        )
    diff = next(r for r in rows if r["method"] == "diff_stride")
    return {
        "input": [batch, channels, size, size],
        "threads": torch.get_num_threads(),
        "repeats": repeats,
        "torch": torch.__version__,
        "rows": rows,
        "diffstride_target": DIFFSTRIDE_TARGET,
        "diffstride_target_met": diff["op_ratio"] <= DIFFSTRIDE_TARGET,
    }


def render(result: dict) -> str:
    b, c, h, w = result["input"]
    lines = [
        f"stride-2 downsampling, forward+backward, input {b}×{c}×{h}×{w}, "
        f"{result['threads']} threads, median of {result['repeats']} interleaved repeats",
        f"{'method':<14}{'output':>9}{'op ms':>10}{'op ×':>8}{'stage ms':>11}{'stage ×':>9}",
    ]
    for row in result["rows"]:
        out = "×".join(map(str, row["output"]))
        lines.append(
            f"{row['method']:<14}{out:>9}{row['op_ms']:>10.1f}{row['op_ratio']:>8.2f}"
            f"{row['stage_ms']:>11.1f}{row['stage_ratio']:>9.2f}"
        )
    verdict = "met" if result["diffstride_target_met"] else "NOT met"
    lines.append(f"DiffStride op ≤ {result['diffstride_target']}× strided conv: {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--size", type=int, default=56)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: all)")
    parser.add_argument("--format", choices=("human", "json"), default="human")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    result = measure(args.batch, args.channels, args.size, args.repeats, args.warmup)
    print(json.dumps(result, indent=2) if args.format == "json" else render(result))


if __name__ == "__main__":
    main()
