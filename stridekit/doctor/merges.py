"""Rules about grids that do not line up: misaligned-merge, portability."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from stridekit.doctor.finding import Finding, Severity
from stridekit.doctor.registry import rule
from stridekit.geometry import same_padding

if TYPE_CHECKING:
    from stridekit.analysis import Analysis


@rule("misaligned-merge", "branches merged with receptive-field centres that differ")
def misaligned_merge(analysis: Analysis) -> Iterator[Finding]:
    for name, offsets in analysis.field_result.misalignment.items():
        shown = ", ".join(str(o) for o in offsets)
        yield Finding(
            "misaligned-merge",
            Severity.warning,
            name,
            f"the branches merged at {name} are centred {shown} input pixels apart "
            "(per axis): the same output position looks at different places",
            "pad the branches alike (e.g. PyTorch's symmetric padding on both, or TF SAME on "
            "both), or crop the shifted branch by the offset",
            {"offset": [str(o) for o in offsets]},
        )
    for name, why in analysis.field_result.unmergeable.items():
        yield Finding(
            "misaligned-merge",
            Severity.error,
            name,
            f"{name}: {why}",
            "resample one branch so both have the same cumulative stride",
            {},
        )


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
