"""Fields of TFLite models against two oracles: the pixels an impulse reaches through the
LiteRT interpreter (which output positions change when one input pixel does), and the
same layer stack built in PyTorch with TF's SAME padding (`Conv2dSame`)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from stridekit.analysis import analyze, analyze_graph
from stridekit.frontends.tflite import load_tflite
from stridekit.frontends.tflite_model import read_model
from stridekit.nn import Conv2dSame
from stridekit.nn.conv_same import pad_same
from stridekit.passes.fields import propagate_fields
from tests.frontends.test_tflite_frontend import interpreter
from tests.frontends.tflite_cases import CASES

DENSE = [
    (name, size) for name, case in CASES.items() if case.dense for size in (None, *case.other_sizes)
]


def reached(data: bytes, size: int | None, pixel: int) -> set[tuple[int, int]]:
    """Output positions whose value changes when input pixel (pixel, pixel) is 100."""
    runner = interpreter(data, size)
    detail = runner.get_input_details()[0]
    out = runner.get_output_details()[0]["index"]
    outputs = []
    for value in (0.0, 100.0):
        x = np.zeros(detail["shape"], np.float32)
        x[0, pixel, pixel, :] = value
        runner.set_tensor(detail["index"], x)
        runner.invoke()
        outputs.append(runner.get_tensor(out)[0].copy())
    changed = np.abs(outputs[1] - outputs[0]).max(axis=-1) > 1e-3
    return {(int(i), int(j)) for i, j in zip(*np.nonzero(changed), strict=True)}


@pytest.mark.parametrize(("name", "size"), DENSE)
def test_fields_are_what_an_impulse_reaches(name: str, size: int | None) -> None:
    data = CASES[name].build()
    channels = read_model(data).tensors[0].shape[-1]
    graph = load_tflite(data, None if size is None else (1, channels, size, size))
    n = graph.input_shape[2]
    fields = propagate_fields(graph).fields[graph.output.name]
    out = graph.output.output_shape[2:]
    for pixel in sorted({0, 1, n // 2, n - 2, n - 1}):
        # output i reads [i·J + lo, i·J + hi]: with positive weights and kernels no
        # smaller than their strides, exactly the outputs whose field holds the pixel
        per_axis = [
            {i for i in range(m) if f.lo + i * f.jump <= pixel <= f.hi + i * f.jump}
            for f, m in zip(fields, out, strict=True)
        ]
        expected = {(i, j) for i in per_axis[0] for j in per_axis[1]}
        assert reached(data, size, pixel) == expected, (name, size, pixel)


class SamePool(nn.Module):
    """TF's SAME max pooling: pad with -inf as `pad_same` computes, then pool."""

    def __init__(self, k: int, s: int) -> None:
        super().__init__()
        self.k, self.s = k, s
        self.pool = nn.MaxPool2d(k, s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(pad_same(x, self.k, self.s, value=float("-inf")))


def torch_stack(dilation: int) -> nn.Module:
    return nn.Sequential(
        Conv2dSame(3, 4, 3, stride=2),
        Conv2dSame(4, 4, 2, stride=2),
        SamePool(3, 2),
        Conv2dSame(4, 6, 3, dilation=dilation),
    )


WINDOWS = {"conv", "max_pool", "avg_pool"}


@pytest.mark.parametrize(
    ("name", "dilation", "size"),
    [
        ("conv_stack_even", 2, 32),
        ("conv_stack_even", 2, 33),
        ("conv_stack_odd", 2, 29),
        ("dense_odd", 1, 31),
        ("dense_odd", 1, 40),
    ],
)
def test_stride_and_field_equal_the_torch_port(name: str, dilation: int, size: int) -> None:
    ours = analyze_graph(load_tflite(CASES[name].build(), (1, 3, size, size)))
    theirs = analyze(torch_stack(dilation), (1, 3, size, size))

    def geometry(layers: list) -> list[tuple]:  # type: ignore[type-arg]
        return [(r.output_shape, r.jump, r.rf, r.rf_start) for r in layers if r.op in WINDOWS]

    found, expected = geometry(ours.layers), geometry(theirs.layers)
    assert len(found) == 4
    assert found == expected


def transpose_conv(n: int, out: int, k: int, s: int, padding: int) -> bytes:
    from tests.frontends.tflite_builder import Net

    net = Net((1, n, n, 1))
    w = net.tensor((1, k, k, 1), data=np.ones((1, k, k, 1), np.float32))
    y = net.op(
        "TRANSPOSE_CONV",
        [net.ints([1, out, out, 1]), w, net.x],
        (1, out, out, 1),
        "TransposeConvOptions",
        padding=padding,
        strideW=s,
        strideH=s,
    )
    return net.build([y])


@pytest.mark.parametrize(
    ("n", "out", "k", "s", "padding"),
    [
        (4, 8, 3, 2, 0),
        (5, 10, 4, 2, 0),
        (3, 9, 3, 3, 0),
        (5, 11, 3, 2, 1),
        (4, 10, 3, 2, 1),
        (4, 9, 3, 2, 1),
        (4, 8, 2, 2, 0),
    ],
)
def test_transposed_windows_place_pixels_where_litert_does(
    n: int, out: int, k: int, s: int, padding: int
) -> None:
    """Each input pixel lands where LiteRT puts it: torch's ``conv_transpose2d`` through
    the windows stridekit read (padding, output padding) gives the same map."""
    data = transpose_conv(n, out, k, s, padding)
    (window, _) = load_tflite(data).output.windows
    rng = np.random.default_rng(0)
    x = rng.uniform(0.5, 1, (1, n, n, 1)).astype(np.float32)
    runner = interpreter(data)
    runner.set_tensor(runner.get_input_details()[0]["index"], x)
    runner.invoke()
    theirs = runner.get_tensor(runner.get_output_details()[0]["index"])[0, :, :, 0]
    lo, hi = window.padding
    full = torch.nn.functional.conv_transpose2d(
        torch.from_numpy(x).permute(0, 3, 1, 2), torch.ones(1, 1, k, k), stride=s
    )[0, 0]
    extra = window.output_padding
    full = torch.nn.functional.pad(full, (0, extra, 0, extra))  # pixels no window reaches
    ours = full[lo : full.shape[0] - hi, lo : full.shape[1] - hi].numpy()
    assert ours.shape == theirs.shape == (out, out)
    np.testing.assert_allclose(ours, theirs, rtol=1e-5)
