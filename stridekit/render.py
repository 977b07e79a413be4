"""Generic renderers: one rich renderable as a terminal table, plain text, Markdown or HTML.

Every result type (`Analysis`, the doctor's `Report`, `SizeSet`, `Solutions`, plans,
adaptations) builds its own rich renderable in ``__rich__`` from the helpers here and
inherits the other forms from `Result`. This module imports nothing of stridekit, so
every layer may build on it and no import cycle can form.

>>> class Sizes(Result):
...     def to_dict(self): return {"sizes": [224, 256]}
...     def __rich__(self): return table("sizes", ["n"], [["224"], ["256"]])
>>> print(Sizes().to_markdown(), end="")
### sizes
<BLANKLINE>
| n |
|---|
| 224 |
| 256 |
>>> Sizes().to_json(indent=None)
'{"sizes": [224, 256]}'
"""

from __future__ import annotations

import html
import io
import json
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Literal

from rich.console import Console, Group, RenderableType
from rich.table import Table

WIDTH = 120  # plain text and golden files do not depend on the terminal


def human(number: float) -> str:
    """``4_100_000_000`` → ``4.10G``.

    >>> human(4_100_000_000), human(11_689_512), human(12)
    ('4.10G', '11.69M', '12')
    """
    for unit, size in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(number) >= size:
            return f"{number / size:.2f}{unit}"
    return str(int(number))


def axes_text(values: Sequence[object] | None) -> str:
    """Per-axis values, once when they agree: ``(2, 2)`` → ``2``, ``(2, 4)`` → ``2x4``.

    >>> axes_text((2, 2)), axes_text((2, 4)), axes_text(None)
    ('2', '2x4', '-')
    """
    if values is None:
        return "-"
    texts = [str(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "x".join(texts)


def table(
    title: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    right: Collection[str] = (),
    overflow: Literal["fold", "crop", "ellipsis", "ignore"] = "ellipsis",
) -> Table:
    """A rich table: ``columns`` headers (those in ``right`` right-aligned), cells as text."""
    result = Table(title=title)
    for column in columns:
        result.add_column(column, justify="right" if column in right else "left", overflow=overflow)
    for row in rows:
        result.add_row(*row)
    return result


def to_markdown(renderable: RenderableType) -> str:
    """A rich `Table` as a Markdown table (title as a heading); groups in order; text as is.

    >>> from rich.text import Text
    >>> sizes = table("sizes", ["n"], [["224"]])
    >>> print(to_markdown(Group(sizes, Text("done"))))
    ### sizes
    <BLANKLINE>
    | n |
    |---|
    | 224 |
    <BLANKLINE>
    done
    """
    if isinstance(renderable, Table):
        header = [str(c.header) for c in renderable.columns]
        lines = [f"### {renderable.title}", ""] if renderable.title else []
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        lines += ["| " + " | ".join(row) + " |" for row in _cells(renderable)]
        return "\n".join(lines)
    if isinstance(renderable, Group):
        return "\n\n".join(to_markdown(r) for r in renderable.renderables)
    return str(renderable)


def to_html(renderable: RenderableType) -> str:
    """A rich `Table` as an HTML table (title as its caption), text as ``<pre>``.

    >>> print(to_html(table("sizes", ["n"], [["224"]])))
    <table><caption>sizes</caption><thead><tr><th>n</th></tr></thead><tbody><tr><td>224</td></tr></tbody></table>
    """
    if isinstance(renderable, Table):
        caption = f"<caption>{html.escape(str(renderable.title))}</caption>"
        header = "".join(f"<th>{html.escape(str(c.header))}</th>" for c in renderable.columns)
        body = "".join(
            "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>"
            for row in _cells(renderable)
        )
        return (
            f"<table>{caption if renderable.title else ''}<thead><tr>{header}</tr></thead>"
            f"<tbody>{body}</tbody></table>"
        )
    if isinstance(renderable, Group):
        return "\n".join(to_html(r) for r in renderable.renderables)
    return f"<pre>{html.escape(str(renderable))}</pre>"


def to_text(renderable: RenderableType, width: int = WIDTH) -> str:
    """What the terminal shows, as plain text ``width`` columns wide."""
    console = Console(width=width, record=True, highlight=False, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


def _cells(renderable: Table) -> list[list[str]]:
    columns = [[str(cell) for cell in c.cells] for c in renderable.columns]
    return [list(row) for row in zip(*columns, strict=True)]


class Result:
    """A result that renders itself: a subclass gives `to_dict` (JSON-ready data) and
    ``__rich__`` (its table); JSON, Markdown, plain text and HTML follow from those."""

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError

    def __rich__(self) -> RenderableType:
        raise NotImplementedError

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def to_markdown(self) -> str:
        """The table(s) as Markdown, ending with a newline."""
        return to_markdown(self.__rich__()) + "\n"

    def _repr_html_(self) -> str:
        """How Jupyter shows the result."""
        return to_html(self.__rich__())

    def __str__(self) -> str:
        return to_text(self.__rich__())
