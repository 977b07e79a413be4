"""`compare` and `match` across frontends: a TFLite model with TF's SAME padding (built by
`tests.frontends.tflite_cases`, NHWC in the file) against its naive PyTorch port."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import pytest
import torch
from torch import nn

from stridekit import compare
from stridekit.nn import Conv2dSame, PaddedPool, match

pytest.importorskip("tflite")
pytest.importorskip("flatbuffers")

from tests.frontends.tflite_cases import conv_stack  # needs flatbuffers


class Port(nn.Module):
    """`conv_stack`'s layers with PyTorch's symmetric padding: conv k3 s2, conv k2 s2,
    max pool k3 s2, conv k3 d2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, 2, padding=1)
        self.conv2 = nn.Conv2d(4, 4, 2, 2)
        self.pool = nn.MaxPool2d(3, 2, padding=1)
        self.conv3 = nn.Conv2d(4, 6, 3, padding=2, dilation=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv3(self.pool(self.conv2(self.conv1(x))))


def tflite_file(tmp_path: Path, size: int) -> str:
    path = tmp_path / f"conv_stack_{size}.tflite"
    path.write_bytes(conv_stack(size)())
    return str(path)


def test_even_input_shifts_the_grid_at_the_first_layer(tmp_path: Path) -> None:
    result = compare(Port(), tflite_file(tmp_path, 32))  # the file declares 1x3x32x32
    assert result.input_shape == (1, 3, 32, 32)
    first = result.first_divergence
    assert first is not None and (first.index, first.cause) == (0, "padding")
    pair = result.pairs[0]
    assert pair.a is not None and pair.b is not None and pair.a.name == "conv1"
    # TF SAME at 32, k3 s2: 16 outputs, total (16 − 1)·2 + 3 − 32 = 1 → (0, 1)
    assert pair.a.padding == ((1, 1),) * 2 and pair.b.padding == ((0, 1),) * 2
    assert first.message.startswith("layer conv1 (B's ") and "the grid moves 1 px" in first.message
    # conv1 and the pool start one of their input pixels earlier (jump_in 1 and 4: conv2
    # is k2 s2 with SAME padding (0, 0) at 16, like the port's); conv3 pads (2, 2) alike
    assert result.offset == (Fraction(-(1 * 1 + 1 * 4)),) * 2


def test_odd_input_diverges_later_in_size(tmp_path: Path) -> None:
    result = compare(Port(), tflite_file(tmp_path, 33))
    first = result.first_divergence
    # at 33 conv1 pads (1, 1) in both (total 16·2 + 3 − 33 = 2); conv2 (k2 s2) at 17:
    # TF 9 outputs, total 8·2 + 2 − 17 = 1 → (0, 1), the port's padding 0 gives 8
    assert first is not None and (first.index, first.cause) == (1, "padding")
    assert "the grid stays and the output is 8x8 in A, 9x9 in B" in first.message


@pytest.mark.parametrize("size", [32, 33])
def test_match_makes_the_port_agree_with_the_file(tmp_path: Path, size: int) -> None:
    reference = tflite_file(tmp_path, size)
    fixed = match(Port(), reference)
    assert compare(fixed, reference).agree
    # at 32 conv1 and the pool pad (0, 1); at 33 only conv2 does (see the tests above)
    assert type(fixed.conv1) is (Conv2dSame if size == 32 else nn.Conv2d)
    assert type(fixed.conv2) is (Conv2dSame if size == 33 else nn.Conv2d)
    assert type(fixed.pool) is (PaddedPool if size == 32 else nn.MaxPool2d)


def test_the_matched_port_computes_what_the_interpreter_does(tmp_path: Path) -> None:
    """The file's weights copied into the port; LiteRT's reference kernels run the file."""
    import numpy as np

    pytest.importorskip("ai_edge_litert.interpreter")
    from tests.frontends.test_tflite_frontend import interpreter

    path = tflite_file(tmp_path, 32)
    data = Path(path).read_bytes()
    runner = interpreter(data)
    tensors = {d["name"]: d["index"] for d in runner.get_tensor_details()}  # type: ignore[attr-defined]
    port = Port().double()
    with torch.no_grad():
        # conv_stack's tensors: t1, t2 conv1's weight (OHWI) and bias; t4, t5 conv2's;
        # t8, t9 conv3's
        for conv, (weight, bias) in zip(
            (port.conv1, port.conv2, port.conv3),
            (("t1", "t2"), ("t4", "t5"), ("t8", "t9")),
            strict=True,
        ):
            w = torch.from_numpy(runner.get_tensor(tensors[weight]).astype(np.float64))  # type: ignore[attr-defined]
            conv.weight.copy_(w.permute(0, 3, 1, 2))
            conv.bias.copy_(torch.from_numpy(runner.get_tensor(tensors[bias]).astype(np.float64)))  # type: ignore[attr-defined]
    x = np.random.default_rng(0).uniform(-1, 1, (1, 32, 32, 3)).astype(np.float32)
    detail = runner.get_input_details()[0]  # type: ignore[attr-defined]
    runner.set_tensor(detail["index"], x)  # type: ignore[attr-defined]
    runner.invoke()  # type: ignore[attr-defined]
    theirs = runner.get_tensor(runner.get_output_details()[0]["index"])  # type: ignore[attr-defined]
    expected = torch.from_numpy(theirs.astype(np.float64)).permute(0, 3, 1, 2)
    ours = torch.from_numpy(x.astype(np.float64)).permute(0, 3, 1, 2)
    with torch.no_grad():
        assert not torch.allclose(port(ours), expected, rtol=1e-3)  # the naive port is off
        fixed = match(port, path)
        # the interpreter computes in float32: agreement to its precision
        torch.testing.assert_close(fixed(ours), expected, rtol=1e-5, atol=1e-5)
