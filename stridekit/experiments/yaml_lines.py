"""YAML with line numbers: the data (safe loader only) and the line of every value in it.

An error about a field of a YAML file should say where the field is. PyYAML's composer
keeps each node's position; constructing the data from the same nodes and walking both
side by side gives a map ``path → line`` (``("training", "lr") → 7``, list items by index).

>>> data, lines = load_with_lines("training:\\n  lr: 0.1\\n  epochs: [1, 2]\\n")
>>> data
{'training': {'lr': 0.1, 'epochs': [1, 2]}}
>>> lines[("training", "lr")], lines[("training", "epochs", 1)]
(2, 3)
>>> line_of(lines, ("training", "lr", "extra"))   # the nearest known parent
2
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

Path = tuple[int | str, ...]


def load_with_lines(text: str) -> tuple[Any, dict[Path, int]]:
    """The document's data (``yaml.SafeLoader``) and the 1-based line of each path in it."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    finally:
        loader.dispose()
    lines: dict[Path, int] = {}
    if node is not None:
        _walk(node, data, (), lines)
    return data, lines


def _walk(node: yaml.Node, data: Any, path: Path, lines: dict[Path, int]) -> None:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode) and isinstance(data, dict):
        for key_node, value_node in node.value:
            key = key_node.value
            if key in data:  # merge keys (<<) and odd keys are skipped, not guessed
                _walk(value_node, data[key], (*path, key), lines)
    elif isinstance(node, yaml.SequenceNode) and isinstance(data, list):
        for index, item_node in enumerate(node.value):
            if index < len(data):
                _walk(item_node, data[index], (*path, index), lines)


def line_of(lines: dict[Path, int], path: Sequence[int | str]) -> int | None:
    """The line of ``path``, or of its nearest parent that the file spells out."""
    keys = tuple(path)
    while keys:
        if keys in lines:
            return lines[keys]
        keys = keys[:-1]
    return None
