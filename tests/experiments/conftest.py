"""Tiny trial configs: a few dozen 16-pixel images, one epoch, narrow models."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from stridekit.experiments.spec import TrialConfig

TINY_DETAIL = {"name": "synthetic-detail", "options": {"n_train": 48, "n_test": 24, "size": 16}}
TINY_SEG = {"name": "synthetic-seg", "options": {"n_train": 24, "n_test": 8, "size": 16}}


def tiny_config(**overrides: Any) -> TrialConfig:
    """A classification trial that trains in well under a second on the CPU."""
    data: dict[str, Any] = {
        "dataset": TINY_DETAIL,
        "model": {"strides": [2, 2], "width": 4, "depth": 1},
        "training": {"epochs": 1, "batch_size": 16},
        "metrics": ["accuracy"],
    }
    for key, value in overrides.items():
        base = data.get(key)
        data[key] = {**base, **value} if isinstance(base, dict) and value else value
    return TrialConfig.model_validate(data)


@pytest.fixture(autouse=True)
def _one_thread() -> Any:
    """One thread: the same numbers on any machine, and no fight for shared cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
