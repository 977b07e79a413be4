"""The compact notations of sizes and numbers that the CLI and the explorer both read:
``224x320`` (a size per axis), ``2:3`` (padding lo:hi), ``1x3x224x224`` (a tensor shape),
``3/2`` or ``off`` (a factor). Pure parsing: every value is bounded as a size is
(`stridekit.geometry.limits.check_size`) and bad text is a `UsageError` that shows the
notation expected. The op's options (``--kernel 3 --stride 2``) are read by
`stridekit.geometry.op.Op.parse`.

>>> parse_sizes("480x640", "images"), parse_padding("1x2:3"), parse_drop("3/2")
((480, 640), (1, (2, 3)), Fraction(3, 2))
"""

from __future__ import annotations

from fractions import Fraction

from stridekit.errors import UsageError
from stridekit.geometry.limits import MAX_SIZE, check_size
from stridekit.geometry.padding import PaddingSpec

PADDING_NAMES = ("same", "valid", "causal")


def parse_ints(text: str, what: str, minimum: int = 0) -> tuple[int, ...]:
    """``"224x320"`` → ``(224, 320)``: integers in ``minimum..MAX_SIZE`` (a kernel, a
    stride, a padding or a size, each bounded as a size is: `check_size`).

    >>> parse_ints("224x320", "size")
    (224, 320)
    >>> parse_ints("3x", "kernel")
    Traceback (most recent call last):
    ...
    stridekit.errors.UsageError: --kernel '3x': expected integers like 224 or 224x320
    """
    try:
        values = tuple(int(part) for part in text.lower().split("x"))
    except ValueError:
        raise UsageError(f"--{what} {text!r}: expected integers like 224 or 224x320") from None
    for value in values:
        check_size(value, f"--{what}", minimum)
    return values


def parse_sizes(text: str, what: str) -> tuple[int, ...]:
    """Sizes per axis, each in ``1..MAX_SIZE``: ``"480x640"`` → ``(480, 640)``.

    >>> parse_sizes("480x640", "images")
    (480, 640)
    """
    return parse_ints(text, what, minimum=1)


def parse_padding(text: str) -> tuple[PaddingSpec, ...]:
    """Per-axis padding: ``3``, ``2:3`` (lo:hi), ``same``, ``valid``, ``causal``, ``1x2:3``.

    >>> parse_padding("same"), parse_padding("1x2:3")
    (('same',), (1, (2, 3)))
    """
    if text.lower() in PADDING_NAMES:
        return (text.lower(),)
    axes: list[PaddingSpec] = []
    for part in text.lower().split("x"):
        try:
            pads = tuple(int(p) for p in part.split(":"))
        except ValueError:
            pads = ()
        if len(pads) not in (1, 2):
            raise UsageError(
                f"--padding {text!r}: expected 3, 2:3 (lo:hi), same, valid or causal, "
                "per axis joined by x"
            )
        for pad in pads:  # negative: Window says to crop instead
            check_size(pad, "--padding", -MAX_SIZE)
        axes.append(pads[0] if len(pads) == 1 else (pads[0], pads[1]))
    return tuple(axes)


def parse_input_shape(text: str | None) -> tuple[int, ...] | None:
    """``--input 1x3x224x224``; None lets the model's source suggest one.

    >>> parse_input_shape("1x3x224x224"), parse_input_shape(None)
    ((1, 3, 224, 224), None)
    """
    if text is None:
        return None
    shape = parse_sizes(text, "input")
    if len(shape) < 3:
        raise UsageError(f"--input {text!r}: give N x C x spatial sizes, e.g. 1x3x224x224")
    return shape


def parse_drop(text: str) -> Fraction | None:
    """``--max-volume-drop``: a number >= 1 (``2``, ``1.5``, ``3/2``) or ``off`` (None).

    >>> parse_drop("1.5"), parse_drop("off")
    (Fraction(3, 2), None)
    >>> parse_drop("1/2")
    Traceback (most recent call last):
    ...
    stridekit.errors.UsageError: --max-volume-drop 1/2: give a number >= 1 (or off), got 1/2
    """
    if text.strip().lower() in ("off", "none"):
        return None
    try:
        drop = Fraction(text.strip())
    except (ValueError, ZeroDivisionError):
        raise UsageError(
            f"--max-volume-drop {text!r}: give a number >= 1, e.g. 2, or off"
        ) from None
    if drop < 1:
        raise UsageError(f"--max-volume-drop {text}: give a number >= 1 (or off), got {drop}")
    return drop
