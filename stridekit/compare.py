"""`compare(a, b)`: two models at one input size, their spatial layers side by side.

Made for ports: a model re-built from another framework, whose stride-2 ``SAME`` layers
pad on the other side, sits a pixel off on every feature map and gives worse answers
with no error. `compare` aligns the layers that move pixels (`stridekit.compare_align`),
shows per aligned pair what differs (output size, padding per side, jump, where the
field starts and its size, in input pixels), names the first divergence with its cause
and its fix, and gives the offset the differences add up to at the output. ``a`` is the
model to change, ``b`` the reference (`stridekit.nn.match` re-pads ``a`` to follow it).

>>> import torch
>>> from torch import nn
>>> from stridekit.nn import Conv2dSame
>>> naive = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1))
>>> ported = nn.Sequential(Conv2dSame(3, 8, 3, stride=2))
>>> result = compare(naive, ported, input_shape=(1, 3, 224, 224))
>>> result.agree, result.exit_code
(False, 1)
>>> print(result.first_divergence.message)
layer 0 pads (1, 1) in A and (0, 1) in B: the grid moves 1 px at input 224
>>> result.offset   # A's field centre minus B's at the output, in input pixels
(Fraction(-1, 1), Fraction(-1, 1))
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from stridekit.analysis import Analysis, analyze
from stridekit.compare_align import SpatialLayer, align, spatial_layers
from stridekit.compare_text import Divergence, divergence, layer_dict, padding_text
from stridekit.errors import ModelError, StrideError, UsageError
from stridekit.geometry import Field
from stridekit.graph import Graph
from stridekit.layer_record import jsonable
from stridekit.render import Result, axes_text, table, to_markdown

__all__ = ["Comparison", "Divergence", "LayerPair", "compare", "compare_analyses"]

# what a pair is compared on, in the table's order
ASPECTS = ("layer", "geometry", "output", "padding", "jump", "rf_start", "rf")
COLUMNS = ("A", "B", "op", "output", "padding", "jump", "rf start", "rf", "differs")


@dataclass(frozen=True)
class LayerPair:
    """Two aligned layers (one of them None when the other has no partner) and the
    aspects (`ASPECTS`) in which they differ."""

    a: SpatialLayer | None
    b: SpatialLayer | None
    differs: tuple[str, ...]

    def cells(self) -> list[str]:
        def cell(value: Any) -> str:
            return "-" if value is None else value

        def both(text: Any) -> str:
            left = None if self.a is None else text(self.a)
            right = None if self.b is None else text(self.b)
            if left == right or self.a is None or self.b is None:
                return cell(left if self.a is not None else right)
            return f"{left} vs {right}"

        return [
            cell(self.a and self.a.name),
            cell(self.b and self.b.name),
            both(lambda x: x.describe()),
            both(lambda x: "x".join(map(str, x.output_size))),
            both(lambda x: padding_text(x.padding)),
            both(lambda x: axes_text(x.jump)),
            both(lambda x: axes_text(x.rf_start)),
            both(lambda x: "global" if x.rf is None else axes_text(x.rf)),
            ("only in A" if self.b is None else "only in B")
            if "layer" in self.differs
            else ", ".join(self.differs),
        ]

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": None if self.a is None else layer_dict(self.a),
            "b": None if self.b is None else layer_dict(self.b),
            "differs": list(self.differs),
        }


def _output_dict(analysis: Analysis, fields: tuple[Field, ...]) -> dict[str, Any]:
    return {
        "node": analysis.head.name,
        "jump": [f.jump for f in fields],
        "centre": [None if f.is_global else f.centre for f in fields],
    }


def _differs(a: SpatialLayer | None, b: SpatialLayer | None) -> tuple[str, ...]:
    if a is None or b is None:
        return ("layer",)
    found = {
        "geometry": a.key != b.key,
        "output": a.output_size != b.output_size,
        "padding": a.padding != b.padding,
        "jump": a.jump != b.jump,
        "rf_start": a.rf_start != b.rf_start,
        "rf": a.rf != b.rf,
    }
    return tuple(aspect for aspect in ASPECTS if found.get(aspect))


@dataclass
class Comparison(Result):
    """Two analyses at one input, their spatial layers aligned (`LayerPair`), the first
    divergence (`Divergence`, None when they agree) and the offset at the output."""

    a: Analysis
    b: Analysis
    pairs: list[LayerPair]

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self.a.input_shape

    @property
    def agree(self) -> bool:
        return not any(p.differs for p in self.pairs)

    @property
    def exit_code(self) -> int:
        """0 when the models agree, 1 when they differ (for a CI job asserting a port)."""
        return 0 if self.agree else 1

    @property
    def first_divergence(self) -> Divergence | None:
        for index, pair in enumerate(self.pairs):
            if pair.differs:
                return divergence(index, pair.a, pair.b, pair.differs, self.input_shape[2:])
        return None

    def _output_fields(self) -> tuple[tuple[Field, ...], tuple[Field, ...]]:
        """The sliding windows' fields of the tensor entering each model's head."""
        return tuple(m.field_result.local[m.head.name] for m in (self.a, self.b))  # type: ignore[return-value]

    @property
    def offset(self) -> tuple[Fraction, ...] | None:
        """A's field centre minus B's at the output (the tensor entering the head), per
        axis in input pixels; None when the output strides differ or a field is global."""
        a, b = self._output_fields()
        if len(a) != len(b) or any(x.is_global or y.is_global for x, y in zip(a, b, strict=True)):
            return None
        if any(x.jump != y.jump for x, y in zip(a, b, strict=True)):
            return None
        return tuple(x.centre - y.centre for x, y in zip(a, b, strict=True))

    def to_dict(self) -> dict[str, Any]:
        a, b = self._output_fields()
        first = self.first_divergence
        return {
            "a": self.a.model,
            "b": self.b.model,
            "input_shape": list(self.input_shape),
            "agree": self.agree,
            "layers": [p.to_dict() for p in self.pairs],
            "first_divergence": None if first is None else first.to_dict(),
            "summary": self.summary(),
            "output": jsonable(
                {
                    "a": _output_dict(self.a, a),
                    "b": _output_dict(self.b, b),
                    "offset": self.offset,
                }
            ),
        }

    def summary(self) -> list[str]:
        """The lines under the table: the models, the verdict, the fix, the offset."""
        lines = [f"A: {self.a.model}   B: {self.b.model}"]
        first = self.first_divergence
        if first is None:
            lines.append(
                f"the models agree: {len(self.pairs)} spatial layers aligned with the same "
                "output sizes, padding, grids and fields"
            )
        else:
            lines += [f"first divergence: {first.message}", f"fix: {first.fix}"]
            if first.cause == "padding":
                lines.append("stridekit.nn.match(A, B) re-pads a copy of a PyTorch A like B")
        offset = self.offset
        where = f"at the output ({self.a.head.name} in A, {self.b.head.name} in B)"
        if offset is None:
            lines.append(f"{where}: no common grid (the strides differ or a field is global)")
        elif any(offset):
            lines.append(
                f"{where}: A's grid is offset by {axes_text(offset)} input px from B's "
                "(field centre of A minus B's)"
            )
        else:
            lines.append(f"{where}: the grids coincide")
        return lines

    def _table(self) -> Table:
        shape = "x".join(map(str, self.input_shape))
        return table(f"A vs B at {shape}", COLUMNS, (p.cells() for p in self.pairs))

    def to_markdown(self) -> str:
        """The table, and the summary as a list (one item per line of the terminal's)."""
        items = "\n".join(f"- {line}" for line in self.summary())
        return f"{to_markdown(self._table())}\n\n{items}\n"

    def __rich__(self) -> RenderableType:
        return Group(self._table(), Text("\n".join(self.summary())))


def _analyze_at(model: Any, shape: tuple[int, ...] | None, device: str) -> Analysis:
    if isinstance(model, Analysis):
        return model
    return analyze(model, shape, device=device)


def _needs_size(model: Any) -> bool:
    return not isinstance(model, Analysis | Graph | str)


def compare(
    a: Any, b: Any, input_shape: tuple[int, ...] | None = None, *, device: str = "meta"
) -> Comparison:
    """Compare model ``a`` (the one to change) with ``b`` (the reference) at one input.

    Each is anything `stridekit.analyze` takes (a torch module, a model reference, an
    ``.onnx``/``.tflite``/spec file) or an `Analysis`. Without ``input_shape`` the
    first that declares a size sets it for both (a file's own input); two analyses must
    be of one input shape. Every shape is channels-first, whatever the frontend's layout.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2, padding=1), nn.ReLU())
    >>> compare(net, net, input_shape=(1, 3, 32, 32)).agree
    True
    """
    if input_shape is not None:
        input_shape = tuple(input_shape)
    order = sorted((0, 1), key=lambda i: _needs_size((a, b)[i]))  # declared sizes first
    found: dict[int, Analysis] = {}
    for index in order:
        model = (a, b)[index]
        shape = input_shape or (next(iter(found.values())).input_shape if found else None)
        if shape is None and _needs_size(model):
            raise UsageError(
                "compare: neither model declares an input size; give one, e.g. "
                "input_shape=(1, 3, 224, 224) (on the command line: --input 1x3x224x224)"
            )
        try:
            found[index] = _analyze_at(model, shape, device)
        except StrideError as error:
            if not found or shape is None:
                raise
            raise input_error("AB"[index], shape, input_shape is not None, error) from None
    return compare_analyses(found[0], found[1])


def input_error(label: str, shape: tuple[int, ...], asked: bool, error: StrideError) -> ModelError:
    """The one line for model ``label`` failing at the other's (or the asked) input."""
    message = " ".join(str(error).split())
    where = "the input asked" if asked else f"{'BA'['AB'.index(label)]}'s input"
    return ModelError(
        f"compare: {label} does not run at {where} {shape} ({message}); both models "
        "need one input: give --input / input_shape that both accept"
    )


def compare_analyses(first: Analysis, second: Analysis) -> Comparison:
    """`compare` of two analyses made already (at one input shape).

    >>> from stridekit.geometry import Window
    >>> from stridekit.graph import Node
    >>> def net(pads):
    ...     g = Graph(input_shape=(1, 1, 8, 8))
    ...     w = Window(3, 2, padding=pads)
    ...     _ = g.add(Node("conv", "conv", ("input",), ((1, 1, 8, 8),), (1, 1, 4, 4), (w, w)))
    ...     return analyze(g)
    >>> compare_analyses(net((1, 1)), net((0, 1))).first_divergence.message
    'layer conv pads (1, 1) in A and (0, 1) in B: the grid moves 1 px at input 8'
    """
    if first.input_shape != second.input_shape:
        raise UsageError(
            f"compare: A was analysed at {first.input_shape} and B at {second.input_shape}; "
            "analyse both at one input shape"
        )
    layers = [spatial_layers(first), spatial_layers(second)]
    for label, analysis, found_layers in zip("AB", (first, second), layers, strict=True):
        if not found_layers:
            raise ModelError(
                f"compare: {label} ({analysis.model}) has no spatial layer (convolution, "
                "pooling or resampling): nothing to align; give a convolutional model"
            )
    pairs = [LayerPair(x, y, _differs(x, y)) for x, y in align(*layers)]
    return Comparison(first, second, pairs)
