"""Tiny hand-built graphs for doctor tests: shapes come from the geometry itself."""

from __future__ import annotations

from stridekit.geometry import Window
from stridekit.graph import Graph, Node


class Builder:
    def __init__(self, size: int = 224, channels: int = 3) -> None:
        self.graph = Graph(input_shape=(1, channels, size, size))

    def window(self, name: str, op: str, source: str, window: Window, channels: int = 8) -> str:
        shape = self.graph[source].output_shape
        out = window.output_size(shape[2])
        self.graph.add(
            Node(name, op, (source,), (shape,), (1, channels, out, out), axes=(window, window))
        )
        return name

    def merge(self, name: str, op: str, *sources: str) -> str:
        shapes = tuple(self.graph[s].output_shape for s in sources)
        self.graph.add(Node(name, op, sources, shapes, shapes[0]))
        return name

    def head(self, source: str) -> str:
        shape = self.graph[source].output_shape
        self.graph.add(Node("pool", "global_pool", (source,), (shape,), (1, shape[1], 1, 1)))
        return "pool"
