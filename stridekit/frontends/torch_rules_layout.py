"""Geometry rules for ops that keep, move or mix positions without a sliding window.

Elementwise ops, norms and channel ops keep every position (identity for fields); views
and permutes move the spatial axes between dims (`torch_layout`); an op that mixes the
dims holding positions is global: a reduction over them is ``global_pool``, a softmax or a
product of two activations is ``attention``, a matrix product contracting them is
``linear``, a reshape merging them into features is ``flatten``. A linear layer on rows
of pixels (ConvNeXt's ``(N·H·W, C)``) is a 1×1 convolution.

>>> from stridekit.frontends.torch_layout import standard
>>> x = TensorInfo((1, 8, 7, 7), standard((1, 8, 7, 7), 2))
>>> geometry_of(OpCall("aten.mean", {"self": x, "dim": [2, 3], "keepdim": True},
...     ((1, 8, 1, 1),), spatial=2)).kind
'global_pool'
>>> geometry_of(OpCall("aten.view", {"self": x, "size": [1, 392]}, ((1, 392),), 2)).kind
'flatten'
"""

from __future__ import annotations

from collections.abc import Sequence

from stridekit.frontends import torch_layout as lay
from stridekit.frontends.torch_rules import (
    Geometry,
    OpCall,
    TensorInfo,
    geometry_of,
    geometry_rule,
    other,
)
from stridekit.geometry import Window
from stridekit.graph import Resample

__all__ = ["geometry_of"]

# position-wise ops that torch does not tag ``pointwise``, and the norms (DESIGN: norms
# are identity for fields, even group/instance norms whose statistics span the image)
POSITIONWISE = (
    "aten.hardswish",
    "aten.gelu",
    "aten.mish",
    "aten._prelu_kernel",
    "aten.log_sigmoid_forward",
    "aten.threshold",
    "aten.rrelu_with_noise",
    "aten.native_dropout",
    "aten.bernoulli",
    "aten.fill",
    "aten.zero",
    "aten.native_batch_norm",
    "aten._native_batch_norm_legit",
    "aten._native_batch_norm_legit_no_training",
    "aten._native_batch_norm_legit_functional",
    "aten.native_layer_norm",
    "aten.native_group_norm",
    "aten._fused_rms_norm",
)
MUL_OPS = frozenset({"mul", "div"})


def _dims(value: object, rank: int) -> list[int]:
    """A dim argument (int, list, None = all) → non-negative dims."""
    if value is None or value == []:
        return list(range(rank))
    items = [value] if isinstance(value, int) else list(value)  # type: ignore[call-overload]
    return [int(d) % rank for d in items]


def _mixes(x: TensorInfo, dims: Sequence[int]) -> bool:
    return x.layout is not None and any(lay.has_positions(x.layout[d]) for d in dims)


def _keep(call: OpCall, kind: str = "elementwise") -> Geometry:
    """Positions unchanged: the first activation's layout with the output's sizes."""
    return Geometry(kind, None, lay.resize(call.first.layout, call.out))


@geometry_rule("pointwise", *POSITIONWISE)
def _pointwise(call: OpCall) -> Geometry:
    """One activation: ``elementwise``; several: a merge (``mul`` for mul/div, else ``add``).

    The output layout is that of the input with the most positions that has the output's
    shape (broadcasting a gate ``(N, C, 1, 1)`` over a map keeps the map's layout).
    """
    inputs = call.activations
    ranked = sorted(inputs, key=lambda t: (t.shape == call.out, lay.positional(t.layout)))
    layout = lay.resize(ranked[-1].layout, call.out)
    if len(inputs) == 1 or call.target in POSITIONWISE:
        return Geometry("elementwise", None, layout)
    return Geometry("mul" if call.name in MUL_OPS else "add", None, layout)


@geometry_rule("aten.copy")
def _copy(call: OpCall) -> Geometry:
    """``dst.copy_(src)``: a write into part of a larger tensor is a concat along the
    written dims when they hold no positions, and unknown geometry when they do."""
    dst, src = call.args["self"], call.args["src"]
    assert isinstance(dst, TensorInfo) and isinstance(src, TensorInfo)
    base = dst.base_shape or dst.shape
    if base == dst.shape:
        return Geometry("elementwise", None, lay.resize(src.layout, call.out))
    if len(base) != len(dst.shape) or src.layout is None or len(src.layout) != len(base):
        return other(reason="copy into a view of another shape")
    written = [d for d, (a, b) in enumerate(zip(base, dst.shape, strict=True)) if a != b]
    if _mixes(src, written):
        return other(reason="copy into a spatial window of a tensor")
    return Geometry("concat", None, lay.resize(src.layout, base))


@geometry_rule("aten.cat", "aten.stack")
def _concatenate(call: OpCall) -> Geometry:
    """Along channels a merge (``concat``); along a dim with positions: ``other``."""
    inputs = call.activations
    x = inputs[0]
    layout = lay.insert(x.layout, call.args.get("dim", 0)) if "stack" in call.target else x.layout  # type: ignore[arg-type]
    dim = int(call.args.get("dim", 0)) % len(call.out)  # type: ignore[call-overload]
    if layout is not None and lay.has_positions(layout[dim]):
        return other(reason="concatenation along a spatial axis")
    kind = "concat" if len(inputs) > 1 else "elementwise"
    return Geometry(kind, None, lay.resize(layout, call.out))


@geometry_rule("aten.view", "aten._unsafe_view", "aten.reshape", "aten.view_copy")
def _view(call: OpCall) -> Geometry:
    if call.first.shape == call.out:
        return Geometry("elementwise", None, call.first.layout)
    layout, verdict = lay.reshape(call.first.layout, call.out)
    return Geometry("flatten" if verdict == "flatten" else "elementwise", None, layout)


@geometry_rule("aten.permute", "aten.transpose", "aten.t", "aten.movedim")
def _permute(call: OpCall) -> Geometry:
    rank = len(call.out)
    if "permute" in call.target:
        order = _dims(call.args["dims"], rank)
    else:
        a, b = _dims(call.args.get("dim0", 0), rank)[0], _dims(call.args.get("dim1", 1), rank)[0]
        order = list(range(rank))
        order[a], order[b] = order[b], order[a]
    return Geometry("elementwise", None, lay.permute(call.first.layout, order))


@geometry_rule("aten.unsqueeze")
def _unsqueeze(call: OpCall) -> Geometry:
    return Geometry("elementwise", None, lay.insert(call.first.layout, call.args["dim"]))  # type: ignore[arg-type]


@geometry_rule("aten.squeeze")
def _squeeze(call: OpCall) -> Geometry:
    x = call.first
    dims = _dims(call.args.get("dim"), len(x.shape))
    return Geometry("elementwise", None, lay.remove(x.layout, [d for d in dims if x.shape[d] == 1]))


@geometry_rule("aten.expand")
def _expand(call: OpCall) -> Geometry:
    """Broadcasting a 1-pixel map over space (after global pooling) keeps its field."""
    x = call.first
    layout = x.layout
    for _ in range(len(call.out) - len(x.shape)):
        layout = lay.insert(layout, 0)
    return Geometry("elementwise", None, lay.resize(layout, call.out))


@geometry_rule("aten.slice")
def _slice(call: OpCall) -> Geometry:
    """``x[..., a:b:s]`` on a spatial axis: output ``i`` reads ``a + i·s``."""
    x = call.first
    dim = int(call.args["dim"]) % len(x.shape)  # type: ignore[call-overload]
    n = x.shape[dim]
    start = call.args.get("start") or 0
    assert isinstance(start, int)
    start = min(max(start + n if start < 0 else start, 0), n)
    step = int(call.args.get("step") or 1)  # type: ignore[call-overload]
    if x.layout is None or not lay.has_positions(x.layout[dim]):
        return _keep(call)
    axis = lay.axis_of(x.layout[dim])
    if axis is None:
        return other(reason="slicing a dim that merges spatial axes")
    if call.out == x.shape:
        return _keep(call)
    identity = Resample.shift(0)
    axes = tuple(Resample.step(start, step) if a == axis else identity for a in range(call.spatial))
    return Geometry("slice", axes, lay.resize(x.layout, call.out))


@geometry_rule(
    "aten.split", "aten.split_with_sizes", "aten.unsafe_split", "aten.unbind", "aten.select"
)
def _split(call: OpCall) -> Geometry:
    """Splitting channels keeps positions; splitting or picking along space does not."""
    x = call.first
    dim = _dims(call.args.get("dim", 0), len(x.shape))[0]
    if _mixes(x, [dim]):
        return other(reason="splitting a spatial axis")
    if "unbind" in call.target or "select" in call.target:
        return Geometry("elementwise", None, lay.remove(x.layout, [dim]))
    return _keep(call)


@geometry_rule("aten.roll", "aten.flip", "aten.cumsum", "aten.cumprod", "aten.glu")
def _along_dims(call: OpCall) -> Geometry:
    """Ops acting along given dims: positional only when those dims hold no positions."""
    x = call.first
    dims = _dims(call.args.get("dims", call.args.get("dim")), len(x.shape))
    return other(reason=f"{call.name} along a spatial axis") if _mixes(x, dims) else _keep(call)


@geometry_rule("aten._softmax", "aten._log_softmax", "aten._safe_softmax")
def _softmax(call: OpCall) -> Geometry:
    """A softmax over positions is attention (every position weighs every other)."""
    x = call.first
    dim = _dims(call.args["dim"], len(x.shape))
    return Geometry("attention") if _mixes(x, dim) else _keep(call)


@geometry_rule(
    "aten.mean", "aten.sum", "aten.amax", "aten.amin", "aten.max", "aten.min",
    "aten.var", "aten.std", "aten.var_mean", "aten.std_mean", "aten.logsumexp",
    "aten.linalg_vector_norm", "aten.norm", "aten.prod", "aten.argmax", "aten.argmin",
)  # fmt: skip
def _reduction(call: OpCall) -> Geometry:
    """Reducing over every position is global pooling; over channels, position-wise."""
    if "other" in call.args:  # max.other, min.other: elementwise maximum of two tensors
        return _pointwise(call)
    x = call.first
    dims = _dims(call.args.get("dim"), len(x.shape))
    keep = bool(call.args.get("keepdim", False))
    layout = lay.collapse(x.layout, dims) if keep else lay.remove(x.layout, dims)
    if not _mixes(x, dims):
        return Geometry("elementwise", None, lay.resize(layout, call.out))
    assert x.layout is not None
    if any(lay.has_positions(x.layout[d]) for d in range(len(x.shape)) if d not in dims):
        return other(reason=f"{call.name} over some spatial axes only")
    return Geometry("global_pool", None, lay.resize(layout, call.out))


@geometry_rule("aten.mm", "aten.addmm", "aten.bmm", "aten.baddbmm", "aten._scaled_mm")
def _matmul(call: OpCall) -> Geometry:
    """Two activations: attention. One activation times weights: a linear layer, which is
    a 1×1 convolution when the activation's rows are pixels and the contraction is not."""
    names = ("mat1", "mat2") if "mat1" in call.args else ("self", "mat2")
    names = ("batch1", "batch2") if "batch1" in call.args else names
    left, right = (call.args[n] for n in names)
    assert isinstance(left, TensorInfo) and isinstance(right, TensorInfo)
    if left.activation and right.activation:
        return Geometry("attention")
    x, contracted = (
        (left, len(left.shape) - 1) if left.activation else (right, len(right.shape) - 2)
    )
    if x.layout is None or _mixes(x, [contracted]) or not lay.positional(x.layout):
        return Geometry("linear")
    layout = lay.resize((*x.layout[:contracted], (), *x.layout[contracted + 1 :]), call.out)
    return Geometry("conv", (Window(1),) * call.spatial, layout)


@geometry_rule(
    "aten._scaled_dot_product_flash_attention_for_cpu",
    "aten._scaled_dot_product_flash_attention",
    "aten._scaled_dot_product_efficient_attention",
    "aten._scaled_dot_product_cudnn_attention",
    "aten._scaled_dot_product_fused_attention_overrideable",
    "aten._native_multi_head_attention",
)
def _attention(call: OpCall) -> Geometry:
    return Geometry("attention")
