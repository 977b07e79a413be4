"""The numbers of a layer request as a programmer sends them or as the CLI takes them.

``{"size": [224, 320], "kernel": 3, "stride": 2, "padding": [[2, 3], 1]}`` (JSON integers,
one per axis in a list) and ``{"size": "224x320", "kernel": "3", "stride": "2",
"padding": "2:3x1"}`` (the CLI's notation) are the same request. Numbers are turned into
the CLI's text here, so both go through the CLI's parsers and get its bounds and its
messages (``--size must be >= 1, got 0``). What is neither (``true``, ``2.5``, a list of
four sizes, a list of lists) is refused while the body is validated: a 422 that says
what was expected. The OpenAPI schema documents both forms.

>>> axis_text([224, 320]), axis_text(3), axis_text("7x5")
('224x320', '3', '7x5')
>>> padding_text([[2, 3], 1]), padding_text("same")
('2:3x1', 'same')
>>> whole_number("224"), whole_number(112)
(224, 112)
>>> axis_text(True)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.PydanticCustomError: expected an integer, a list of 1 to 3 integers (one per axis) or the CLI's text such as '224x320'; got true
"""  # noqa: E501

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, PlainValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from stridekit.geometry.limits import MAX_SIZE

MAX_AXES = 3  # the layer tab takes 1-d, 2-d and 3-d ops
MAX_TEXT = 64  # characters of the CLI's notation
EXPECTED = (
    "an integer, a list of 1 to 3 integers (one per axis) or the CLI's text such as '224x320'"
)
EXPECTED_PADDING = (
    "an integer, a list of 1 to 3 paddings (one per axis: an integer or [lo, hi]) or the "
    "CLI's text such as 1, 2:3, 1x2:3, same, valid or causal"
)


def _shown(value: Any) -> str:
    text = json.dumps(value) if isinstance(value, bool | int | float | list | None) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _refuse(expected: str, value: Any) -> PydanticCustomError:
    return PydanticCustomError("axis_values", "expected {expected}; got {got}",
                               {"expected": expected, "got": _shown(value)})  # fmt: skip


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)  # JSON true is no size


def _text(value: Any, expected: str, item: Any) -> str:
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            raise PydanticCustomError(
                "axis_values", "at most {limit} characters of the CLI's notation",
                {"limit": MAX_TEXT},
            )  # fmt: skip
        return value
    if _is_integer(value):
        return str(value)
    if isinstance(value, list) and 1 <= len(value) <= MAX_AXES:
        return "x".join(item(v) for v in value)
    raise _refuse(expected, value)


def axis_text(value: Any) -> str:
    """A size, kernel, stride or dilation per axis, as the CLI's text (``224x320``)."""

    def one(v: Any) -> str:
        if not _is_integer(v):
            raise _refuse(EXPECTED, value)
        return str(v)

    return _text(value, EXPECTED, one)


def padding_text(value: Any) -> str:
    """A padding per axis (an integer, or ``[lo, hi]``), as the CLI's text (``1x2:3``)."""

    def one(v: Any) -> str:
        if _is_integer(v):
            return str(v)
        if isinstance(v, list) and len(v) == 2 and all(_is_integer(p) for p in v):
            return f"{v[0]}:{v[1]}"
        raise _refuse(EXPECTED_PADDING, value)

    return _text(value, EXPECTED_PADDING, one)


def whole_number(value: Any) -> Any:
    """An integer, or the CLI's text of one (``"224"``); anything else is refused. Bounds
    are checked after this (``Field(ge=..., le=...)``)."""
    if _is_integer(value):
        return value
    if isinstance(value, str) and value.strip().isdecimal() and len(value) <= MAX_TEXT:
        return int(value)
    raise _refuse("an integer such as 224, or its text '224'", value)


def _axis_schema(minimum: int, examples: list[Any]) -> dict[str, Any]:
    number = {"type": "integer", "minimum": minimum, "maximum": MAX_SIZE}
    return {
        "anyOf": [
            number,
            {"type": "array", "items": number, "minItems": 1, "maxItems": MAX_AXES},
            {"type": "string", "maxLength": MAX_TEXT},
        ],
        "examples": examples,
    }


def _number_schema(minimum: int) -> dict[str, Any]:
    return {
        "anyOf": [
            {"type": "integer", "minimum": minimum, "maximum": MAX_SIZE},
            {"type": "string", "pattern": r"^[0-9]+$", "maxLength": MAX_TEXT},
        ]
    }


_PAD = {"type": "integer", "minimum": -MAX_SIZE, "maximum": MAX_SIZE}
_PADDING_SCHEMA = {
    "anyOf": [
        _PAD,
        {
            "type": "array",
            "items": {
                "anyOf": [_PAD, {"type": "array", "items": _PAD, "minItems": 2, "maxItems": 2}]
            },
            "minItems": 1,
            "maxItems": MAX_AXES,
        },
        {"type": "string", "maxLength": MAX_TEXT},
    ],
    "examples": [1, [[2, 3], 1], "1", "2:3", "same", "valid", "causal"],
}

# the types of the request fields: each validates to the CLI's text (or an int)
Sizes = Annotated[
    str, PlainValidator(axis_text), WithJsonSchema(_axis_schema(1, [224, [224, 320], "224x320"]))
]
Positives = Annotated[
    str, PlainValidator(axis_text), WithJsonSchema(_axis_schema(1, [3, [7, 5], "3", "7x5"]))
]
NonNegatives = Annotated[
    str, PlainValidator(axis_text), WithJsonSchema(_axis_schema(0, [0, [1, 0], "0", "1x0"]))
]
Paddings = Annotated[str, PlainValidator(padding_text), WithJsonSchema(_PADDING_SCHEMA)]
Positive = Annotated[
    int,
    BeforeValidator(whole_number),
    Field(ge=1, le=MAX_SIZE),
    WithJsonSchema(_number_schema(1)),
]
Count = Annotated[
    int,
    BeforeValidator(whole_number),
    Field(ge=0, le=MAX_SIZE),
    WithJsonSchema(_number_schema(0)),
]
