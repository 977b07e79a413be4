"""What a trial measures: a registry of metrics, each a function of the trained model.

=====================  =====================================================================
``accuracy``           top-1 test accuracy (classification)
``miou``               mean intersection over union over the classes present (segmentation)
``boundary_f1``        F1 of predicted vs true class boundaries within 1 pixel (segmentation)
``shift_consistency``  how often the prediction stays the same under two random circular
                       shifts of up to ``max_shift`` pixels (Zhang 2019); per pixel, after
                       shifting back, for segmentation
``latency``            batch-1 inference time: the median of ``latency_runs`` after warm-up
``throughput``         images per second at a batch of 64
``peak_memory``        the CUDA allocator's peak during the trial on a GPU; on the CPU the
                       process's peak resident memory (``environment["memory_source"]``)
``recall_4_8``, …      detection: recall and AP of objects of 4–8, 8–16, 16–32 and 32–64 px
``ap_4_8``, …          at IoU ≥ 0.5 (`stridekit.experiments.detection_metrics`); ``recall``
``recall``, ``ap``     and ``ap`` over all objects
=====================  =====================================================================

Every trial also records its training time per epoch and final loss, the model's FLOPs,
parameters, output stride and receptive field (from `stridekit.analyze`), and the learned
strides of any DiffStride layer (``learned_stride.NAME.h`` / ``.w``).

>>> pred = torch.tensor([[0, 1], [1, 1]]); target = torch.tensor([[0, 1], [0, 1]])
>>> mean_iou(pred, target, 2)                 # class 0: 1/2, class 1: 2/3
0.5833333333333333
"""

from __future__ import annotations

import resource
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from stridekit.experiments.data import Dataset
from stridekit.experiments.detection_metrics import evaluate_detections
from stridekit.experiments.detection_metrics import metric_names as detection_metric_names
from stridekit.experiments.device import Device, autocast, pick_device, predict, synchronize
from stridekit.experiments.spec import MetricsConfig

__all__ = [
    "DEFAULTS",
    "METRICS",
    "EvaluationContext",
    "Metric",
    "accuracy",
    "boundaries",
    "boundary_f1",
    "confusion_matrix",
    "latency_ms",
    "mean_iou",
    "shift_consistency",
    "throughput",
]

THROUGHPUT_BATCH = 64
WARMUP = 3


@dataclass
class EvaluationContext:
    """What the metrics read: the trained model, the data, the device, the options."""

    model: nn.Module
    data: Dataset
    device: torch.device
    config: MetricsConfig
    batch_size: int
    seed: int
    _logits: torch.Tensor | None = None
    _cache: dict[str, Any] = field(default_factory=dict)

    @property
    def logits(self) -> torch.Tensor:
        """The test split's logits, computed once."""
        if self._logits is None:
            self._logits = predict(self.model, self.data.test.x, self.batch_size, self.device)
        return self._logits


@dataclass(frozen=True)
class Metric:
    """A registered metric: its tasks and the function that measures it."""

    name: str
    tasks: tuple[str, ...]
    measure: Callable[[EvaluationContext], float | None]


def accuracy(predicted: torch.Tensor, labels: torch.Tensor) -> float:
    """The fraction of equal entries.

    >>> accuracy(torch.tensor([1, 2, 3, 0]), torch.tensor([1, 2, 0, 0]))
    0.75
    """
    return float((predicted == labels).float().mean())


def confusion_matrix(predicted: torch.Tensor, target: torch.Tensor, classes: int) -> torch.Tensor:
    """``matrix[t, p]``: how many pixels of true class ``t`` were predicted ``p``."""
    index = target.reshape(-1).long() * classes + predicted.reshape(-1).long()
    return torch.bincount(index, minlength=classes * classes).reshape(classes, classes)


def mean_iou(predicted: torch.Tensor, target: torch.Tensor, classes: int) -> float:
    """Mean over classes of ``TP / (TP + FP + FN)``, over the classes that appear in the
    prediction or the target (a class absent from both has no IoU)."""
    matrix = confusion_matrix(predicted, target, classes).double()
    tp = matrix.diagonal()
    union = matrix.sum(0) + matrix.sum(1) - tp
    present = union > 0
    return float((tp[present] / union[present]).mean()) if present.any() else 1.0


def boundaries(masks: torch.Tensor) -> torch.Tensor:
    """Pixels whose label differs from a 4-neighbour's (``(N, H, W)`` → bool).

    >>> boundaries(torch.tensor([[[0, 0, 1]]])).int().tolist()
    [[[0, 1, 1]]]
    """
    edge = torch.zeros_like(masks, dtype=torch.bool)
    horizontal = masks[..., :, 1:] != masks[..., :, :-1]
    vertical = masks[..., 1:, :] != masks[..., :-1, :]
    edge[..., :, 1:] |= horizontal
    edge[..., :, :-1] |= horizontal
    edge[..., 1:, :] |= vertical
    edge[..., :-1, :] |= vertical
    return edge


def _near(edge: torch.Tensor, tolerance: int) -> torch.Tensor:
    """Pixels within ``tolerance`` (chessboard distance) of an edge pixel."""
    size = 2 * tolerance + 1
    grown = F.max_pool2d(edge[:, None].float(), size, stride=1, padding=tolerance)
    return grown[:, 0] > 0


def boundary_f1(predicted: torch.Tensor, target: torch.Tensor, tolerance: int = 1) -> float:
    """F1 of boundary pixels: a predicted boundary pixel is right when a true one lies
    within ``tolerance`` pixels (chessboard distance), and vice versa; counted over all
    images. No boundary in either: 1.0.

    >>> t = torch.zeros(1, 6, 6, dtype=torch.long); t[0, :, 3:] = 1
    >>> p = torch.zeros(1, 6, 6, dtype=torch.long); p[0, :, 4:] = 1   # one pixel off
    >>> boundary_f1(p, t), boundary_f1(p, t, tolerance=0)
    (1.0, 0.5)
    """
    true_edge, pred_edge = boundaries(target), boundaries(predicted)
    if not true_edge.any() and not pred_edge.any():
        return 1.0
    precision_hits = (pred_edge & _near(true_edge, tolerance)).sum().item()
    recall_hits = (true_edge & _near(pred_edge, tolerance)).sum().item()
    precision = precision_hits / max(1, int(pred_edge.sum()))
    recall = recall_hits / max(1, int(true_edge.sum()))
    return 0.0 if precision + recall == 0 else 2 * precision * recall / (precision + recall)


@torch.no_grad()
def shift_consistency(
    model: nn.Module,
    x: torch.Tensor,
    max_shift: int,
    *,
    seed: int = 0,
    batch_size: int = 256,
    device: Device = None,
) -> float:
    """How often two random circular shifts of each image (up to ``max_shift`` pixels on
    each axis) get the same prediction: per image for a classifier, per pixel (after
    shifting the predictions back) for a segmenter."""
    generator = torch.Generator().manual_seed(seed)
    shifts = torch.randint(-max_shift, max_shift + 1, (2, x.shape[0], 2), generator=generator)
    device = pick_device(device)
    model.eval()
    agree, total = 0.0, 0
    for start in range(0, x.shape[0], batch_size):
        images = x[start : start + batch_size].to(device)
        predictions = []
        for pair in shifts[:, start : start + batch_size]:
            moved = torch.stack(
                [
                    torch.roll(img, (int(dy), int(dx)), (-2, -1))
                    for img, (dy, dx) in zip(images, pair, strict=True)
                ]
            )
            with autocast(device):
                labels = model(moved).argmax(1)
            if labels.dim() == 3:  # segmentation: shift the prediction back
                labels = torch.stack(
                    [
                        torch.roll(lab, (-int(dy), -int(dx)), (-2, -1))
                        for lab, (dy, dx) in zip(labels, pair, strict=True)
                    ]
                )
            predictions.append(labels)
        same = (predictions[0] == predictions[1]).float()
        agree += float(same.sum())
        total += same.numel()
    return agree / max(1, total)


@torch.no_grad()
def latency_ms(
    model: nn.Module,
    shape: tuple[int, ...],
    device: Device = None,
    runs: int = 20,
) -> float:
    """Median milliseconds of one forward pass at ``shape`` (batch 1), after warm-up."""
    device = pick_device(device)
    model.eval()
    x = torch.zeros(shape, device=device)
    times = []
    for index in range(WARMUP + runs):
        synchronize(device)
        started = time.perf_counter()
        with autocast(device):
            model(x)
        synchronize(device)
        if index >= WARMUP:
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def throughput(
    model: nn.Module, shape: tuple[int, ...], device: Device = None, runs: int = 3
) -> float:
    """Images per second of forward passes at ``shape`` (a batch): the batch over its
    `latency_ms` (the median of ``runs``)."""
    return shape[0] / (latency_ms(model, shape, device, runs) / 1000)


def _image_shape(context: EvaluationContext, batch: int) -> tuple[int, ...]:
    return (batch, *context.data.test.x.shape[1:])


def _peak_memory(context: EvaluationContext) -> float:
    if context.device.type == "cuda":
        return torch.cuda.max_memory_allocated(context.device) / 2**20
    # ru_maxrss: kilobytes on Linux, bytes on macOS
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (2**20 if sys.platform == "darwin" else 2**10)


def _segmentation(context: EvaluationContext) -> tuple[torch.Tensor, torch.Tensor]:
    return context.logits.argmax(1), context.data.test.y


def _detection(name: str) -> Callable[[EvaluationContext], float | None]:
    """The detection metric ``name``: every one comes from one decoding and matching."""

    def measure(context: EvaluationContext) -> float | None:
        if "detection" not in context._cache:
            size = context.data.test.x.shape[-2:]
            context._cache["detection"] = evaluate_detections(
                context.logits, context.data.test.y, (int(size[0]), int(size[1]))
            )
        value: float | None = context._cache["detection"][name]
        return value

    return measure


ALL_TASKS = ("classification", "segmentation", "detection")


METRICS: dict[str, Metric] = {
    m.name: m
    for m in (
        Metric(
            "accuracy",
            ("classification",),
            lambda c: accuracy(c.logits.argmax(1), c.data.test.y),
        ),
        Metric(
            "miou",
            ("segmentation",),
            lambda c: mean_iou(*_segmentation(c), c.data.num_classes),
        ),
        Metric("boundary_f1", ("segmentation",), lambda c: boundary_f1(*_segmentation(c))),
        Metric(
            "shift_consistency",
            ("classification", "segmentation"),
            lambda c: shift_consistency(
                c.model,
                c.data.test.x,
                c.config.max_shift,
                seed=c.seed,
                batch_size=c.batch_size,
                device=c.device,
            ),
        ),
        *(Metric(name, ("detection",), _detection(name)) for name in detection_metric_names()),
        Metric(
            "latency",
            ALL_TASKS,
            lambda c: latency_ms(c.model, _image_shape(c, 1), c.device, c.config.latency_runs),
        ),
        Metric(
            "throughput",
            ALL_TASKS,
            lambda c: throughput(c.model, _image_shape(c, THROUGHPUT_BATCH), c.device),
        ),
        Metric("peak_memory", ALL_TASKS, _peak_memory),
    )
}
# the names a metric is stored under when it is not its own (units in the name)
STORED_AS = {
    "latency": "latency_ms",
    "throughput": "throughput_per_s",
    "peak_memory": "peak_memory_mb",
}
DEFAULTS = {
    "classification": ("accuracy", "shift_consistency", "latency", "throughput", "peak_memory"),
    "segmentation": (
        "miou",
        "boundary_f1",
        "shift_consistency",
        "latency",
        "throughput",
        "peak_memory",
    ),
    "detection": (*detection_metric_names(), "latency", "throughput", "peak_memory"),
}
MAIN = {"classification": "accuracy", "segmentation": "miou", "detection": "ap"}


def metric_names(config: MetricsConfig, task: str) -> tuple[str, ...]:
    """The metrics a trial measures: the config's, or the task's defaults."""
    return config.names if config.names is not None else DEFAULTS[task]


def measure(context: EvaluationContext, names: tuple[str, ...]) -> dict[str, float | None]:
    """Each named metric of the trained model, under its stored name."""
    return {STORED_AS.get(name, name): METRICS[name].measure(context) for name in names}
