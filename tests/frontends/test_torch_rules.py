"""The torch frontend's pure parts: geometry rules on hand-made calls, the registry,
and the meta-kernel shortcuts against torch's own kernels."""

from __future__ import annotations

import pytest
import torch

from stridekit.frontends.torch_layout import permute, reshape, standard
from stridekit.frontends.torch_recorder import META_SHORTCUTS
from stridekit.frontends.torch_rules import Geometry, OpCall, TensorInfo, geometry_of, geometry_rule
from stridekit.graph import Resample

X = TensorInfo((1, 8, 6, 10), standard((1, 8, 6, 10), 2))
NHWC = TensorInfo((1, 6, 10, 8), permute(X.layout, (0, 2, 3, 1)))
ROWS = TensorInfo((60, 8), reshape(NHWC.layout, (60, 8))[0])  # ConvNeXt's pixels as rows
WEIGHT = TensorInfo((8, 16), None, activation=False)


@pytest.mark.parametrize(
    ("target", "args", "out", "kind"),
    [
        ("aten.mean", {"self": X, "dim": [1], "keepdim": True}, (1, 1, 6, 10), "elementwise"),
        ("aten.mean", {"self": X, "dim": [-1, -2]}, (1, 8), "global_pool"),
        ("aten.mean", {"self": X, "dim": [3], "keepdim": True}, (1, 8, 6, 1), "other"),
        ("aten._softmax", {"self": X, "dim": 1}, (1, 8, 6, 10), "elementwise"),
        ("aten._softmax", {"self": X, "dim": 3}, (1, 8, 6, 10), "attention"),
        ("aten.cat", {"tensors": [X, X], "dim": 1}, (1, 16, 6, 10), "concat"),
        ("aten.cat", {"tensors": [X, X], "dim": 2}, (1, 8, 12, 10), "other"),
        ("aten.view", {"self": X, "size": [1, 8, 60]}, (1, 8, 60), "elementwise"),
        ("aten.view", {"self": X, "size": [1, 480]}, (1, 480), "flatten"),
        ("aten.view", {"self": X, "size": [1, 8, 2, 3, 10]}, (1, 8, 2, 3, 10), "flatten"),
        ("aten.mm", {"self": ROWS, "mat2": WEIGHT}, (60, 16), "conv"),
        ("aten.mm", {"self": TensorInfo((1, 480), None), "mat2": WEIGHT}, (1, 16), "linear"),
        ("aten.bmm", {"self": X, "mat2": X}, (1, 8, 8), "attention"),
        ("aten.slice", {"self": NHWC, "dim": 1, "start": 1, "step": 2}, (1, 3, 10, 8), "slice"),
        (
            "aten.slice",
            {"self": NHWC, "dim": 3, "start": 0, "end": 4},
            (1, 6, 10, 4),
            "elementwise",
        ),
        ("aten.constant_pad_nd", {"self": X, "pad": [0, 1, 2, 3]}, (1, 8, 11, 11), "pad"),
        ("aten.roll", {"self": X, "shifts": [1], "dims": [2]}, (1, 8, 6, 10), "other"),
        ("aten.nonexistent_op", {"self": X}, (1, 8, 6, 10), None),
    ],
)
def test_rules(target: str, args: dict, out: tuple[int, ...], kind: str | None) -> None:
    geometry = geometry_of(OpCall(target, args, (out,), spatial=2))
    assert (geometry.kind if geometry else None) == kind


def test_rules_place_axis_maps_by_spatial_axis() -> None:
    """A slice of the height of an NHWC tensor maps axis 0, whatever dim holds it."""
    call = OpCall(
        "aten.slice", {"self": NHWC, "dim": 1, "start": 1, "step": 2}, ((1, 3, 10, 8),), 2
    )
    geometry = geometry_of(call)
    assert geometry is not None and geometry.axes == (Resample.step(1, 2), Resample.shift(0))
    pad = OpCall("aten.constant_pad_nd", {"self": X, "pad": [0, 1, 2, 3]}, ((1, 8, 11, 11),), 2)
    padded = geometry_of(pad)
    assert padded is not None and padded.axes == (Resample.shift(-2), Resample.shift(0))


def test_duplicate_rules_are_rejected() -> None:
    with pytest.raises(RuntimeError, match=r"duplicate geometry rule for aten\.convolution"):
        geometry_rule("aten.convolution")(lambda call: Geometry("conv"))


@pytest.mark.parametrize(
    ("shape", "dtype", "channels_last", "affine"),
    [
        ((2, 8, 5, 5), torch.float32, False, True),
        ((2, 8, 5, 5), torch.float32, True, False),
        ((1, 8, 7), torch.float64, False, True),
        ((2, 8, 3, 4, 5), torch.float16, False, True),
        ((2, 8, 5, 5), torch.bfloat16, True, True),
    ],
)
def test_meta_shortcuts_match_torch(
    shape: tuple[int, ...], dtype: torch.dtype, channels_last: bool, affine: bool
) -> None:
    x = torch.empty(shape, device="meta", dtype=dtype)
    if channels_last:
        x = x.to(memory_format=torch.channels_last)
    stats = torch.empty(
        shape[1], device="meta", dtype=torch.float32 if dtype.itemsize < 4 else dtype
    )
    weight = torch.empty(shape[1], device="meta", dtype=dtype) if affine else None
    args = (x, weight, weight, stats, stats, False, 0.1, 1e-5)
    op = torch.ops.aten.native_batch_norm.default
    fast, real = META_SHORTCUTS[op](args, {}), op(*args)
    assert [(t.shape, t.stride(), t.dtype, t.device) for t in fast] == [
        (t.shape, t.stride(), t.dtype, t.device) for t in real
    ]
    assert META_SHORTCUTS[op]((*args[:5], True, 0.1, 1e-5), {}) is NotImplemented
