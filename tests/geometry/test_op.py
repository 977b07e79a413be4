"""`stridekit.Op`: one value for an op's nine arguments. Its output sizes against the
shapes torch gives (with torch's own defaults: a pool's stride is its kernel), the CLI's
text against the numbers it stands for, and bad arguments as `StrideError`s that say what
to change."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

import stridekit
from stridekit.errors import ConventionError, InvalidWindowError, StrideError, UsageError
from stridekit.geometry import Op
from stridekit.geometry.op_windows import op_windows

# (stridekit's arguments, the torch module built from the same numbers, input size)
TORCH_CASES: dict[str, tuple[dict[str, Any], nn.Module, tuple[int, ...]]] = {
    "conv_k7_s2_p3": (
        {"kernel": 7, "stride": 2, "padding": 3},
        nn.Conv2d(1, 1, 7, 2, 3),
        (224, 225),
    ),
    "conv_per_axis": (
        {"kernel": [3, 5], "stride": [2, 1], "padding": [1, (2, 2)], "dilation": [1, 2]},
        nn.Conv2d(1, 1, (3, 5), (2, 1), (1, 2), (1, 2)),
        (17, 20),
    ),
    "max_pool_default_stride": ({"kernel": 3, "op": "max_pool"}, nn.MaxPool2d(3), (11, 12)),
    "max_pool_ceil": (
        {"kernel": 3, "stride": 2, "op": "max_pool", "ceil_mode": True},
        nn.MaxPool2d(3, 2, ceil_mode=True),
        (6, 7),
    ),
    "avg_pool_padded": (
        {"kernel": 3, "stride": 2, "padding": 1, "op": "avg_pool"},
        nn.AvgPool2d(3, 2, 1),
        (9, 10),
    ),
    "conv_transpose": (
        {"kernel": 4, "stride": 2, "padding": 1, "output_padding": 1, "op": "conv_transpose"},
        nn.ConvTranspose2d(1, 1, 4, 2, 1, output_padding=1),
        (5, 6),
    ),
    "conv_same_stride_1": (
        {"kernel": 5, "padding": "same"},
        nn.Conv2d(1, 1, 5, padding="same"),
        (9, 8),
    ),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_output_sizes_are_torchs(name: str) -> None:
    arguments, module, size = TORCH_CASES[name]
    expected = tuple(module(torch.zeros(1, 1, *size)).shape[2:])
    assert Op(size, **arguments).output_sizes == expected
    assert op_windows(size, **arguments) == op_windows(Op(size, **arguments))


# the CLI's text (stridekit shape's options) and the numbers it stands for
PARSED: dict[str, tuple[dict[str, Any], dict[str, Any]]] = {
    "one_axis": ({"size": "224", "kernel": "7", "stride": "2", "padding": "3"},
                 {"size": 224, "kernel": 7, "stride": 2, "padding": 3}),
    "per_axis_padding": ({"size": "224x320", "kernel": "3", "padding": "1x2:3"},
                         {"size": (224, 320), "kernel": 3, "padding": [1, (2, 3)]}),
    "tf_same": ({"size": "513", "kernel": "3", "stride": "16", "padding": "same",
                 "convention": "tf"},
                {"size": 513, "kernel": 3, "stride": 16, "padding": "same", "convention": "tf"}),
    "pool": ({"size": "6x7", "kernel": "3", "op": "max_pool", "ceil_mode": True},
             {"size": (6, 7), "kernel": 3, "op": "max_pool", "ceil_mode": True}),
    "transposed": ({"size": "5x6", "kernel": "4x3", "stride": "2", "output_padding": "1",
                    "op": "conv_transpose"},
                   {"size": (5, 6), "kernel": (4, 3), "stride": 2, "output_padding": 1,
                    "op": "conv_transpose"}),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PARSED))
def test_the_clis_text_is_the_op_of_its_numbers(name: str) -> None:
    text, numbers = PARSED[name]
    size, kernel = text.pop("size"), text.pop("kernel")
    parsed = Op.parse(size, kernel, **text)
    built = Op(numbers.pop("size"), numbers.pop("kernel"), **numbers)
    assert parsed == built and hash(parsed) == hash(built)
    assert parsed.windows == built.windows and parsed.sizes == built.sizes


def test_equal_ops_are_equal_whatever_the_spelling() -> None:
    spelled = {Op(224, 3), Op([224], (3,)), Op((224,), 3, stride=1, padding=(0, 0))}
    assert len(spelled) == 1
    assert Op(224, 3) != Op(224, 3, stride=2)
    assert Op(224, 3) != Op(224, 3, op="max_pool", stride=1)  # same window, another op


def test_the_package_exports_the_op() -> None:
    assert stridekit.Op is Op and "Op" in stridekit.__all__


def test_of_takes_an_op_or_its_arguments_not_both() -> None:
    op = Op(8, 3, stride=2)
    assert Op.of(op) is op and Op.of(8, 3, stride=2) == op
    with pytest.raises(UsageError, match="not both"):
        Op.of(op, stride=2)


def test_describe_is_the_report_of_its_windows() -> None:
    op = Op((224, 225), 3, stride=2)
    report = op.describe()
    assert [a.window for a in report.axes] == list(op.windows)
    # floor((224 − 3)/2) + 1 = 111, floor((225 − 3)/2) + 1 = 112
    assert report.to_dict()["output_size"] == [111, 112] == list(op.output_sizes)


BAD: dict[str, tuple[dict[str, Any], type[StrideError], str]] = {
    "unknown_op": ({"op": "deconv"}, InvalidWindowError, "choose one of conv"),
    "unknown_convention": ({"convention": "keras"}, ConventionError, "choose one of torch"),
    "kernel_per_axis": (
        {"kernel": [3, 3, 3]},
        UsageError,
        "kernel has 3 values but the input has 2",
    ),
    "ceil_on_conv": ({"ceil_mode": True}, InvalidWindowError, "only pooling ops do"),
    "torch_same_strided": ({"stride": 2, "padding": "same"}, ConventionError, "convention='tf'"),
    "zero_size": ({"size": (0, 4)}, StrideError, "must be >= 1"),
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_arguments_say_what_to_do(name: str) -> None:
    arguments, error, message = BAD[name]
    arguments = {"size": (8, 8), "kernel": 3} | arguments
    with pytest.raises(error, match=message.replace("(", r"\(")):
        Op(**arguments)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ({"stride": "two"}, "--stride 'two': expected integers"),
        ({"padding": "1:2:3"}, "--padding '1:2:3': expected 3, 2:3"),
        ({"dilation": "0"}, "--dilation must be >= 1"),
    ],
)
def test_bad_text_names_the_option(text: dict[str, str], message: str) -> None:
    with pytest.raises(StrideError, match=message):
        Op.parse("8", "3", **text)
