"""The torch frontend's pure parts: aten translations on hand-made calls, the table,
and the meta-kernel shortcuts against torch's own kernels."""

from __future__ import annotations

import pytest
import torch

from stridekit.frontends.torch_ops import TRANSLATIONS, OpCall, TensorInfo, translate
from stridekit.frontends.torch_recorder import META_SHORTCUTS
from stridekit.geometry import Resample
from stridekit.geometry.layout import permute, reshape, standard
from stridekit.lowering.core import translation_table

X = TensorInfo((1, 8, 6, 10), standard((1, 8, 6, 10), 2))
NHWC = TensorInfo((1, 6, 10, 8), permute(X.layout, (0, 2, 3, 1)))
ROWS = TensorInfo((60, 8), reshape(NHWC.layout, (60, 8)).layout)  # ConvNeXt's pixels as rows
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
        # the height cut in two dims is half-way to a space-to-depth, not destroyed
        ("aten.view", {"self": X, "size": [1, 8, 2, 3, 10]}, (1, 8, 2, 3, 10), "elementwise"),
        # ... and the height cut and mixed into channels is
        ("aten.view", {"self": X, "size": [1, 16, 3, 10]}, (1, 16, 3, 10), "flatten"),
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
        ("aten.nonexistent_op", {"self": X}, (1, 8, 6, 10), "other"),
    ],
)
def test_translations(target: str, args: dict, out: tuple[int, ...], kind: str) -> None:
    lowered = translate(OpCall(target, args, (out,), spatial=2))
    assert lowered.kind == kind
    assert lowered.unhandled == (target not in TRANSLATIONS)


def test_translations_place_axis_maps_by_spatial_axis() -> None:
    """A slice of the height of an NHWC tensor maps axis 0, whatever dim holds it."""
    call = OpCall(
        "aten.slice", {"self": NHWC, "dim": 1, "start": 1, "step": 2}, ((1, 3, 10, 8),), 2
    )
    assert translate(call).axes == (Resample.step(1, 2), Resample.identity())
    # F.pad lists the last dim first: width (0, 1), height (2, 3)
    pad = OpCall("aten.constant_pad_nd", {"self": X, "pad": [0, 1, 2, 3]}, ((1, 8, 11, 11),), 2)
    assert translate(pad).axes == (Resample.pad(2, 3), Resample.pad(0, 1))


def test_duplicate_translations_are_rejected() -> None:
    with pytest.raises(RuntimeError, match=r"duplicate translation for aten\.convolution"):
        translation_table((["aten.convolution"], translate), (["aten.convolution"], translate))


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
