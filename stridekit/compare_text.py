"""What `stridekit.compare` says about a divergence: its cause, in words, and its fix.

>>> padding_text(((0, 1), (0, 1))), padding_text(((1, 1), (0, 1))), padding_text((None,))
('(0, 1)', '(1, 1)x(0, 1)', '-')
>>> torch_pad_argument(((0, 1), (2, 3)))   # F.pad takes the last axis first
(2, 3, 0, 1)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from stridekit.geometry import same_padding
from stridekit.layer_record import jsonable
from stridekit.render import axes_text

if TYPE_CHECKING:
    from stridekit.compare_align import Padding, SpatialLayer


@dataclass(frozen=True)
class Divergence:
    """The first aligned pair that differs: which, why (``cause``: ``missing``,
    ``geometry``, ``padding``, ``output`` or ``grid``), the one-line ``message`` and
    the ``fix``."""

    index: int
    cause: str
    message: str
    fix: str

    def to_dict(self) -> dict[str, Any]:
        return {"row": self.index, "cause": self.cause, "message": self.message, "fix": self.fix}


def padding_text(padding: Sequence[Padding | None]) -> str:
    """Per-axis ``(lo, hi)``, once when every axis pads alike."""
    texts = ["-" if p is None else f"({p[0]}, {p[1]})" for p in padding]
    return texts[0] if len(set(texts)) == 1 else "x".join(texts)


def torch_pad_argument(padding: Sequence[Padding]) -> tuple[int, ...]:
    """``F.pad``'s argument for per-axis ``(lo, hi)``: the last axis first."""
    return tuple(p for lo_hi in reversed(padding) for p in lo_hi)


def layer_dict(layer: SpatialLayer) -> dict[str, Any]:
    """A spatial layer, JSON-ready."""
    return jsonable(
        {
            "name": layer.name,
            "node": layer.node,
            "module": layer.module,
            "op": layer.op,
            "geometry": list(layer.geometry),
            "input_size": layer.input_size,
            "output_size": layer.output_size,
            "padding": layer.padding,
            "folded_pads": list(layer.folded),
            "jump": layer.jump,
            "rf_start": layer.rf_start,
            "rf": layer.rf,
            "centre": layer.centre,
        }
    )


def is_tf_same(layer: SpatialLayer, padding: Sequence[Padding | None]) -> bool:
    """True when ``padding`` is TF/ONNX SAME_UPPER for ``layer``'s windows and input."""
    for window, n, pads in zip(layer.windows, layer.input_size, padding, strict=False):
        if window is None or window.transposed:
            return False
        if same_padding(n, window.kernel, window.stride, window.dilation, "tf") != pads:
            return False
    return True


def _padding_fix(a: SpatialLayer, b: SpatialLayer) -> str:
    pads = [p for p in b.padding if p is not None]
    argument = torch_pad_argument(pads)
    if a.op == "max_pool":
        return (
            f"pad {a.name} like B: F.pad(x, {argument}, value=float('-inf')) before it with "
            "padding 0"
        )
    if a.op == "conv" and is_tf_same(a, b.padding):
        return (
            f"use stridekit.nn.Conv{len(pads)}dSame for {a.name} (TF SAME), or "
            f"F.pad(x, {argument}) before it with padding 0"
        )
    if all(lo == hi for lo, hi in pads) and not any(any(p) for p in a.outer_padding):
        return f"set padding={axes_text([lo for lo, _ in pads])} on {a.name}"
    return f"pad {a.name} like B: F.pad(x, {argument}) before it with padding 0"


def _name(a: SpatialLayer, b: SpatialLayer) -> str:
    return a.name if a.name == b.name else f"{a.name} (B's {b.name})"


def divergence(
    index: int,
    a: SpatialLayer | None,
    b: SpatialLayer | None,
    differs: Sequence[str],
    input_size: Sequence[int],
) -> Divergence:
    """The `Divergence` of pair ``index``: the first cause in the order missing layer,
    other geometry, other padding, and else a difference that entered before it."""
    size = axes_text(list(input_size))
    if a is None or b is None:
        only, label, other = (a, "A", "B") if a is not None else (b, "B", "A")
        assert only is not None
        return Divergence(
            index,
            "missing",
            f"layer {only.name} ({only.describe()}) in {label} has no counterpart in {other}",
            "the models differ in structure, not only in padding: give A the layers of B "
            "(same ops, kernels and strides, in order)",
        )
    name = _name(a, b)
    if "geometry" in differs:
        return Divergence(
            index,
            "geometry",
            f"layer {name} is {a.describe()} in A and {b.describe()} in B",
            f"give {a.name} in A the geometry of B's {b.name} ({b.describe()})",
        )
    if "padding" in differs:
        if a.rf_start is not None and b.rf_start is not None:
            moved = [abs(x - y) for x, y in zip(a.rf_start, b.rf_start, strict=True)]
            grid = f"the grid moves {axes_text(moved)} px" if any(moved) else "the grid stays"
        else:
            grid = "the field is global"
        if "output" in differs:
            out_a, out_b = ("x".join(map(str, x.output_size)) for x in (a, b))
            grid += f" and the output is {out_a} in A, {out_b} in B"
        return Divergence(
            index,
            "padding",
            f"layer {name} pads {padding_text(a.padding)} in A and {padding_text(b.padding)} "
            f"in B: {grid} at input {size}",
            _padding_fix(a, b),
        )
    cause = "output" if "output" in differs else "grid"
    if a.input_size != b.input_size:
        what = f"receives {'x'.join(map(str, a.input_size))} in A and "
        what += f"{'x'.join(map(str, b.input_size))} in B"
    else:
        what = f"starts its field at {axes_text(a.rf_start)} in A and "
        what += f"{axes_text(b.rf_start)} in B (input px)"
    return Divergence(
        index,
        cause,
        f"layer {name} {what}: the difference enters before it, between spatial layers",
        "an op that is not a window differs before it (a pad with no window after it, a "
        "crop or a slice): look at both with `stridekit analyze MODEL --ops all`",
    )
