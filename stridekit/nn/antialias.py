"""Anti-alias a model (Zhang, ICML 2019): every stride becomes "stride 1, then BlurPool".

- ``MaxPool2d(k, s)`` → ``MaxPool2d(k, 1)`` + ``BlurPool2d(s)``;
- ``AvgPool2d(k, s, p)`` → ``BlurPool2d(s)`` with padding chosen to keep the output size
  (``f + 2p − k`` in all, split evenly; when that is negative, ``AvgPool2d(k, 1, p)`` +
  ``BlurPool2d(s)``);
- strided ``Conv2d`` → the same conv at stride 1, and a ``BlurPool2d(s)`` placed after the
  pointwise layers that follow it (norms, activations, dropout), i.e. after the
  activation: ``Conv→BN→ReLU`` becomes ``Conv(s1)→BN→ReLU→BlurPool``.

Sizes are kept: a window ``(k, s, p)`` gives ``⌊(n + 2p − e)/s⌋ + 1`` outputs; at stride 1
it gives ``n + 2p − e + 1`` and the blur (padding ``((f−1)//2, f//2)``) takes that to
``⌈(n + 2p − e + 1)/s⌉``, the same number.

Where the blur goes is read from the model's data flow (torch.fx): after the last
pointwise module when that module runs once; else before the single module that
consumes it (ResNet's blocks share one ReLU module, so the blur lands in front of
``conv2``, as in Zhang's antialiased ResNet); else right after the conv.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TypeVar

import torch.fx
import torch.nn.functional as F
from torch import nn

from stridekit.errors import UnsupportedError
from stridekit.nn._checks import check_int, check_pad_mode
from stridekit.nn._graph import replace, trace, working_copy
from stridekit.nn.blur_pool import MAX_FILTER_SIZE, BlurPool2d

ModelT = TypeVar("ModelT", bound=nn.Module)

POINTWISE_MODULES: tuple[type[nn.Module], ...] = (
    nn.BatchNorm2d, nn.SyncBatchNorm, nn.GroupNorm, nn.InstanceNorm2d, nn.Identity,
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU, nn.SiLU,
    nn.Mish, nn.Hardswish, nn.Hardsigmoid, nn.Hardtanh, nn.Sigmoid, nn.Tanh, nn.Softplus,
    nn.Dropout, nn.Dropout2d,
)  # fmt: skip
POINTWISE_FUNCTIONS = {
    F.relu, F.relu6, F.leaky_relu, F.elu, F.selu, F.gelu, F.silu, F.mish, F.hardswish,
    F.hardsigmoid, F.hardtanh, F.dropout, torch.relu, torch.sigmoid, torch.tanh,
}  # fmt: skip
POINTWISE_METHODS = {"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "tanh_", "clamp", "clamp_"}

_UNSUPPORTED = (
    nn.Conv1d, nn.Conv3d, nn.MaxPool1d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool3d, nn.LPPool2d,
)  # fmt: skip


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (value, value) if isinstance(value, int) else (int(value[0]), int(value[-1]))


def _stride(module: nn.Module) -> tuple[int, int] | None:
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        stride = _pair(module.stride)
        return stride if stride != (1, 1) else None
    return None


@dataclass
class _Edit:
    core: nn.Module
    before: list[nn.Module] = field(default_factory=list)
    after: list[nn.Module] = field(default_factory=list)

    def build(self) -> nn.Module:
        if not self.before and not self.after:
            return self.core
        return nn.Sequential(*self.before, self.core, *self.after)


def _pool_replacement(name: str, pool: nn.MaxPool2d | nn.AvgPool2d, blur: BlurPool2d) -> nn.Module:
    if pool.ceil_mode:
        raise UnsupportedError(
            f"antialias: {name} ({pool}) uses ceil_mode=True, whose output size depends on "
            "the input size in a way a stride-1 pool plus BlurPool2d cannot follow; "
            "set ceil_mode=False or pad the input"
        )
    if isinstance(pool, nn.MaxPool2d):
        if pool.return_indices:
            raise UnsupportedError(f"antialias: {name} returns indices; it cannot be blurred")
        dense = nn.MaxPool2d(pool.kernel_size, 1, pool.padding, pool.dilation)
        return nn.Sequential(dense, blur)
    (kh, kw), (ph, pw) = _pair(pool.kernel_size), _pair(pool.padding)
    total = blur.filter_size + 2 * ph - kh
    if (kh, ph) == (kw, pw) and total >= 0:
        # BlurPool's window (f, s, lo + hi) gives the AvgPool's size when lo + hi = f + 2p − k
        return BlurPool2d(
            None, blur.filter_size, blur.stride, blur.pad_mode, (total // 2, total - total // 2)
        )
    dense_avg = nn.AvgPool2d(
        pool.kernel_size, 1, pool.padding, False, pool.count_include_pad, pool.divisor_override
    )
    return nn.Sequential(dense_avg, blur)


def _is_pointwise(
    node: torch.fx.Node, source: torch.fx.Node, modules: dict[str, nn.Module]
) -> bool:
    if node.all_input_nodes != [source] or not node.args or node.args[0] is not source:
        return False
    if node.op == "call_module":
        return isinstance(modules[str(node.target)], POINTWISE_MODULES)
    if node.op == "call_function":
        return node.target in POINTWISE_FUNCTIONS
    return node.op == "call_method" and node.target in POINTWISE_METHODS


def _place_blur(
    conv: torch.fx.Node, modules: dict[str, nn.Module], calls: Counter[str]
) -> tuple[str, str]:
    """``(module name, "after" | "before")``: where the blur after ``conv`` goes."""
    chain = [conv]
    while len(chain[-1].users) == 1:
        user = next(iter(chain[-1].users))
        if not _is_pointwise(user, chain[-1], modules):
            break
        chain.append(user)
    end = chain[-1]
    if end.op == "call_module" and calls[str(end.target)] == 1:
        return str(end.target), "after"
    if len(end.users) == 1:
        consumer = next(iter(end.users))
        if (
            consumer.op == "call_module"
            and calls[str(consumer.target)] == 1
            and consumer.all_input_nodes == [end]
        ):
            return str(consumer.target), "before"
    for node in reversed(chain):  # the blur moves before shared/functional activations
        if node.op == "call_module" and calls[str(node.target)] == 1:
            return str(node.target), "after"
    return str(conv.target), "after"


def antialias(
    model: ModelT, filter_size: int = 4, pad_mode: str = "reflect", inplace: bool = False
) -> ModelT:
    """Anti-alias every strided 2-d conv and pooling layer of ``model`` with `BlurPool2d`.

    Returns the converted model: ``model`` itself when ``inplace``, else a copy. Output
    shapes are those of the original model.

    >>> import torch
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Conv2d(3, 8, 3, stride=2, padding=1), torch.nn.BatchNorm2d(8),
    ...     torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    >>> aa = antialias(net)
    >>> aa[0].stride, type(aa[2]).__name__, aa[2][1]
    ((1, 1), 'Sequential', BlurPool2d(8, filter_size=4, stride=2, pad_mode='reflect'))
    >>> aa(torch.zeros(1, 3, 33, 33)).shape == net(torch.zeros(1, 3, 33, 33)).shape
    True
    """
    check_int("antialias", "filter_size", filter_size)
    if filter_size > MAX_FILTER_SIZE:
        raise UnsupportedError(
            f"antialias: filter_size must be 1 … {MAX_FILTER_SIZE}, got {filter_size}"
        )
    check_pad_mode("antialias", pad_mode)
    model = working_copy(model, inplace)
    modules = dict(model.named_modules())
    for name, module in modules.items():
        if isinstance(module, _UNSUPPORTED) and any(s != 1 for s in _pair(module.stride)):
            raise UnsupportedError(
                f"antialias: {name or 'the model'} is a strided {type(module).__name__}; "
                "antialias handles 2-d layers only (Conv2d, MaxPool2d, AvgPool2d)"
            )
    if _stride(model) is not None:
        raise UnsupportedError(
            f"antialias: the model is a single {type(model).__name__}; wrap it in "
            "torch.nn.Sequential(...) so it can be replaced"
        )
    graph = trace(model, "antialias")
    calls = Counter(str(n.target) for n in graph.nodes if n.op == "call_module")
    edits: dict[str, _Edit] = {}

    def edit(target: str) -> _Edit:
        return edits.setdefault(target, _Edit(modules[target]))

    for node in graph.nodes:
        target = str(node.target)
        stride = _stride(modules[target]) if node.op == "call_module" else None
        if stride is None:
            continue
        module = modules[target]
        if isinstance(module, nn.Conv2d):
            module.stride = (1, 1)
            blur = BlurPool2d(module.out_channels, filter_size, stride, pad_mode)
            where, side = (
                _place_blur(node, modules, calls) if calls[target] == 1 else (target, "after")
            )
            (edit(where).after if side == "after" else edit(where).before).append(blur)
        elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d):
            blur = BlurPool2d(None, filter_size, stride, pad_mode)
            edit(target).core = _pool_replacement(target, module, blur)
    for target, change in edits.items():
        replace(model, target, change.build())
    return model
