"""Which node of an analysed model a picture is about: a node's name or a module's path.

People name layers as the analysis table shows them: a node (``layer1.0.conv1``,
``layer1.0/add``) or a module (``layer3``, ``features.7``). A module stands for its
output: the last node recorded inside it.

>>> from stridekit.geometry import Window
>>> from stridekit.graph import Graph, Node
>>> from stridekit.analysis import analyze
>>> g = Graph(input_shape=(1, 1, 16, 16))
>>> w = Window(3, 2, padding=(1, 1))
>>> _ = g.add(Node("block.conv", "conv", ("input",), ((1, 1, 16, 16),), (1, 1, 8, 8), (w, w),
...                module="block.conv"))
>>> _ = g.add(Node("block.act", "elementwise", ("block.conv",), ((1, 1, 8, 8),), (1, 1, 8, 8),
...                module="block.act"))
>>> find_layer(analyze(g), "block").name, nth_layer(analyze(g), 1).name
('block.act', 'block.conv')
"""

from __future__ import annotations

import difflib

from stridekit.analysis import Analysis
from stridekit.errors import ChoiceError, SizeError
from stridekit.graph import Node


def module_nodes(analysis: Analysis, path: str) -> list[Node]:
    """The nodes recorded inside module ``path`` (its own ops and its submodules')."""
    return [n for n in analysis.graph.nodes if n.module == path or n.module.startswith(path + ".")]


def find_layer(analysis: Analysis, name: str) -> Node:
    """The node called ``name``, else the output of the module at path ``name``."""
    graph = analysis.graph
    if name in {n.name for n in graph.nodes}:
        return graph[name]
    inside = module_nodes(analysis, name)
    if inside:
        return inside[-1]
    names = [n.name for n in graph.nodes] + sorted({n.module for n in graph.nodes if n.module})
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}? " if close else ""
    raise ChoiceError(
        f"{analysis.model} has no layer or module {name!r}; {hint}(stridekit analyze "
        f"{analysis.model} lists the layers)"
    )


def nth_layer(analysis: Analysis, count: int) -> Node:
    """The ``count``-th node (from 1) that moves pixels: a window or a resample."""
    movers = [n for n in analysis.graph.nodes if n.axes]
    if not 1 <= count <= len(movers):
        raise SizeError(
            f"{analysis.model} has {len(movers)} layers with a window or a resample; "
            f"choose 1..{len(movers)}, got {count}"
        )
    return movers[count - 1]
