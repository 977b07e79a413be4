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

import dataclasses
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.errors import TrialFailed
from stridekit.experiments.checks import check_config, check_names, input_shape, inspect_model
from stridekit.experiments.datasets import load_dataset
from stridekit.experiments.device import pick_device
from stridekit.experiments.metrics import MAIN, METRICS, EvaluationContext, measure, metric_names
from stridekit.experiments.models import build_model, learned_strides
from stridekit.experiments.spec import TrialConfig
from stridekit.experiments.trainer import TrialProgress, seed_everything, train
from stridekit.render import Result, human, table
from stridekit.version import __version__

__all__ = [
    "TrialFailed",
    "TrialProgress",
    "TrialResult",
    "check_config",  # the checks live in stridekit.experiments.checks, named here as before
    "check_names",
    "input_shape",
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
        return dataclasses.asdict(self)

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
