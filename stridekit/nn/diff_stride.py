"""DiffStride (Riad et al., ICLR 2022): spectral pooling whose stride is learned.

Per axis the layer keeps the DFT band ``|k| < T + R`` of an ``n``-pixel input, with the box
half-width ``T = n / (2·S)`` set by the learnable stride ``S`` and a linear ramp of
``R = smoothness`` bins: ``mask(k) = clamp((T + R − |k|) / R, 0, 1)``. The bins on the ramp
depend on ``S``, so the loss reaches ``S`` through the mask; the crop itself is a step.

**Output size** (exact, `stridekit.geometry.spectral.spectral_output_size`):
``m = min(n, 2·(⌈n/(2S) + R⌉ − 1) + 1)``, about ``n/S + 2R`` — the ramp keeps a margin of
about ``2·smoothness`` bins beyond ``n/S``, as in the published layer. The layer evaluates
``|k| < T + R`` in float64 (to be traceable), which agrees with the exact rule except for
strides within about 1e-12 of a bin edge. The effective stride is ``max(S, 1)``, applied
with a straight-through gradient so that a stride pushed below 1 can still come back.

The output shape depends on the *value* of ``S``: ``torch.compile`` breaks the graph at
the crop, ``torch.export`` records data-dependent sizes. ONNX cannot express the
value-dependent crop: the TorchScript exporter (``dynamo=False``) raises `UnsupportedError`
from this layer; the dynamo exporter retries past that error and fails with its own
``ConversionError``. To deploy, `stridekit.nn.freeze_strides` replaces the layer by a
`SpectralPool2d` with static shapes (two constant matrices, two ONNX MatMuls).

The transform is computed as two small real matrices per call (see
`stridekit.nn.spectral_pool`): the same map as FFT → mask → crop → inverse FFT, faster on
CPU at feature-map sizes.

>>> import torch
>>> DiffStride2d()(torch.zeros(1, 8, 56, 56)).shape        # 2·(⌈14 + 4⌉ − 1) + 1 = 35
torch.Size([1, 8, 35, 35])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from stridekit.errors import InvalidWindowError, ModelError, OutputSizeError, UnsupportedError
from stridekit.geometry.spectral import spectral_output_size
from stridekit.nn.spectral_pool import (
    _check_smoothness,
    apply_axis_operators,
    axis_operator,
    spectral_pool2d,
)


def effective_stride(stride: torch.Tensor) -> torch.Tensor:
    """``max(stride, 1)`` in value, with the gradient of ``stride`` (straight-through)."""
    return stride + (stride.clamp(min=1.0) - stride).detach()


def _soft_operator(
    n: int, stride: torch.Tensor, smoothness: float, dtype: torch.dtype
) -> torch.Tensor:
    k = torch.fft.fftfreq(n, d=1.0 / n, dtype=torch.float64, device=stride.device)
    edge = n / (2 * stride.to(torch.float64)) + smoothness  # T + R
    mask = ((edge - k.abs()) / smoothness).clamp(0.0, 1.0)
    keep = torch.nonzero(edge - k.abs() > 0).squeeze(1)
    torch._check(keep.shape[0] >= 1)
    torch._check(keep.shape[0] <= n)
    return axis_operator(n, k[keep], mask[keep], dtype)


def diff_stride2d(x: torch.Tensor, strides: torch.Tensor, smoothness: float = 4.0) -> torch.Tensor:
    """DiffStride of ``x`` (batch, channels, h, w) with ``strides`` of shape ``(2,)`` or
    ``(1,)`` (shared); differentiable w.r.t. ``strides``.

    >>> import torch
    >>> s = torch.tensor([2.0, 3.0], requires_grad=True)
    >>> y = diff_stride2d(torch.randn(1, 1, 32, 32), s, smoothness=2.0)
    >>> y.shape                                 # 2·(⌈8 + 2⌉ − 1) + 1, 2·(⌈5.33 + 2⌉ − 1) + 1
    torch.Size([1, 1, 19, 15])
    >>> y.square().sum().backward(); bool(s.grad.ne(0).all())
    True
    """
    r = _check_smoothness("diff_stride2d", smoothness, positive=True)
    if x.dim() != 4:
        raise OutputSizeError(
            f"diff_stride2d: expected a 4-d input (batch, channels, height, width), "
            f"got shape {tuple(x.shape)}"
        )
    if strides.dim() != 1 or strides.shape[0] not in (1, 2):
        raise InvalidWindowError(
            f"diff_stride2d: strides must have shape (2,) or (1,), got {tuple(strides.shape)}"
        )
    h, w = x.shape[-2:]
    s = effective_stride(strides)
    s_h, s_w = s[0], s[-1]
    return apply_axis_operators(
        x, _soft_operator(h, s_h, r, x.dtype), _soft_operator(w, s_w, r, x.dtype)
    )


def _pair(value: float | Sequence[float]) -> tuple[float, ...]:
    return (value, value) if isinstance(value, int | float) else tuple(value)


class DiffStride2d(nn.Module):
    """Spectral pooling with learnable real strides ``(S_h, S_w)`` (one if ``shared``).

    >>> DiffStride2d(init_stride=2.0, smoothness=4.0)
    DiffStride2d(init_stride=(2.0, 2.0), smoothness=4.0)
    >>> DiffStride2d(init_stride=0.5)
    Traceback (most recent call last):
    ...
    stridekit.errors.InvalidWindowError: DiffStride2d: init_stride must be finite numbers >= 1, got 0.5
    """  # noqa: E501

    # stridekit's doctor reads this: the layer low-passes before it subsamples
    stridekit_antialiased = True

    def __init__(
        self,
        init_stride: float | Sequence[float] = 2.0,
        smoothness: float = 4.0,
        shared: bool = False,
    ) -> None:
        super().__init__()
        name = type(self).__name__
        values = _pair(init_stride)
        valid = len(values) == 2 and all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= 1
            for v in values
        )
        if not valid:
            raise InvalidWindowError(
                f"{name}: init_stride must be finite numbers >= 1, got {init_stride!r}"
            )
        if shared and values[0] != values[1]:
            raise InvalidWindowError(
                f"{name}: shared=True learns one stride for both axes, got init_stride "
                f"{init_stride!r}; give one number or use shared=False"
            )
        self.smoothness = _check_smoothness(name, smoothness, positive=True)
        self.shared = bool(shared)
        init = [float(values[0])] if shared else [float(v) for v in values]
        self.strides = nn.Parameter(torch.tensor(init, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if torch.onnx.is_in_onnx_export():
            raise UnsupportedError(
                "DiffStride2d cannot be exported to ONNX: its output size depends on the "
                "value of the learned stride; call stridekit.nn.freeze_strides(model) first "
                "(SpectralPool2d exports as two MatMuls)"
            )
        return diff_stride2d(x, self.strides, self.smoothness)

    def stridekit_static_forward(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """The layer frozen at its current strides, for shape-only tracing.

        stridekit's analysis runs models on meta tensors, where the stride's value cannot
        be read; it calls this method first (with real parameters) and traces the returned
        forward instead: the `SpectralPool2d` that `freeze_strides` would give, with the
        same output size, the same ops (so the same FLOPs) and a dependency on the stride
        parameter (so the parameter count stays right).

        >>> import torch
        >>> layer = DiffStride2d(2.0, smoothness=4.0)
        >>> layer.stridekit_static_forward()(torch.zeros(1, 8, 56, 56)).shape
        torch.Size([1, 8, 35, 35])
        """
        strides = self.effective_strides()
        smoothness = self.smoothness

        def forward(x: torch.Tensor) -> torch.Tensor:
            frozen = spectral_pool2d(x, strides, smoothness)
            return frozen + self.strides.sum().to(frozen.dtype) * 0  # keeps the parameter

        return forward

    def effective_strides(self) -> tuple[float, float]:
        """The strides in use, ``max(S, 1)`` per axis, as floats (height, width)."""
        values = [max(1.0, float(v)) for v in self.strides.detach().cpu().tolist()]
        return (values[0], values[-1])

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The output size for an input of ``height × width`` at the current strides.

        >>> DiffStride2d(init_stride=(2.0, 4.0), smoothness=1.0).output_size(32, 32)
        (17, 9)
        """
        s_h, s_w = self.effective_strides()
        return (
            spectral_output_size(height, s_h, self.smoothness),
            spectral_output_size(width, s_w, self.smoothness),
        )

    def extra_repr(self) -> str:
        # the current strides as init_stride: the repr rebuilds the layer as it is now
        values = [round(float(v), 4) for v in self.strides.detach().cpu().tolist()]
        stride = values[0] if self.shared else tuple(values)
        text = f"init_stride={stride}, smoothness={self.smoothness}"
        return text + (", shared=True" if self.shared else "")


def stride_penalty(model: nn.Module, cumulative: bool = True) -> torch.Tensor:
    """The complexity regulariser of DiffStride: ``Σ_l Π_{i≤l} 1 / (S_h^i · S_w^i)``.

    Layer ``l``'s output area, hence the cost of what follows it, is proportional to the
    product of ``1/(S_h·S_w)`` over DiffStride layers up to ``l`` (taken in the order
    ``model.modules()`` lists them, i.e. registration order). It grows as strides shrink.
    ``cumulative=False`` sums the per-layer ``1/(S_h·S_w)`` instead.

    >>> import torch
    >>> model = torch.nn.Sequential(DiffStride2d(2.0), DiffStride2d(2.0))
    >>> stride_penalty(model).item()              # 1/4 + 1/4·1/4
    0.3125
    """
    layers = [m for m in model.modules() if isinstance(m, DiffStride2d)]
    if not layers:
        raise ModelError(
            f"stride_penalty: {type(model).__name__} has no DiffStride2d layer; "
            "add some (or drop the penalty)"
        )
    areas = []
    for layer in layers:
        s = effective_stride(layer.strides)
        areas.append(1.0 / (s[0] * s[-1]))
    terms = torch.cumprod(torch.stack(areas), 0) if cumulative else torch.stack(areas)
    return terms.sum()
