"""The ONNX frontend's rule machinery: what a rule sees (`OpContext`), what it returns
(`Lowered`), and the registry.

The *layout* of a tensor is the dim each spatial axis of the model input occupies in it:
``(2, 3)`` for NCHW, ``(1, 2)`` after a transpose to NHWC, ``None`` once a flatten or a
global op has destroyed the positions (or half-way through a space-to-depth, see
`stridekit.frontends.onnx_layout`). Rules use it to tell a linear layer over channels
(a 1×1 convolution) from one over space (global), or a channel concat (a merge) from a
spatial one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnx
from onnx import helper

from stridekit.errors import ModelError
from stridekit.frontends.onnx_layout import Digits, axis_dims
from stridekit.graph import AxisMap

Shape = tuple[int, ...]
Layout = tuple[int, ...] | None


def shifted_layout(layout: tuple[int, ...], offset: int) -> tuple[int, ...]:
    """The layout after broadcasting prepends ``offset`` dims.

    >>> shifted_layout((2, 3), 1)
    (3, 4)
    """
    return tuple(d + offset for d in layout)


@dataclass
class OpContext:
    """What a rule may look at: one node and the facts about its inputs and outputs."""

    node: onnx.NodeProto
    opset: int
    input_shapes: tuple[Shape | None, ...]  # one per node input ('' inputs: None)
    output_shapes: tuple[Shape | None, ...]
    active: tuple[bool, ...]  # which inputs carry activations (depend on the model input)
    states: tuple[Digits | None, ...]  # where the spatial axes are in each input
    spatial: int  # how many spatial axes the model input has
    values: Callable[[str], np.ndarray | None] = lambda name: None  # constant lookup
    attributes: dict[str, Any] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.attributes = {
            attribute.name: helper.get_attribute_value(attribute)
            for attribute in self.node.attribute
        }

    def attr(self, name: str, default: Any = None) -> Any:
        value = self.attributes.get(name, default)
        return value.decode() if isinstance(value, bytes) else value

    def value(self, position: int) -> np.ndarray | None:
        """The constant value of input ``position``, or None (absent, or not a constant)."""
        if position >= len(self.node.input) or not self.node.input[position]:
            return None
        if self.active[position]:
            return None
        return self.values(self.node.input[position])

    @property
    def first(self) -> int:
        return self.active.index(True)

    @property
    def x_shape(self) -> Shape:
        shape = self.input_shapes[self.first]
        if shape is None:  # guarded by the frontend: activation shapes are always known
            raise ModelError(f"{self.node.op_type} {self.node.name!r}: input shape unknown")
        return shape

    @property
    def layouts(self) -> tuple[Layout, ...]:
        """The dim of each spatial axis in each input, where they are intact."""
        return tuple(axis_dims(state, self.spatial) for state in self.states)

    @property
    def layout(self) -> Layout:
        return axis_dims(self.states[self.first], self.spatial)

    @property
    def state(self) -> Digits | None:
        return self.states[self.first]

    @property
    def out_shape(self) -> Shape:
        shape = self.output_shapes[0]
        return shape if shape is not None else ()


@dataclass
class Lowered:
    """What an ONNX node is in stridekit's IR."""

    op: str
    axes: tuple[AxisMap, ...] | None = None
    layout: Layout = None
    flops: int = 0
    attributes: dict[str, object] = field(default_factory=dict)
    state: Digits | None = None  # set by rules that track digits; else from `layout`


Rule = Callable[[OpContext], Lowered]
RULES: dict[str, Rule] = {}


def register(*op_types: str) -> Callable[[Rule], Rule]:
    """Register a rule for ONNX op types (duplicates are rejected at import).

    >>> import stridekit.frontends.onnx_ops  # the rules register themselves on import
    >>> sorted(t for t in RULES if t.startswith("Conv"))
    ['Conv', 'ConvInteger', 'ConvTranspose']
    """

    def decorate(rule: Rule) -> Rule:
        for op_type in op_types:
            if op_type in RULES:
                raise RuntimeError(f"duplicate ONNX rule for {op_type}")
            RULES[op_type] = rule
        return rule

    return decorate
