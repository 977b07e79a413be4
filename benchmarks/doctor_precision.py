"""The doctor's precision on published models: how many warnings, and whether each is true.

Every torchvision classifier and a set of timm families (SE, ResNet-D, ViT, Swin,
ConvNeXt, RegNet, EfficientNet, DPN, CSP, hybrids, VGG; `tests.doctor.published`), each built on the
meta device and analysed at its published input size (its weights' preset). Each warning
is then checked against the model itself, not against the doctor:

- ``dropped-pixels`` on the input (or on a module's output): the model is copied with
  positive weights, no activations or norms and average pooling (so every pixel that
  reaches the output has a non-zero gradient), run on CPU in float64, and the pixels with
  zero gradient are counted per axis; the warning is true when that count is the one
  the doctor gives;
- any other code has no oracle here: it is listed as unverified.

Prints "run on N published models: M warnings, all true" (when every warning is
verified) and lists them.

    python benchmarks/doctor_precision.py [--format json] [--only torchvision:squeezenet1_0]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stridekit.analysis import analyze
from stridekit.doctor import Finding, Severity, doctor
from stridekit.frontends.resolve import resolve
from tests.doctor.published import PUBLISHED
from tests.frontends.oracles import positive_copy


def unread_by_gradient(reference: str, shape: tuple[int, ...], tensor: str) -> list[int] | None:
    """Per spatial axis of ``tensor`` (the input, or a module's output), how many indices
    receive no gradient at all in a positive copy of the model; None if it is neither."""
    model = positive_copy(resolve(reference, device="cpu").module)
    x = torch.ones(shape, dtype=torch.float64, requires_grad=True)
    kept: list[torch.Tensor] = []
    handle = None
    if tensor != "input":
        try:
            module = model.get_submodule(tensor)
        except AttributeError:
            return None

        def keep(layer: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
            output.retain_grad()
            kept.append(output)

        handle = module.register_forward_hook(keep)
    try:
        out = model(x)
    finally:
        if handle is not None:
            handle.remove()
    out.sum().backward()
    watched = x if tensor == "input" else kept[0]
    assert watched.grad is not None
    reached = watched.grad[0].abs().sum(dim=0) != 0  # the spatial map
    counts = []
    for axis in range(reached.dim()):
        others = tuple(a for a in range(reached.dim()) if a != axis)
        counts.append(int((~reached.any(dim=others)).sum()))
    return counts


def verdict(reference: str, shape: tuple[int, ...], finding: Finding) -> str:
    """``true``, ``false`` or ``unverified``, from the model itself."""
    if finding.code != "dropped-pixels":
        return "unverified"
    counts = unread_by_gradient(reference, shape, str(finding.data["tensor"]))
    if counts is None:
        return "unverified"
    axes = finding.data.get("axes") or [finding.data["axis"]]
    return "true" if all(counts[a] == finding.data["count"] for a in axes) else "false"


def measure(references: list[str]) -> dict[str, Any]:
    warned = []
    start = time.perf_counter()
    for reference in references:
        analysis = analyze(reference)
        for finding in doctor(analysis).findings:
            if finding.severity.rank < Severity.warning.rank:
                continue
            warned.append(
                {
                    "model": reference,
                    "input": list(analysis.input_shape),
                    "code": finding.code,
                    "node": finding.node,
                    "message": finding.message,
                    "verdict": verdict(reference, analysis.input_shape, finding),
                }
            )
    verdicts = [w["verdict"] for w in warned]
    return {
        "models": len(references),
        "warnings": len(warned),
        "true": verdicts.count("true"),
        "false": verdicts.count("false"),
        "unverified": verdicts.count("unverified"),
        "seconds": round(time.perf_counter() - start, 1),
        "listed": warned,
    }


def summary(result: dict[str, Any]) -> str:
    head = f"run on {result['models']} published models: {result['warnings']} warnings"
    if result["true"] == result["warnings"]:
        return f"{head}, all true"
    return (
        f"{head}: {result['true']} true, {result['false']} false, {result['unverified']} unverified"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--only", action="append", help="measure only these references")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # torchvision's init-weight notices
    result = measure(args.only or PUBLISHED)
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return
    print(summary(result))
    for w in result["listed"]:
        size = "x".join(map(str, w["input"][2:]))
        where = f"{w['model']} at {size}: {w['code']} at {w['node']}"
        print(f"  {w['verdict']:>10}  {where}: {w['message']}")
    print(f"({result['seconds']} s)")


if __name__ == "__main__":
    main()
