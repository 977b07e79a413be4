"""Stride experiments: sweeps that train and measure, a crash-safe store, search, reports.

A sweep spec (`SweepSpec`) expands into trial configs (`TrialConfig`); `run_trial` trains
one config with one seed and returns a `TrialResult` (metrics, the model's analysis,
timings, environment). Datasets and model families are registries
(`stridekit.experiments.datasets.DATASETS`, `stridekit.experiments.models.FAMILIES`).
`run_sweep` runs a spec's trials through a search and a runner into a `Store` (SQLite);
`Results` and `build_report` read a store back.

The names below are imported on first use, so reading a store (``stridekit results``)
never imports torch or matplotlib.

>>> import stridekit.experiments as experiments
>>> experiments.Store.__module__
'stridekit.experiments.store'
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stridekit.errors import TrialFailed
    from stridekit.experiments.report import Report, build_report
    from stridekit.experiments.results import Results
    from stridekit.experiments.spec import SweepSpec, TrialConfig
    from stridekit.experiments.store import Store
    from stridekit.experiments.sweep import SweepSummary, run_sweep
    from stridekit.experiments.trial import TrialProgress, TrialResult, run_trial

_WHERE = {
    "TrialFailed": "stridekit.errors",
    "Report": "stridekit.experiments.report",
    "build_report": "stridekit.experiments.report",
    "Results": "stridekit.experiments.results",
    "SweepSpec": "stridekit.experiments.spec",
    "TrialConfig": "stridekit.experiments.spec",
    "Store": "stridekit.experiments.store",
    "SweepSummary": "stridekit.experiments.sweep",
    "run_sweep": "stridekit.experiments.sweep",
    "TrialProgress": "stridekit.experiments.trial",
    "TrialResult": "stridekit.experiments.trial",
    "run_trial": "stridekit.experiments.trial",
}

__all__ = [
    "Report",
    "Results",
    "Store",
    "SweepSpec",
    "SweepSummary",
    "TrialConfig",
    "TrialFailed",
    "TrialProgress",
    "TrialResult",
    "build_report",
    "run_sweep",
    "run_trial",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'stridekit.experiments' has no attribute {name!r}")
    return getattr(importlib.import_module(_WHERE[name]), name)
