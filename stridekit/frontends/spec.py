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
from dataclasses import dataclass
from fractions import Fraction
from math import prod
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from stridekit.errors import ModelError, StrideError
from stridekit.frontends.spec_schema import Layer, Spec, explain, where
from stridekit.geometry import Window, make_window
from stridekit.graph import AxisMap, Graph, Node, Resample

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
    raise StrideError(f"{field} {value!r} needs one int per spatial axis ({count})")


def _paddings(value: Any, count: int) -> list[int | str | tuple[int, int]]:
    if value is None or isinstance(value, int | str):
        return [value or 0] * count
    if len(value) == 2 and all(isinstance(v, int) for v in value):
        return [(value[0], value[1])] * count  # [lo, hi] on every axis
    if len(value) == count and any(isinstance(v, list | str) for v in value):
        return [tuple(v) if isinstance(v, list) else v for v in value]
    raise StrideError(
        f"padding {value!r}: use an int, [lo, hi], a name, or one entry per spatial axis "
        f"({count}) with at least one [lo, hi] or name, e.g. [[3, 3], [1, 1]]"
    )


def _scales(value: Any, count: int) -> tuple[Fraction, ...]:
    values = value if isinstance(value, list) else [value] * count
    if len(values) != count:
        raise StrideError(f"scale {value!r} needs one value per spatial axis ({count})")
    try:  # str(0.5) = '0.5' → 1/2 exactly
        scales = tuple(Fraction(str(v)) for v in values)
    except (ValueError, ZeroDivisionError):
        raise StrideError(f"scale {value!r} is not a number (write fractions as '3/2')") from None
    if min(scales) <= 0:
        raise StrideError(f"scale {value!r} must be positive")
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
        if merge == "concat":
            if len({s[:1] + s[2:] for s in shapes}) != 1:
                listed = ", ".join(map(str, shapes))
                raise StrideError(f"concat needs equal shapes apart from channels, got {listed}")
            out: Shape = (shapes[0][0], sum(s[1] for s in shapes), *shapes[0][2:])
        else:
            out = _broadcast(shapes, merge)
        node = Node(
            name,
            merge,
            tuple(outputs),
            tuple(shapes),
            out,
            module=name,
            target=merge,
            activation_bytes=4 * prod(out),
        )
        return self.graph.add(node).name

    def layer(self, layer: Layer, source: str, name: str) -> str:
        shape = self.graph[source].output_shape
        if layer.kind in SPATIAL_KINDS and len(shape) < 3:
            raise StrideError(f"{layer.type} needs spatial axes, the input is {shape}")
        built = SHAPERS.get(layer.kind, _pointwise)(layer, shape)
        node = Node(
            name,
            built.op,
            (source,),
            (shape,),
            built.out,
            built.axes,
            params=built.params,
            flops=built.flops,
            macs=built.flops // 2,
            activation_bytes=4 * prod(built.out),
            module=name,
            target=str(layer.type),
        )
        return self.graph.add(node).name


@dataclass(frozen=True)
class _Built:
    op: str
    out: Shape
    axes: tuple[AxisMap, ...] | None = None
    params: int = 0
    flops: int = 0


def _windowed(layer: Layer, shape: Shape) -> _Built:
    spatial, count = shape[2:], len(shape) - 2
    kernels = _per_axis(layer.kernel, count, "kernel", 1)
    pooling = layer.kind in ("max_pool", "avg_pool")
    strides = (
        kernels if pooling and layer.stride is None else _per_axis(layer.stride, count, "stride", 1)
    )
    dilations = _per_axis(layer.dilation, count, "dilation", 1)
    extras = _per_axis(layer.output_padding, count, "output_padding", 0)
    windows = tuple(
        make_window(
            layer.kind,
            n,
            k,
            s,
            p,
            d,
            ceil_mode=layer.ceil_mode,
            output_padding=o,
            convention=layer.convention,
        )
        for n, k, s, p, d, o in zip(
            spatial,
            kernels,
            strides,
            _paddings(layer.padding, count),
            dilations,
            extras,
            strict=True,
        )
    )
    out_spatial = tuple(w.output_size(n) for w, n in zip(windows, spatial, strict=True))
    if pooling:
        return _Built(layer.kind, (*shape[:2], *out_spatial), windows)
    c_in, c_out, groups = shape[1], layer.channels or 1, layer.groups
    if c_in % groups or c_out % groups:
        raise StrideError(f"groups {groups} must divide the channels in ({c_in}) and out ({c_out})")
    weight = c_out * (c_in // groups) * prod(kernels)
    # conv_flop_count: 2 · N · weight · positions (a transposed conv: its input positions)
    positions = prod(spatial) if layer.kind == "conv_transpose" else prod(out_spatial)
    params = weight + (c_out if layer.bias else 0)
    return _Built(
        layer.kind,
        (shape[0], c_out, *out_spatial),
        windows,
        params,
        2 * shape[0] * weight * positions,
    )


def _upsample(layer: Layer, shape: Shape) -> _Built:
    spatial = shape[2:]
    if layer.size is not None:
        sizes = _per_axis(layer.size, len(spatial), "size", 1)
        factors = tuple(Fraction(o, n) for o, n in zip(sizes, spatial, strict=True))
    else:
        factors = _scales(layer.scale, len(spatial))
        sizes = tuple(int(n * f) for n, f in zip(spatial, factors, strict=True))  # floor
    if min(sizes) < 1:
        raise StrideError(f"upsample of {spatial} by {layer.scale} leaves no pixel")
    resample = Resample.linear if layer.mode == "linear" else Resample.nearest
    return _Built("upsample", (*shape[:2], *sizes), tuple(resample(f) for f in factors))


def _pixel_shuffle(layer: Layer, shape: Shape) -> _Built:
    r, spatial = layer.factor or 1, shape[2:]
    area = r ** len(spatial)
    if shape[1] % area:
        raise StrideError(
            f"pixel_shuffle by {r} needs channels divisible by {area}, got {shape[1]}"
        )
    axes = tuple(Resample.nearest(r) for _ in spatial)  # output i reads input i // r
    return _Built("pixel_shuffle", (shape[0], shape[1] // area, *(n * r for n in spatial)), axes)


def _pixel_unshuffle(layer: Layer, shape: Shape) -> _Built:
    r, spatial = layer.factor or 1, shape[2:]
    if any(n % r for n in spatial):
        raise StrideError(f"pixel_unshuffle by {r} needs sizes divisible by {r}, got {spatial}")
    axes = tuple(Window(r, r) for _ in spatial)  # output i reads [i·r, i·r + r − 1]
    out = (shape[0], shape[1] * r ** len(spatial), *(n // r for n in spatial))
    return _Built("pixel_unshuffle", out, axes)


def _flatten(layer: Layer, shape: Shape) -> _Built:
    op = "flatten" if any(n > 1 for n in shape[2:]) else "elementwise"  # 1×1 mixes nothing
    return _Built(op, (shape[0], prod(shape[1:])))


def _linear(layer: Layer, shape: Shape) -> _Built:
    if len(shape) != 2:
        raise StrideError(
            f"linear needs a flat input (N, features), got {shape}; put a flatten (after a "
            "global_pool) before it"
        )
    c_out = layer.channels or 1
    params = shape[1] * c_out + (c_out if layer.bias else 0)
    return _Built("linear", (shape[0], c_out), None, params, 2 * shape[0] * shape[1] * c_out)


def _pad(layer: Layer, shape: Shape) -> _Built:
    spatial = shape[2:]
    pads = [p if isinstance(p, tuple) else (p, p) for p in _paddings(layer.padding, len(spatial))]
    if not all(isinstance(p, int) for pair in pads for p in pair):
        raise StrideError("pad takes explicit padding: ints or [lo, hi] pairs")
    sizes = tuple(n + int(lo) + int(hi) for n, (lo, hi) in zip(spatial, pads, strict=True))
    if min(sizes) < 1:
        raise StrideError(f"padding {pads} crops {spatial} to nothing")
    axes = tuple(Resample.shift(-int(lo)) for lo, _ in pads)  # output i reads input i − lo
    return _Built("pad", (*shape[:2], *sizes), axes)


def _pointwise(layer: Layer, shape: Shape) -> _Built:
    params = 2 * shape[1] if layer.kind == "batch_norm" else 0  # scale and shift
    return _Built("elementwise", shape, params=params)


SHAPERS: dict[str, Callable[[Layer, Shape], _Built]] = {
    "conv": _windowed,
    "conv_transpose": _windowed,
    "max_pool": _windowed,
    "avg_pool": _windowed,
    "upsample": _upsample,
    "pixel_shuffle": _pixel_shuffle,
    "pixel_unshuffle": _pixel_unshuffle,
    "global_pool": lambda layer, shape: _Built(
        "global_pool", (*shape[:2], *(1 for _ in shape[2:]))
    ),
    "flatten": _flatten,
    "linear": _linear,
    "pad": _pad,
}
SPATIAL_KINDS = frozenset(SHAPERS) - {"linear", "flatten"}


def _broadcast(shapes: list[Shape], merge: str) -> Shape:
    rank = max(len(s) for s in shapes)
    padded = [(1,) * (rank - len(s)) + s for s in shapes]
    out = []
    for sizes in zip(*padded, strict=True):
        wide = {n for n in sizes if n != 1}
        if len(wide) > 1:
            listed = ", ".join(str(s) for s in shapes)
            raise StrideError(f"{merge} needs shapes that match or broadcast, got {listed}")
        out.append(wide.pop() if wide else 1)
    return tuple(out)
