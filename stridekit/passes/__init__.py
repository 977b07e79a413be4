"""Passes over a `Graph`: pure functions from the graph to per-node results."""

from stridekit.passes.fields import FieldResult, head_node, propagate_fields

__all__ = ["FieldResult", "head_node", "propagate_fields"]
