"""One trial: a config and a seed → a trained model's metrics, its analysis, timings.

`run_trial` is what a sweep's runner calls for each trial. It checks the config (names,
then the geometry of the built model: `stridekit.analyze` and the doctor, before any
training), loads the data (kept in memory between trials), trains, measures, and returns
a `TrialResult` whose every field is JSON-ready. A trial whose loss becomes NaN or
diverges raises `TrialFailed` with the reason; a bad config raises `SweepSpecError`.

>>> from stridekit.experiments.spec import TrialConfig
>>> config = TrialConfig(
...     dataset={"name": "synthetic-detail", "options": {"n_train": 64, "n_test": 32, "size": 16}},
...     model={"strides": [2, 2], "width": 4},
...     training={"epochs": 1, "batch_size": 32},
...     metrics=["accuracy"])
>>> result = run_trial(config, seed=0, device="cpu")
>>> sorted(result.metrics)
['accuracy', 'epoch_time_s', 'flops', 'output_stride', 'params', 'receptive_field', 'train_loss']
>>> result.analysis["output_stride"], result.analysis["params"] == result.metrics["params"]
([4, 4], True)
"""

from __future__ import annotations

import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from rich.console import Group, RenderableType
from rich.text import Text
from torch import nn

from stridekit.analysis import analyze
from stridekit.doctor import doctor
from stridekit.errors import StrideError, SweepSpecError, TrialFailed
from stridekit.experiments.datasets import DataInfo, dataset_info, load_dataset
from stridekit.experiments.metrics import (
    MAIN,
    METRICS,
    EvaluationContext,
    measure,
    metric_names,
)
from stridekit.experiments.models import build_model, check_model_config, learned_strides
from stridekit.experiments.spec import TrialConfig, _suggest
from stridekit.experiments.trainer import TrialProgress, pick_device, seed_everything, train
from stridekit.layer_record import jsonable
from stridekit.render import Result, human, table
from stridekit.version import __version__

__all__ = [
    "TrialFailed",
    "TrialProgress",
    "TrialResult",
    "check_config",
    "inspect_model",
    "run_trial",
]

Metrics = dict[str, float | None]


@dataclass(frozen=True)
class TrialResult(Result):
    """A finished trial: ``metrics`` (name → number or None), the model's ``analysis``
    (FLOPs, params, output stride, receptive field, the doctor's finding codes),
    ``timings`` in seconds and the ``environment`` it ran in. All JSON-ready."""

    metrics: Metrics
    analysis: dict[str, Any]
    timings: dict[str, float]
    environment: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "metrics": self.metrics,
            "analysis": self.analysis,
            "timings": self.timings,
            "environment": self.environment,
        }

    def __rich__(self) -> RenderableType:
        rows = [(name, _number(value)) for name, value in self.metrics.items()]
        metrics = table("trial", ("metric", "value"), rows, right=("value",))
        codes = ", ".join(self.analysis.get("findings", [])) or "none"
        seconds = ", ".join(f"{k} {v:.2f}s" for k, v in self.timings.items())
        return Group(metrics, Text(f"doctor: {codes}\ntimings: {seconds}"))


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 1e4 and float(value).is_integer():
        return human(value)
    return f"{value:.4g}"


def input_shape(config: TrialConfig, info: DataInfo) -> tuple[int, int, int, int]:
    """``(1, C, H, W)``: the dataset's channels at the config's input size (or its own)."""
    size = (config.input_size,) * 2 if config.input_size is not None else info.size
    return (1, info.channels, size[0], size[1])


def _model_info(config: TrialConfig, info: DataInfo) -> DataInfo:
    shape = input_shape(config, info)
    return DataInfo(info.task, info.channels, (shape[2], shape[3]), info.num_classes)


def check_names(config: TrialConfig) -> DataInfo:
    """The checks that need no model: dataset, family, op, task, metrics. Returns the
    data's description (at the config's input size)."""
    info = dataset_info(config.dataset)
    if info.task != config.task:
        raise SweepSpecError(
            f"task: {config.dataset.name} is a {info.task} dataset, the config says {config.task}",
            field="task",
        )
    check_model_config(config.model, config.task)
    augmentation = config.training.augmentation
    if config.task == "detection" and (augmentation.shift or augmentation.flip):
        raise SweepSpecError(
            "training.augmentation: shifts and flips would move the images but not their "
            "boxes; remove the augmentation for detection",
            field="training.augmentation",
        )
    for name in config.metrics.names or ():
        metric = METRICS.get(name)
        if metric is None:
            raise SweepSpecError(
                f"metrics.names: unknown metric {name!r}{_suggest(name, METRICS)} "
                f"(choose among {', '.join(METRICS)})",
                field="metrics.names",
            )
        if config.task not in metric.tasks:
            raise SweepSpecError(
                f"metrics.names: {name} is a {' or '.join(metric.tasks)} metric, not {config.task}",
                field="metrics.names",
            )
    return _model_info(config, info)


def inspect_model(model: nn.Module, config: TrialConfig, info: DataInfo) -> dict[str, Any]:
    """The model's analysis as JSON-ready data (a segmenter's ``output_stride`` is that of
    its coarsest feature map, the encoder's); a `SweepSpecError` on ``model.strides``
    when the geometry rejects the stride plan (an output below one pixel, or a feature map
    that the doctor finds collapsed before the head)."""
    shape = input_shape(config, info)
    where = f"strides {list(config.model.strides)} at input {shape[2]}x{shape[3]}"
    try:
        analysis = analyze(model, shape)
    except (StrideError, RuntimeError) as error:
        message = " ".join(str(error).split())
        raise SweepSpecError(f"model.strides: {where}: {message}", field="model.strides") from None
    report = doctor(analysis)
    collapsed = [f for f in report.findings if f.code == "collapse"]
    if collapsed:
        finding = collapsed[0]
        raise SweepSpecError(
            f"model.strides: {where}: {finding.message} ({finding.fix})", field="model.strides"
        )
    stride = analysis.output_stride
    if config.task == "segmentation":  # the encoder's: the coarsest map's, not the output's
        stride = max((r.jump for r in analysis.layers if r.jump), key=lambda j: j[0])
    return {
        "input_shape": list(shape),
        "params": analysis.total_params,
        "flops": analysis.total_flops,
        "macs": analysis.total_macs,
        "output_stride": jsonable(list(stride)),
        "receptive_field": jsonable(list(rf)) if (rf := analysis.receptive_field) else None,
        "local_receptive_field": jsonable(list(analysis.local_receptive_field)),
        "findings": sorted({f.code for f in report.findings}),
        "doctor": [
            {"code": f.code, "severity": f.severity.value, "node": f.node, "message": f.message}
            for f in report.findings
        ],
    }


def check_config(config: TrialConfig) -> dict[str, Any]:
    """Every check of `TrialConfig.check`; returns the analysis of the model it builds
    (on the CPU, from a private generator: the global one is left as it was)."""
    info = check_names(config)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = build_model(config.model, info)
    return inspect_model(model, config, info)


def _first_value(values: list[Any] | None) -> float | None:
    if not values:
        return None
    value = values[0]
    return float(value) if isinstance(value, int | float) else _fraction(value)


def _fraction(text: str) -> float:
    """``"3/2"`` → 1.5 (how `jsonable` writes a non-integer Fraction)."""
    numerator, _, denominator = str(text).partition("/")
    return float(numerator) / float(denominator or 1)


def environment(device: torch.device) -> dict[str, str]:
    """Versions and the device: what a result depends on besides its config."""
    env = {
        "stridekit": __version__,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "platform": platform.platform(),
        "device": str(device),
        "threads": str(torch.get_num_threads()),
        "memory_source": "cuda-allocator" if device.type == "cuda" else "process-rss",
    }
    if device.type == "cuda":
        env["device_name"] = torch.cuda.get_device_name(device)
        env["cuda"] = str(torch.version.cuda)
    return env


def run_trial(
    config: TrialConfig,
    seed: int,
    *,
    device: str | None = None,
    progress: Callable[[TrialProgress], None] | None = None,
    should_stop: Callable[[int, dict[str, float]], bool] | None = None,
) -> TrialResult:
    """Train and measure one trial. ``progress`` hears from the training loop;
    ``should_stop(epoch, metrics_so_far)`` is asked after each epoch with the task's main
    metric on the test split (for successive halving) and, by answering True, ends the
    trial early: ``metrics["stopped_at"]`` is then that epoch."""
    started = time.perf_counter()
    timings: dict[str, float] = {}
    target = pick_device(device)
    info = check_names(config)

    clock = time.perf_counter()
    data = load_dataset(config.dataset, config.input_size)
    timings["load"] = time.perf_counter() - clock

    clock = time.perf_counter()
    seed_everything(seed)
    model = build_model(config.model, info)
    analysis = inspect_model(model, config, info)
    timings["build"] = time.perf_counter() - clock

    if target.type == "cuda":
        torch.cuda.reset_peak_memory_stats(target)
    batch_size = config.training.eval_batch_size
    main = MAIN[config.task]

    def stop(epoch: int) -> bool:
        assert should_stop is not None
        context = EvaluationContext(model, data, target, config.metrics, batch_size, seed)
        return should_stop(epoch, {main: METRICS[main].measure(context) or 0.0})

    clock = time.perf_counter()
    outcome = train(
        model,
        data,
        config.training,
        seed=seed,
        device=target,
        progress=progress,
        should_stop=stop if should_stop is not None else None,
    )
    timings["train"] = time.perf_counter() - clock

    clock = time.perf_counter()
    context = EvaluationContext(model, data, target, config.metrics, batch_size, seed)
    metrics: Metrics = measure(context, metric_names(config.metrics, config.task))
    timings["evaluate"] = time.perf_counter() - clock

    metrics["epoch_time_s"] = float(np.mean(outcome.epoch_times))
    metrics["train_loss"] = outcome.losses[-1]
    metrics["flops"] = float(analysis["flops"])
    metrics["params"] = float(analysis["params"])
    metrics["output_stride"] = _first_value(analysis["output_stride"])
    metrics["receptive_field"] = _first_value(analysis["receptive_field"])
    for name, value in learned_strides(model).items():
        metrics[f"learned_stride.{name}"] = value
    if outcome.stopped_at is not None:
        metrics["stopped_at"] = float(outcome.stopped_at)
    timings["total"] = time.perf_counter() - started
    return TrialResult(metrics, analysis, timings, environment(target))
