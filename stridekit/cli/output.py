"""One output layer for every command: print a result as ``--format table|json|markdown``.

A command hands `emit` a library result (`stridekit.render.Result`); the result knows its
data (`to_dict`), its Markdown and its rich table, so no command builds either.
"""

from __future__ import annotations

from enum import StrEnum

from rich.console import Console

from stridekit.render import WIDTH, Result


class Format(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


def console() -> Console:
    # soft_wrap keeps long lines whole so golden files do not depend on the terminal
    return Console(highlight=False, soft_wrap=False, width=WIDTH)


def emit(result: Result, fmt: Format) -> None:
    """Print ``result`` in the format asked for."""
    if fmt is Format.json:
        print(result.to_json(indent=2))
    elif fmt is Format.markdown:
        print(result.to_markdown(), end="")
    else:
        console().print(result)
