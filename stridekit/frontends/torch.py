"""The torch frontend: run a model on meta tensors and record every aten op as a `Node`.

`trace_torch` runs one forward pass under a `TorchDispatchMode` that sees each aten op,
which activations it read (the input and anything computed from it) and what it wrote:
in-place ops and writes into views update the tensor and its base, so ``relu_`` and
views map to the op that last wrote them. Weights, buffers and tensors computed from them
alone are constants: no nodes, but an op that consumes a parameter counts its size once.

- **No copies, no real memory**: parameters and buffers are replaced by meta stand-ins
  through `torch.func.functional_call`; whatever happens, the user's model comes back
  exactly as it was (parameters, buffers, caches, train/eval flags, hooks: see
  `torch_state.preserved`), shared submodules and failed traces included.
- **Eval mode**: the graph is the inference graph. In train mode BatchNorm mixes the
  batch and all positions (and refuses a batch of one after global pooling), dropout
  draws random masks, and auxiliary heads (GoogLeNet, Inception) run: none of that is
  the geometry users ask about. Train-only branches are therefore not traced.
- **Names** come from `torch.utils.module_tracker.ModuleTracker`: a leaf module's single
  op takes the module path (``layer1.0.conv1``), other ops ``path/op`` (``layer1.0/add``),
  a module's second call ``path:1`` (``layer1.0.relu:1``), a repeated op ``path/op:1``.
- **Cost**: FLOPs from `torch.utils.flop_counter`'s formula registry (the functions
  `FlopCounterMode` uses, with the same decompositions), MACs = FLOPs / 2.
- **Geometry** from the rule registry (`torch_rules`, `torch_rules_layout`), with the
  spatial axes followed through views and permutes (`torch_layout`: ConvNeXt's Linear
  layers on NHWC pixels are 1×1 convolutions); an op without a rule becomes ``other``
  (global for fields) with ``attributes["unhandled"]``: see `unhandled_ops`. The
  recording itself lives in `torch_recorder`.

Data-dependent code (``.item()``, ``bool(tensor)``, ``nonzero``) cannot run on meta
tensors; `trace_torch` then raises a one-line `ModelError` pointing to ``device='cpu'``
(``--device cpu`` on the command line).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import torch
from torch.nn.modules.module import register_module_forward_pre_hook
from torch.utils.module_tracker import ModuleTracker

from stridekit.errors import MergeSizeError, ModelError, StrideError
from stridekit.frontends.torch_naming import assign_names, short_name
from stridekit.frontends.torch_ops import translate
from stridekit.frontends.torch_outputs import flatten_outputs
from stridekit.frontends.torch_recorder import Record, Recorder, Tracer
from stridekit.frontends.torch_state import preserved
from stridekit.geometry import Resample, Sizing
from stridekit.geometry.layout import axis_sizes, standard
from stridekit.graph import MERGE_OPS, Graph, GraphOutput, Node
from stridekit.lowering import Lowered

__all__ = ["trace_torch", "unhandled_ops"]


def _check_shape(input_shape: tuple[int, ...]) -> tuple[int, ...]:
    shape = tuple(input_shape)
    valid = all(isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shape)
    if len(shape) < 2 or not valid:
        raise ModelError(
            f"input_shape must be (N, C, *spatial) with positive integers, got {input_shape!r}"
        )
    return shape


def _stand_ins(
    model: torch.nn.Module, device: torch.device, dtype: torch.dtype
) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """Parameters and buffers on the trace device: meta stand-ins, or the user's own
    tensors when they already live there (buffers cloned, so nothing can write to them)."""

    def convert(tensor: torch.Tensor, clone: bool) -> torch.Tensor:
        kind = dtype if tensor.is_floating_point() else tensor.dtype
        if device.type == "meta":
            return torch.empty_like(tensor, device=device, dtype=kind)
        if tensor.device.type == "meta":
            raise ModelError(
                "the model's parameters are on the meta device; trace it with device='meta'"
            )
        moved = tensor.detach().to(device, kind)
        return moved.clone() if clone and moved.data_ptr() == tensor.data_ptr() else moved

    params = {name: convert(p, False) for name, p in model.named_parameters()}
    buffers = {name: convert(b, True) for name, b in model.named_buffers()}
    return params, buffers


@contextmanager
def _static_forwards(model: torch.nn.Module) -> Iterator[None]:
    """Layers whose output shape depends on a parameter's *value* (DiffStride2d) cannot
    run on meta stand-ins; such a layer offers ``stridekit_static_forward()``, a forward
    with the same shape and dependencies at its current values, used for the trace only.
    The instances' own ``forward`` attributes are restored afterwards."""
    patched: list[tuple[torch.nn.Module, object]] = []
    try:
        for module in model.modules():
            static = getattr(module, "stridekit_static_forward", None)
            if callable(static):
                patched.append((module, module.__dict__.get("forward", _MISSING)))
                module.forward = static()
        yield
    finally:
        for module, previous in patched:
            if previous is _MISSING:
                del module.forward
            else:
                setattr(module, "forward", previous)  # noqa: B010 (an instance attribute)


_MISSING = object()


def trace_torch(
    model: torch.nn.Module,
    input_shape: tuple[int, ...],
    *,
    device: str = "meta",
    dtype: torch.dtype = torch.float32,
) -> Graph:
    """Trace one forward pass of ``model`` on an input of ``input_shape`` into a `Graph`.

    ``device="meta"`` (the default) allocates nothing of the input's size and never
    touches the weights; ``device="cpu"`` (or any other device) runs real tensors, a
    seeded random input and the model's own weights (moved only if they live elsewhere),
    for models whose control flow reads values. ``dtype`` is the input's and the floating
    parameters' dtype. Raises `ModelError` when the forward pass fails.

    >>> from torch import nn
    >>> net = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1), nn.ReLU(),
    ...                     nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    >>> graph = trace_torch(net, (1, 3, 32, 32))
    >>> [(n.name, n.op, n.output_shape) for n in graph.nodes[1:]]  # doctest: +NORMALIZE_WHITESPACE
    [('0', 'conv', (1, 8, 16, 16)), ('1', 'elementwise', (1, 8, 16, 16)),
     ('2', 'global_pool', (1, 8, 1, 1)), ('3', 'elementwise', (1, 8)), ('4', 'linear', (1, 10))]
    >>> graph["0"].axes[0].describe(), graph["0"].params, graph["0"].flops
    ('k=3 s=2 p=(1,1)', 224, 110592)
    """
    shape = _check_shape(input_shape)
    graph = _trace_once(model, shape, torch.device(device), dtype)
    return _follow_shapes(graph, model, shape, torch.device(device), dtype)


def _trace_once(
    model: torch.nn.Module, shape: tuple[int, ...], target: torch.device, dtype: torch.dtype
) -> Graph:
    root = type(model).__name__
    tracker = ModuleTracker()
    tracer = Tracer(len(shape) - 2, root, tracker)
    # everything the trace swaps, switches or fills is put back, even when it fails
    with preserved(model):
        try:
            params, buffers = _stand_ins(model, target, dtype)
            for tensor in params.values():
                tracer.add_resource(tensor, tensor.numel())
            if target.type == "meta":
                x = torch.empty(shape, device=target, dtype=dtype)
            else:
                generator = torch.Generator().manual_seed(0)
                x = torch.randn(shape, generator=generator, dtype=dtype).to(target)
            tracer.records.append(
                Record("input", Lowered("input"), (), (), shape, "", 0, leaf=False)
            )
            tracer.sources[x] = (0, standard(shape, len(shape) - 2))
            model.eval()
            with torch.no_grad(), tracker, _static_forwards(model):
                hook = register_module_forward_pre_hook(tracer.enter)
                try:
                    with Recorder(tracer):
                        out = torch.func.functional_call(model, {**params, **buffers}, (x,))
                finally:
                    hook.remove()
            returned = _returned(out, tracer, root)
        except StrideError:
            raise
        except Exception as error:
            message = _failure(root, tracer, error, target)
            merge = _unequal_merge(tracer, error)
            if merge is not None:
                module, sizes = merge
                raise MergeSizeError(
                    message, module=module, op=str(tracer.current), sizes=sizes, input_shape=shape
                ) from None
            raise ModelError(message) from None
    # layers that low-pass before they subsample (BlurPool2d) say so with a class flag
    antialiased = {
        name
        for name, module in model.named_modules()
        if getattr(module, "stridekit_antialiased", False)
    }
    graph = _build(tracer.records, shape, root, antialiased)
    graph.outputs = [
        GraphOutput(name, graph.nodes[index].name, shape) for name, index, shape in returned
    ]
    return graph


def _returned(out: object, tracer: Tracer, root: str) -> list[tuple[str, int, tuple[int, ...]]]:
    """The model's outputs (`flatten_outputs`): name, the record that wrote each, shape.
    Tensors computed from no input pixel (constants) are left out; a model none of whose
    outputs depends on its input is a `ModelError`."""
    named = flatten_outputs(out, root)
    returned = []
    for name, tensor in named:
        source = tracer.source(tensor)
        if source is not None:
            returned.append((name, source[0], tuple(tensor.shape)))
    if not returned:
        names = ", ".join(name for name, _ in named)
        raise ModelError(
            f"{root}: no output depends on the input ({names} are computed from the "
            "weights alone); stridekit analyses what the input's pixels reach"
        )
    return returned


def _fixed_resizes(graph: Graph) -> list[tuple[Node, int]]:
    """The (node, axis) pairs resized to a size the trace recorded as a number."""
    return [
        (node, axis)
        for node in graph.nodes
        for axis, rule in enumerate(node.axes or ())
        if isinstance(rule, Resample)
        and rule.sizing is not None
        and rule.sizing.fixed is not None
        and rule.kind in ("nearest", "linear", "cubic")
    ]


def _follow_shapes(
    graph: Graph, model: torch.nn.Module, shape: tuple[int, ...], target: torch.device,
    dtype: torch.dtype,
) -> Graph:  # fmt: skip
    """A resize to another tensor's shape (``size=skip.shape[-2:]``: FPN, U-Net, LRASPP)
    is traced as a fixed number. Trace again at a larger input: a resize whose size moved
    follows a tensor, the one before it whose size equals it at both inputs (the latest,
    usually the skip it is merged with); its `Sizing` says so. A model that does not run
    at the second size keeps its fixed sizes."""
    fixed = _fixed_resizes(graph)
    if not fixed:
        return graph
    bigger = (*shape[:2], *(n + 32 for n in shape[2:]))
    try:
        second = _trace_once(model, bigger, target, dtype)
    except StrideError:
        return graph
    order = {node.name: i for i, node in enumerate(graph.nodes)}
    for node, axis in fixed:
        other = second.get(node.name)
        if other is None or other.spatial_shape[axis] == node.spatial_shape[axis]:
            continue  # really fixed
        matches = [
            earlier.name
            for earlier in graph.nodes[: order[node.name]]
            if earlier.name in second
            and len(earlier.spatial_shape) > axis
            and earlier.spatial_shape[axis] == node.spatial_shape[axis]
            and second[earlier.name].spatial_shape[axis] == other.spatial_shape[axis]
            and earlier.has_positions
        ]
        axes = list(node.axes or ())
        rule = axes[axis]
        assert isinstance(rule, Resample)
        sizing = Sizing(follows=matches[-1]) if matches else None
        axes[axis] = replace(rule, sizing=sizing)
        node.axes = tuple(axes)
    return graph


def _unequal_merge(
    tracer: Tracer, error: Exception
) -> tuple[str, tuple[tuple[int, ...], ...]] | None:
    """(module, each branch's spatial sizes) when the forward failed in a merge (what
    the canonical lowering makes of the call: ``aten.cat`` along channels, ``aten.add``...)
    whose branches differ in spatial size; None for any other failure."""
    call = tracer.failed
    if not isinstance(error, RuntimeError) or call is None:
        return None
    if translate(call).kind not in MERGE_OPS:
        return None
    sizes = [axis_sizes(info.layout, tracer.spatial) for info in call.activations]
    known = tuple(s for s in sizes if s is not None)
    if len(known) < 2 or len(set(known)) == 1:
        return None
    return tracer._innermost(), known


def _failure(root: str, tracer: Tracer, error: Exception, device: torch.device) -> str:
    """One line: where the forward failed, and ``device="cpu"`` when meta tensors are why.

    Meta tensors fail in two ways, both recognised by type, not by message: an op whose
    output depends on values (``nonzero``, boolean masks, ``.item()`` and ``bool()``
    through ``_local_scalar_dense``: torch tags them ``data_dependent_output`` or
    ``dynamic_output_shape``) raising a ``RuntimeError``, or an op with no meta kernel
    (``NotImplementedError``).
    """
    where = tracer._innermost() or "the top-level forward"
    op = tracer.current
    tags = set(getattr(op, "tags", ()))
    value_tags = {torch.Tag.data_dependent_output, torch.Tag.dynamic_output_shape}
    # a Python-level error after such an op ran fine (an assert on shapes) is not its fault
    data_dependent = isinstance(error, RuntimeError) and bool(tags & value_tags)
    if device.type == "meta" and (data_dependent or isinstance(error, NotImplementedError)):
        problem = "needs tensor values" if data_dependent else "cannot run on meta tensors"
        culprit = f"{op}: " if op is not None else ""
        return (
            f"{root}: the forward pass {problem} in {where} ({culprit}{type(error).__name__}); "
            "the default trace runs on meta tensors, which have shapes but no values: "
            "analyse with real tensors, device='cpu' (Python) or --device cpu (CLI)"
        )
    message = f"{root}: the forward pass failed in {where}: {type(error).__name__}: {error}"
    if op is not None:
        message += f" (last aten op: {op})"
    return message


def _build(
    records: list[Record], shape: tuple[int, ...], name: str, antialiased: set[str]
) -> Graph:
    graph = Graph(input_shape=shape, name=name)
    names = assign_names(
        [(r.module, r.call, r.leaf, short_name(r.geometry.kind, r.target)) for r in records[1:]]
    )
    names.insert(0, "input")
    for record, node_name in zip(records[1:], names[1:], strict=True):
        attributes: dict[str, object] = dict(record.geometry.notes)
        attributes.pop("op", None)
        if record.unhandled:
            attributes["unhandled"] = True
        if record.module in antialiased:
            attributes["antialiased"] = True
        sizes = axis_sizes(record.geometry.layout, len(shape) - 2)
        graph.add(
            Node(
                node_name,
                record.geometry.kind,
                tuple(names[i] for i in record.inputs),
                record.input_shapes,
                record.output_shape,
                axes=record.geometry.axes,
                params=record.params,
                flops=record.flops,
                macs=record.flops // 2,  # the formulas count a multiply-add as 2 FLOPs
                activation_bytes=record.activation_bytes,
                module=record.module,
                target=record.target,
                attributes=attributes,
                sizes=sizes,
                positional=sizes is not None,
            )
        )
    return graph


def unhandled_ops(graph: Graph) -> list[str]:
    """The aten ops of a traced graph that no geometry rule knows (treated as global).

    >>> from torch import nn
    >>> unhandled_ops(trace_torch(nn.Conv2d(3, 4, 3), (1, 3, 8, 8)))
    []
    """
    return sorted({node.target for node in graph.nodes if node.attributes.get("unhandled")})
