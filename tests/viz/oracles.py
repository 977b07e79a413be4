"""Independent answers from torch for what a window reads: its output count (torch's own
op), the input cells of each output (im2col over coordinate ids, or the Jacobian of a
transposed conv) and how often each pixel is read (the gradient of the output's sum)."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from stridekit.geometry import Window


def _as_2d(windows: Sequence[Window], sizes: Sequence[int]) -> tuple[list[Window], list[int]]:
    """A 1-d op as a 2-d one of height 1 (a 1x1 window on the extra axis)."""
    if len(windows) == 1:
        return [Window(1), windows[0]], [1, sizes[0]]
    return list(windows), list(sizes)


def output_shape(op: str, windows: Sequence[Window], sizes: Sequence[int]) -> tuple[int, ...]:
    """The output's spatial shape as torch's own op computes it."""
    ws, ns = _as_2d(windows, sizes)
    x = torch.zeros(1, 1, *ns)
    kernel = tuple(w.kernel for w in ws)
    stride = tuple(w.stride for w in ws)
    dilation = tuple(w.dilation for w in ws)
    symmetric = all(w.pad_lo == w.pad_hi for w in ws)
    padding = tuple(w.pad_lo for w in ws)
    if op == "conv_transpose":
        y = F.conv_transpose2d(
            x,
            torch.ones(1, 1, *kernel),
            stride=stride,
            padding=padding,
            dilation=dilation,
            output_padding=tuple(w.output_padding for w in ws),
        )
    elif op == "conv":
        pads = (ws[1].pad_lo, ws[1].pad_hi, ws[0].pad_lo, ws[0].pad_hi)
        y = F.conv2d(F.pad(x, pads), torch.ones(1, 1, *kernel), stride=stride, dilation=dilation)
    else:
        assert symmetric, "torch pooling pads both sides alike"
        ceil = ws[-1].ceil_mode
        if op == "max_pool":
            y = F.max_pool2d(x, kernel, stride, padding, dilation, ceil_mode=ceil)
        else:
            y = F.avg_pool2d(x, kernel, stride, padding, ceil_mode=ceil)
    shape = tuple(y.shape[2:])
    return shape[1:] if len(windows) == 1 else shape


def forward_taps(windows: Sequence[Window], sizes: Sequence[int]) -> list[set[tuple[int, ...]]]:
    """Per output (row-major), the input coordinates its window covers: im2col over a
    padded image whose pixels hold their own coordinates. The right padding is generous
    (ceil mode's last window may reach past it); the outputs it adds are dropped."""
    ws, ns = _as_2d(windows, sizes)
    lo = [w.pad_lo for w in ws]
    padded = [n + w.pad_lo + w.pad_hi + w.stride * w.extent for n, w in zip(ns, ws, strict=True)]
    rows = torch.arange(padded[0], dtype=torch.float64)[:, None].expand(padded)
    columns = torch.arange(padded[1], dtype=torch.float64)[None, :].expand(padded)
    ids = (rows * padded[1] + columns)[None, None]
    patches = F.unfold(
        ids,
        tuple(w.kernel for w in ws),
        dilation=tuple(w.dilation for w in ws),
        stride=tuple(w.stride for w in ws),
    )[0]
    full = [(p - w.extent) // w.stride + 1 for p, w in zip(padded, ws, strict=True)]
    count = [w.output_size(n) for w, n in zip(ws, ns, strict=True)]
    taps = []
    for i, j in itertools.product(range(count[0]), range(count[1])):
        column = patches[:, i * full[1] + j].long().tolist()
        cells = {(v // padded[1] - lo[0], v % padded[1] - lo[1]) for v in column}
        taps.append({c[1:] if len(windows) == 1 else c for c in cells})
    return taps


def transposed_taps(windows: Sequence[Window], sizes: Sequence[int]) -> list[set[tuple[int, ...]]]:
    """Per output (row-major), the inputs that write into it: the non-zero entries of the
    Jacobian of a transposed conv with positive weights."""
    ws, ns = _as_2d(windows, sizes)
    weight = torch.ones(1, 1, *(w.kernel for w in ws), dtype=torch.float64)

    def forward(x: torch.Tensor) -> torch.Tensor:
        return F.conv_transpose2d(
            x,
            weight,
            stride=tuple(w.stride for w in ws),
            padding=tuple(w.pad_lo for w in ws),
            output_padding=tuple(w.output_padding for w in ws),
            dilation=tuple(w.dilation for w in ws),
        )

    x = torch.zeros(1, 1, *ns, dtype=torch.float64)
    jacobian = torch.autograd.functional.jacobian(forward, x)[0, 0]  # out_h, out_w, 1, 1, h, w
    out = jacobian.shape[:2]
    taps = []
    for i, j in itertools.product(range(out[0]), range(out[1])):
        cells = {tuple(c) for c in torch.nonzero(jacobian[i, j, 0, 0]).tolist()}
        taps.append({c[1:] if len(windows) == 1 else c for c in cells})
    return taps


def read_counts(op: str, windows: Sequence[Window], sizes: Sequence[int]) -> np.ndarray:
    """How often each input pixel is read: the gradient of the sum of the outputs of a
    conv (or sum pooling) of ones; for a transposed conv, of a transposed conv of ones."""
    ws, ns = _as_2d(windows, sizes)
    x = torch.zeros(1, 1, *ns, dtype=torch.float64, requires_grad=True)
    weight = torch.ones(1, 1, *(w.kernel for w in ws), dtype=torch.float64)
    stride, dilation = tuple(w.stride for w in ws), tuple(w.dilation for w in ws)
    if op == "conv_transpose":
        y = F.conv_transpose2d(
            x,
            weight,
            stride=stride,
            padding=tuple(w.pad_lo for w in ws),
            dilation=dilation,
            output_padding=tuple(w.output_padding for w in ws),
        )
    elif op == "conv":
        pads = (ws[1].pad_lo, ws[1].pad_hi, ws[0].pad_lo, ws[0].pad_hi)
        y = F.conv2d(F.pad(x, pads), weight, stride=stride, dilation=dilation)
    else:  # sum pooling: average pooling that divides by 1
        y = F.avg_pool2d(
            x,
            weight.shape[2:],
            stride,
            tuple(w.pad_lo for w in ws),
            ceil_mode=ws[-1].ceil_mode,
            count_include_pad=True,
            divisor_override=1,
        )
    (gradient,) = torch.autograd.grad(y.sum(), x)
    counts = gradient[0, 0].numpy()
    return counts[0] if len(windows) == 1 else counts


def write_counts(windows: Sequence[Window], sizes: Sequence[int]) -> np.ndarray:
    """How many inputs write into each output pixel of a transposed conv: its output for
    an input of ones and weights of ones."""
    ws, ns = _as_2d(windows, sizes)
    y = F.conv_transpose2d(
        torch.ones(1, 1, *ns, dtype=torch.float64),
        torch.ones(1, 1, *(w.kernel for w in ws), dtype=torch.float64),
        stride=tuple(w.stride for w in ws),
        padding=tuple(w.pad_lo for w in ws),
        output_padding=tuple(w.output_padding for w in ws),
        dilation=tuple(w.dilation for w in ws),
    )
    counts = y[0, 0].numpy()
    return counts[0] if len(windows) == 1 else counts
