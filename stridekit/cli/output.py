"""One output layer for every command: ``--format table|json|markdown``."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def console() -> Console:
    # soft_wrap keeps long lines whole so golden files do not depend on the terminal
    return Console(highlight=False, soft_wrap=False, width=120)


def emit(fmt: Format, data: dict[str, Any], table: Callable[[], list[RenderableType]]) -> None:
    """Print ``data`` as JSON, or the renderables that ``table`` builds."""
    if fmt is Format.json:
        print(json.dumps(data, indent=2))
        return
    if fmt is Format.markdown:
        print("\n\n".join(to_markdown(r) for r in table()))
        return
    out = console()
    for renderable in table():
        out.print(renderable)


def to_markdown(renderable: RenderableType) -> str:
    """A rich `Table` as a Markdown table (title as a heading); anything else as text."""
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
