"""Windowed operations and the rules each framework op adds on top of `Window`.

PyTorch's pooling ops accept padding of at most half the kernel (``p ≤ k // 2``,
``pool2d_shape_check`` in ATen) and average pooling has no dilation; convolutions have
no ``ceil_mode``; only transposed convolutions have ``output_padding``.

`make_window` (an op's window) and `output_size` (a bare window's length) take the same
arguments, `WindowArguments`: one parameter list, written once as the dataclass's fields.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import KW_ONLY, dataclass, field
from typing import Concatenate, ParamSpec, TypeVar

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

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class WindowArguments:
    """One sliding window on one axis, as its caller gives it: an input of ``n`` pixels,
    the kernel, stride, padding (any `PaddingSpec`, resolved in ``convention``) and
    dilation, pooling's ``ceil_mode`` and a transposed conv's ``output_padding``. These
    fields are the parameters of `make_window` (after the op) and of `output_size`.

    >>> WindowArguments(7, 3, 2, "same", convention="tf").window(OPS["conv"]).padding
    (1, 1)
    """

    n: int
    kernel: int
    stride: int = 1
    padding: PaddingSpec = 0
    dilation: int = 1
    _: KW_ONLY
    ceil_mode: bool = False
    output_padding: int = 0
    convention: str = "torch"

    def window(self, rule: OpRule) -> Window:
        """The `Window` these arguments give under ``rule``, checking the op's rules."""
        op, kernel, dilation = rule.name, self.kernel, self.dilation
        if dilation != 1 and not rule.dilation:
            raise InvalidWindowError(f"{op} has no dilation (got {dilation})")
        if self.ceil_mode and not rule.ceil_mode:
            raise InvalidWindowError(f"{op} has no ceil_mode; only pooling ops do")
        if self.output_padding and not rule.transposed:
            raise InvalidWindowError(f"{op} has no output_padding; only conv_transpose does")
        pads = resolve_padding(
            self.padding,
            self.n,
            kernel,
            self.stride,
            dilation,
            convention=self.convention,
            transposed=rule.transposed,
            output_padding=self.output_padding,
        )
        if rule.half_kernel_padding and self.convention == "torch" and max(pads) > kernel // 2:
            raise InvalidWindowError(
                f"{op}: padding {pads} must be at most half the kernel "
                f"({kernel} // 2 = {kernel // 2})"
            )
        return Window(
            kernel=kernel,
            stride=self.stride,
            dilation=dilation,
            padding=pads,
            ceil_mode=self.ceil_mode,
            transposed=rule.transposed,
            output_padding=self.output_padding,
        )


@dataclass(frozen=True)
class SlidingArguments(WindowArguments):
    """`WindowArguments` without an op: a conv's window, a transposed conv's with
    ``transposed``; `output_size`'s parameters."""

    transposed: bool = field(default=False, kw_only=True)


def _signature(arguments: Callable[..., object], function: Callable[..., R], *first: str) -> None:
    """Give ``function`` the parameters of ``arguments`` (after its own ``first`` ones) in
    `inspect.signature`, so ``help()`` and the docs show the one list."""
    own = inspect.signature(function)
    parameters = [own.parameters[name] for name in first]
    shared = list(inspect.signature(arguments).parameters.values())
    function.__signature__ = own.replace(parameters=parameters + shared)  # type: ignore[attr-defined]


def _taking(arguments: Callable[P, object]) -> Callable[[Callable[..., R]], Callable[P, R]]:
    """The decorated function takes what ``arguments`` takes (for mypy and ``help()``)."""

    def decorate(function: Callable[..., R]) -> Callable[P, R]:
        _signature(arguments, function)
        return function

    return decorate


def _taking_after_op(
    arguments: Callable[P, object],
) -> Callable[[Callable[..., R]], Callable[Concatenate[str, P], R]]:
    """As `_taking`, after an op's name."""

    def decorate(function: Callable[..., R]) -> Callable[Concatenate[str, P], R]:
        _signature(arguments, function, "op")
        return function

    return decorate


@_taking_after_op(WindowArguments)
def make_window(op: str, *arguments: object, **options: object) -> Window:
    """Build the `Window` of ``op`` on an input of ``n`` pixels, checking the op's rules;
    the arguments after ``op`` are `WindowArguments`.

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
    return WindowArguments(*arguments, **options).window(rule)  # type: ignore[arg-type]


# the window whose length output_size gives: a conv's, or a transposed conv's; a bare
# window keeps PyTorch's pooling rule for the last window with ceil_mode, but not the
# pools' half-kernel padding limit
SLIDING = {False: OpRule("conv", ceil_mode=True), True: OPS["conv_transpose"]}


@_taking(SlidingArguments)
def output_size(*arguments: object, **options: object) -> int:
    """Output length of a sliding window over ``n`` pixels, in any framework's convention;
    the arguments are `WindowArguments` and ``transposed``.

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
    window = SlidingArguments(*arguments, **options)  # type: ignore[arg-type]
    return window.window(SLIDING[window.transposed]).output_size(window.n)
