"""stridekit's torch tracer against its peers, side by side in one run.

Measures ResNet-50 (random weights, CPU) and prints ratios, each from interleaved
repeats (median):

- trace time at 2048² over trace time at 224² (target ≤ 1.2: meta tensors cost the same
  at any size) and the peak-memory difference between the two (target within 50 MB);
- trace time over ``torchinfo.summary`` (its default: a real forward pass on the model's
  device) at 224² (target ≤ 1) and torchinfo over trace at 2048² (target ≥ 30);
- trace time over `FlopCounterMode` alone on meta tensors (target ≤ 2).

torchinfo at 2048² runs a real forward of ResNet-50 on a 2048×2048 image: one repeat.

    python benchmarks/analyze_vs_peers.py [--repeats 7] [--format json]
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import statistics
import time
import tracemalloc
import warnings
from collections.abc import Callable

import torch
import torchinfo
import torchvision
from torch.utils.flop_counter import FlopCounterMode

from stridekit.frontends.torch import trace_torch

SMALL, LARGE = 224, 2048


def seconds(function: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def python_peak_mb(function: Callable[[], object]) -> float:
    """Peak Python-heap allocation during a call (tracemalloc), in MB."""
    gc.collect()
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def measure(repeats: int) -> dict[str, float]:
    torch.manual_seed(0)
    model = torchvision.models.resnet50().eval()
    with torch.device("meta"):
        meta_model = torchvision.models.resnet50().eval()

    def trace(size: int) -> Callable[[], object]:
        return lambda: trace_torch(model, (1, 3, size, size))

    def flop_counter(size: int) -> Callable[[], object]:
        def run() -> None:
            with FlopCounterMode(display=False), torch.no_grad():
                meta_model(torch.empty(1, 3, size, size, device="meta"))

        return run

    def summary(size: int) -> Callable[[], object]:
        return lambda: torchinfo.summary(model, input_size=(1, 3, size, size), verbose=0)

    methods = {
        "trace_224": trace(SMALL),
        "trace_2048": trace(LARGE),
        "flop_counter_224": flop_counter(SMALL),
        "torchinfo_224": summary(SMALL),
    }
    for function in methods.values():  # warm-up: imports, caches, first-call costs
        function()
    times: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeats):
        for name, function in methods.items():
            times[name].append(seconds(function))
    result = {name: statistics.median(values) for name, values in times.items()}

    rss_before = rss_mb()
    result["trace_224_peak_mb"] = python_peak_mb(trace(SMALL))
    result["trace_2048_peak_mb"] = python_peak_mb(trace(LARGE))
    result["trace_rss_growth_mb"] = rss_mb() - rss_before
    result["torchinfo_2048"] = seconds(summary(LARGE))
    return result


def report(result: dict[str, float]) -> dict[str, dict[str, float | bool]]:
    memory = abs(result["trace_2048_peak_mb"] - result["trace_224_peak_mb"])
    rows = {
        "trace 2048² / trace 224²": (result["trace_2048"] / result["trace_224"], 1.2, "<="),
        # Python-heap peaks (tracemalloc) differ by `memory`; meta tensors allocate no
        # storage, and the process RSS must not grow either
        "peak memory 2048² − 224² (MB)": (memory + result["trace_rss_growth_mb"], 50, "<="),
        "trace / torchinfo at 224²": (result["trace_224"] / result["torchinfo_224"], 1, "<="),
        "torchinfo / trace at 2048²": (result["torchinfo_2048"] / result["trace_2048"], 30, ">="),
        "trace / FlopCounterMode (meta) at 224²": (
            result["trace_224"] / result["flop_counter_224"],
            2,
            "<=",
        ),
    }
    return {
        name: {
            "value": round(value, 3),
            "target": target,
            "met": value <= target if sense == "<=" else value >= target,
        }
        for name, (value, target, sense) in rows.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--format", choices=("human", "json"), default="human")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    result = measure(args.repeats)
    ratios = report(result)
    if args.format == "json":
        print(json.dumps({"seconds": result, "ratios": ratios}, indent=2))
        return
    print("ResNet-50, median of", args.repeats, "interleaved repeats (torchinfo 2048²: one run)")
    for name, value in result.items():
        unit = "MB" if name.endswith("mb") else "s"
        print(f"  {name:24s} {value:10.4f} {unit}")
    for name, row in ratios.items():
        sense = "≥" if name.startswith("torchinfo /") else "≤"
        status = "ok" if row["met"] else "MISSED"
        print(f"  {name:40s} {row['value']:8.3f}  (target {sense} {row['target']}) {status}")


if __name__ == "__main__":
    main()
