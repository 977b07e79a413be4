"""Valid input sizes and the doctor against one analysis of the same model, in one run.

For torchvision ResNet-50 (224²), Inception-v3 (299²) and ConvNeXt-Tiny (224²), built on
the meta device (no weights), the library calls behind the commands, timed from
interleaved repeats (median):

- ``analyze(model, input)``: the one analysis both commands start from;
- ``model_valid_sizes`` for every spatial axis (``stridekit sizes MODEL``);
- ``doctor(analysis)`` at the model's usual size, and at a size where pixels are dropped
  (the dropped-pixels rule then names the nearest valid model inputs in its fix, which
  needs the valid sizes), each against the analysis at that size.

Targets (issue 8): ``stridekit sizes`` and ``stridekit doctor`` each at most 2x one
``analyze``, i.e. the pass or the doctor on top of the analysis at most as long as it:
the ratios printed are call / analyze (target ≤ 1) and command / analyze (target ≤ 2).

    python benchmarks/sizes_doctor.py [--repeats 5] [--format json]
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import time
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torchvision

from stridekit.analysis import analyze
from stridekit.doctor import doctor
from stridekit.passes import model_valid_sizes

# model, its usual input size, and a size at which it drops pixels (None: it never does)
MODELS: tuple[tuple[str, int, int | None], ...] = (
    ("resnet50", 224, None),  # every size reads every pixel (k3 s2 p1 everywhere)
    ("inception_v3", 299, 300),  # valid: 32k+11 (n >= 75)
    ("convnext_tiny", 224, 225),  # valid: 32k
)


def seconds(function: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def measure(name: str, size: int, dropping: int | None, repeats: int) -> dict[str, Any]:
    with torch.device("meta"):
        model = torchvision.models.get_model(name, weights=None).eval()
    sizes = {"usual": size} | ({"dropping": dropping} if dropping else {})
    analyses = {key: analyze(model, (1, 3, n, n)) for key, n in sizes.items()}
    axes = range(len(analyses["usual"].input_shape) - 2)
    methods: dict[str, Callable[[], object]] = {}
    for key, n in sizes.items():
        methods[f"analyze_{key}"] = lambda n=n: analyze(model, (1, 3, n, n))
        methods[f"doctor_{key}"] = lambda key=key: doctor(analyses[key])
    methods["sizes"] = lambda: [model_valid_sizes(analyses["usual"].graph, a) for a in axes]
    for function in methods.values():  # warm-up: imports, caches, first-call costs
        function()
    times: dict[str, list[float]] = {method: [] for method in methods}
    for _ in range(repeats):  # interleaved, so every call sees the same machine load
        for method, function in methods.items():
            times[method].append(seconds(function))
    result: dict[str, Any] = {m: statistics.median(values) for m, values in times.items()}
    result["valid_sizes"] = [
        model_valid_sizes(analyses["usual"].graph, a).closed_form() for a in axes
    ]
    report = doctor(analyses.get("dropping", analyses["usual"]), select=["dropped-pixels"])
    result["dropped_pixels_findings"] = len(report.findings)
    return result


def ratios(result: dict[str, Any]) -> dict[str, float]:
    rows = {"sizes / analyze": result["sizes"] / result["analyze_usual"]}
    for key in ("usual", "dropping"):
        if f"doctor_{key}" in result:
            rows[f"doctor ({key} size) / analyze"] = (
                result[f"doctor_{key}"] / result[f"analyze_{key}"]
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--format", choices=("human", "json"), default="human")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    results = {name: measure(name, size, dropping, args.repeats) for name, size, dropping in MODELS}
    table = {
        name: {
            row: {"call": round(value, 3), "command": round(1 + value, 3), "met": value <= 1}
            for row, value in ratios(result).items()
        }
        for name, result in results.items()
    }
    if args.format == "json":
        print(json.dumps({"seconds": results, "ratios": table}, indent=2))
        return
    print(f"median of {args.repeats} interleaved repeats; targets: call <= 1x, command <= 2x")
    for (name, size, dropping), result in zip(MODELS, results.values(), strict=True):
        print(
            f"{name} at {size} (valid sizes {' | '.join(result['valid_sizes'])}); "
            f"{result['dropped_pixels_findings']} dropped-pixels findings at "
            f"{dropping or size}"
        )
        for method, value in result.items():
            if isinstance(value, float):
                print(f"  {method:18s} {value * 1e3:10.2f} ms")
        for row, cells in table[name].items():
            status = "ok" if cells["met"] else "MISSED"
            print(
                f"  {row:34s} call {cells['call']:7.3f}x  command {cells['command']:7.3f}x"
                f"  {status}"
            )


if __name__ == "__main__":
    main()
