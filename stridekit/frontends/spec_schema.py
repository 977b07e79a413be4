"""The schema of a layer spec (pydantic), and error messages that name the layer and field.

A layer is either an op (``type`` and its fields) or a block (``branches``: lists of
layers that all start from the block's input, merged by ``merge``). Flexible fields
(``kernel``, ``padding``, ``scale``...) are checked by the builder, which knows how many
spatial axes there are; here they only need the right JSON types.
"""

from __future__ import annotations

import difflib
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# layers that move no pixels: activations and channel ops
ELEMENTWISE_TYPES = "relu gelu silu sigmoid tanh hardswish activation norm dropout identity"
ELEMENTWISE_TYPES += " elementwise"
# type → its canonical kind; aliases are spelled as PyTorch, ONNX or Keras spell them
TYPES: dict[str, str] = {
    "conv": "conv",
    "conv_transpose": "conv_transpose",
    "deconv": "conv_transpose",
    "max_pool": "max_pool",
    "avg_pool": "avg_pool",
    "upsample": "upsample",
    "interpolate": "upsample",
    "pixel_shuffle": "pixel_shuffle",
    "depth_to_space": "pixel_shuffle",
    "pixel_unshuffle": "pixel_unshuffle",
    "space_to_depth": "pixel_unshuffle",
    "global_pool": "global_pool",
    "flatten": "flatten",
    "linear": "linear",
    "pad": "pad",
    "batch_norm": "batch_norm",
    **dict.fromkeys(ELEMENTWISE_TYPES.split(), "elementwise"),
}
WINDOW = ("kernel", "stride", "padding", "dilation", "convention")
FIELDS: dict[str, tuple[str, ...]] = {  # the fields each kind takes (besides type, name)
    "conv": ("channels", *WINDOW, "groups", "bias"),
    "conv_transpose": ("channels", *WINDOW, "groups", "bias", "output_padding"),
    "max_pool": (*WINDOW, "ceil_mode"),
    "avg_pool": ("kernel", "stride", "padding", "convention", "ceil_mode"),
    "upsample": ("scale", "size", "mode"),
    "pixel_shuffle": ("factor",),
    "pixel_unshuffle": ("factor",),
    "global_pool": (),
    "flatten": (),
    "linear": ("channels", "bias"),
    "pad": ("padding",),
    "batch_norm": (),
    "elementwise": (),
}
REQUIRED: dict[str, tuple[str, ...]] = {
    "conv": ("channels", "kernel"),
    "conv_transpose": ("channels", "kernel"),
    "max_pool": ("kernel",),
    "avg_pool": ("kernel",),
    "pixel_shuffle": ("factor",),
    "pixel_unshuffle": ("factor",),
    "linear": ("channels",),
    "pad": ("padding",),
}
FORMS = {  # what a flexible field looks like, for error messages
    "kernel": "an int or a list with one int per spatial axis",
    "stride": "an int or a list with one int per spatial axis",
    "dilation": "an int or a list with one int per spatial axis",
    "output_padding": "an int or a list with one int per spatial axis",
    "padding": "an int, [lo, hi], 'same', 'valid', 'causal', or one of these per spatial axis",
    "scale": "a number ('3/2' for fractions) or one per spatial axis",
    "size": "an int or a list with one int per spatial axis",
    "input": "a list of ints (N, C, *spatial)",
}

Ints = int | list[int]
Padding = int | str | list[int | str | list[int]]


class Layer(BaseModel):
    """One layer of a spec: an op (``type``) or a block (``branches`` + ``merge``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str | None = None
    name: str | None = None
    channels: int | None = Field(default=None, ge=1)
    kernel: Ints | None = None
    stride: Ints | None = None
    padding: Padding | None = None
    dilation: Ints | None = None
    convention: Literal["torch", "tf", "onnx-upper", "onnx-lower"] = "torch"
    ceil_mode: bool = False
    groups: int = Field(default=1, ge=1)
    bias: bool = True
    output_padding: Ints | None = None
    scale: float | str | list[float | str] | None = None
    size: Ints | None = None
    mode: Literal["nearest", "linear"] = "nearest"
    factor: int | None = Field(default=None, ge=1)
    branches: list[list[Layer]] | None = Field(default=None, min_length=2)
    merge: Literal["add", "mul", "concat"] = "add"

    @property
    def kind(self) -> str:
        return TYPES[self.type] if self.type is not None else "block"

    @model_validator(mode="after")
    def _check_fields(self) -> Layer:
        given = self.model_fields_set - {"type", "name"}
        if self.type is None:
            if self.branches is None:
                raise ValueError("a layer needs a type (or branches, for a block)")
            extra = sorted(given - {"branches", "merge"})
            if extra:
                raise ValueError(f"a block takes branches and merge, not {', '.join(extra)}")
            return self
        if self.type not in TYPES:
            raise ValueError(f"unknown type {self.type!r}{_suggest(self.type, TYPES)}")
        if self.branches is not None:
            raise ValueError("a layer has either a type or branches, not both")
        allowed = FIELDS[self.kind]
        for name in sorted(given - set(allowed)):
            takes = ", ".join(allowed) if allowed else "no other fields"
            raise ValueError(f"{name} does not apply to {self.type}; it takes {takes}")
        missing = [name for name in REQUIRED.get(self.kind, ()) if name not in given]
        if missing:
            raise ValueError(f"{self.type} needs {' and '.join(missing)}")
        if self.kind == "upsample" and (self.scale is None) == (self.size is None):
            raise ValueError("upsample needs exactly one of scale and size")
        return self


class Spec(BaseModel):
    """A whole spec: ``name``, ``input`` (N, C, *spatial) and ``layers``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    input: list[int] | None = Field(default=None, min_length=3)
    layers: list[Layer] = Field(min_length=1)


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def where(keys: tuple[int | str, ...], data: Any) -> str:
    """``layers[3].branches[1][0] (conv 'c1')``: a layer's place and what it is.

    >>> where(("layers", 0), {"layers": [{"type": "conv", "name": "stem"}]})
    "layers[0] (conv 'stem')"
    """
    text, node = "", data
    for key in keys:
        text += f"[{key}]" if isinstance(key, int) else (f".{key}" if text else key)
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            node = None
    if isinstance(node, dict):
        kind = node.get("type", "block" if "branches" in node else "layer")
        named = f" {node['name']!r}" if node.get("name") else ""
        text += f" ({kind}{named})"
    return text


def explain(error: ValidationError, data: Any) -> str:
    """One line per wrong field: the layer, the field, what is wrong, what would do."""
    lines: list[str] = []
    for item in error.errors():
        loc = item["loc"]
        keys: list[int | str] = []
        index = 0
        while index < len(loc):  # layers, 3, branches, 1, 0, ...: the layer's address
            key = loc[index]
            if key == "layers" and index + 1 < len(loc) and isinstance(loc[index + 1], int):
                keys += ["layers", loc[index + 1]]
                index += 2
            elif key == "branches" and index + 2 < len(loc):
                keys += ["branches", loc[index + 1], loc[index + 2]]
                index += 3
            else:
                break
        field = str(loc[index]) if index < len(loc) else None
        place = where(tuple(keys), data) if keys else "spec"
        message = str(item["msg"]).removeprefix("Value error, ")
        if item["type"] == "extra_forbidden" and field is not None:
            names = Layer.model_fields if keys else Spec.model_fields
            message = f"unknown field {field!r}{_suggest(field, names)}"
        elif field in FORMS:
            message = f"{field} must be {FORMS[field]}, got {item.get('input')!r}"
        elif field is not None:
            message = f"{field}: {message}"
        line = f"{place}: {message}"
        if line not in lines:
            lines.append(line)
    return "; ".join(lines)
