"""A griffe extension for the API reference: stridekit's docstrings show their examples
as bare ``>>>`` doctest blocks (run by pytest's doctest), which Markdown would read as
prose (``[2, 2, 1]`` looks like a link). Each block, from its first ``>>>`` line to the
next blank line, is wrapped in a ``pycon`` fence before mkdocstrings renders it."""

from __future__ import annotations

from typing import Any

import griffe


def fence_doctests(text: str) -> str:
    r"""Wrap every doctest block of ``text`` in a fence, at the block's indentation.

    >>> fence_doctests("Sizes:\n\n>>> f(1)\n[2, 3]\n\nDone.").splitlines()
    ['Sizes:', '', '```pycon', '>>> f(1)', '[2, 3]', '```', '', 'Done.']
    """
    out: list[str] = []
    indent: str | None = None  # the open block's indentation
    for line in text.splitlines():
        stripped = line.lstrip()
        if indent is None and stripped.startswith(">>>"):
            indent = line[: len(line) - len(stripped)]
            out.append(f"{indent}```pycon")
        elif indent is not None and not stripped:
            out.append(f"{indent}```")
            indent = None
        out.append(line)
    if indent is not None:
        out.append(f"{indent}```")
    return "\n".join(out)


class DoctestFences(griffe.Extension):
    """Fence the doctest blocks of every docstring griffe loads."""

    def on_object(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is not None and ">>>" in obj.docstring.value:
            obj.docstring.value = fence_doctests(obj.docstring.value)
