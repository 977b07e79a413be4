"""The ONNX frontend on tiny graphs built with ``onnx.helper``, against onnx's reference
evaluator: for every output pixel, the input pixels an impulse reaches must lie in the
field stridekit computes (and be all of it for exact ops, away from the borders)."""

from __future__ import annotations

from math import prod

import numpy as np
import onnx
import pytest
from onnx import helper

from stridekit.frontends.onnx import load_onnx
from stridekit.passes import propagate_fields
from tests.frontends.oracles import (
    floats,
    impulse_support,
    integer_interval,
    ints,
    model_of,
    ones,
)


def conv1d(n: int, k: int, **attributes: object) -> tuple[onnx.ModelProto, tuple[int, ...]]:
    node = helper.make_node("Conv", ["x", "w"], ["y"], **attributes)
    return model_of([node], (1, 1, n), [ones("w", [1, 1, k])]), (1, 1, n)


def transposed1d(n: int, k: int, **attributes: object) -> tuple[onnx.ModelProto, tuple]:
    node = helper.make_node("ConvTranspose", ["x", "w"], ["y"], **attributes)
    return model_of([node], (1, 1, n), [ones("w", [1, 1, k])]), (1, 1, n)


def pool1d(op: str, n: int, **attributes: object) -> tuple[onnx.ModelProto, tuple[int, ...]]:
    return model_of([helper.make_node(op, ["x"], ["y"], **attributes)], (1, 1, n)), (1, 1, n)


def resize(
    n: int, scales: list[float] | None = None, sizes: list[int] | None = None, **attributes: object
) -> tuple[onnx.ModelProto, tuple[int, ...]]:
    if scales is not None:
        names, initializers = ["x", "", "scales"], [floats("scales", scales)]
    else:
        names, initializers = ["x", "", "", "sizes"], [ints("sizes", sizes or [])]
    node = helper.make_node("Resize", names, ["y"], **attributes)
    return model_of([node], (1, 1, n), initializers), (1, 1, n)


def single(
    op: str, shape: tuple[int, ...], inputs: tuple[onnx.TensorProto, ...] = (), **attributes: object
) -> tuple[onnx.ModelProto, tuple[int, ...]]:
    node = helper.make_node(op, ["x", *(t.name for t in inputs)], ["y"], **attributes)
    return model_of([node], shape, inputs), shape


# name → ((model, input shape), exact)
CASES = {
    # SAME_UPPER, n 7, k 4, s 2: out 4, total (4−1)·2 + 4 − 7 = 3 → (1, 2)
    "conv_same_upper": (conv1d(7, 4, strides=[2], auto_pad="SAME_UPPER"), True),
    "conv_same_lower": (conv1d(7, 4, strides=[2], auto_pad="SAME_LOWER"), True),
    "conv_valid": (conv1d(9, 3, strides=[2], auto_pad="VALID"), True),
    "conv_explicit_asymmetric": (conv1d(8, 3, strides=[2], pads=[2, 0]), True),
    "conv_dilated_same": (conv1d(10, 3, dilations=[2], auto_pad="SAME_UPPER"), True),
    # (onnx's reference MaxPool puts SAME_LOWER's odd pixel at the end, against the spec
    # and its own AveragePool: the oracle runs AveragePool)
    "avg_pool_same_lower": (
        pool1d("AveragePool", 8, kernel_shape=[3], strides=[2], auto_pad="SAME_LOWER"),
        True,
    ),
    # ceil((5 + 2 − 2)/2) + 1 = 4, but window 4 starts at 6 − 1 = 5 ≥ 5: dropped → 3
    "max_pool_ceil_drop": (
        pool1d("MaxPool", 5, kernel_shape=[2], strides=[2], pads=[1, 1], ceil_mode=1),
        True,
    ),
    "avg_pool_ceil": (
        pool1d("AveragePool", 8, kernel_shape=[3], strides=[2], ceil_mode=1),
        True,
    ),
    "lp_pool_dilated": (
        pool1d("LpPool", 9, kernel_shape=[2], dilations=[3], strides=[1]),
        True,
    ),
    "conv_transpose_output_padding": (
        transposed1d(4, 3, strides=[2], pads=[1, 1], output_padding=[1]),
        False,
    ),
    # natural size (3 − 1)·3 + 3 = 9 < 10: the extra pixel is output padding at the end
    "conv_transpose_output_shape": (transposed1d(3, 3, strides=[3], output_shape=[10]), False),
    "conv_transpose_same_upper": (transposed1d(4, 3, strides=[2], auto_pad="SAME_UPPER"), False),
    "conv_transpose_same_lower": (transposed1d(4, 3, strides=[2], auto_pad="SAME_LOWER"), False),
    "resize_nearest_floor": (
        resize(5, [1, 1, 2], mode="nearest",
               coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
        True,
    ),
    "resize_nearest_half_pixel": (resize(5, [1, 1, 3]), False),
    "resize_linear_half_pixel": (
        resize(6, [1, 1, 2], mode="linear"),
        False,
    ),
    "resize_linear_sizes": (resize(4, sizes=[1, 1, 6], mode="linear"), False),
    "resize_cubic_align_corners": (
        resize(5, sizes=[1, 1, 9], mode="cubic",
               coordinate_transformation_mode="align_corners"),
        False,
    ),
    "resize_linear_downsample_antialias": (
        resize(12, [1, 1, 0.5], mode="linear", antialias=1),
        False,
    ),
    "depth_to_space": (single("DepthToSpace", (1, 4, 3, 3), blocksize=2), True),
    "space_to_depth": (single("SpaceToDepth", (1, 1, 4, 6), blocksize=2), True),
    "pad_constant": (single("Pad", (1, 1, 6), (ints("pads", [0, 0, 2, 0, 0, 1]),)), True),
    "slice_steps": (
        single("Slice", (1, 1, 10), (ints("a", [1]), ints("b", [100]), ints("c", [2]),
                                     ints("d", [3]))),
        True,
    ),
    "slice_negative_start": (
        single("Slice", (1, 1, 10), (ints("a", [-5]), ints("b", [-1]), ints("c", [-1]))),
        True,
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", CASES)
def test_fields_match_impulse_responses(name: str) -> None:
    (model, shape), exact = CASES[name]
    graph = load_onnx(model)
    node = graph.output
    reads, out_shape = impulse_support(model, shape)
    assert node.output_shape == out_shape  # shapes: inference (repaired) vs execution
    fields = propagate_fields(graph).fields[node.name]
    spatial_in, spatial_out = shape[2:], out_shape[2:]
    for out_index in range(prod(spatial_out)):
        position = np.unravel_index(out_index, spatial_out)
        pixels = np.flatnonzero(reads[out_index])
        coords = np.unravel_index(pixels, spatial_in)
        for axis, (field, n) in enumerate(zip(fields, spatial_in, strict=True)):
            lo, hi = integer_interval(field, int(position[axis]))
            if not pixels.size:
                assert hi < 0 or lo > n - 1  # reads padding only
                continue
            first, last = int(coords[axis].min()), int(coords[axis].max())
            assert max(lo, 0) <= first and last <= min(hi, n - 1), (position, field)
            if exact and lo >= 0 and hi <= n - 1:
                assert (first, last) == (lo, hi), (position, field)


@pytest.mark.parametrize(
    ("name", "padding"),
    [
        ("conv_same_upper", (1, 2)),  # total 3, the odd pixel at the end
        ("conv_same_lower", (2, 1)),  # ... at the start
        ("conv_valid", (0, 0)),
        ("conv_explicit_asymmetric", (2, 0)),
        ("conv_dilated_same", (2, 2)),  # extent 5, stride 1: total 4
        ("avg_pool_same_lower", (1, 0)),  # out 4, total 3·2 + 3 − 8 = 1
        ("conv_transpose_same_upper", (0, 1)),  # out 4·2, total max(0, 3·2 + 3 − 8) = 1
        ("conv_transpose_same_lower", (1, 0)),
    ],
)
def test_auto_pad_resolves_to_explicit_padding(name: str, padding: tuple[int, int]) -> None:
    (model, _), _ = CASES[name]
    windows = load_onnx(model).output.windows
    assert windows is not None and windows[0].padding == padding


@pytest.mark.parametrize(
    ("model", "padding", "output_padding", "size"),
    [
        # the spec's formulas (ONNX's own reference cannot run these two):
        # MaxPool SAME_LOWER, n 8, k 3, s 2: total 1, the odd pixel at the start
        (pool1d("MaxPool", 8, kernel_shape=[3], strides=[2], auto_pad="SAME_LOWER")[0],
         (1, 0), 0, 4),
        # ConvTranspose output_shape 8 from n 4, k 3, s 2: total 3·2 + 3 − 8 = 1, which
        # NOTSET splits as (total − total/2, total/2): the odd pixel at the start
        (transposed1d(4, 3, strides=[2], output_shape=[8])[0], (1, 0), 0, 8),
        # ONNX's test_convtranspose_output_shape: output_shape above the natural size is
        # the same as output_padding (n 3, k 3, s 3: 9 → 10)
        (transposed1d(3, 3, strides=[3], output_shape=[10])[0], (0, 0), 1, 10),
        # negative pads crop: output i reads input i + 1
        (single("Pad", (1, 1, 6), (ints("pads", [0, 0, -1, 0, 0, 2]),))[0], None, 0, 7),
    ],
)  # fmt: skip
def test_spec_formulas(
    model: onnx.ModelProto, padding: tuple[int, int] | None, output_padding: int, size: int
) -> None:
    node = load_onnx(model).output
    assert node.output_shape[-1] == size
    if padding is None:
        assert repr(node.axes).startswith("(Resample(scale=Fraction(1, 1), start=Fraction(1, 1)")
        return
    assert node.windows is not None
    assert (node.windows[0].padding, node.windows[0].output_padding) == (padding, output_padding)


@pytest.mark.parametrize(
    ("name", "maps"),
    [
        ("depth_to_space", "Resample(scale=Fraction(1, 2), start=Fraction(-1, 2)"),
        ("space_to_depth", "Window(kernel=2, stride=2"),
        ("pad_constant", "Resample(scale=Fraction(1, 1), start=Fraction(-2, 1)"),
        ("slice_steps", "Resample(scale=Fraction(3, 1), start=Fraction(1, 1)"),
        ("resize_nearest_floor", "Resample(scale=Fraction(1, 2), start=Fraction(-1, 2)"),
    ],
)
def test_axis_maps(name: str, maps: str) -> None:
    (model, _), _ = CASES[name]
    axes = load_onnx(model).output.axes
    assert axes is not None and repr(axes[0]).startswith(maps)
