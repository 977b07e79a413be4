"""Windowed operations and the rules each framework op adds on top of `Window`.

PyTorch's pooling ops accept padding of at most half the kernel (``p ≤ k // 2``,
``pool2d_shape_check`` in ATen) and average pooling has no dilation; convolutions have
no ``ceil_mode``; only transposed convolutions have ``output_padding``.
"""

from __future__ import annotations

from dataclasses import dataclass

from stridekit.errors import InvalidWindowError
from stridekit.geometry.padding import PaddingSpec, resolve_padding
from stridekit.geometry.window import Window


@dataclass(frozen=True)
class OpRule:
    """What an op allows: dilation, ceil_mode, transposed, a padding limit."""

    name: str
    transposed: bool = False
    dilation: bool = True
    ceil_mode: bool = False
    half_kernel_padding: bool = False  # torch pooling: padding <= kernel // 2


OPS: dict[str, OpRule] = {
    rule.name: rule
    for rule in (
        OpRule("conv"),
        OpRule("conv_transpose", transposed=True),
        OpRule("max_pool", ceil_mode=True, half_kernel_padding=True),
        OpRule("avg_pool", dilation=False, ceil_mode=True, half_kernel_padding=True),
    )
}


def make_window(
    op: str,
    n: int,
    kernel: int,
    stride: int = 1,
    padding: PaddingSpec = 0,
    dilation: int = 1,
    *,
    ceil_mode: bool = False,
    output_padding: int = 0,
    convention: str = "torch",
) -> Window:
    """Build the `Window` of ``op`` on an input of ``n`` pixels, checking the op's rules.

    >>> make_window("max_pool", 112, 3, 2, 1)
    Window(kernel=3, stride=2, dilation=1, padding=(1, 1), ceil_mode=False, transposed=False, output_padding=0)
    >>> make_window("avg_pool", 10, 2, 2, 2)
    Traceback (most recent call last):
    ...
    stridekit.errors.InvalidWindowError: avg_pool: padding (2, 2) must be at most half the kernel (2 // 2 = 1)
    """  # noqa: E501
    rule = OPS.get(op)
    if rule is None:
        raise InvalidWindowError(f"unknown op {op!r}; choose one of {', '.join(OPS)}")
    if dilation != 1 and not rule.dilation:
        raise InvalidWindowError(f"{op} has no dilation (got {dilation})")
    if ceil_mode and not rule.ceil_mode:
        raise InvalidWindowError(f"{op} has no ceil_mode; only pooling ops do")
    if output_padding and not rule.transposed:
        raise InvalidWindowError(f"{op} has no output_padding; only conv_transpose does")
    pads = resolve_padding(
        padding,
        n,
        kernel,
        stride,
        dilation,
        convention=convention,
        transposed=rule.transposed,
        output_padding=output_padding,
    )
    if rule.half_kernel_padding and convention == "torch" and max(pads) > kernel // 2:
        raise InvalidWindowError(
            f"{op}: padding {pads} must be at most half the kernel ({kernel} // 2 = {kernel // 2})"
        )
    return Window(
        kernel=kernel,
        stride=stride,
        dilation=dilation,
        padding=pads,
        ceil_mode=ceil_mode,
        transposed=rule.transposed,
        output_padding=output_padding,
    )


def output_size(
    n: int,
    kernel: int,
    stride: int = 1,
    padding: PaddingSpec = 0,
    dilation: int = 1,
    *,
    ceil_mode: bool = False,
    transposed: bool = False,
    output_padding: int = 0,
    convention: str = "torch",
) -> int:
    """Output length of a sliding window over ``n`` pixels, in any framework's convention.

    >>> output_size(224, 7, 2, 3)              # floor((224 + 6 − 7)/2) + 1
    112
    >>> output_size(513, 3, 16, "same", convention="tf")   # ceil(513/16)
    33
    >>> output_size(6, 3, 2, 1, ceil_mode=True)            # ceil((6 + 2 − 3)/2) + 1 = 4
    4
    >>> output_size(56, 4, 2, 1, transposed=True)          # (56 − 1)·2 − 2 + 4
    112
    >>> output_size(224, 3, 2, "same")
    Traceback (most recent call last):
    ...
    stridekit.errors.ConventionError: padding='same' with stride 2: PyTorch only supports 'same' for stride 1; use convention='tf' (SAME_UPPER) for the TensorFlow/ONNX semantics, or stridekit.nn.Conv2dSame
    """  # noqa: E501
    op = "conv_transpose" if transposed else "conv"
    if ceil_mode and not transposed:
        # ceil_mode belongs to pooling; a bare window keeps PyTorch's pooling rule for
        # the last window but not the half-kernel padding limit
        pads = resolve_padding(padding, n, kernel, stride, dilation, convention=convention)
        return Window(kernel, stride, dilation, pads, ceil_mode=True).output_size(n)
    window = make_window(
        op,
        n,
        kernel,
        stride,
        padding,
        dilation,
        output_padding=output_padding,
        convention=convention,
    )
    return window.output_size(n)
