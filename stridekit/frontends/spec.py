"""The spec frontend: a YAML/JSON list of layers → `Graph`, to analyse a network before
it exists.

.. code-block:: yaml

    name: stem
    input: [1, 3, 224, 224]          # N, C, *spatial; load_spec(input_shape=...) overrides
    layers:
      - {type: conv, channels: 64, kernel: 7, stride: 2, padding: 3, name: conv1}
      - {type: relu}
      - {type: max_pool, kernel: 3, stride: 2, padding: 1}
      - merge: add                   # a block: branches start from the block's input
        branches:
          - [{type: conv, channels: 64, kernel: 3, padding: 1}]
          - []                       # an empty branch is the identity (a shortcut)

Types: ``conv``, ``conv_transpose``, ``max_pool``, ``avg_pool``, ``upsample`` (``scale``
or ``size``, ``mode: nearest|linear``), ``pixel_shuffle`` / ``pixel_unshuffle``
(``factor``), ``global_pool``, ``flatten``, ``linear``, ``pad``, ``batch_norm``, and
activations (``relu``, ``gelu``, ``sigmoid``...), which move no pixels. Window fields are
PyTorch's: ``kernel``, ``stride`` (pooling: the kernel by default), ``dilation``,
``ceil_mode``, ``groups``, ``output_padding``; ``channels`` is the number of output
channels. ``padding`` is an int, ``[lo, hi]`` (every axis), ``"same"`` / ``"valid"`` /
``"causal"`` resolved with ``convention`` (``torch``, ``tf``, ``onnx-upper``,
``onnx-lower``), or a list with one of those per spatial axis (``[[3, 3], [1, 1]]``).

Costs: conv and linear parameters include the bias unless ``bias: false``; batch_norm
has 2·C parameters (scale and shift); FLOPs follow ``torch.utils.flop_counter`` (bias
not counted), MACs = FLOPs / 2; activations are float32 (4 bytes per element).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from fractions import Fraction
from math import prod
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stridekit.errors import ModelError, SpecError, StrideError
from stridekit.frontends.spec_schema import Layer, Spec, explain, where
from stridekit.graph import Graph, Node
from stridekit.lowering import Lowered, Meta, mixing, moves, pointwise, views, windows
from stridekit.lowering.core import broadcast_shape

Shape = tuple[int, ...]


def load_spec(
    path_or_dict: str | os.PathLike[str] | dict[str, Any] | list[Any],
    input_shape: tuple[int, ...] | None = None,
) -> Graph:
    """Build the `Graph` of a layer spec (a YAML/JSON file, a dict, or a list of layers).

    >>> spec = {"input": [1, 3, 224, 224], "layers": [
    ...     {"type": "conv", "channels": 64, "kernel": 7, "stride": 2, "padding": 3},
    ...     {"type": "max_pool", "kernel": 3, "stride": 2, "padding": 1}]}
    >>> graph = load_spec(spec)
    >>> [(n.name, n.output_shape, n.params) for n in graph.nodes[1:]]
    [('0', (1, 64, 112, 112), 9472), ('1', (1, 64, 56, 56), 0)]
    >>> load_spec(spec, input_shape=(1, 3, 64, 64)).output.output_shape
    (1, 64, 16, 16)
    """
    data, default_name = _read(path_or_dict)
    try:
        spec = Spec.model_validate(data)
    except ValidationError as error:
        raise ModelError(f"{default_name}: {explain(error, data)}") from None
    shape = tuple(int(v) for v in input_shape) if input_shape is not None else None
    shape = shape or (tuple(spec.input) if spec.input is not None else None)
    if shape is None:
        raise ModelError(
            f"{default_name}: no input shape; add `input: [1, 3, 224, 224]` to the spec "
            "or pass input_shape"
        )
    if len(shape) < 3 or min(shape) < 1:
        raise ModelError(f"{default_name}: input {shape} must be (N, C, *spatial), all >= 1")
    graph = Graph(input_shape=shape, name=spec.name or default_name)
    _Builder(graph, data, default_name).chain(spec.layers, "input", ("layers",), "")
    return graph


def _read(source: str | os.PathLike[str] | dict[str, Any] | list[Any]) -> tuple[Any, str]:
    if isinstance(source, dict | list):
        data: Any = source
        name = str(source.get("name", "spec")) if isinstance(source, dict) else "spec"
    else:
        path = Path(source)
        if not path.is_file():
            raise ModelError(f"spec file {str(path)!r} not found")
        text = path.read_text()
        try:
            data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
        except (json.JSONDecodeError, yaml.YAMLError) as error:
            raise ModelError(f"{path}: not valid {path.suffix[1:].upper()}: {error}") from None
        name = path.stem
    if isinstance(data, list):  # a bare list of layers
        data = {"layers": data}
    if not isinstance(data, dict):
        raise ModelError(f"{name}: a spec is a mapping with `layers` (or a list of layers)")
    return data, name


def _per_axis(value: Any, count: int, field: str, default: int) -> tuple[int, ...]:
    if value is None:
        return (default,) * count
    if isinstance(value, int):
        return (value,) * count
    if isinstance(value, list) and len(value) == count:
        return tuple(value)
    raise SpecError(f"{field} {value!r} needs one int per spatial axis ({count})")


def _paddings(value: Any, count: int) -> list[int | str | tuple[int, int]]:
    if value is None or isinstance(value, int | str):
        return [value or 0] * count
    if len(value) == 2 and all(isinstance(v, int) for v in value):
        return [(value[0], value[1])] * count  # [lo, hi] on every axis
    if len(value) == count and any(isinstance(v, list | str) for v in value):
        return [tuple(v) if isinstance(v, list) else v for v in value]
    raise SpecError(
        f"padding {value!r}: use an int, [lo, hi], a name, or one entry per spatial axis "
        f"({count}) with at least one [lo, hi] or name, e.g. [[3, 3], [1, 1]]"
    )


def _scales(value: Any, count: int) -> tuple[Fraction, ...]:
    values = value if isinstance(value, list) else [value] * count
    if len(values) != count:
        raise SpecError(f"scale {value!r} needs one value per spatial axis ({count})")
    try:  # str(0.5) = '0.5' → 1/2 exactly
        scales = tuple(Fraction(str(v)) for v in values)
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"scale {value!r} is not a number (write fractions as '3/2')") from None
    if min(scales) <= 0:
        raise SpecError(f"scale {value!r} must be positive")
    return scales


class _Builder:
    """Adds the layers of a spec to a graph, one chain at a time."""

    def __init__(self, graph: Graph, data: Any, label: str) -> None:
        self.graph, self.data, self.label = graph, data, label
        self.places: dict[str, str] = {}

    def chain(
        self, layers: list[Layer], source: str, keys: tuple[int | str, ...], prefix: str
    ) -> str:
        for index, layer in enumerate(layers):
            here = (*keys, index)
            place = where(here, self.data)
            name = layer.name or f"{prefix}{index}"
            if name in self.places or name == "input":
                also = self.places.get(name, "the model input")
                raise ModelError(
                    f"{self.label}: {place}: name {name!r} is used twice (also {also})"
                )
            self.places[name] = place
            outputs = [
                self.chain(branch, source, (*here, "branches", b), f"{name}.{b}.")
                for b, branch in enumerate(layer.branches or ())
            ]
            try:
                if outputs:
                    source = self.merge(layer.merge, outputs, name)
                else:
                    source = self.layer(layer, source, name)
            except StrideError as error:  # name the layer once, at this level
                raise type(error)(f"{self.label}: {place}: {error}") from None
        return source

    def merge(self, merge: str, outputs: list[str], name: str) -> str:
        shapes = [self.graph[o].output_shape for o in outputs]
        spatial = len(self.graph.input_shape) - 2
        inputs = [Meta.standard(shape, spatial) for shape in shapes]
        if merge == "concat":
            if len({s[:1] + s[2:] for s in shapes}) != 1:
                listed = ", ".join(map(str, shapes))
                raise SpecError(f"concat needs equal shapes apart from channels, got {listed}")
            out: Shape = (shapes[0][0], sum(s[1] for s in shapes), *shapes[0][2:])
            lowered = views.concat(inputs, out, dim=1)
        else:
            lowered = pointwise.elementwise(inputs, _broadcast(shapes, merge), merge=merge)
        return self.add(name, merge, tuple(outputs), tuple(shapes), lowered)

    def layer(self, layer: Layer, source: str, name: str) -> str:
        shape = self.graph[source].output_shape
        if layer.kind in SPATIAL_KINDS and len(shape) < 3:
            raise SpecError(f"{layer.type} needs spatial axes, the input is {shape}")
        x = Meta.standard(shape, len(self.graph.input_shape) - 2)
        lowered, params = LOWERINGS.get(layer.kind, _pointwise)(layer, x)
        return self.add(name, str(layer.type), (source,), (shape,), lowered, params)

    def add(
        self,
        name: str,
        target: str,
        inputs: tuple[str, ...],
        shapes: tuple[Shape, ...],
        lowered: Lowered,
        params: int = 0,
    ) -> str:
        out = lowered.shape
        assert out is not None  # a spec's ops compute their output shapes
        node = Node(
            name,
            lowered.kind,
            inputs,
            shapes,
            out,
            lowered.axes,
            params=params,
            flops=lowered.flops,
            macs=lowered.flops // 2,
            activation_bytes=4 * prod(out),
            module=name,
            target=target,
        )
        return self.graph.add(node).name


def _windowed(layer: Layer, x: Meta) -> tuple[Lowered, int]:
    count = len(x.shape) - 2
    kernels = _per_axis(layer.kernel, count, "kernel", 1)
    paddings = _paddings(layer.padding, count)
    if layer.kind in POOL_KINDS:
        lowered = windows.pool(
            x,
            None,
            kind=layer.kind,
            kernel=kernels,
            stride=None if layer.stride is None else _per_axis(layer.stride, count, "stride", 1),
            padding=paddings,
            dilation=_per_axis(layer.dilation, count, "dilation", 1),
            ceil_mode=layer.ceil_mode,
            convention=layer.convention,
            strict=True,
            count=count,
        )
        return lowered, 0
    c_in, c_out, groups = x.shape[1], layer.channels or 1, layer.groups
    if c_in % groups or c_out % groups:
        raise SpecError(f"groups {groups} must divide the channels in ({c_in}) and out ({c_out})")
    transposed = layer.kind == "conv_transpose"
    # PyTorch's weight shapes: (C_out, C_in/g, *k); transposed (C_in, C_out/g, *k)
    weight = (c_in, c_out // groups) if transposed else (c_out, c_in // groups)
    lowered = windows.conv(
        x,
        None,
        weight=(*weight, *kernels),
        stride=_per_axis(layer.stride, count, "stride", 1),
        padding=paddings,
        dilation=_per_axis(layer.dilation, count, "dilation", 1),
        groups=groups,
        transposed=transposed,
        output_padding=_per_axis(layer.output_padding, count, "output_padding", 0),
        convention=layer.convention,
        strict=True,
    )
    return lowered, prod(weight) * prod(kernels) + (c_out if layer.bias else 0)


def _upsample(layer: Layer, x: Meta) -> tuple[Lowered, int]:
    count = len(x.shape) - 2
    coordinate = "half_pixel" if layer.mode == "linear" else "asymmetric"
    if layer.size is not None:
        sizes = _per_axis(layer.size, count, "size", 1)
        lowered = moves.resize(x, None, mode=layer.mode, coordinate=coordinate, sizes=sizes)
    else:
        scales = _scales(layer.scale, count)
        lowered = moves.resize(x, None, mode=layer.mode, coordinate=coordinate, scales=scales)
    return lowered, 0


def _flatten(layer: Layer, x: Meta) -> tuple[Lowered, int]:
    return views.reshape(x, (x.shape[0], prod(x.shape[1:]))), 0


def _linear(layer: Layer, x: Meta) -> tuple[Lowered, int]:
    if len(x.shape) != 2:
        raise SpecError(
            f"linear needs a flat input (N, features), got {x.shape}; put a flatten (after a "
            "global_pool) before it"
        )
    c_in, c_out = x.shape[1], layer.channels or 1
    flat = Meta(x.shape, None, x.spatial)
    lowered = mixing.matmul(flat, None, (x.shape[0], c_out), shapes=(x.shape, (c_in, c_out)))
    return lowered, c_in * c_out + (c_out if layer.bias else 0)


def _pad(layer: Layer, x: Meta) -> tuple[Lowered, int]:
    count = len(x.shape) - 2
    pads = [p if isinstance(p, tuple) else (p, p) for p in _paddings(layer.padding, count)]
    if not all(isinstance(p, int) for pair in pads for p in pair):
        raise SpecError("pad takes explicit padding: ints or [lo, hi] pairs")
    per_dim = {2 + axis: (int(lo), int(hi)) for axis, (lo, hi) in enumerate(pads)}
    return moves.pad(x, None, pads=per_dim), 0


def _pointwise(layer: Layer, x: Meta) -> tuple[Lowered, int]:
    params = 2 * x.shape[1] if layer.kind == "batch_norm" else 0  # scale and shift
    return pointwise.elementwise([x], x.shape), params


def _shuffle(layer: Layer, x: Meta) -> tuple[Lowered, int]:
    block = layer.factor or 1
    if layer.kind == "pixel_shuffle":
        return windows.depth_to_space(x, None, block=block), 0
    return windows.space_to_depth(x, None, block=block), 0


LOWERINGS: dict[str, Callable[[Layer, Meta], tuple[Lowered, int]]] = {
    "conv": _windowed,
    "conv_transpose": _windowed,
    "max_pool": _windowed,
    "avg_pool": _windowed,
    "upsample": _upsample,
    "pixel_shuffle": _shuffle,
    "pixel_unshuffle": _shuffle,
    "global_pool": lambda layer, x: (windows.global_pool(x), 0),
    "flatten": _flatten,
    "linear": _linear,
    "pad": _pad,
}
SPATIAL_KINDS = frozenset(LOWERINGS) - {"linear", "flatten"}
POOL_KINDS = ("max_pool", "avg_pool")


def _broadcast(shapes: list[Shape], merge: str) -> Shape:
    out = broadcast_shape(shapes)
    if out is None:
        listed = ", ".join(str(s) for s in shapes)
        raise SpecError(f"{merge} needs shapes that match or broadcast, got {listed}")
    return out
