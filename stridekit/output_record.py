"""`OutputRecord`: one tensor a model returns, with its stride, field and pyramid levels.

Built from the outputs pass (`stridekit.passes.outputs`) for `Analysis.outputs`. A record
reports numbers, not fields: per-axis ``stride`` and ``receptive_field`` (None where the
output holds no positions or its field is global), the sliding windows' field, and one
`LevelRecord` per pyramid level. When the model resizes its input, strides are also
given relative to the resized image (``stride_resized``): that is where the round
numbers of a detector's pyramid live.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from stridekit.geometry import Field
from stridekit.layer_record import record_dict
from stridekit.passes.outputs import InputResize, Level, OutputGeometry
from stridekit.render import axes_text

Sizes = tuple[Fraction, ...]

__all__ = ["LevelRecord", "OutputRecord", "output_record"]


def _sizes(fields: tuple[Field, ...]) -> Sizes | None:
    return None if not fields or any(f.is_global for f in fields) else tuple(f.size for f in fields)


def _relative(stride: Sizes | None, resize: InputResize | None) -> Sizes | None:
    if stride is None or resize is None:
        return None
    return tuple(s / r for s, r in zip(stride, resize.scale, strict=True))


@dataclass(frozen=True)
class LevelRecord:
    """One pyramid level: the map whose positions fill ``rows`` of the output."""

    source: str
    stride: Sizes
    grid: tuple[int, ...]
    per_position: int
    rows: tuple[int, int] | None
    receptive_field: Sizes | None
    local_receptive_field: Sizes
    stride_resized: Sizes | None
    rf_start: Sizes  # the first input pixel row 0 of the level reads, per axis

    def to_dict(self) -> dict[str, Any]:
        return record_dict(self)


@dataclass(frozen=True)
class OutputRecord:
    """One returned tensor (see the module docstring)."""

    name: str
    node: str
    shape: tuple[int, ...]
    stride: Sizes | None
    receptive_field: Sizes | None
    local_receptive_field: Sizes | None
    levels: tuple[LevelRecord, ...]
    row_dim: int | None
    resize: InputResize | None
    stride_resized: Sizes | None

    def to_dict(self) -> dict[str, Any]:
        resize = self.resize
        return record_dict(
            self,
            levels=[level.to_dict() for level in self.levels],
            resize=None
            if resize is None
            else {
                "node": resize.node,
                "from": resize.sizes_in,
                "to": resize.sizes_out,
                "scale": resize.scale,
            },
        )

    def cells(self) -> list[list[str]]:
        """Table rows: the output, then one row per level."""
        rf = (
            "-"
            if self.stride is None
            else _field_text(self.receptive_field, self.local_receptive_field)
        )
        rows = [
            [
                self.name,
                "x".join(str(s) for s in self.shape),
                _stride_text(self.stride, self.stride_resized),
                rf,
                self.node,
            ]
        ]
        for level in self.levels:
            span = "chosen" if level.rows is None else f"{level.rows[0]}:{level.rows[1]}"
            grid = "x".join(str(n) for n in level.grid)
            anchors = f" ×{level.per_position}" if level.per_position > 1 else ""
            rows.append(
                [
                    f"  level {grid}{anchors}",
                    f"rows {span}",
                    _stride_text(level.stride, level.stride_resized),
                    _field_text(level.receptive_field, level.local_receptive_field),
                    level.source,
                ]
            )
        return rows


def _stride_text(stride: Sizes | None, resized: Sizes | None) -> str:
    if stride is None:
        return "-"
    text = axes_text(stride)
    return f"{text} ({axes_text(resized)} resized)" if resized is not None else text


def _field_text(rf: Sizes | None, local: Sizes | None = None) -> str:
    if rf is not None:
        return axes_text(rf)
    return f"global (windows {axes_text(local)})" if local else "global"


def _level_record(level: Level, resize: InputResize | None) -> LevelRecord:
    stride = tuple(f.jump for f in level.field)
    return LevelRecord(
        source=level.source,
        stride=stride,
        grid=level.grid,
        per_position=level.per_position,
        rows=level.rows,
        receptive_field=_sizes(level.field),
        local_receptive_field=tuple(f.size for f in level.local),
        stride_resized=_relative(stride, resize),
        rf_start=tuple(f.lo for f in level.field),
    )


def output_record(geometry: OutputGeometry) -> OutputRecord:
    """The record of one output of the outputs pass.

    >>> from stridekit.graph import GraphOutput
    >>> out = OutputGeometry(GraphOutput("logits", "conv", (1, 2, 8, 8)), True,
    ...                      (Field(4, -1, 6),) * 2, (Field(4, -1, 6),) * 2, (), None, None)
    >>> output_record(out).to_dict()["stride"], output_record(out).receptive_field
    ([4, 4], (Fraction(8, 1), Fraction(8, 1)))
    """
    positional = geometry.positional and bool(geometry.field)
    stride = tuple(f.jump for f in geometry.field) if positional else None
    resize = geometry.resize
    return OutputRecord(
        name=geometry.output.name,
        node=geometry.output.node,
        shape=geometry.output.shape,
        stride=stride,
        receptive_field=_sizes(geometry.field) if positional else None,
        local_receptive_field=tuple(f.size for f in geometry.local) if positional else None,
        levels=tuple(_level_record(level, resize) for level in geometry.levels),
        row_dim=geometry.row_dim,
        resize=resize,
        stride_resized=_relative(stride, resize),
    )
