"""`Window.output_size` against PyTorch itself, on thousands of random configurations.

The oracle is the shape torch produces. Shapes are compared on meta tensors (no memory
for the input) and on tiny CPU tensors; errors are compared on CPU only, because meta
kernels skip some of the checks CPU kernels make (negative padding, output_padding).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
import torch
import torch.nn.functional as F
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stridekit.errors import StrideError
from stridekit.geometry import make_window


@dataclass(frozen=True)
class Case:
    op: str
    sizes: tuple[int, ...]
    kernel: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[int, ...]
    dilation: tuple[int, ...]
    ceil_mode: bool
    output_padding: tuple[int, ...]


@st.composite
def cases(draw: st.DrawFn, op: str) -> Case:
    dims = draw(st.integers(1, 3))

    def per_axis(strategy: st.SearchStrategy[int]) -> tuple[int, ...]:
        return tuple(draw(st.lists(strategy, min_size=dims, max_size=dims)))

    sizes = per_axis(st.integers(1, 24 if dims < 3 else 10))
    kernel = per_axis(st.integers(1, 7))
    stride = per_axis(st.integers(1, 4))
    padding = per_axis(st.integers(0, 4))
    dilation = per_axis(st.integers(1, 3)) if op != "avg_pool" else (1,) * dims
    ceil_mode = draw(st.booleans()) if op.endswith("pool") else False
    output_padding = per_axis(st.integers(0, 3)) if op == "conv_transpose" else (0,) * dims
    return Case(op, sizes, kernel, stride, padding, dilation, ceil_mode, output_padding)


def predicted(case: Case) -> tuple[int, ...] | None:
    """stridekit's output shape, or None where it raises a StrideError."""
    try:
        return tuple(
            make_window(
                case.op,
                n,
                k,
                s,
                p,
                d,
                ceil_mode=case.ceil_mode,
                output_padding=op,
            ).output_size(n)
            for n, k, s, p, d, op in zip(
                case.sizes,
                case.kernel,
                case.stride,
                case.padding,
                case.dilation,
                case.output_padding,
                strict=True,
            )
        )
    except StrideError:
        return None


def run_torch(case: Case, device: str) -> tuple[int, ...] | None:
    """torch's output shape, or None where torch refuses the configuration."""
    dims = len(case.sizes)
    x = torch.zeros(1, 1, *case.sizes, device=device)
    try:
        if case.op == "conv":
            w = torch.zeros(1, 1, *case.kernel, device=device)
            conv = (F.conv1d, F.conv2d, F.conv3d)[dims - 1]
            y = conv(x, w, None, case.stride, case.padding, case.dilation)
        elif case.op == "conv_transpose":
            w = torch.zeros(1, 1, *case.kernel, device=device)
            conv_t = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[dims - 1]
            y = conv_t(x, w, None, case.stride, case.padding, case.output_padding, 1, case.dilation)
        elif case.op == "max_pool":
            pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[dims - 1]
            y = pool(x, case.kernel, case.stride, case.padding, case.dilation, case.ceil_mode)
        else:
            avg = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[dims - 1]
            y = avg(x, case.kernel, case.stride, case.padding, case.ceil_mode)
    except (RuntimeError, ValueError):
        return None
    if 0 in y.shape[2:]:
        # torch's conv_transpose returns an empty tensor for output size 0; stridekit
        # refuses a non-positive output (an empty feature map), so count it as an error
        return None
    return tuple(y.shape[2:])


def avg_pool3d_quirk(case: Case) -> bool:
    return (
        case.op == "avg_pool"
        and len(case.sizes) == 3
        and any(n < k for n, k in zip(case.sizes, case.kernel, strict=True))
    )


def test_avg_pool3d_quirk_still_exists() -> None:
    case = Case("avg_pool", (1, 1, 1), (1, 2, 1), (1, 1, 1), (0, 1, 0), (1, 1, 1), False, (0,) * 3)
    assert predicted(case) == (1, 2, 1)  # floor((1 + 1 + 1 − 2)/1) + 1 = 2 on axis 1
    assert run_torch(case, "cpu") is None
    as_2d = Case("avg_pool", (1, 1), (1, 2), (1, 1), (0, 1), (1, 1), False, (0,) * 2)
    assert run_torch(as_2d, "cpu") == predicted(as_2d) == (1, 2)


OPS = ["conv", "conv_transpose", "max_pool", "avg_pool"]


@pytest.mark.parametrize("op", OPS)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_output_size_and_errors_match_torch_cpu(op: str, data: st.DataObject) -> None:
    case = data.draw(cases(op))
    if avg_pool3d_quirk(case):
        # torch's CPU avg_pool3d alone refuses an unpadded input smaller than the kernel,
        # although the padded input fits (avg_pool1d/2d accept it); stridekit
        # follows the general rule. test_avg_pool3d_quirk_still_exists pins this down.
        return
    assert predicted(case) == run_torch(case, "cpu"), case


@pytest.mark.parametrize("op", OPS)
@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_output_size_matches_torch_meta(op: str, data: st.DataObject) -> None:
    case = data.draw(cases(op))
    expected = predicted(case)
    # meta kernels skip some of CPU's checks, but where stridekit accepts, shapes agree
    if expected is not None and not avg_pool3d_quirk(case):
        assert run_torch(case, "meta") == expected, case
