"""The training loop: plain PyTorch over in-memory tensors, fast enough to measure strides.

One loop for classification and segmentation (cross-entropy over classes, per image or
per pixel) and detection (CenterNet's loss, `stridekit.experiments.detection_loss`).
On the CPU a seed fixes everything (the model's initialisation, the order of
the batches, the augmentation), so the same trial gives the same numbers twice. On a GPU
the loop uses channels-last and mixed precision (bfloat16 where supported). A loss that
becomes NaN or infinite, or grows to `DIVERGENCE` times its first value, stops the trial
with `TrialFailed` and the reason.

>>> from stridekit.experiments.datasets import load_dataset
>>> from stridekit.experiments.models import build_model
>>> from stridekit.experiments.spec import DatasetConfig, ModelConfig, TrainingConfig
>>> data = load_dataset(DatasetConfig(name="synthetic-detail",
...                                   options={"n_train": 64, "n_test": 16, "size": 16}))
>>> seed_everything(0)
>>> model = build_model(ModelConfig(strides=(2, 2), width=4), data.info)
>>> outcome = train(model, data, TrainingConfig(epochs=2, batch_size=32), seed=0)
>>> len(outcome.epoch_times), outcome.steps, outcome.stopped_at
(2, 4, None)
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from stridekit.errors import TrialFailed
from stridekit.experiments.data import Dataset, Split
from stridekit.experiments.detection_loss import centernet_loss
from stridekit.experiments.device import Device, autocast, pick_device, predict
from stridekit.experiments.spec import AugmentationConfig, TrainingConfig
from stridekit.nn import DiffStride2d, stride_penalty

__all__ = [
    "DIVERGENCE",
    "TrainingOutcome",
    "TrialProgress",
    "augment",
    "pick_device",  # pick_device and predict: from stridekit.experiments.device, as before
    "predict",
    "seed_everything",
    "train",
]

DIVERGENCE = 10.0  # a loss this many times its first value has diverged
GPU_SYNC_EVERY = 25  # steps between reads of the loss on a GPU (each read waits for it)


@dataclass(frozen=True)
class TrialProgress:
    """Where a running trial is: ``epoch`` of ``epochs`` (from 1), ``step`` of ``steps``
    in that epoch, and the mean training loss of the epoch so far."""

    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float


@dataclass
class TrainingOutcome:
    """What training did: seconds per epoch, each epoch's mean loss, the optimiser steps
    taken, and the epoch after which ``should_stop`` ended it (None: it ran to the end)."""

    epoch_times: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    steps: int = 0
    stopped_at: int | None = None


def seed_everything(seed: int) -> None:
    """Seed torch (every device), numpy's and Python's global generators."""
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def augment(
    x: torch.Tensor, y: torch.Tensor, config: AugmentationConfig, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """Shift each image by up to ``config.shift`` pixels (zero fill) and flip half of them
    (masks move with their images). Random draws come from ``generator`` (on the CPU).

    >>> x = torch.zeros(1, 1, 5, 5); x[0, 0, 2, 2] = 1
    >>> g = torch.Generator().manual_seed(0)
    >>> moved, _ = augment(x, torch.zeros(1), AugmentationConfig(shift=2), g)
    >>> moved.sum().item(), moved.nonzero().tolist() != [[0, 0, 2, 2]]
    (1.0, True)
    """
    n = x.shape[0]
    if config.shift:
        p = config.shift
        offsets = torch.randint(0, 2 * p + 1, (2, n), generator=generator).to(x.device)
        x = _shift(x, offsets, p)
        if y.dim() == 3:
            y = _shift(y[:, None], offsets, p)[:, 0]
    if config.flip:
        flip = (torch.rand(n, generator=generator) < 0.5).to(x.device)
        x = torch.where(flip[:, None, None, None], x.flip(-1), x)
        if y.dim() == 3:
            y = torch.where(flip[:, None, None], y.flip(-1), y)
    return x, y


def _shift(x: torch.Tensor, offsets: torch.Tensor, p: int) -> torch.Tensor:
    """Each image's window at ``offsets`` (rows, columns) of the image padded by ``p``."""
    n, c, h, w = x.shape
    padded = F.pad(x, (p, p, p, p))
    rows = offsets[0][:, None] + torch.arange(h, device=x.device)  # (n, h)
    cols = offsets[1][:, None] + torch.arange(w, device=x.device)  # (n, w)
    batch = torch.arange(n, device=x.device)[:, None, None, None]
    channel = torch.arange(c, device=x.device)[None, :, None, None]
    return padded[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]


def make_optimizer(model: nn.Module, config: TrainingConfig) -> torch.optim.Optimizer:
    """SGD (Nesterov momentum), Adam or AdamW with the config's rate and weight decay."""
    params = [p for p in model.parameters() if p.requires_grad]
    if config.optimizer == "sgd":
        return torch.optim.SGD(
            params,
            lr=config.lr,
            momentum=config.momentum,
            nesterov=config.momentum > 0,
            weight_decay=config.weight_decay,
        )
    kind = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return kind(params, lr=config.lr, weight_decay=config.weight_decay)


def learning_rate(config: TrainingConfig, step: int, total: int) -> float:
    """The rate at optimiser step ``step`` of ``total``: constant, cosine to 0, step (÷10
    at 50% and 75%), or one-cycle (linear up for 30%, cosine down).

    >>> c = TrainingConfig(lr=1.0, schedule="cosine")
    >>> learning_rate(c, 0, 10), learning_rate(c, 5, 10)
    (1.0, 0.5)
    """
    t = step / max(1, total)
    if config.schedule == "cosine":
        return config.lr * 0.5 * (1 + math.cos(math.pi * t))
    if config.schedule == "step":
        return config.lr * (0.1 ** ((t >= 0.5) + (t >= 0.75)))
    if config.schedule == "onecycle":
        if t < 0.3:
            return config.lr * (0.04 + 0.96 * t / 0.3)
        return config.lr * 0.5 * (1 + math.cos(math.pi * (t - 0.3) / 0.7))
    return config.lr


def _batches(n: int, size: int, generator: torch.Generator) -> Iterator[torch.Tensor]:
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, size):
        batch = order[start : start + size]
        if len(batch) > 1 or n == 1:  # a batch of one breaks batch norm
            yield batch


def train(
    model: nn.Module,
    data: Dataset,
    config: TrainingConfig,
    *,
    seed: int,
    device: Device = None,
    progress: Callable[[TrialProgress], None] | None = None,
    should_stop: Callable[[int], bool] | None = None,
) -> TrainingOutcome:
    """Train ``model`` in place on ``data.train``; ``should_stop(epoch)`` is asked after
    each epoch (from 1) and ends training when it answers True."""
    device = pick_device(device)
    on_gpu = device.type == "cuda"
    model.to(device)
    if on_gpu:
        model.to(memory_format=torch.channels_last)
    train_split = Split(data.train.x.to(device), data.train.y.to(device))
    n = len(train_split)
    generator = torch.Generator().manual_seed(seed)
    optimizer = make_optimizer(model, config)
    scaler = torch.amp.GradScaler("cuda") if on_gpu and not torch.cuda.is_bf16_supported() else None
    steps_per_epoch = sum(1 for _ in range(0, n, config.batch_size))
    total = steps_per_epoch * config.epochs
    penalised = config.stride_penalty > 0 and any(
        isinstance(m, DiffStride2d) for m in model.modules()
    )
    sync_every = GPU_SYNC_EVERY if on_gpu else 1
    outcome = TrainingOutcome()
    first: float | None = None
    for epoch in range(1, config.epochs + 1):
        model.train()
        started = time.perf_counter()
        loss_sum = torch.zeros((), device=device)
        seen = 0
        for step, batch in enumerate(_batches(n, config.batch_size, generator), 1):
            for group in optimizer.param_groups:
                group["lr"] = learning_rate(config, outcome.steps, total)
            x, y = train_split.x[batch], train_split.y[batch]
            if config.augmentation.shift or config.augmentation.flip:
                x, y = augment(x, y, config.augmentation, generator)
            if on_gpu:
                x = x.contiguous(memory_format=torch.channels_last)
            with autocast(device):
                output = model(x)
                if data.task == "detection":
                    loss = centernet_loss(output, y, (x.shape[-2], x.shape[-1]))
                else:
                    loss = F.cross_entropy(output, y)
                if penalised:
                    loss = loss + config.stride_penalty * stride_penalty(model)
            optimizer.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            else:
                loss.backward()
                optimizer.step()
            outcome.steps += 1
            loss_sum += loss.detach()
            seen += 1
            if step % sync_every == 0 or step == steps_per_epoch:
                value = loss_sum.item() / seen
                first = value if first is None else first
                _check_loss(value, first, epoch, step, optimizer)
                if progress is not None:
                    progress(TrialProgress(epoch, config.epochs, step, steps_per_epoch, value))
        if on_gpu:
            torch.cuda.synchronize(device)
        outcome.epoch_times.append(time.perf_counter() - started)
        outcome.losses.append(loss_sum.item() / max(1, seen))
        if should_stop is not None and epoch < config.epochs and should_stop(epoch):
            outcome.stopped_at = epoch
            break
    return outcome


def _check_loss(
    value: float, first: float, epoch: int, step: int, optimizer: torch.optim.Optimizer
) -> None:
    lr = optimizer.param_groups[0]["lr"]
    if not math.isfinite(value):
        raise TrialFailed(
            f"the training loss became {value} at epoch {epoch}, step {step} (lr {lr:.3g}): "
            "lower the learning rate"
        )
    if value > DIVERGENCE * first and value > first + 1:
        raise TrialFailed(
            f"the training loss diverged at epoch {epoch}, step {step}: {value:.3g}, more than "
            f"{DIVERGENCE:g} times its first value {first:.3g} (lr {lr:.3g}): lower the "
            "learning rate"
        )
