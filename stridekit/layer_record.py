"""`LayerRecord`: one row of an analysis, a node with its geometry, field and cost.

A node's spatial axes are sliding windows (`Window`: kernel, stride, padding, dilation)
or resamples (`Resample`: resizes, padding, slicing, shuffles). A record reports each
kind in its own terms: window fields only for window axes, and for a resample its kind,
factor and the interval each output reads, so no reader meets a "kernel 3/2".
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from fractions import Fraction
from typing import Any

from stridekit.geometry import Field, Resample, Window
from stridekit.graph import Node
from stridekit.render import axes_text

Value = int | Fraction | None


def jsonable(value: Any) -> Any:
    """Fractions as ``"1/2"`` strings (integers stay integers), tuples as lists.

    >>> jsonable([Fraction(1, 2), Fraction(4), (1, 2)])
    ['1/2', 4, [1, 2]]
    """
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else str(value)
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def record_dict(record: Any, **values: Any) -> dict[str, Any]:
    """A dataclass record for JSON: its fields in their order, each `jsonable`; a field
    named in ``values`` is written as that value instead.

    >>> from dataclasses import dataclass
    >>> @dataclass
    ... class Level:
    ...     stride: Fraction
    ...     grid: tuple[int, ...]
    >>> record_dict(Level(Fraction(1, 2), (80, 80)))
    {'stride': '1/2', 'grid': [80, 80]}
    >>> record_dict(Level(Fraction(1, 2), (80, 80)), grid="80x80")
    {'stride': '1/2', 'grid': '80x80'}
    """
    names = [f.name for f in fields(record)]
    return jsonable({name: values.get(name, getattr(record, name)) for name in names})


def resample_dict(resample: Resample) -> dict[str, Any]:
    """A resample for JSON: output ``i`` reads input ``[i·scale + start, i·scale + stop]``.

    >>> resample_dict(Resample.linear(2))   # x2 bilinear: x = (i + 1/2)/2 − 1/2
    {'kind': 'linear', 'factor': 2, 'scale': '1/2', 'read': [-1, '3/4'], 'description': 'linear x2'}
    """
    return jsonable(
        {
            "kind": resample.kind,
            "factor": resample.factor,
            "scale": resample.scale,
            "read": [resample.start, resample.stop],
            "description": resample.describe(),
        }
    )


@dataclass(frozen=True)
class LayerRecord:
    """One row of the analysis: a node of the graph with its geometry, field and cost.

    ``kernel``, ``stride``, ``padding`` and ``dilation`` hold one entry per axis when some
    axis is a `Window` (None on the other axes) and are None when none is; ``resample``
    likewise holds the `Resample` of each resampled axis. A transposed window's stride is
    ``1/s``. ``rf`` is None when the field is global; ``local_rf`` is then the field of
    the sliding windows alone.
    """

    name: str
    op: str
    module: str
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    kernel: tuple[Value, ...] | None
    stride: tuple[Value, ...] | None
    padding: tuple[tuple[Value, Value] | None, ...] | None
    dilation: tuple[Value, ...] | None
    resample: tuple[Resample | None, ...] | None
    jump: tuple[Fraction, ...]
    rf: tuple[Fraction, ...] | None  # None: global (every input pixel reaches it)
    rf_start: tuple[Fraction, ...]
    local_rf: tuple[Fraction, ...]
    params: int
    flops: int
    macs: int
    activation_bytes: int

    def to_dict(self) -> dict[str, Any]:
        """Every field, JSON-ready (fractions as ``"1/2"``, resamples as `resample_dict`)."""
        resample = None
        if self.resample is not None:
            resample = [None if r is None else resample_dict(r) for r in self.resample]
        return record_dict(self, resample=resample)

    def describe_window(self) -> str:
        """The geometry for a table cell: ``k3 s2``, ``k3 s2 d2``, ``linear x2`` or ``-``.

        >>> up = Node("up", "upsample", ("x",), ((1, 1, 4, 4),), (1, 1, 8, 8),
        ...           axes=(Resample.linear(2),) * 2)
        >>> conv = Node("conv", "conv", ("x",), ((1, 1, 8, 8),), (1, 1, 4, 4),
        ...             axes=(Window(3, 2), Window(3, 2, dilation=2)))
        >>> [layer_record(n, (Field(),) * 2, (Field(),) * 2).describe_window() for n in (up, conv)]
        ['linear x2', 'k3 s2 d1x2']
        """
        if self.resample is None:
            if self.kernel is None or self.stride is None:
                return "-"
            text = f"k{axes_text(self.kernel)} s{axes_text(self.stride)}"
            if self.dilation and any(d != 1 for d in self.dilation):
                text += f" d{axes_text(self.dilation)}"
            return text
        texts = []
        for axis, resample in enumerate(self.resample):
            if resample is not None:
                texts.append(resample.describe())
                continue
            assert self.kernel is not None and self.stride is not None and self.dilation
            dilation = self.dilation[axis]
            texts.append(
                f"k{self.kernel[axis]} s{self.stride[axis]}"
                + (f" d{dilation}" if dilation != 1 else "")
            )
        return texts[0] if len(set(texts)) == 1 else ", ".join(texts)


def _geometry(node: Node) -> dict[str, tuple[Any, ...] | None]:
    windows = [axis if isinstance(axis, Window) else None for axis in node.axes or ()]
    resamples = [axis if isinstance(axis, Resample) else None for axis in node.axes or ()]

    def per_window(value: Any) -> tuple[Any, ...] | None:
        if not any(windows):
            return None
        return tuple(None if w is None else value(w) for w in windows)

    return {
        "kernel": per_window(lambda w: w.kernel),
        "stride": per_window(lambda w: Fraction(1, w.stride) if w.transposed else w.stride),
        "padding": per_window(lambda w: (w.pad_lo, w.pad_hi)),
        "dilation": per_window(lambda w: w.dilation),
        "resample": tuple(resamples) if any(resamples) else None,
    }


def layer_record(node: Node, fields: tuple[Field, ...], local: tuple[Field, ...]) -> LayerRecord:
    """The record of ``node`` with its fields (``local``: the sliding windows' alone)."""
    is_global = any(f.is_global for f in fields)
    geometry = _geometry(node)
    return LayerRecord(
        name=node.name,
        op=node.op,
        module=node.module,
        input_shapes=node.input_shapes,
        output_shape=node.output_shape,
        kernel=geometry["kernel"],
        stride=geometry["stride"],
        padding=geometry["padding"],
        dilation=geometry["dilation"],
        resample=geometry["resample"],
        jump=tuple(f.jump for f in fields),
        rf=None if is_global else tuple(f.size for f in fields),
        rf_start=tuple(f.lo for f in fields),
        local_rf=tuple(f.size for f in local),
        params=node.params,
        flops=node.flops,
        macs=node.macs,
        activation_bytes=node.activation_bytes,
    )
