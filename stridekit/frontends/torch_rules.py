"""The registry of geometry rules: one pure function per aten op → kind, axes, layout.

A rule reads an `OpCall` (the op's arguments by schema name, tensors replaced by
`TensorInfo`: shape and `Layout`) and returns a `Geometry`: the IR kind, one `Window` or
`Resample` per spatial axis of the model when the op moves pixels, and the output layout.
Rules are registered with `geometry_rule`; registering a target twice fails at import.
The sliding-window rules (convolution, pooling, resampling, padding) live here; the rules
for views, reductions, merges and matrix products in `torch_rules_layout`.

>>> x = TensorInfo((1, 3, 32, 32), standard((1, 3, 32, 32), 2))
>>> w = TensorInfo((8, 3, 3, 3), None, activation=False)
>>> call = OpCall("aten.convolution", {"input": x, "weight": w, "stride": [2, 2],
...     "padding": [1, 1], "dilation": [1, 1], "transposed": False,
...     "output_padding": [0, 0]}, ((1, 8, 16, 16),), spatial=2)
>>> geometry_of(call).axes[0]
Window(kernel=3, stride=2, dilation=1, padding=(1, 1), ceil_mode=False, transposed=False, output_padding=0)
"""  # noqa: E501

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

from stridekit.errors import StrideError
from stridekit.frontends.torch_layout import Layout, axis_of, resize, standard
from stridekit.geometry import Window, exact_scale, resize_bounds
from stridekit.graph import AxisMap, Resample


@dataclass(frozen=True)
class TensorInfo:
    """What a rule may know about a tensor argument."""

    shape: tuple[int, ...]
    layout: Layout | None  # None: spatial axes unknown (or not an activation)
    activation: bool = True  # derived from the model input (else a weight or constant)
    base_shape: tuple[int, ...] | None = None  # the viewed tensor, for writes into views


@dataclass(frozen=True)
class OpCall:
    """One aten call: target (``aten.convolution``), arguments by schema name, outputs."""

    target: str
    args: dict[str, object]
    out_shapes: tuple[tuple[int, ...], ...]
    spatial: int  # spatial axes of the model input
    pointwise: bool = False  # the op carries torch's ``pointwise`` tag

    @property
    def activations(self) -> list[TensorInfo]:
        found = []
        for value in self.args.values():
            items = value if isinstance(value, list | tuple) else [value]
            found += [v for v in items if isinstance(v, TensorInfo) and v.activation]
        return found

    @property
    def first(self) -> TensorInfo:
        return self.activations[0]

    @property
    def out(self) -> tuple[int, ...]:
        return self.out_shapes[0]

    @property
    def name(self) -> str:
        """The op name without namespace and in-place underscore: ``relu_`` → ``relu``."""
        return self.target.rsplit(".", 1)[-1].rstrip("_")


@dataclass(frozen=True)
class Geometry:
    """A rule's answer: the IR kind, per-axis maps and the output layout."""

    kind: str
    axes: tuple[AxisMap, ...] | None = None
    layout: Layout | None = None
    notes: dict[str, object] = field(default_factory=dict)


Rule = Callable[[OpCall], Geometry]
RULES: dict[str, Rule] = {}


def geometry_rule(*targets: str) -> Callable[[Rule], Rule]:
    """Register a rule for aten targets (``aten.name``, every overload).

    >>> geometry_rule("aten.convolution")(lambda call: other())
    Traceback (most recent call last):
    ...
    RuntimeError: duplicate geometry rule for aten.convolution
    """

    def register(rule: Rule) -> Rule:
        for target in targets:
            if target in RULES:
                raise RuntimeError(f"duplicate geometry rule for {target}")
            RULES[target] = rule
        return rule

    return register


def geometry_of(call: OpCall) -> Geometry | None:
    """The geometry of a call, or None when no rule knows the op.

    >>> geometry_of(OpCall("aten.no_such_op", {}, ((1, 3),), spatial=2)) is None
    True
    """
    rule = RULES.get(call.target)
    if rule is None and call.pointwise:
        rule = RULES["pointwise"]
    return rule(call) if rule is not None else None


def _per_axis(value: object, count: int, default: int = 0) -> tuple[int, ...]:
    """An int, a one-element list or a full list of ints → one int per axis."""
    if value is None or value == []:
        return (default,) * count
    if isinstance(value, int):
        return (value,) * count
    items = [int(v) for v in value]  # type: ignore[attr-defined]
    return tuple(items) * count if len(items) == 1 else tuple(items[-count:])


def other(**notes: object) -> Geometry:
    """An op that may mix positions: the fields pass treats it as global.

    >>> other(reason="roll along a spatial axis")
    Geometry(kind='other', axes=None, layout=None, notes={'reason': 'roll along a spatial axis'})
    """
    return Geometry("other", None, None, dict(notes))


# --- sliding windows ------------------------------------------------------------------


def _slid_axes(x: TensorInfo, dims: int, spatial: int) -> list[int | None] | None:
    """The spatial axis each of the last ``dims`` dims holds (None: a size-1 dim).

    None when those dims hold something else, or some spatial axis sits elsewhere.
    A tensor with unknown layout (its field is already global) slides over dims 2…
    """
    if x.layout is None:
        return list(range(dims)) if dims == spatial else None
    axes: list[int | None] = []
    for dim in x.layout[len(x.layout) - dims :]:
        axis = axis_of(dim)
        if axis is None and dim:
            return None
        axes.append(axis)
    present = {a for a in axes if a is not None}
    held = {a for dim in x.layout for a, _ in dim if a >= 0}
    return axes if present == held else None


def _windowed(call: OpCall, kind: str, maps: Sequence[AxisMap]) -> Geometry:
    """Attach per-dim maps (one per slid dim) to the model's spatial axes."""
    x = call.first
    axes = _slid_axes(x, len(maps), call.spatial)
    if axes is None:
        return other(reason=f"{kind} over dims that are not the spatial axes")
    by_axis: dict[int, AxisMap] = {}
    n_in, n_out = x.shape[-len(maps) :], call.out[-len(maps) :]
    for axis, axis_map, n, out in zip(axes, maps, n_in, n_out, strict=True):
        if isinstance(axis_map, Window) and axis_map.output_size(n) != out:
            return other(reason=f"{kind}: window {axis_map.describe()} gives "
                         f"{axis_map.formula(n)}, torch gives {out}")  # fmt: skip
        if axis is not None:
            by_axis[axis] = axis_map
    layout = resize(x.layout, call.out) if x.layout is not None else None
    if layout is None:
        layout = standard(call.out, call.spatial)
    identity = Resample.shift(0)
    return Geometry(kind, tuple(by_axis.get(a, identity) for a in range(call.spatial)), layout)


def _count(call: OpCall) -> int:
    return len(call.first.shape) - 2


@geometry_rule("aten.convolution", "aten._convolution")
def _convolution(call: OpCall) -> Geometry:
    weight = call.args["weight"]
    assert isinstance(weight, TensorInfo)
    k = len(weight.shape) - 2
    transposed = bool(call.args["transposed"])
    stride, padding = _per_axis(call.args["stride"], k, 1), _per_axis(call.args["padding"], k)
    dilation = _per_axis(call.args["dilation"], k, 1)
    extra = _per_axis(call.args["output_padding"], k) if transposed else (0,) * k
    try:
        maps = [
            Window(kernel, s, d, (p, p), transposed=transposed, output_padding=o)
            for kernel, s, d, p, o in zip(
                weight.shape[2:], stride, dilation, padding, extra, strict=True
            )
        ]
    except StrideError as error:
        return other(reason=str(error))
    return _windowed(call, "conv_transpose" if transposed else "conv", maps)


def _pool(call: OpCall, kind: str, dilation: bool) -> Geometry:
    k = _count(call)
    kernel = _per_axis(call.args["kernel_size"], k)
    stride = _per_axis(call.args.get("stride"), k) if call.args.get("stride") else kernel
    padding = _per_axis(call.args.get("padding"), k)
    dilations = _per_axis(call.args.get("dilation"), k, 1) if dilation else (1,) * k
    ceil = bool(call.args.get("ceil_mode", False))
    try:
        maps = [
            Window(n, s, d, (p, p), ceil_mode=ceil)
            for n, s, d, p in zip(kernel, stride, dilations, padding, strict=True)
        ]
    except StrideError as error:
        return other(reason=str(error))
    return _windowed(call, kind, maps)


@geometry_rule(
    *(f"aten.max_pool{n}d{suffix}" for n in (1, 2, 3) for suffix in ("", "_with_indices"))
)
def _max_pool(call: OpCall) -> Geometry:
    return _pool(call, "max_pool", dilation=True)


@geometry_rule("aten.avg_pool1d", "aten.avg_pool2d", "aten.avg_pool3d")
def _avg_pool(call: OpCall) -> Geometry:
    return _pool(call, "avg_pool", dilation=False)


def _adaptive_map(n: int, out: int) -> AxisMap:
    """Bin ``i`` of an adaptive pool reads ``[floor(i·n/o), ceil((i+1)·n/o) − 1]``.

    Divisible sizes give an exact Window ``k = s = n/o``; otherwise the bin start is at
    most ``(q−1)/q`` before ``i·n/o`` and its end at most ``n/o − 1 + (q−1)/q`` after it,
    with ``q`` the denominator of ``n/o``.
    """
    if n % out == 0:
        return Window(n // out, n // out)
    ratio = Fraction(n, out)
    slack = Fraction(ratio.denominator - 1, ratio.denominator)
    return Resample(ratio, -slack, ratio - 1 + slack)


@geometry_rule(
    "aten._adaptive_avg_pool2d",
    "aten._adaptive_avg_pool3d",
    "aten.adaptive_avg_pool1d",
    "aten.adaptive_max_pool1d",
    "aten.adaptive_max_pool2d",
    "aten.adaptive_max_pool3d",
)
def _adaptive_pool(call: OpCall) -> Geometry:
    k = _count(call)
    n_in, n_out = call.first.shape[-k:], call.out[-k:]
    kind = "max_pool" if "max" in call.target else "avg_pool"
    if all(o == 1 for o in n_out) and _slid_axes(call.first, k, call.spatial) is not None:
        layout = resize(call.first.layout, call.out)
        return Geometry("global_pool", None, layout or standard(call.out, call.spatial))
    return _windowed(call, kind, [_adaptive_map(n, o) for n, o in zip(n_in, n_out, strict=True)])


def _interpolation(call: OpCall, factor: Fraction, n: int, out: int, fixed: bool) -> Resample:
    """PyTorch's interpolation modes in the terms of `resize_bounds`."""
    name = call.name
    antialias = name.endswith("_aa")
    if "nearest_exact" in name:
        return resize_bounds(factor, "nearest", "half_pixel", "round_prefer_ceil",
                             n_in=n, n_out=out, fixed=fixed)  # fmt: skip
    if "nearest" in name:
        return resize_bounds(factor, "nearest", "asymmetric", n_in=n, n_out=out, fixed=fixed)
    mode = "cubic" if "bicubic" in name else "linear"
    coordinate = "align_corners" if call.args.get("align_corners") else "half_pixel"
    return resize_bounds(
        factor, mode, coordinate, antialias=antialias, n_in=n, n_out=out, fixed=fixed
    )


@geometry_rule(
    *(f"aten.upsample_nearest{n}d" for n in (1, 2, 3)),
    *(f"aten._upsample_nearest_exact{n}d" for n in (1, 2, 3)),
    "aten.upsample_linear1d",
    "aten.upsample_bilinear2d",
    "aten.upsample_trilinear3d",
    "aten.upsample_bicubic2d",
    "aten._upsample_bilinear2d_aa",
    "aten._upsample_bicubic2d_aa",
)
def _upsample(call: OpCall) -> Geometry:
    """The scale is torch's: the requested ``scale_factor`` when given (it decides the
    source positions, ``floor(9 · 0.5) = 4`` outputs read ``2i + ½``), else ``out/in``."""
    k = _count(call)
    n_in, n_out = call.first.shape[-k:], call.out[-k:]
    given = call.args.get("scale_factors")
    if not isinstance(given, list | tuple):
        names = ("scales_d", "scales_h", "scales_w") if k > 1 else ("scales",)
        given = [call.args.get(name) for name in names[-k:]]
    maps = []
    for axis, (n, out) in enumerate(zip(n_in, n_out, strict=True)):
        scale = given[axis] if axis < len(given) else None
        given_scale = isinstance(scale, float | int) and scale > 0
        factor = exact_scale(scale) if given_scale else Fraction(out, n)  # type: ignore[arg-type]
        maps.append(_interpolation(call, factor, n, out, fixed=not given_scale))
    return _windowed(call, "upsample", maps)


@geometry_rule("aten.pixel_shuffle")
def _pixel_shuffle(call: OpCall) -> Geometry:
    factor = int(call.args["upscale_factor"])  # type: ignore[call-overload]
    return _windowed(call, "pixel_shuffle", [Resample.nearest(factor)] * 2)


@geometry_rule("aten.pixel_unshuffle")
def _pixel_unshuffle(call: OpCall) -> Geometry:
    factor = int(call.args["downscale_factor"])  # type: ignore[call-overload]
    return _windowed(call, "pixel_unshuffle", [Window(factor, factor)] * 2)


@geometry_rule(
    "aten.constant_pad_nd",
    *(f"aten.{mode}_pad{n}d" for mode in ("reflection", "replication") for n in (1, 2, 3)),
)
def _pad(call: OpCall) -> Geometry:
    """``pad`` lists ``(lo, hi)`` pairs from the last dim backwards; output ``i`` reads
    ``i − lo`` (reflection and replication read a mirrored or repeated real pixel there).
    """
    x = call.first
    pads = [int(p) for p in call.args.get("pad", call.args.get("padding"))]  # type: ignore[attr-defined]
    rank = len(x.shape)
    per_dim = {rank - 1 - i // 2: (pads[i], pads[i + 1]) for i in range(0, len(pads), 2)}
    moved = {dim: lo for dim, (lo, hi) in per_dim.items() if lo or hi}
    layout = x.layout
    if layout is None:
        layout = standard(x.shape, call.spatial)
        if layout is None:
            return other(reason="padding a tensor whose spatial axes are unknown")
    shifts: dict[int, Resample] = {}
    for dim, lo in moved.items():
        axis = axis_of(layout[dim])
        if axis is not None:
            shifts[axis] = Resample.shift(-lo)
        elif any(label >= 0 for label, _ in layout[dim]):
            return other(reason="padding a dim that merges spatial axes")
    out = resize(layout, call.out)
    if not shifts:
        return Geometry("elementwise", None, out)
    identity = Resample.shift(0)
    return Geometry("pad", tuple(shifts.get(a, identity) for a in range(call.spatial)), out)


# the rules for views, reductions, merges and matrix products register themselves
from stridekit.frontends import torch_rules_layout  # noqa: E402, F401
