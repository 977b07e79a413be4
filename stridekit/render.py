"""Renderers of an `Analysis`: a rich table, plain text, Markdown.

Rows may be folded to a module depth (``depth=1`` shows ``layer1``, ``layer2``…, with
their costs summed and the shapes and fields of their last op) and pointwise ops
(activations, norms) are hidden unless ``ops="all"``.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from stridekit.errors import StrideError

if TYPE_CHECKING:
    from stridekit.analysis import Analysis, LayerRecord

OP_FILTERS = ("main", "all")
HIDDEN_BY_DEFAULT = frozenset({"elementwise"})


@dataclass(frozen=True)
class DisplayRow:
    name: str
    op: str
    shape: str
    window: str
    jump: str
    rf: str
    params: int
    macs: int


def _axes(values: Sequence[object] | None) -> str:
    if values is None:
        return "-"
    texts = [str(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "x".join(texts)


def _window(record: LayerRecord) -> str:
    if record.kernel is None or record.stride is None:
        return "-"
    text = f"k{_axes(record.kernel)} s{_axes(record.stride)}"
    if record.dilation and any(d != 1 for d in record.dilation):
        text += f" d{_axes(record.dilation)}"
    return text


def human(number: float) -> str:
    """``4_100_000_000`` → ``4.10G``.

    >>> human(4_100_000_000), human(11_689_512), human(12)
    ('4.10G', '11.69M', '12')
    """
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(number) >= size:
            return f"{number / size:.2f}{unit}"
    return str(int(number))


def _row(name: str, op: str, records: Sequence[LayerRecord]) -> DisplayRow:
    last = records[-1]
    return DisplayRow(
        name=name,
        op=op,
        shape="x".join(str(s) for s in last.output_shape),
        window=_window(last) if len(records) == 1 else "-",
        jump=_axes(last.jump) if last.jump else "-",
        rf=("global" if last.rf is None else _axes(last.rf)) if last.jump else "-",
        params=sum(r.params for r in records),
        macs=sum(r.macs for r in records),
    )


def display_rows(
    analysis: Analysis, depth: int | None = None, ops: str = "main"
) -> list[DisplayRow]:
    """The rows to show, folded to ``depth`` and filtered by ``ops``."""
    if ops not in OP_FILTERS:
        raise StrideError(f"unknown ops filter {ops!r}; choose one of {', '.join(OP_FILTERS)}")
    if depth is not None and depth < 0:
        raise StrideError(f"depth must be >= 0, got {depth}")
    groups: list[tuple[str, list[LayerRecord]]] = []
    for record in analysis.layers:
        parts = record.module.split(".") if record.module else []
        if depth and len(parts) > depth:
            key = ".".join(parts[:depth])
            if groups and groups[-1][0] == key:
                groups[-1][1].append(record)
            else:
                groups.append((key, [record]))
            continue
        groups.append(("", [record]))
    rows = []
    for key, records in groups:
        if key and len(records) > 1:
            rows.append(_row(key, "module", records))
        elif ops == "all" or records[0].op not in HIDDEN_BY_DEFAULT:
            rows.append(_row(records[0].name, records[0].op, records))
    return rows


def _totals_lines(analysis: Analysis) -> list[str]:
    rf = analysis.receptive_field
    local = analysis.local_receptive_field
    rf_text = "global" if rf is None else _axes(rf)
    if rf is None and local:
        rf_text += f" (sliding windows alone: {_axes(local)})"
    lines = [
        f"params {analysis.total_params:,}   MACs {human(analysis.total_macs)}   "
        f"FLOPs {human(analysis.total_flops)}",
        f"output stride {_axes(analysis.output_stride)}   receptive field {rf_text}   "
        f"(at {analysis.head.name})",
    ]
    if analysis.unused_params:
        lines.append(
            f"{analysis.unused_params:,} declared parameters are never used by the traced "
            "forward (eval mode: e.g. auxiliary heads)"
        )
    if analysis.unhandled:
        lines.append(f"ops without a rule (treated as global): {', '.join(analysis.unhandled)}")
    return lines


COLUMNS = ("name", "op", "output", "window", "jump", "rf", "params", "MACs")


def _cells(row: DisplayRow) -> list[str]:
    return [
        row.name,
        row.op,
        row.shape,
        row.window,
        row.jump,
        row.rf,
        f"{row.params:,}",
        human(row.macs),
    ]


def analysis_table(analysis: Analysis, depth: int | None = None, ops: str = "main") -> Group:
    """A rich renderable: the per-layer table and the totals."""
    shape = "x".join(str(s) for s in analysis.input_shape)
    table = Table(title=f"{analysis.model} at {shape}")
    for column in COLUMNS:
        table.add_column(column, justify="right" if column in ("params", "MACs") else "left")
    for row in display_rows(analysis, depth, ops):
        table.add_row(*_cells(row))
    return Group(table, Text("\n".join(_totals_lines(analysis))))


def render_text(
    analysis: Analysis, depth: int | None = None, ops: str = "main", width: int = 120
) -> str:
    console = Console(width=width, record=True, highlight=False, file=io.StringIO())
    console.print(analysis_table(analysis, depth, ops))
    return console.export_text()


def analysis_markdown(analysis: Analysis, depth: int | None = None, ops: str = "main") -> str:
    """The analysis table and its totals as Markdown."""
    return to_markdown(analysis_table(analysis, depth, ops)) + "\n"


def to_markdown(renderable: RenderableType) -> str:
    """A rich `Table` as a Markdown table (title as a heading); groups in order; text as is.

    >>> table = Table(title="sizes")
    >>> table.add_column("n"); table.add_row("224")
    >>> print(to_markdown(Group(table, Text("done"))))
    ### sizes
    <BLANKLINE>
    | n |
    |---|
    | 224 |
    <BLANKLINE>
    done
    """
    if isinstance(renderable, Table):
        columns = renderable.columns
        header = [str(c.header) for c in columns]
        cells = [[str(cell) for cell in c.cells] for c in columns]
        lines = []
        if renderable.title:
            lines += [f"### {renderable.title}", ""]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in zip(*cells, strict=True)]
        return "\n".join(lines)
    if isinstance(renderable, Group):
        return "\n\n".join(to_markdown(r) for r in renderable.renderables)
    return str(renderable)
