"""The cost of what an ONNX model computes from constants alone.

Some models compute a tensor from weights before it meets an activation: Swin-V2's
relative-position bias is an MLP applied to a constant table of coordinates, its logit
scale is ``exp(clip(θ))``. Those ops are not nodes (they read no pixel), but their
parameters and FLOPs belong to the model, as the torch frontend counts them: each one
is charged once, to the first op that reads an activation and their result.

Parameters are the stored floating tensors (more than one element) these ops read,
except the data operand of a product (input 0 of MatMul/Gemm/Conv with rank above 2: the
coordinate table, not a weight); FLOPs are those of the products, with the formulas of
`stridekit.lowering.cost`.
"""

from __future__ import annotations

from math import prod

import onnx

from stridekit.frontends.onnx_model import FLOAT_TYPES, VIEW_OPS, Tensors
from stridekit.lowering.cost import conv_flops, matmul_flops

PRODUCTS = frozenset({"MatMul", "Gemm", "Conv", "ConvTranspose"})


class ConstantCosts:
    """Resources carried by constant tensors, charged once each (``seen`` is shared with
    the parameters the frontend counts on activation ops)."""

    def __init__(self, tensors: Tensors, seen: set[str]) -> None:
        self.tensors, self.seen = tensors, seen
        self.carried: dict[str, frozenset[str]] = {}
        self.costs: dict[str, tuple[int, int]] = {}  # resource → (params, FLOPs)

    def constant(self, node: onnx.NodeProto, index: int) -> None:
        """Record what a node that reads no activation carries into its outputs."""
        resources: set[str] = set()
        for position, name in enumerate(node.input):
            if not name:
                continue
            resources |= self.carried.get(name, frozenset())
            if node.op_type in VIEW_OPS or node.op_type == "Identity":
                continue  # its consumer sees the stored tensor through it and decides
            key, shape, origin = self.tensors.parameter(name)
            data = (
                node.op_type in PRODUCTS and position == 0 and shape is not None and len(shape) > 2
            )
            stored_float = origin == "stored" and self.tensors.types.get(key) in FLOAT_TYPES
            if shape is not None and prod(shape) > 1 and stored_float and not data:
                self.costs[key] = (prod(shape), 0)
                resources.add(key)
        flops = self._flops(node)
        if flops:
            key = f"#{index}:{node.op_type}"
            self.costs[key] = (0, flops)
            resources.add(key)
        for output in node.output:
            if output:
                self.carried[output] = frozenset(resources)

    def _flops(self, node: onnx.NodeProto) -> int:
        if node.op_type not in PRODUCTS:
            return 0
        shapes = [self.tensors.shape(t) if t else None for t in node.input[:2]]
        out = self.tensors.shape(node.output[0])
        if out is None or any(s is None for s in shapes):
            return 0
        a, w = shapes[0], shapes[1]
        assert a is not None and w is not None
        if node.op_type in ("Conv", "ConvTranspose"):
            return conv_flops(a, w, out, transposed=node.op_type == "ConvTranspose")
        return matmul_flops(a, out)

    def charge(self, node: onnx.NodeProto, active: tuple[bool, ...]) -> tuple[int, int]:
        """The parameters and FLOPs of the constants ``node`` reads, not charged before."""
        fresh: set[str] = set()
        for name, is_active in zip(node.input, active, strict=True):
            if name and not is_active:
                fresh |= self.carried.get(name, frozenset())
        fresh -= self.seen
        self.seen |= fresh
        params = sum(self.costs[r][0] for r in fresh)
        flops = sum(self.costs[r][1] for r in fresh)
        return params, flops
