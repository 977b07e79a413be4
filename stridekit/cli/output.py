"""One output layer for every command: ``--format table|json|markdown``."""

from __future__ import annotations

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from rich.console import Console, RenderableType

from stridekit.render import to_markdown


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
