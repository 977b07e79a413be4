"""Rules about grids that do not line up: misaligned-merge, portability."""

from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from functools import partial
from typing import TYPE_CHECKING

from stridekit.doctor.finding import Finding, Severity
from stridekit.doctor.registry import rule
from stridekit.doctor.strides import stride_mismatch
from stridekit.geometry import same_padding
from stridekit.graph import Graph, Node, Resample
from stridekit.passes.sizes import SizePlan, each_axis
from stridekit.render import axes_text

if TYPE_CHECKING:
    from stridekit.analysis import Analysis


def split_point(graph: Graph, merge: str) -> Node:
    """The latest tensor every branch of ``merge`` comes from: where the branches split.

    >>> g = Graph(input_shape=(1, 3, 8, 8))
    >>> for name in ("a", "b"):
    ...     _ = g.add(Node(name, "elementwise", ("input",), ((1, 3, 8, 8),), (1, 3, 8, 8)))
    >>> _ = g.add(Node("sum", "add", ("a", "b"), ((1, 3, 8, 8),) * 2, (1, 3, 8, 8)))
    >>> split_point(g, "sum").name
    'input'
    """
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    common: set[str] | None = None
    for branch in graph[merge].inputs:
        seen = graph.ancestors(branch)
        common = seen if common is None else common & seen
    return graph[max(common or {"input"}, key=order.__getitem__)]


def _grid(analysis: Analysis, node: Node) -> tuple[Fraction, ...]:
    """The pixel size (the jump, in input pixels) of each axis of a tensor's grid."""
    fields = analysis.field_result.local.get(node.name) or analysis.field_result.fields[node.name]
    return tuple(f.jump for f in fields)


def _nearest_upsampling(graph: Graph, merge: str, split: str) -> str | None:
    """The first nearest upsampling (a factor above 1) on a branch between ``split`` and
    ``merge``, if any: the offset it leaves is its sampling phase, not a padding.

    >>> g = Graph(input_shape=(1, 3, 8, 8))
    >>> up = (Resample.nearest(2),) * 2
    >>> _ = g.add(Node("up", "upsample", ("input",), ((1, 3, 8, 8),), (1, 3, 16, 16), up))
    >>> _nearest_upsampling(g, "up", "input")
    'up'
    """
    before = graph.ancestors(split) | {split}
    inside = graph.ancestors(merge) - before
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    for name in sorted(inside, key=order.__getitem__):
        axes = graph[name].axes or ()
        if any(isinstance(a, Resample) and a.kind == "nearest" and a.scale < 1 for a in axes):
            return name
    return None


@rule("misaligned-merge", "branches merged with receptive-field centres that differ")
def misaligned_merge(analysis: Analysis) -> Iterator[Finding]:
    """The severity follows the consequence. Padding shifts a branch by whole pixels of
    the grid it pads, so a padding mismatch (the TF-SAME trap, or padding that depends on
    the input size) leaves the branches at least one pixel of the grid they split from
    apart: a warning. An offset below one such pixel comes from kernel parity alone (a
    2x2 average pool is centred half a pixel off: ResNet-D's shortcut), the same at
    every input size, and a model trained from scratch learns around it: info. Branches
    with different strides are judged in `stridekit.doctor.strides` (a resampled gate,
    sizes that match by accident, grids that drift apart)."""
    graph = analysis.graph
    for name, offsets in analysis.field_result.misalignment.items():
        shown = ", ".join(str(o) for o in offsets)
        split = split_point(graph, name)
        grid = _grid(analysis, split)
        pixels = [o / g if g else o for o, g in zip(offsets, grid, strict=False)]
        subpixel = all(abs(p) < 1 for p in pixels)
        where = f"the branches merged at {name} are centred {shown} input pixels apart (per axis)"
        in_grid = ", ".join(str(p) for p in pixels)
        data = {
            "offset": [str(o) for o in offsets],
            "split": split.name,
            "grid": [str(g) for g in grid],
            "grid_offset": [str(p) for p in pixels],
        }
        upsampled = _nearest_upsampling(graph, name, split.name)
        if upsampled:
            yield Finding(
                "misaligned-merge",
                Severity.info,
                name,
                f"{where}: {in_grid} pixel of the grid they split from at {split.name}, "
                f"where {upsampled} upsamples by nearest: each copy of a coarse pixel sits up "
                "to r − 1 fine pixels after it, the same at every input size (FPN's "
                "top-down path), and a model trained from scratch learns around it",
                "bilinear upsampling (align_corners=False) is centred; weights ported from "
                "another framework must keep the same upsampling",
                {**data, "upsampling": upsampled},
            )
            continue
        if subpixel:
            yield Finding(
                "misaligned-merge",
                Severity.info,
                name,
                f"{where}: {in_grid} of a pixel of the grid they split from at {split.name} "
                f"(stride {axes_text(grid)}), a constant sub-pixel offset from an even kernel",
                "nothing to change for a model trained from scratch; weights ported from "
                "another framework must keep the same pooling and padding",
                data,
            )
            continue
        yield Finding(
            "misaligned-merge",
            Severity.warning,
            name,
            f"{where}: {in_grid} pixels of the grid they split from at {split.name}; the "
            "same output position looks at different places",
            "pad the branches alike (e.g. PyTorch's symmetric padding on both, or TF SAME on "
            "both), or crop the shifted branch by the offset",
            data,
        )
    plans = each_axis(partial(SizePlan.compile, graph))
    for name in analysis.field_result.mismatched:
        yield from stride_mismatch(analysis, name, split_point(graph, name).name, plans)


@rule("portability", "padding that differs between TF/ONNX SAME and PyTorch for this input")
def portability(analysis: Analysis) -> Iterator[Finding]:
    for node in analysis.graph.nodes:
        windows = node.windows
        if not windows or node.op not in ("conv", "max_pool", "avg_pool") or not node.input_shapes:
            continue
        sizes = node.input_shapes[0][2:]
        for axis, (window, n) in enumerate(zip(windows, sizes, strict=False)):
            if window.stride == 1 or window.transposed:
                continue
            tf = same_padding(n, window.kernel, window.stride, window.dilation, "tf")
            if tf == window.padding:
                continue
            tf_out = -(-n // window.stride)
            if tf_out != window.output_size(n):
                continue  # not a SAME-style layer: no ported counterpart
            shift = tf[0] - window.pad_lo
            yield Finding(
                "portability",
                Severity.info,
                node.name,
                f"on axis {axis} PyTorch pads {window.padding} where TF/ONNX SAME_UPPER pads "
                f"{tf} for input {n}: weights ported between them see a grid shifted by "
                f"{abs(shift)} pixel{'s' if abs(shift) != 1 else ''}",
                "when porting TF weights use stridekit.nn.Conv2dSame (or F.pad with "
                f"{tf}) instead of symmetric padding",
                {"axis": axis, "torch": list(window.padding), "tf": list(tf), "shift": shift},
            )
