"""Padding conventions → explicit ``(lo, hi)`` padding for one axis.

- an int ``p`` is ``(p, p)``; a pair is itself; ``"valid"`` is ``(0, 0)``;
- ``"same"`` depends on the convention:

  * ``torch``: stride 1 only (PyTorch rejects ``'same'`` for strided convs); total
    padding ``d·(k−1)``, the odd pixel at the end (``_conv_forward`` in PyTorch);
  * ``tf`` / ``onnx-upper`` (SAME_UPPER): ``ceil(n/s)`` outputs, total padding
    ``max(0, (out−1)·s + e − n)``, the odd pixel at the end;
  * ``onnx-lower`` (SAME_LOWER): the same total, the odd pixel at the start;

- ``"causal"``: all ``d·(k−1)`` padding at the start, none at the end.

For transposed windows ``"same"`` means ``n·s`` outputs (TF's ``conv2d_transpose``):
total padding ``max(0, (n−1)·s + e + output_padding − n·s)``, split as for forward windows.
"""

from __future__ import annotations

from typing import Literal

from stridekit.errors import ConventionError, InvalidWindowError

Convention = Literal["torch", "tf", "onnx-upper", "onnx-lower"]
CONVENTIONS: tuple[str, ...] = ("torch", "tf", "onnx-upper", "onnx-lower")
PaddingSpec = int | tuple[int, int] | str


def _split(total: int, odd_at_start: bool) -> tuple[int, int]:
    small, large = total // 2, total - total // 2
    return (large, small) if odd_at_start else (small, large)


def same_padding(
    n: int, kernel: int, stride: int = 1, dilation: int = 1, convention: str = "tf"
) -> tuple[int, int]:
    """``(lo, hi)`` padding that gives ``ceil(n / stride)`` outputs ("SAME").

    The worked cases of TensorFlow's padding documentation:

    >>> same_padding(224, 7, 2)   # out 112, total (112−1)·2 + 7 − 224 = 5
    (2, 3)
    >>> same_padding(6, 3, 2)     # out 3, total (3−1)·2 + 3 − 6 = 1
    (0, 1)
    >>> same_padding(6, 3, 2, convention="onnx-lower")
    (1, 0)
    >>> same_padding(10, 3, 1, dilation=2, convention="torch")
    (2, 2)
    """
    if convention not in CONVENTIONS:
        raise ConventionError(
            f"unknown convention {convention!r}; choose one of {', '.join(CONVENTIONS)}"
        )
    for name, value in (("n", n), ("kernel", kernel), ("stride", stride), ("dilation", dilation)):
        if not isinstance(value, int) or value < 1:
            raise InvalidWindowError(f"{name} must be an integer >= 1, got {value!r}")
    extent = dilation * (kernel - 1) + 1
    if convention == "torch":
        if stride != 1:
            raise ConventionError(
                f"padding='same' with stride {stride}: PyTorch only supports 'same' for "
                "stride 1; use convention='tf' (SAME_UPPER) for the TensorFlow/ONNX "
                "semantics, or stridekit.nn.Conv2dSame"
            )
        return _split(extent - 1, odd_at_start=False)
    out = -(-n // stride)
    total = max(0, (out - 1) * stride + extent - n)
    return _split(total, odd_at_start=convention == "onnx-lower")


def resolve_padding(
    padding: PaddingSpec,
    n: int,
    kernel: int,
    stride: int = 1,
    dilation: int = 1,
    *,
    convention: str = "torch",
    transposed: bool = False,
    output_padding: int = 0,
) -> tuple[int, int]:
    """Turn any padding spec into explicit ``(lo, hi)`` for an input of ``n`` pixels.

    >>> resolve_padding(3, 224, 7, 2)
    (3, 3)
    >>> resolve_padding("same", 224, 7, 2, convention="tf")
    (2, 3)
    >>> resolve_padding("causal", 16, 3, dilation=4)
    (8, 0)
    """
    if isinstance(padding, bool):
        raise InvalidWindowError(f"padding must be an int, a pair or a name, got {padding!r}")
    if isinstance(padding, int):
        return (padding, padding)
    if isinstance(padding, tuple | list):
        if len(padding) != 2 or not all(isinstance(p, int) for p in padding):
            raise InvalidWindowError(f"padding pair must be two integers (lo, hi), got {padding!r}")
        return (int(padding[0]), int(padding[1]))
    if not isinstance(padding, str):
        raise InvalidWindowError(f"padding must be an int, a pair or a name, got {padding!r}")
    name = padding.lower()
    extent = dilation * (kernel - 1) + 1
    if name == "valid":
        return (0, 0)
    if name == "causal":
        return (extent - 1, 0)
    if name == "same":
        if not transposed:
            return same_padding(n, kernel, stride, dilation, convention)
        if convention == "torch":
            raise ConventionError(
                "padding='same' is not defined for PyTorch's conv_transpose; "
                "use convention='tf' for n·stride outputs"
            )
        if convention not in CONVENTIONS:
            raise ConventionError(
                f"unknown convention {convention!r}; choose one of {', '.join(CONVENTIONS)}"
            )
        total = max(0, (n - 1) * stride + extent + output_padding - n * stride)
        return _split(total, odd_at_start=convention == "onnx-lower")
    raise InvalidWindowError(
        f"unknown padding {padding!r}; use an int, a pair (lo, hi), 'valid', 'same' or 'causal'"
    )
