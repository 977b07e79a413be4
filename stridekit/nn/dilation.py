"""Trade strides for dilation (DeepLab's atrous trick) in any model that torch.fx can trace.

Removing stride ``s`` from a layer makes every later feature map ``s`` times finer: the
pixel that was at index ``i`` is now at ``i·s``. A later window with dilation ``d`` and
padding ``p`` reads the same pixels as before if it reads the fine map with dilation
``d·s`` and padding ``p·s``; its own stride stays. So each windowed layer downstream of a
removed stride (following the data flow, not the module order) is dilated by the product
``f`` of the strides removed upstream of it, and the output at ``i·f`` equals the original
output at ``i``, with the same receptive field, while the output stride shrinks by ``f``.

Branches that meet (residual adds, concatenations) must have removed the same strides;
otherwise their maps no longer line up and the conversion raises `FieldError`. Average
pooling has no dilation, and upsampling, blur, spectral and space-to-depth layers cannot be
dilated exactly; SAME convs qualify only at stride 1 with an even total padding (their
padding is otherwise split by the input size): elsewhere downstream of a removed stride
these raise `UnsupportedError`.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from typing import Any, TypeVar, cast

import torch.fx
import torch.nn.functional as F
from torch import nn

from stridekit.errors import FieldError, ModelError, UnsupportedError, UsageError
from stridekit.nn._graph import replace, trace, working_copy
from stridekit.nn.blur_pool import BlurPool2d
from stridekit.nn.conv_same import _ConvSameMixin
from stridekit.nn.diff_stride import DiffStride2d
from stridekit.nn.space_to_depth import SpaceToDepth
from stridekit.nn.spd_conv import SPDConv
from stridekit.nn.spectral_pool import SpectralPool2d

ModelT = TypeVar("ModelT", bound=nn.Module)
Factor = tuple[int, ...]

_DILATABLE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d)
_AVG = (nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_GLOBAL = (
    nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
    nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
)  # fmt: skip
_NOT_DILATABLE = (
    nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d, nn.Upsample,
    nn.PixelShuffle, nn.PixelUnshuffle, nn.Unfold, nn.Fold, nn.LPPool1d, nn.LPPool2d,
    nn.FractionalMaxPool2d, nn.FractionalMaxPool3d, BlurPool2d, SpaceToDepth, SPDConv,
    SpectralPool2d, DiffStride2d,
)  # fmt: skip
_WINDOW_FUNCTIONS = {
    F.conv1d, F.conv2d, F.conv3d, F.max_pool1d, F.max_pool2d, F.max_pool3d, F.avg_pool1d,
    F.avg_pool2d, F.avg_pool3d, F.interpolate, F.pixel_shuffle, F.pixel_unshuffle, F.unfold,
    torch.conv1d, torch.conv2d, torch.conv3d,
}  # fmt: skip
_GLOBAL_FUNCTIONS = {F.adaptive_avg_pool1d, F.adaptive_avg_pool2d, F.adaptive_avg_pool3d}


def _tuple(value: object, dims: int) -> Factor:
    if isinstance(value, int):
        return (value,) * dims
    return tuple(int(v) for v in value)  # type: ignore[attr-defined]


def _dims(module: nn.Module) -> int:
    for dims, kinds in enumerate(
        ((nn.Conv1d, nn.MaxPool1d, nn.AvgPool1d), (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)), 1
    ):
        if isinstance(module, kinds):
            return dims
    return 3


def _strided(module: nn.Module) -> bool:
    if not isinstance(module, _DILATABLE + _AVG):
        return False
    stride = module.stride or module.kernel_size  # pools: stride None means the kernel
    return any(s != 1 for s in _tuple(stride, _dims(module)))


def _resolve(model: nn.Module, layers: Iterable[str]) -> dict[str, nn.Module]:
    modules = dict(model.named_modules())
    chosen: dict[str, nn.Module] = {}
    for name in layers:
        if name not in modules or name == "":
            close = difflib.get_close_matches(str(name), [n for n in modules if n], n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise ModelError(f"replace_stride_with_dilation: no layer named {name!r}{hint}")
        found = {
            f"{name}.{sub}" if sub else name: m
            for sub, m in modules[name].named_modules()
            if _strided(m)
        }
        if not found:
            raise UsageError(
                f"replace_stride_with_dilation: {name!r} ({type(modules[name]).__name__}) "
                "has no strided conv or pooling layer to remove"
            )
        chosen.update(found)
    return chosen


ANY: Factor = ()  # not a spatial map (parameters, globally pooled features): merges freely


def _source(node: torch.fx.Node) -> str:
    return str(node.target) if node.op == "call_module" else node.name


def _merge(node: torch.fx.Node, inputs: list[Factor | None]) -> Factor | None:
    """The factor of a node's output from its inputs' (``None``: unchanged)."""
    if not inputs:
        return None
    spatial = {None if f is None or all(v == 1 for v in f) else f for f in inputs if f != ANY}
    if not spatial:
        return ANY
    if len(spatial) > 1:
        shown = sorted("unchanged" if f is None else "×" + "×".join(map(str, f)) for f in spatial)
        raise FieldError(
            f"replace_stride_with_dilation: branches meeting at {node.name!r} (inputs "
            f"{', '.join(_source(n) for n in node.all_input_nodes)}) would be refined by "
            f"different factors ({', '.join(shown)}); remove the stride in every "
            "branch (e.g. the shortcut's downsampling conv too), so they stay aligned"
        )
    return spatial.pop()


def _dilate(name: str, module: nn.Module, factor: Factor, remove: bool) -> nn.Module:
    dims = len(factor)
    if isinstance(module, _AVG):
        if any(f != 1 for f in factor) and any(k != 1 for k in _tuple(module.kernel_size, dims)):
            raise UnsupportedError(
                f"replace_stride_with_dilation: {name} ({module}) is downstream of a removed "
                "stride but average pooling has no dilation; use a depthwise conv or max "
                "pooling there, or remove a later stride instead"
            )
        if remove:
            module.stride = 1
        return module
    stride = _tuple(module.stride or module.kernel_size, dims)
    if isinstance(module, _ConvSameMixin) and (
        remove
        or any(s != 1 for s in stride)
        or any(d * (k - 1) % 2 for d, k in zip(module.dilation, module.kernel_size, strict=True))
    ):
        # SAME_UPPER at stride s puts the odd padding pixel at the end, by n mod s: a
        # stride-1 or dilated SAME conv would read windows shifted from the original ones
        raise UnsupportedError(
            f"replace_stride_with_dilation: {name} ({type(module).__name__}, stride "
            f"{module.stride}, kernel {module.kernel_size}) is a SAME conv whose padding "
            "splits unevenly; after removing or dilating strides its windows would shift. "
            "Use an explicitly padded nn.Conv2d there"
        )
    dilation = tuple(d * f for d, f in zip(_tuple(module.dilation, dims), factor, strict=True))
    new_stride = (1,) * dims if remove else stride
    if isinstance(module, nn.Conv1d | nn.Conv2d | nn.Conv3d):
        module.dilation, module.stride = dilation, new_stride
        if not isinstance(module.padding, str):
            module.padding = tuple(p * f for p, f in zip(module.padding, factor, strict=True))
        return module
    kernel = _tuple(module.kernel_size, dims)
    padding = tuple(p * f for p, f in zip(_tuple(module.padding, dims), factor, strict=True))
    pool_type = type(module)
    if all(2 * p <= k for p, k in zip(padding, kernel, strict=True)):
        return pool_type(kernel, new_stride, padding, dilation, ceil_mode=module.ceil_mode)
    if module.ceil_mode or module.return_indices:
        raise UnsupportedError(
            f"replace_stride_with_dilation: {name} ({module}) would need padding {padding}, "
            "more than half its kernel, which PyTorch's max pooling refuses; use "
            "ceil_mode=False and return_indices=False so it can be padded explicitly"
        )
    # max pooling pads with −inf: pad explicitly, then pool without padding
    pad_layer = (nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)[dims - 1]
    flat = tuple(p for p in reversed(padding) for _ in (0, 1))
    pool = pool_type(kernel, new_stride, 0, dilation)
    return nn.Sequential(pad_layer(cast(Any, flat), float("-inf")), pool)


def _convert(
    model: nn.Module,
    target: str,
    module: nn.Module,
    incoming: Factor | None,
    remove: bool,
    seen: dict[str, Factor],
) -> Factor:
    """Dilate (and maybe un-stride) one windowed module; the factor of its output."""
    dims = _dims(module)
    factor = incoming if incoming is not None else (1,) * dims
    if len(factor) != dims:
        raise UnsupportedError(
            f"replace_stride_with_dilation: {target} is {dims}-d but follows a "
            f"{len(factor)}-d removed stride"
        )
    stride = _tuple(module.stride or module.kernel_size, dims)
    out = tuple(f * s for f, s in zip(factor, stride, strict=True)) if remove else factor
    if target in seen:  # a module called twice: converted on its first call
        if seen[target] != factor:
            raise FieldError(
                f"replace_stride_with_dilation: {target} runs on maps refined by different "
                f"factors {seen[target]} and {factor}; it cannot be dilated for both"
            )
        return out
    seen[target] = factor
    if remove or incoming is not None:
        replace(model, target, _dilate(target, module, factor, remove))
    return out


def replace_stride_with_dilation(
    model: ModelT, layers: str | Iterable[str], inplace: bool = False
) -> ModelT:
    """Remove the strides of ``layers`` and dilate every later window to keep fields.

    ``layers`` names modules: a strided conv/pooling layer, or a container whose strided
    layers are all removed (``"layer4"`` of a ResNet: its conv and its shortcut).

    >>> import torch
    >>> net = torch.nn.Sequential(
    ...     torch.nn.Conv2d(1, 4, 3, stride=2, padding=1), torch.nn.Conv2d(4, 4, 3, padding=1))
    >>> dense = replace_stride_with_dilation(net, ["0"])
    >>> dense[0].stride, dense[1].dilation, dense[1].padding
    ((1, 1), (2, 2), (2, 2))
    >>> x = torch.randn(1, 1, 16, 16)
    >>> bool(torch.allclose(dense(x)[..., ::2, ::2], net(x), atol=1e-6))
    True
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    model = working_copy(model, inplace)
    removed = _resolve(model, names)
    modules = dict(model.named_modules())
    graph = trace(model, "replace_stride_with_dilation")
    factors: dict[torch.fx.Node, Factor | None] = {}
    seen: dict[str, Factor] = {}
    for node in graph.nodes:
        if node.op == "get_attr":
            factors[node] = ANY
            continue
        incoming = _merge(node, [factors[n] for n in node.all_input_nodes])
        fine = incoming is not None and incoming != ANY
        target = str(node.target)
        module = modules.get(target) if node.op == "call_module" else None
        if isinstance(module, _GLOBAL) or node.target in _GLOBAL_FUNCTIONS:
            factors[node] = ANY
        elif module is None or not isinstance(module, _DILATABLE + _AVG):
            if fine and (node.target in _WINDOW_FUNCTIONS or isinstance(module, _NOT_DILATABLE)):
                what = (
                    type(module).__name__
                    if module is not None
                    else getattr(node.target, "__name__", target)
                )
                raise UnsupportedError(
                    f"replace_stride_with_dilation: {node.name!r} ({what}) is downstream of "
                    "a removed stride and cannot be dilated; use nn.Conv2d / nn.MaxPool2d "
                    "modules there, or remove a later stride instead"
                )
            factors[node] = incoming
        else:
            factors[node] = _convert(
                model, target, module, incoming if fine else None, target in removed, seen
            )
    unused = sorted(set(removed) - set(seen))
    if unused:
        raise ModelError(
            f"replace_stride_with_dilation: {', '.join(unused)} never run(s) in "
            f"{type(model).__name__}.forward(); name layers that the forward pass uses"
        )
    return model
