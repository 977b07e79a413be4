"""Parse the CLI's compact notations: ``k=3,s=2,p=1`` (a window), ``key=value`` (a
model's config), and an op's options (`op_options`: ``--size --kernel --stride ...``,
read by `stridekit.Op.parse`). The notations the explorer reads too (``224x320``,
``2:3``, ``1x3x224x224``) live below both, in `stridekit.geometry.notation`; they are
named here for the CLI's commands."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from stridekit.errors import UsageError
from stridekit.geometry.limits import MAX_SIZE, check_size
from stridekit.geometry.notation import parse_input_shape, parse_ints, parse_padding, parse_sizes
from stridekit.geometry.op import Op
from stridekit.geometry.ops import OPS
from stridekit.geometry.padding import CONVENTIONS
from stridekit.geometry.window import Window

__all__ = [
    "UsageError",
    "op_options",
    "parse_config",
    "parse_input_shape",
    "parse_ints",
    "parse_layer",
    "parse_padding",
    "parse_sizes",
]

Command = Callable[..., None]


def option(name: str, kind: Any, default: Any, *flags: str, help: str) -> inspect.Parameter:
    """A typer option as a keyword-only parameter, for a decorator that adds options to
    a command (`op_options`, ``stridekit viz``'s ``saves_picture``)."""
    annotation = Annotated[kind, typer.Option(*flags, help=help)]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation
    )


def signed(run: Callable[..., None], parameters: list[inspect.Parameter]) -> Command:
    """``run`` (which takes ``**values``) declaring ``parameters``: what typer reads to
    build the command's options."""
    run.__signature__ = inspect.Signature(parameters, return_annotation=None)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run


def _op_parameters(optional: bool) -> list[inspect.Parameter]:
    """The options of one op, in the order ``--help`` lists them (``op_name`` is ``--op``:
    the command's own ``op`` parameter receives the `Op`)."""
    text = str | None if optional else str  # --size and --kernel: required unless optional
    needed = None if optional else inspect.Parameter.empty
    return [
        option("size", text, needed, "--size", help="Input size per axis, e.g. 224 or 224x320."),
        option("kernel", text, needed, "--kernel", help="Kernel size (per axis: 7 or 7x5)."),
        option(
            "stride",
            str | None,
            None,
            "--stride",
            help="Stride (default 1; for pooling the kernel size, like PyTorch).",
        ),
        option(
            "padding",
            str,
            "0",
            "--padding",
            help="3, 2:3 (lo:hi), same, valid or causal; per axis joined by x.",
        ),
        option("dilation", str, "1", "--dilation", help="Dilation (per axis)."),
        option("op_name", str, "conv", "--op", help=f"One of: {', '.join(OPS)}."),
        option("ceil_mode", bool, False, "--ceil-mode", help="Pooling's ceil_mode."),
        option("output_padding", str, "0", "--output-padding", help="conv_transpose only."),
        option(
            "convention",
            str,
            "torch",
            "--convention",
            help=f"Padding convention: {', '.join(CONVENTIONS)}.",
        ),
    ]


def op_options(*, optional: bool = False) -> Callable[[Command], Command]:
    """A command's ``op`` parameter (an `Op`) as the nine options of ``stridekit shape``,
    parsed by `Op.parse`; with ``optional``, ``--size`` and ``--kernel`` may both be left
    out (another source instead, e.g. ``--model``) and ``op`` is None then.

    >>> from typer.testing import CliRunner
    >>> probe = typer.Typer()
    >>> @probe.command()
    ... @op_options()
    ... def show(op: Op) -> None:
    ...     print(op.output_sizes)
    >>> arguments = "--size 224x225 --kernel 7 --stride 2 --padding 3".split()
    >>> CliRunner().invoke(probe, arguments).output.strip()
    '(112, 113)'
    """

    def decorate(command: Command) -> Command:
        signature = inspect.signature(command, eval_str=True)
        own = list(signature.parameters.values())
        at = [p.name for p in own].index("op")
        options = _op_parameters(optional)
        parameters = [
            p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
            for p in own[:at] + options + own[at + 1 :]
        ]

        @functools.wraps(command)
        def run(**values: Any) -> None:
            texts = {p.name: values.pop(p.name) for p in options}
            size, kernel, name = texts.pop("size"), texts.pop("kernel"), texts.pop("op_name")
            if size is None and kernel is None:
                return command(**values, op=None)
            if size is None or kernel is None:
                raise UsageError("give an op with both --size and --kernel")
            return command(**values, op=Op.parse(size, kernel, op=name, **texts))

        return signed(run, parameters)

    return decorate


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
