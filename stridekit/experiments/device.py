"""Where a model runs and how it is called there: the device, mixed precision, inference.

`pick_device` chooses cuda, then mps, then the CPU; `autocast` is mixed precision on a
GPU (bfloat16 where supported) and nothing elsewhere; `predict` runs a model over a
tensor batch by batch in eval mode; `synchronize` waits for the device (for timing).
Both the training loop (`stridekit.experiments.trainer`) and the metrics
(`stridekit.experiments.metrics`) run models this way, so the helpers sit below both and
neither imports the other.

>>> from torch import nn
>>> predict(nn.Conv2d(1, 2, 3), torch.zeros(5, 1, 4, 4), batch_size=2, device="cpu").shape
torch.Size([5, 2, 2, 2])
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext

import torch
from torch import nn

__all__ = ["Device", "autocast", "pick_device", "predict", "synchronize"]

Device = torch.device | str | None  # where to run: a device, its name, or None for the best


def pick_device(device: Device = None) -> torch.device:
    """``device``, or the best one present: cuda, then mps, then cpu.

    >>> pick_device("cpu")
    device(type='cpu')
    """
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def autocast(device: torch.device) -> AbstractContextManager[object]:
    """Mixed precision on a CUDA device (bfloat16 where supported, else float16); on any
    other device a context that does nothing.

    >>> with autocast(torch.device("cpu")):
    ...     (torch.ones(2) * 3).dtype
    torch.float32
    """
    if device.type != "cuda":
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def synchronize(device: torch.device) -> None:
    """Wait until the device has finished its queued work (a no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


@torch.no_grad()
def predict(
    model: nn.Module, x: torch.Tensor, batch_size: int, device: Device = None
) -> torch.Tensor:
    """The model's logits for ``x`` in eval mode, batch by batch, on the CPU as float32."""
    device = pick_device(device)
    model.eval()
    outputs = []
    for start in range(0, x.shape[0], batch_size):
        batch = x[start : start + batch_size].to(device)
        if device.type == "cuda":
            batch = batch.contiguous(memory_format=torch.channels_last)
        with autocast(device):
            outputs.append(model(batch).float().cpu())
    return torch.cat(outputs)
