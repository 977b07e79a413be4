"""aten → canonical ops: the torch frontend's translation table.

A translation reads an `OpCall` (the aten op's arguments by schema name, tensors replaced
by `TensorInfo`: shape, layout, whether it is an activation) and calls one canonical op
(`stridekit.lowering`); what the op does to the spatial axes is decided there, once for
every frontend. `TRANSLATIONS` is filled explicitly, one entry per aten target; an aten
op without one (and without torch's ``pointwise`` tag) is `stridekit.lowering.unknown`.

>>> from stridekit.geometry.layout import standard
>>> x = TensorInfo((1, 3, 32, 32), standard((1, 3, 32, 32), 2))
>>> w = TensorInfo((8, 3, 3, 3), None, activation=False)
>>> call = OpCall("aten.convolution", {"input": x, "weight": w, "stride": [2, 2],
...     "padding": [1, 1], "dilation": [1, 1], "transposed": False,
...     "output_padding": [0, 0], "groups": 1}, ((1, 8, 16, 16),), spatial=2)
>>> translate(call).axes[0].describe()
'k=3 s=2 p=(1,1)'
>>> translate(OpCall("aten.no_such_op", {"self": x}, ((1, 3),), 2)).unhandled
True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from stridekit.frontends.torch_writes import ViewPlacement, placed_write
from stridekit.geometry.layout import Layout
from stridekit.lowering import Lowered, Meta, mixing, moves, pointwise, unknown, views, windows
from stridekit.lowering.core import dims_of, per_axis, translation_table


@dataclass(frozen=True)
class TensorInfo:
    """What a translation may know about a tensor argument."""

    shape: tuple[int, ...]
    layout: Layout | None  # None: spatial axes unknown (or not an activation)
    activation: bool = True  # derived from the model input (else a weight or constant)
    base_shape: tuple[int, ...] | None = None  # the viewed tensor, for writes into views
    placement: ViewPlacement | None = None  # where a written view sits in that tensor


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

    def meta(self, info: TensorInfo | None = None) -> Meta:
        """A tensor argument (default: the first activation) as the canonical ops see it."""
        info = info or self.activations[0]
        return Meta(info.shape, info.layout, self.spatial)

    @property
    def x(self) -> Meta:
        return self.meta()

    @property
    def out(self) -> tuple[int, ...]:
        return self.out_shapes[0]

    @property
    def name(self) -> str:
        """The op name without namespace and in-place underscore: ``relu_`` → ``relu``."""
        return self.target.rsplit(".", 1)[-1].rstrip("_")

    def get(self, name: str, default: Any = None) -> Any:
        value = self.args.get(name, default)
        return default if value is None else value

    def tensor(self, name: str) -> TensorInfo:
        value = self.args[name]
        assert isinstance(value, TensorInfo)
        return value


Translation = Callable[[OpCall], Lowered]


def _pairs(padding: Sequence[int]) -> list[tuple[int, int]]:
    return [(int(p), int(p)) for p in padding]


def _spatial_count(call: OpCall) -> int:
    """``max_pool2d`` → 2 (the digit in the op's name), else the input's trailing dims."""
    digits = [c for c in call.name if c.isdigit()]
    return int(digits[-1]) if digits else len(call.x.shape) - 2


def _convolution(call: OpCall) -> Lowered:
    weight = call.tensor("weight").shape
    count = len(weight) - 2
    return windows.conv(
        call.x,
        call.out,
        weight=weight,
        stride=per_axis(call.get("stride"), count, 1),
        padding=_pairs(per_axis(call.get("padding"), count, 0)),
        dilation=per_axis(call.get("dilation"), count, 1),
        groups=int(call.get("groups", 1)),
        transposed=bool(call.get("transposed", False)),
        output_padding=per_axis(call.get("output_padding"), count, 0),
    )


def _pool(kind: str) -> Translation:
    def translate(call: OpCall) -> Lowered:
        count = _spatial_count(call)
        return windows.pool(
            call.x,
            call.out,
            kind=kind,
            kernel=per_axis(call.get("kernel_size"), count, 1),
            stride=call.get("stride") or None,
            padding=_pairs(per_axis(call.get("padding"), count, 0)),
            dilation=per_axis(call.get("dilation"), count, 1),
            ceil_mode=bool(call.get("ceil_mode", False)),
            count=count,
        )

    return translate


def _adaptive(call: OpCall) -> Lowered:
    return windows.adaptive_pool(
        call.x, call.out, kind="max_pool" if "max" in call.name else "avg_pool"
    )


def _upsample(call: OpCall) -> Lowered:
    """The scale is torch's: the requested ``scale_factor`` when given (it decides the
    source positions: ``floor(9 · 0.5) = 4`` outputs read ``2i + ½``), else ``out/in``."""
    name, count = call.name, _spatial_count(call)
    given = call.get("scale_factors")
    if not isinstance(given, list | tuple):
        names = ("scales_d", "scales_h", "scales_w") if count > 1 else ("scales",)
        given = [call.get(n) for n in names[-count:]]
    scales = [s if isinstance(s, float | int) and s > 0 else None for s in given] or None
    if "nearest_exact" in name:
        mode, coordinate, nearest = "nearest", "half_pixel", "round_prefer_ceil"
    elif "nearest" in name:
        mode, coordinate, nearest = "nearest", "asymmetric", "floor"
    else:
        mode = "cubic" if "bicubic" in name else "linear"
        coordinate = "align_corners" if call.get("align_corners") else "half_pixel"
        nearest = "floor"
    return moves.resize(
        call.x,
        call.out,
        mode=mode,
        coordinate=coordinate,
        nearest=nearest,
        scales=scales if scales and len(scales) == count else [None] * count,
        antialias=name.endswith("_aa"),
    )


def _pad(call: OpCall) -> Lowered:
    """``pad`` lists ``(lo, hi)`` pairs from the last dim backwards."""
    x = call.x
    pads = [int(p) for p in call.get("pad", call.get("padding"))]
    per_dim = {x.rank - 1 - i // 2: (pads[i], pads[i + 1]) for i in range(0, len(pads), 2)}
    return moves.pad(x, call.out, pads=per_dim)


MUL_OPS = frozenset({"mul", "div"})


def _pointwise(call: OpCall) -> Lowered:
    """One activation: ``elementwise``; several: a merge (``mul`` for mul/div, else ``add``)."""
    inputs = [call.meta(t) for t in call.activations]
    merge = "mul" if call.name in MUL_OPS and call.target not in POSITIONWISE else "add"
    if call.target in POSITIONWISE:
        inputs = inputs[:1]
    return pointwise.elementwise(inputs, call.out, merge=merge)


def _copy(call: OpCall) -> Lowered:
    """``dst.copy_(src)``: a write into a box of a larger tensor is the pad that places
    it there (`placed_write`: torchvision's batched images); else a concat along the
    written dims when they hold no positions, and unknown geometry when they do."""
    dst, src = call.tensor("self"), call.tensor("src")
    base = dst.base_shape or dst.shape
    if base == dst.shape:
        return pointwise.elementwise([call.meta(src)], call.out)
    if dst.placement is not None and src.layout is not None and src.shape == dst.shape:
        placed = placed_write(call.meta(src), base, dst.placement, onto=dst.activation)
        if placed is not None:
            return placed
    written = [d for d, (a, b) in enumerate(zip(base, dst.shape, strict=False)) if a != b]
    if len(base) != len(dst.shape) or src.layout is None or len(src.layout) != len(base):
        return unknown_geometry("copy into a view of another shape")
    inputs = [call.meta(src)] + ([call.meta(dst)] if dst.activation else [])
    return views.concat(inputs, base, dim=written[0] if written else 0)


def unknown_geometry(reason: str) -> Lowered:
    from stridekit.lowering import other

    return other(reason=reason)


def _concatenate(call: OpCall) -> Lowered:
    inputs = [call.meta(t) for t in call.activations]
    return views.concat(inputs, call.out, dim=int(call.get("dim", 0)), stack="stack" in call.name)


def _view(call: OpCall) -> Lowered:
    return views.reshape(call.x, call.out)


def _permute(call: OpCall) -> Lowered:
    rank = len(call.out)
    if "permute" in call.name:
        order = dims_of(call.get("dims"), rank)
    elif call.name == "t":
        order = views.swap(rank, 0, -1) if rank == 2 else list(range(rank))
    else:
        order = views.swap(rank, int(call.get("dim0", 0)), int(call.get("dim1", 1)))
    return views.permute(call.x, call.out, order=order)


def _unsqueeze(call: OpCall) -> Lowered:
    return views.unsqueeze(call.x, call.out, dims=[int(call.get("dim", 0))])


def _squeeze(call: OpCall) -> Lowered:
    dim = call.get("dim")
    return views.squeeze(
        call.x, call.out, dims=None if dim is None else dims_of(dim, len(call.x.shape))
    )


def _expand(call: OpCall) -> Lowered:
    return views.expand(call.x, call.out)


def _slice(call: OpCall) -> Lowered:
    end = call.get("end")
    return moves.slice_(
        call.x,
        call.out,
        dims=[int(call.get("dim", 0))],
        starts=[int(call.get("start", 0))],
        steps=[int(call.get("step", 1))],
        stops=[int(end) if isinstance(end, int) else None],
    )


def _split(call: OpCall) -> Lowered:
    x = call.x
    dim = dims_of(call.get("dim", 0), x.rank)[0]
    if call.name in ("unbind", "select"):
        return views.select(x, call.out, dim=dim)
    return views.split(x, call.out, dim=dim)


def _index(call: OpCall) -> Lowered:
    """``x[..., idx]``: one constant index tensor along one dim is a ``select`` whose
    indices replace that dim; several, or indices computed from the input, read
    positions stridekit cannot follow."""
    x, indices = call.x, call.get("indices", [])
    given = [(d, t) for d, t in enumerate(indices) if t is not None]
    if len(given) != 1 or not isinstance(given[0][1], TensorInfo) or given[0][1].activation:
        return unknown_geometry("indexing with several or computed index tensors")
    dim, index = given[0]
    if len(call.out) != x.rank - 1 + len(index.shape):  # a boolean mask over several dims
        return unknown_geometry("indexing with a mask")
    return views.select(x, call.out, dim=dim, index_rank=len(index.shape))


def _along(call: OpCall) -> Lowered:
    dims = call.get("dims", call.get("dim"))
    return mixing.along(call.x, call.out, dims=dims, name=call.name)


def _softmax(call: OpCall) -> Lowered:
    return mixing.softmax(call.x, call.out, dims=dims_of(call.get("dim"), len(call.x.shape)))


def _reduction(call: OpCall) -> Lowered:
    if "other" in call.args:  # max.other, min.other: elementwise maximum of two tensors
        return _pointwise(call)
    return mixing.reduce(
        call.x, call.out, dims=call.get("dim"), keepdim=bool(call.get("keepdim", False))
    )


def _matmul(call: OpCall) -> Lowered:
    names = ("mat1", "mat2") if "mat1" in call.args else ("self", "mat2")
    names = ("batch1", "batch2") if "batch1" in call.args else names
    left, right = (call.tensor(n) for n in names)
    return mixing.matmul(
        call.meta(left) if left.activation else None,
        call.meta(right) if right.activation else None,
        call.out,
        shapes=(left.shape, right.shape),
    )


def _attention(call: OpCall) -> Lowered:
    query, key = (call.args.get(name) for name in ("query", "key"))
    if not isinstance(query, TensorInfo) or not isinstance(key, TensorInfo):
        return mixing.attention(call.out)
    if not (query.activation and key.activation):
        return mixing.attention(call.out)
    return mixing.attention(call.out, call.meta(query), call.meta(key))


def _columns(fold: bool) -> Translation:
    """``aten.im2col`` (F.unfold) and ``aten.col2im`` (F.fold), over two spatial axes."""

    def translate(call: OpCall) -> Lowered:
        op = windows.col2im if fold else windows.im2col
        unfold = windows.Unfold(
            kernel=per_axis(call.get("kernel_size"), 2, 1),
            stride=per_axis(call.get("stride"), 2, 1),
            padding=per_axis(call.get("padding"), 2, 0),
            dilation=per_axis(call.get("dilation"), 2, 1),
        )
        return op(call.x, call.out, unfold=unfold)

    return translate


def _unfold(call: OpCall) -> Lowered:
    return windows.tensor_unfold(
        call.x,
        call.out,
        dim=int(call.get("dimension")),
        size=int(call.get("size")),
        step=int(call.get("step")),
    )


# position-wise ops that torch does not tag ``pointwise``, and the norms (DESIGN: norms
# are identity for fields, even group/instance norms whose statistics span the image)
POSITIONWISE = tuple(
    f"aten.{name}"
    for name in (  # noqa: SIM905
        "hardswish gelu mish _prelu_kernel log_sigmoid_forward threshold rrelu_with_noise "
        "native_dropout bernoulli fill zero native_batch_norm _native_batch_norm_legit "
        "_native_batch_norm_legit_no_training _native_batch_norm_legit_functional "
        "native_layer_norm native_group_norm _fused_rms_norm"
    ).split()
)
REDUCTIONS = (  # noqa: SIM905
    "mean sum amax amin max min var std var_mean std_mean logsumexp linalg_vector_norm norm "
    "prod argmax argmin"
).split()
ATTENTION = (  # noqa: SIM905
    "_scaled_dot_product_flash_attention_for_cpu _scaled_dot_product_flash_attention "
    "_scaled_dot_product_efficient_attention _scaled_dot_product_cudnn_attention "
    "_scaled_dot_product_fused_attention_overrideable _native_multi_head_attention"
).split()


def _aten(*names: str) -> list[str]:
    return [f"aten.{name}" for name in names]


TRANSLATIONS: dict[str, Translation] = translation_table(
    (_aten("convolution", "_convolution"), _convolution),
    (
        [f"aten.max_pool{n}d{s}" for n in (1, 2, 3) for s in ("", "_with_indices")],
        _pool("max_pool"),
    ),
    (_aten("avg_pool1d", "avg_pool2d", "avg_pool3d"), _pool("avg_pool")),
    (
        _aten("_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_avg_pool1d")
        + _aten("adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d"),
        _adaptive,
    ),
    (
        [f"aten.upsample_nearest{n}d" for n in (1, 2, 3)]
        + [f"aten._upsample_nearest_exact{n}d" for n in (1, 2, 3)]
        + _aten("upsample_linear1d", "upsample_bilinear2d", "upsample_trilinear3d")
        + _aten("upsample_bicubic2d", "_upsample_bilinear2d_aa", "_upsample_bicubic2d_aa"),
        _upsample,
    ),
    (
        _aten("pixel_shuffle"),
        lambda c: windows.depth_to_space(c.x, c.out, block=int(c.get("upscale_factor"))),
    ),
    (
        _aten("pixel_unshuffle"),
        lambda c: windows.space_to_depth(c.x, c.out, block=int(c.get("downscale_factor"))),
    ),
    (
        _aten("constant_pad_nd")
        + [f"aten.{m}_pad{n}d" for m in ("reflection", "replication") for n in (1, 2, 3)],
        _pad,
    ),
    (["pointwise", *POSITIONWISE], _pointwise),
    (_aten("copy"), _copy),
    (_aten("cat", "stack"), _concatenate),
    (_aten("view", "_unsafe_view", "reshape", "view_copy"), _view),
    (_aten("permute", "transpose", "t", "movedim"), _permute),
    (_aten("unsqueeze"), _unsqueeze),
    (_aten("squeeze"), _squeeze),
    (_aten("expand"), _expand),
    (_aten("slice"), _slice),
    (_aten("split", "split_with_sizes", "unsafe_split", "unbind", "select"), _split),
    (_aten("index"), _index),
    (_aten("roll", "flip", "cumsum", "cumprod", "glu"), _along),
    (_aten("_softmax", "_log_softmax", "_safe_softmax"), _softmax),
    (_aten(*REDUCTIONS), _reduction),
    (_aten("mm", "addmm", "bmm", "baddbmm", "_scaled_mm"), _matmul),
    (_aten(*ATTENTION), _attention),
    (_aten("im2col"), _columns(fold=False)),
    (_aten("col2im"), _columns(fold=True)),
    (_aten("unfold"), _unfold),
)


def translate(call: OpCall) -> Lowered:
    """The canonical lowering of one aten call; an op without a translation is unknown."""
    translation = TRANSLATIONS.get(call.target)
    if translation is None and call.pointwise:
        translation = TRANSLATIONS["pointwise"]
    if translation is None:
        return unknown(call.target)
    return translation(call)
