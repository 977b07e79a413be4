"""Stride experiments: sweeps that train and measure.

A sweep spec (`SweepSpec`) expands into trial configs (`TrialConfig`); `run_trial` trains
one config with one seed and returns a `TrialResult` (metrics, the model's analysis,
timings, environment). Datasets and model families are registries
(`stridekit.experiments.datasets.DATASETS`, `stridekit.experiments.models.FAMILIES`).
"""

from stridekit.errors import TrialFailed
from stridekit.experiments.spec import SweepSpec, TrialConfig
from stridekit.experiments.trial import TrialProgress, TrialResult, run_trial

__all__ = ["SweepSpec", "TrialConfig", "TrialFailed", "TrialProgress", "TrialResult", "run_trial"]
