"""Passes over a `Graph`: pure functions from the graph to per-node results."""

from stridekit.passes.fields import FieldResult, head_node, propagate_fields
from stridekit.passes.sizes import model_valid_sizes

__all__ = ["FieldResult", "head_node", "model_valid_sizes", "propagate_fields"]
