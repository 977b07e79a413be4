"""Parse the CLI's compact notations: ``224x320``, ``2:3``, ``k=3,s=2,p=1``."""

from __future__ import annotations

from typing import Any

from stridekit.errors import UsageError
from stridekit.geometry import Window
from stridekit.geometry.limits import MAX_SIZE, check_size
from stridekit.geometry.padding import PaddingSpec

__all__ = [
    "UsageError",
    "parse_config",
    "parse_input_shape",
    "parse_ints",
    "parse_layer",
    "parse_op_arguments",
    "parse_padding",
    "parse_sizes",
]


def parse_ints(text: str, what: str, minimum: int = 0) -> tuple[int, ...]:
    """``"224x320"`` → ``(224, 320)``: integers in ``minimum..MAX_SIZE`` (a kernel, a
    stride, a padding or a size, each bounded as a size is: `check_size`).

    >>> parse_ints("224x320", "size")
    (224, 320)
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
    if text.lower() in ("same", "valid", "causal"):
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


def parse_op_arguments(
    size: str, kernel: str, stride: str | None, padding: str, dilation: str, output_padding: str
) -> dict[str, Any]:
    """The per-axis arguments of one op (``stridekit shape``, ``viz conv``, the explorer's
    layer tab), parsed for `stridekit.geometry.op_windows.op_windows`.

    >>> parse_op_arguments("224x320", "3", None, "1x2:3", "1", "0")["padding"]
    [1, (2, 3)]
    """
    return {
        "size": parse_sizes(size, "size"),
        "kernel": list(parse_ints(kernel, "kernel", 1)),
        "stride": None if stride is None else list(parse_ints(stride, "stride", 1)),
        "padding": list(parse_padding(padding)),
        "dilation": list(parse_ints(dilation, "dilation", 1)),
        "output_padding": list(parse_ints(output_padding, "output-padding")),
    }


LAYER_KEYS = {"k": "kernel", "s": "stride", "p": "padding", "d": "dilation", "op": "output_padding"}


def parse_layer(text: str) -> Window:
    """``k=3,s=2,p=1`` (also ``p=0:1``, ``d=2``, ``ceil``, ``t`` for transposed, ``op=1``).

    >>> parse_layer("k=3,s=2,p=0:1")
    Window(kernel=3, stride=2, dilation=1, padding=(0, 1), ceil_mode=False, transposed=False, output_padding=0)
    """  # noqa: E501
    fields: dict[str, object] = {}
    for item in text.replace(" ", "").split(","):
        if item in ("ceil", "t"):
            fields["ceil_mode" if item == "ceil" else "transposed"] = True
            continue
        key, _, value = item.partition("=")
        if key not in LAYER_KEYS or not value:
            raise UsageError(
                f"--layer {text!r}: unknown item {item!r}; use k=, s=, p= (or p=lo:hi), d=, "
                "op=, ceil, t"
            )
        try:
            numbers = tuple(int(v) for v in value.split(":")) if key == "p" else (int(value),)
        except ValueError:
            raise UsageError(f"--layer {text!r}: {key}= needs an integer, got {value!r}") from None
        if len(numbers) > 2:
            raise UsageError(f"--layer {text!r}: p= takes one padding or lo:hi, got {value!r}")
        for number in numbers:  # a negative padding: Window says to crop instead
            check_size(number, f"--layer {key}=", -MAX_SIZE if key == "p" else 0)
        if key == "p":
            fields["padding"] = numbers if len(numbers) == 2 else numbers * 2
        else:
            fields[LAYER_KEYS[key]] = numbers[0]
    if "kernel" not in fields:
        raise UsageError(f"--layer {text!r}: the kernel k= is required")
    return Window(**fields)  # type: ignore[arg-type]


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


def parse_config(pairs: list[str] | None) -> dict[str, Any]:
    """``--config key=value`` pairs → a dict; values read as YAML scalars and lists
    (``19`` an int, ``[2, 2]`` a list, ``true`` a bool, anything else a string).

    >>> parse_config(["num_labels=19", "depths=[2, 2, 2, 2]", "hidden_act=gelu"])
    {'num_labels': 19, 'depths': [2, 2, 2, 2], 'hidden_act': 'gelu'}
    >>> parse_config(["19"])
    Traceback (most recent call last):
    ...
    stridekit.errors.UsageError: --config '19': expected key=value, e.g. --config num_labels=19
    """
    import yaml

    settings: dict[str, Any] = {}
    for pair in pairs or ():
        key, equals, value = pair.partition("=")
        if not equals or not key.strip().isidentifier():
            raise UsageError(f"--config {pair!r}: expected key=value, e.g. --config num_labels=19")
        try:
            settings[key.strip()] = yaml.safe_load(value) if value.strip() else value
        except yaml.YAMLError:
            settings[key.strip()] = value
    return settings
