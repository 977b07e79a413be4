"""Trial functions that stand in for training (module level, so worker processes can
unpickle them): instant, deterministic, with progress and failures on demand."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stridekit.errors import StrideError
from stridekit.experiments.runner import TrialResult


class FakeFailure(StrideError):
    """A trial that fails on purpose (as `TrialFailed` does)."""


@dataclass(frozen=True)
class Progress:
    epoch: int
    epochs: int
    step: int
    steps: int
    loss: float


def value_of(config: Any, seed: int) -> float:
    """The fake's 'accuracy': a fixed function of the config and the seed."""
    x = config["x"] if isinstance(config, dict) else 1
    return round(0.5 + 0.04 * x + 0.001 * seed, 6)


def instant(
    config: Any,
    seed: int,
    *,
    device: str | None = None,
    progress: Callable[[Any], None] | None = None,
    should_stop: Callable[[int, dict[str, float]], bool] | None = None,
) -> TrialResult:
    """Two 'epochs' with progress; fails when the config says so; honours should_stop."""
    if isinstance(config, dict) and config.get("fail"):
        raise FakeFailure(f"loss is nan at epoch 1 (x={config['x']})")
    if isinstance(config, dict) and config.get("crash"):
        raise ZeroDivisionError("division by zero")
    if isinstance(config, dict) and config.get("sleep"):
        time.sleep(config["sleep"])
    accuracy = value_of(config, seed)
    metrics: dict[str, Any] = {"accuracy": accuracy}
    for epoch in (1, 2):
        if progress is not None:
            progress(Progress(epoch, 2, 1, 1, 1.0 / epoch))
        if should_stop is not None and should_stop(epoch, {"accuracy": accuracy * epoch / 2}):
            metrics["stopped_at"] = epoch
            break
    return TrialResult(metrics, {"flops": 1000}, {"train": 0.0}, {"device": device or "cpu"})


FAILING: set[str] = set()  # ops whose trials fail (tests set it; the local runner sees it)


def scored(
    config: Any,
    seed: int,
    *,
    device: str | None = None,
    progress: Callable[[Any], None] | None = None,
    should_stop: Callable[[int, dict[str, float]], bool] | None = None,
) -> TrialResult:
    """A stand-in for `run_trial` on a real `TrialConfig`: 'accuracy' grows with the model
    width and the epochs, 'flops' with the width; ops in `FAILING` fail."""
    if config.model.op in FAILING:
        raise FakeFailure(f"loss is nan at epoch 1 ({config.model.op})")
    epochs = config.training.epochs
    quality = config.model.width / 64 + seed / 1000
    metrics: dict[str, Any] = {"accuracy": quality, "flops": 1000.0 * config.model.width}
    for epoch in range(1, epochs + 1):
        if progress is not None:
            progress(Progress(epoch, epochs, 1, 1, 1.0))
        partial = {"accuracy": quality * epoch / epochs}
        if should_stop is not None and epoch < epochs and should_stop(epoch, partial):
            metrics["stopped_at"] = float(epoch)
            break
    return TrialResult(metrics, {"flops": metrics["flops"]}, {}, {"device": "cpu"})


def example_store() -> Path:
    """A small store: two configurations, one finished trial each, and a failure."""
    from stridekit.experiments.store import PlannedTrial, Store

    path = Path(tempfile.mkdtemp()) / "runs.db"
    with Store.open(path) as store:
        store.plan(
            [
                PlannedTrial(f"{op}-{seed}", op, {"model": {"op": op}}, {"model.op": op}, seed)
                for op in ("conv", "spd")
                for seed in (0, 1)
            ]
        )
        for key, accuracy in (("conv-0", 0.97), ("conv-1", 0.96), ("spd-0", 0.98)):
            store.start(key)
            store.finish(key, metrics={"accuracy": accuracy, "flops": 2e6, "output_stride": 4})
        store.start("spd-1")
        store.fail("spd-1", "loss is nan at epoch 2")
    return path
