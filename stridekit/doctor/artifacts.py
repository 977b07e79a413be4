"""Rules about what strides do to the signal: checkerboard, aliasing, rf-holes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from stridekit.doctor.finding import Finding, Severity
from stridekit.doctor.registry import rule
from stridekit.geometry import Window

if TYPE_CHECKING:
    from stridekit.analysis import Analysis


def _pattern(window: Window) -> list[int]:
    """How many taps land on each output phase of a transposed window (one period)."""
    counts = [0] * window.stride
    for t in range(window.kernel):
        counts[(t * window.dilation - window.pad_lo) % window.stride] += 1
    return counts


@rule("uneven-coverage", "kernels not divisible by the stride: checkerboard patterns")
def uneven_coverage(analysis: Analysis) -> Iterator[Finding]:
    for node in analysis.graph.nodes:
        for axis, window in enumerate(node.windows or ()):
            if window.stride == 1 or window.kernel % window.stride == 0:
                continue
            if window.transposed:
                pattern = _pattern(window)
                yield Finding(
                    "uneven-coverage",
                    Severity.warning,
                    node.name,
                    f"transposed kernel {window.kernel} with stride {window.stride} on axis "
                    f"{axis}: output phases receive {pattern} taps, a checkerboard pattern",
                    f"use a kernel divisible by the stride (e.g. {window.stride * 2}), or "
                    "resize (nearest/bilinear) then a stride-1 conv",
                    {"axis": axis, "pattern": pattern},
                )
            elif node.op == "conv" and window.kernel > window.stride:
                coverage = window.coverage(window.stride * 4 + window.extent)[
                    window.extent : window.extent + window.stride
                ]
                yield Finding(
                    "uneven-coverage",
                    Severity.info,
                    node.name,
                    f"kernel {window.kernel} with stride {window.stride} on axis {axis} reads "
                    f"input phases {coverage.tolist()} times: gradients are uneven",
                    f"a kernel divisible by the stride (e.g. {window.stride * 2}) reads every "
                    "pixel equally often",
                    {"axis": axis, "pattern": coverage.tolist()},
                )


@rule("aliasing", "strided subsampling with no low-pass filter before it")
def aliasing(analysis: Analysis) -> Iterator[Finding]:
    for node in analysis.graph.nodes:
        windows = node.windows
        if not windows or node.op not in ("conv", "max_pool") or node.inputs == ():
            continue
        strides = [w.stride for w in windows if not w.transposed]
        if not strides or max(strides) == 1 or node.attributes.get("antialiased"):
            continue
        yield Finding(
            "aliasing",
            Severity.info,
            node.name,
            f"{node.op} subsamples by {max(strides)} with no low-pass filter: a one-pixel "
            "shift of the input can change the output (not shift-invariant)",
            "stridekit.nn.antialias(model) inserts BlurPool (Zhang, ICML 2019)",
            {"stride": max(strides)},
        )


@rule("rf-holes", "dilation that leaves holes in the receptive field (gridding)")
def rf_holes(analysis: Analysis) -> Iterator[Finding]:
    fields = analysis.field_result.fields
    for node in analysis.graph.nodes:
        if not node.inputs or not node.windows:
            continue
        source = fields.get(node.inputs[0], ())
        for axis, (window, field) in enumerate(zip(node.windows, source, strict=False)):
            if window.dilation == 1 or window.transposed or field.is_global:
                continue
            # taps sit d·J input pixels apart and each sees a field of `size` pixels
            spacing = window.dilation * field.jump
            if spacing > field.size:
                yield Finding(
                    "rf-holes",
                    Severity.warning,
                    node.name,
                    f"dilation {window.dilation} on axis {axis}: taps are {spacing} input "
                    f"pixels apart but each sees only {field.size}, leaving "
                    f"{spacing - field.size} pixel holes between them (gridding)",
                    "raise the field before this layer (hybrid dilation rates such as 1, 2, 3 "
                    "with no common factor), or lower the dilation",
                    {"axis": axis, "spacing": str(spacing), "field": str(field.size)},
                )


@rule("rf-coverage", "final receptive field much smaller or larger than the input")
def rf_coverage(analysis: Analysis) -> Iterator[Finding]:
    rf = analysis.receptive_field
    sizes = analysis.input_shape[2:]
    if rf is None or not sizes:
        return
    for axis, (field, n) in enumerate(zip(rf, sizes, strict=False)):
        if field < n / 2:
            yield Finding(
                "rf-coverage",
                Severity.info,
                analysis.head.name,
                f"the receptive field ({field}) covers {float(field / n):.0%} of the input "
                f"({n}) on axis {axis}: the head never sees the whole image at once",
                "add stages or dilation, or use a global context block",
                {"axis": axis, "rf": str(field), "input": n},
            )
        elif field > 4 * n:
            yield Finding(
                "rf-coverage",
                Severity.info,
                analysis.head.name,
                f"the receptive field ({field}) is {float(field / n):.1f}x the input ({n}) on "
                f"axis {axis}: most of it is padding",
                "a larger input or fewer stages would use the field",
                {"axis": axis, "rf": str(field), "input": n},
            )
