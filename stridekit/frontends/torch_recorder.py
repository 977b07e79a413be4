"""The recording half of the torch frontend: a dispatch mode that turns aten calls into
records (op, inputs, shapes, geometry, cost) and remembers which tensor came from which.

- An *activation* is the model input or anything computed from it; its source is the
  record that last wrote it: in-place ops and writes into a view update the tensor and
  its base (``_base``), so ``relu_`` and views map to the op that last wrote them.
- A *constant* (weights, buffers, tensors computed from them alone) gives no record but
  carries *resources*: the parameters and the FLOPs of the constant ops behind it, each
  charged once, to the first record that consumes it.
- Ops that `FlopCounterMode` would decompose are decomposed here too (unless a geometry
  rule knows them), so FLOPs match it exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import torch
from torch.utils import flop_counter
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.module_tracker import ModuleTracker
from torch.utils.weak import WeakTensorKeyDictionary

from stridekit.frontends.torch_ops import TRANSLATIONS, OpCall, TensorInfo, translate
from stridekit.frontends.torch_writes import view_placement
from stridekit.geometry.layout import Layout, resize
from stridekit.graph import MERGE_OPS
from stridekit.lowering import Lowered

# ops that return an input's values unchanged: no node, the output maps to the input's
# (so does as_strided to the same shape: a change of memory format)
ALIASES = frozenset(
    {"aten.alias", "aten.detach", "aten.clone", "aten._to_copy", "aten.lift_fresh"}
    | {"aten.lift_fresh_copy", "aten.view_as", "aten.contiguous"}
)
# ops that read only an activation's shape: their output depends on no pixel
SHAPE_ONLY = frozenset(
    f"aten.{name}"
    for name in (
        *(f"{kind}_like" for kind in ("empty", "zeros", "ones", "full", "rand", "randn")),
        *(f"new_{kind}" for kind in ("empty", "zeros", "ones", "full", "empty_strided")),
        "scalar_tensor",
    )
)
_ATEN = torch.ops.aten
_METADATA = frozenset(  # FlopCounterMode leaves these to the default handler too
    {
        _ATEN.is_contiguous.default,
        _ATEN.is_contiguous.memory_format,
        _ATEN.is_strides_like_format.default,
        _ATEN.is_non_overlapping_and_dense.default,
        _ATEN.size.default,
        _ATEN.sym_size.default,
        _ATEN.stride.default,
        _ATEN.sym_stride.default,
        _ATEN.storage_offset.default,
        _ATEN.sym_storage_offset.default,
        _ATEN.numel.default,
        _ATEN.sym_numel.default,
        _ATEN.dim.default,
        torch.ops.prim.layout.default,
    }
)


Source = tuple[int, Layout | None]  # the record that wrote a tensor, and its layout


def _batch_norm_on_meta(args: tuple, kwargs: dict) -> object:
    """Inference BatchNorm on meta tensors: the output is shaped like the input and the
    saved statistics are ``(C,)`` in the op-math dtype. Torch computes this through a
    Python decomposition that costs ~0.5 ms a call (25 of ResNet-50's 28 ms on meta);
    the tests compare both for every layout and dtype they trace."""
    x, training = args[0], args[5] if len(args) > 5 else kwargs.get("training")
    if training or not isinstance(x, torch.Tensor) or x.device.type != "meta":
        return NotImplemented
    low = x.dtype in (torch.float16, torch.bfloat16)
    stats = x.new_empty((x.shape[1],), dtype=torch.float32 if low else x.dtype)
    return torch.empty_like(x), stats, torch.empty_like(stats)


# meta kernels torch runs slowly, for ops whose outputs only matter through their shapes
META_SHORTCUTS = {_ATEN.native_batch_norm.default: _batch_norm_on_meta}


def _roll_as_slices(x: torch.Tensor, shifts: Any, dims: Any = ()) -> Any:
    """``torch.roll`` as the two slices and the concatenation it is (and as the ONNX
    exporter writes it), so the slices are read by the lowering's rules on both sides:
    along axis ``d`` of size ``n`` by ``s``, ``cat([x[n-s:], x[:n-s]])``. A roll of the
    flattened tensor (no ``dims``) is left to its own rule.

    >>> _roll_as_slices(torch.arange(5), [2], [0]).tolist()
    [3, 4, 0, 1, 2]
    """
    shifts = [shifts] if isinstance(shifts, int) else list(shifts)
    dims = [dims] if isinstance(dims, int) else list(dims)
    if not dims or len(dims) != len(shifts):
        return NotImplemented
    for shift, dim in zip(shifts, dims, strict=True):
        size = x.shape[dim]
        cut = size - shift % size if size else 0
        if 0 < cut < size:
            x = torch.cat([x.narrow(dim, cut, size - cut), x.narrow(dim, 0, cut)], dim)
    return x


# aten ops the tracer records as the ops they are made of (the recorder runs them under
# itself, so each part is read by its own rule)
DECOMPOSITIONS = {_ATEN.roll.default: _roll_as_slices}


@dataclass(frozen=True)
class _OpInfo:
    target: str  # aten.relu for relu_ and relu: in-place variants share the rule
    names: tuple[str, ...]  # schema argument names
    written: tuple[int, ...]  # indices of arguments the op writes (in place, out=)
    pointwise: bool


@cache
def _op_info(func: torch._ops.OpOverload) -> _OpInfo:
    arguments = func._schema.arguments
    written = tuple(i for i, a in enumerate(arguments) if a.alias_info and a.alias_info.is_write)
    target = f"{func.namespace}.{func._overloadpacket.__name__.rstrip('_') or '_'}"
    return _OpInfo(
        target, tuple(a.name for a in arguments), written, torch.Tag.pointwise in func.tags
    )


def _tensors(value: object) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [v for v in value if isinstance(v, torch.Tensor)]
    return []


@dataclass
class Record:
    """One recorded op, before names are assigned."""

    target: str
    geometry: Lowered
    inputs: tuple[int, ...]
    input_shapes: tuple[tuple[int, ...], ...]
    output_shape: tuple[int, ...]
    module: str
    call: int
    leaf: bool
    params: int = 0
    flops: int = 0
    activation_bytes: int = 0
    unhandled: bool = False


@dataclass
class Tracer:
    """The state of one trace: which tensor came from which record, and constant costs."""

    spatial: int
    root: str
    tracker: ModuleTracker
    records: list[Record] = field(default_factory=list)
    # activation tensor → (record index, layout); index 0 is the model input
    sources: Any = field(default_factory=WeakTensorKeyDictionary)
    # constant tensor → resources it carries (parameters, FLOPs of constant ops)
    resources: Any = field(default_factory=WeakTensorKeyDictionary)
    costs: list[tuple[int, int]] = field(default_factory=list)  # resource → (params, flops)
    charged: set[int] = field(default_factory=set)
    calls: dict[str, int] = field(default_factory=dict)
    leaves: dict[str, bool] = field(default_factory=dict)
    current: object = None  # the last aten op run, for error messages
    failed: OpCall | None = None  # the call that raised, as its translation would see it

    # --- modules ----------------------------------------------------------------------

    def _innermost(self) -> str:
        parents = [p for p in self.tracker.parents if p != "Global"]
        name = max(parents, key=lambda p: (p.count("."), p)) if parents else self.root
        if name == self.root:
            return ""
        return name.removeprefix(self.root + ".")

    def enter(self, module: torch.nn.Module, args: object) -> None:
        """Forward pre-hook (after ModuleTracker's): count the calls of each module."""
        path = self._innermost()
        self.calls[path] = self.calls.get(path, -1) + 1
        self.leaves[path] = next(module.children(), None) is None

    # --- tensors ----------------------------------------------------------------------

    def source(self, tensor: torch.Tensor) -> Source | None:
        """The record that last wrote a tensor (or its base, for views), or None."""
        own = self.sources.get(tensor)
        base = tensor._base
        if base is None:
            return own
        written = self.sources.get(base)
        if written is None or (own is not None and own[0] >= written[0]):
            return own
        layout = own[1] if own is not None else resize(written[1], tensor.shape)
        return written[0], layout

    def add_resource(self, tensor: torch.Tensor, params: int, flops: int = 0) -> None:
        self.costs.append((params, flops))
        self.resources[tensor] = frozenset({len(self.costs) - 1})

    def constant(self, out: object, inputs: list[torch.Tensor], flops: int) -> None:
        carried: frozenset[int] = frozenset().union(*(self.resources.get(t, ()) for t in inputs))
        if flops:
            self.costs.append((0, flops))
            carried |= {len(self.costs) - 1}
        if carried:
            for tensor in _tensors(out):
                self.resources[tensor] = carried

    def _charge(self, constants: list[torch.Tensor]) -> tuple[int, int]:
        fresh = set().union(*(self.resources.get(t, ()) for t in constants)) - self.charged
        self.charged |= fresh
        return sum(self.costs[r][0] for r in fresh), sum(self.costs[r][1] for r in fresh)

    def _info(
        self, value: object, found: dict[int, Source | None], written: bool = False
    ) -> object:
        if isinstance(value, torch.Tensor):
            source = found[id(value)]
            base = value._base
            return TensorInfo(
                tuple(value.shape),
                source[1] if source else None,
                source is not None,
                tuple(base.shape) if base is not None else None,
                view_placement(value, base) if written and base is not None else None,
            )
        if isinstance(value, list | tuple) and any(isinstance(v, torch.Tensor) for v in value):
            return [self._info(v, found) for v in value]
        return value

    def _call(self, func: Any, args: tuple, kwargs: dict, shapes: tuple[tuple[int, ...], ...],
              found: dict[int, Source | None]) -> OpCall:  # fmt: skip
        info = _op_info(func)
        bound = {
            name: self._info(value, found, i in info.written)
            for i, (name, value) in enumerate(zip(info.names, args, strict=False))
        }
        bound.update({name: self._info(value, found) for name, value in kwargs.items()})
        return OpCall(info.target, bound, shapes, self.spatial, info.pointwise)

    def fail(self, func: Any, args: tuple, kwargs: dict, found: dict[int, Source | None]) -> None:
        """Keep the call that raised (its output shaped like its first activation), so the
        failure can be judged by what the op is (`translate`), not by its message."""
        first = next(t for v in (*args, *kwargs.values()) for t in _tensors(v) if found[id(t)])
        self.failed = self._call(func, args, kwargs, (tuple(first.shape),), found)

    def record(self, func: Any, args: tuple, kwargs: dict, out: object, flops: int,
               found: dict[int, Source | None]) -> None:  # fmt: skip
        """Append the record of an op that read activations (``found``: tensor id → source)."""
        info = _op_info(func)
        outputs = _tensors(out)
        shapes = tuple(tuple(t.shape) for t in outputs)
        call = self._call(func, args, kwargs, shapes, found)
        geometry = translate(call)
        inputs: dict[int, tuple[int, ...]] = {}
        constants = []
        for value in (*args, *kwargs.values()):
            for tensor in _tensors(value):
                source = found[id(tensor)]
                if source is None:
                    constants.append(tensor)
                else:
                    inputs.setdefault(source[0], tuple(tensor.shape))
        if geometry.kind in MERGE_OPS and len(inputs) < 2:
            geometry = replace(geometry, kind="elementwise")
        params, constant_flops = self._charge(constants)
        path = self._innermost()
        first = outputs[0] if outputs else None
        written = [t for i in info.written if i < len(args) for t in _tensors(args[i])]
        written += _tensors(kwargs.get("out"))
        shape = shapes[0] if shapes else ()
        if geometry.shape is not None and any(t._base is not None for t in written):
            shape = geometry.shape  # a write into a view: the node is the whole tensor
        self.records.append(
            Record(
                target=str(func),
                geometry=geometry,
                inputs=tuple(inputs),
                input_shapes=tuple(inputs.values()),
                output_shape=shape,
                module=path,
                call=max(self.calls.get(path, 0), 0),
                leaf=self.leaves.get(path, False),
                params=params,
                flops=flops + constant_flops,
                activation_bytes=first.numel() * first.element_size() if first is not None else 0,
                unhandled=geometry.unhandled,
            )
        )
        index = len(self.records) - 1
        for tensor in (*outputs, *written):
            layout = geometry.layout
            if layout is not None and len(layout) != tensor.dim():
                layout = resize(layout, tensor.shape)
            self.sources[tensor] = (index, layout)
        for tensor in written:
            if tensor._base is not None:
                self.sources[tensor._base] = (index, resize(geometry.layout, tensor._base.shape))

    def alias(self, out: object, source: Source) -> None:
        for tensor in _tensors(out):
            self.sources[tensor] = source


class Recorder(TorchDispatchMode):
    """Dispatches each aten op to the tracer; mirrors FlopCounterMode's decompositions."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self.tracer = tracer

    def __torch_dispatch__(
        self, func: Any, types: Any, args: tuple = (), kwargs: dict | None = None
    ) -> Any:
        kwargs = kwargs or {}
        if func in _METADATA:
            return NotImplemented
        tracer = self.tracer
        tracer.current, tracer.failed = func, None
        info = _op_info(func)
        tensors = [t for v in (*args, *kwargs.values()) for t in _tensors(v)]
        found = {id(t): tracer.source(t) for t in tensors}
        sources = [s for s in found.values() if s is not None]
        registry = flop_counter.flop_registry
        packet = func._overloadpacket
        restride = info.target == "aten.as_strided" and tuple(args[1]) == tuple(args[0].shape)
        if sources and (info.target in ALIASES or restride):
            out = func(*args, **kwargs)
            tracer.alias(out, sources[0])
            return out
        decomposition = DECOMPOSITIONS.get(func) if sources else None
        if decomposition is not None:
            with self:
                decomposed = decomposition(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        ruled = sources and (info.pointwise or info.target in TRANSLATIONS)
        if not ruled and packet not in registry and func is not torch.ops.prim.device.default:
            with self:
                decomposed = func.decompose(*args, **kwargs)
            if decomposed is not NotImplemented:
                return decomposed
        shortcut = META_SHORTCUTS.get(func)
        out = shortcut(args, kwargs) if shortcut is not None else NotImplemented
        if out is NotImplemented:
            try:
                out = func(*args, **kwargs)
            except RuntimeError:
                if sources:
                    tracer.fail(func, args, kwargs, found)
                raise
        flops = int(registry[packet](*args, **kwargs, out_val=out)) if packet in registry else 0
        if not sources or info.target in SHAPE_ONLY:
            tracer.constant(out, tensors, flops)
        else:
            tracer.record(func, args, kwargs, out, flops, found)
        return out
