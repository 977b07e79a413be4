"""A store's trials as a result: one row per trial, means ± std over seeds per configuration,
and the Pareto front of accuracy against cost. It reads only the store, so it can be made
again at any time; ``stridekit results STORE`` prints it as a table, JSON, CSV or Markdown.

>>> import tempfile, pathlib
>>> from stridekit.experiments.store import PlannedTrial, Store
>>> path = pathlib.Path(tempfile.mkdtemp()) / "runs.db"
>>> with Store.open(path) as store:
...     _ = store.plan([PlannedTrial(f"k{s}", "c", {}, {"op": "conv"}, s) for s in (0, 1)])
...     for seed, accuracy in ((0, 0.90), (1, 0.94)):
...         store.start(f"k{seed}")
...         store.finish(f"k{seed}", metrics={"accuracy": accuracy})
>>> results = Results.load(path)
>>> summary = results.configurations()[0]
>>> round(summary.mean("accuracy"), 4), round(summary.std("accuracy"), 4)
(0.92, 0.0283)
>>> print(results.to_csv().splitlines()[0])
key,config_key,status,seed,op,accuracy,error
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text

from stridekit.experiments.store import Status, Store, TrialRecord
from stridekit.render import Result, human, table

# the metrics shown first, in this order, when a trial has them; the others follow by name
HEADLINE = (
    "accuracy",
    "miou",
    "ap",
    "recall",
    "boundary_f1",
    "shift_consistency",
    "flops",
    "params",
    "output_stride",
    "receptive_field",
    "latency_ms",
    "throughput_per_s",
    "epoch_time_s",
    "peak_memory_mb",
    "train_loss",
    "stopped_at",
)


# what the terminal table shows of the metrics, when a store has them
TERMINAL = (
    "accuracy",
    "miou",
    "ap",
    "recall_4_8",  # detection: the smallest objects' recall, what a coarse stride loses
    "boundary_f1",
    "shift_consistency",
    "flops",
    "output_stride",
    "latency_ms",
    "stopped_at",
)


def is_number(value: Any) -> bool:
    """A finite int or float (bools are not numbers here).

    >>> is_number(3), is_number(0.5), is_number(True), is_number(float("nan")), is_number("1")
    (True, True, False, False, False)
    """
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def format_value(value: Any) -> str:
    """How a metric or factor value reads in a table.

    >>> format_value(0.981234), format_value(2_400_000), format_value(8), format_value([2, 2, 1])
    ('0.9812', '2.40M', '8', '2,2,1')
    >>> format_value(6.0004), format_value(8.0), format_value(123.456)
    ('6.000', '8', '123.5')
    >>> format_value(None), format_value({"name": "plan1", "strides": [2, 2]})
    ('-', 'plan1')
    """
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return human(value) if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value.is_integer() and abs(value) < 10_000:  # strides, fields: whole numbers
            return str(int(value))
        if abs(value) >= 10_000:
            return human(value)
        if abs(value) >= 100:
            return f"{value:.1f}"
        return f"{value:.3f}" if abs(value) >= 1 else f"{value:.4f}"
    if isinstance(value, list | tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("name") or value.get("label") or ",".join(map(str, value)))
    return str(value)


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats: lower or equal x (cost) AND higher or
    equal y (quality), better in one; sorted by x.

    >>> pareto_front([(1, 0.90), (2, 0.95), (3, 0.93), (2, 0.80), (1, 0.90)])
    [0, 1]
    """
    front: list[int] = []
    for i, (x, y) in enumerate(points):
        dominated = any((ox <= x and oy >= y) and (ox < x or oy > y) for ox, oy in points) or any(
            points[j] == (x, y) for j in front
        )  # equal points: keep the first only
        if not dominated:
            front.append(i)
    return sorted(front, key=lambda i: points[i])


@dataclass(frozen=True)
class Configuration:
    """The trials of one configuration (its seeds) and their metrics' mean ± std."""

    config_key: str
    factors: dict[str, Any]
    trials: tuple[TrialRecord, ...]

    @property
    def done(self) -> tuple[TrialRecord, ...]:
        return tuple(t for t in self.trials if t.status is Status.done and t.metrics)

    def values(self, metric: str) -> list[float]:
        """The metric's value in each finished seed that has one."""
        found: list[Any] = [(t.metrics or {}).get(metric) for t in self.done]
        return [float(v) for v in found if is_number(v)]

    def mean(self, metric: str) -> float | None:
        values = self.values(metric)
        return statistics.fmean(values) if values else None

    def std(self, metric: str) -> float | None:
        """Sample standard deviation over seeds (0 for one seed, None for none)."""
        values = self.values(metric)
        if not values:
            return None
        return statistics.stdev(values) if len(values) > 1 else 0.0

    def label(self) -> str:
        """``op=conv strides=2,2,1``: the varied factors, for tables and hover text."""
        return " ".join(f"{k}={format_value(v)}" for k, v in self.factors.items()) or "default"

    def to_dict(self, metrics: Sequence[str]) -> dict[str, Any]:
        return {
            "config_key": self.config_key,
            "factors": self.factors,
            "seeds": [t.seed for t in self.trials],
            "done": len(self.done),
            "failed": sum(t.status is Status.failed for t in self.trials),
            "metrics": {
                m: {"mean": self.mean(m), "std": self.std(m), "n": len(self.values(m))}
                for m in metrics
            },
        }


class Results(Result):
    """The trials of a store (orphaned ones only when asked), ready to render."""

    def __init__(self, records: Sequence[TrialRecord], source: str = "") -> None:
        self.records = tuple(records)
        self.source = source

    @classmethod
    def load(cls, path: str | Path, *, include_orphaned: bool = False) -> Results:
        """Read a store (never writes it)."""
        with Store.open(path, create=False) as store:
            return cls(store.trials(include_orphaned=include_orphaned), str(path))

    # -- data ------------------------------------------------------------------------
    def factor_names(self) -> list[str]:
        names: dict[str, None] = {}
        for record in self.records:
            names.update(dict.fromkeys(record.factors))
        return list(names)

    def metric_names(self) -> list[str]:
        """The numeric metrics any finished trial has: headline ones first, then by name."""
        found = {
            name
            for record in self.records
            for name, value in (record.metrics or {}).items()
            if is_number(value)
        }
        return [m for m in HEADLINE if m in found] + sorted(found - set(HEADLINE))

    def configurations(self) -> list[Configuration]:
        """The trials grouped by configuration, in sweep order."""
        groups: dict[str, list[TrialRecord]] = {}
        for record in self.records:
            groups.setdefault(record.config_key, []).append(record)
        return [
            Configuration(key, members[0].factors, tuple(members))
            for key, members in groups.items()
        ]

    def counts(self) -> dict[str, int]:
        return {str(s): sum(r.status is s for r in self.records) for s in Status}

    def front(self, cost: str = "flops", quality: str = "accuracy") -> list[Configuration]:
        """The configurations on the Pareto front of mean ``quality`` against mean ``cost``."""
        measured = [
            c
            for c in self.configurations()
            if c.mean(cost) is not None and c.mean(quality) is not None
        ]
        pairs = [(c.mean(cost) or 0.0, c.mean(quality) or 0.0) for c in measured]
        return [measured[i] for i in pareto_front(pairs)]

    def to_dict(self) -> dict[str, Any]:
        metrics = self.metric_names()
        return {
            "store": self.source,
            "counts": self.counts(),
            "factors": self.factor_names(),
            "metrics": metrics,
            "trials": [r.to_dict() for r in self.records],
            "configurations": [c.to_dict(metrics) for c in self.configurations()],
        }

    # -- rendering -------------------------------------------------------------------
    def trial_rows(self, metrics: Sequence[str] | None = None) -> tuple[list[str], list[list[str]]]:
        """Headers and text cells of the trials table."""
        factors, metrics = self.factor_names(), metrics or self.metric_names()
        headers = ["key", *_short_names(factors), "seed", "status", *metrics]
        rows = [
            [
                r.key[:8],
                *(format_value(r.factors.get(f)) for f in factors),
                str(r.seed),
                str(r.status),
                *(format_value((r.metrics or {}).get(m)) for m in metrics),
            ]
            for r in self.records
        ]
        return headers, rows

    def configuration_rows(
        self, metrics: Sequence[str] | None = None
    ) -> tuple[list[str], list[list[str]]]:
        """Headers and text cells of the means ± std table."""
        factors, metrics = self.factor_names(), metrics or self.metric_names()
        headers = [*_short_names(factors), "seeds", *metrics]
        rows = [
            [
                *(format_value(c.factors.get(f)) for f in factors),
                f"{len(c.done)}/{len(c.trials)}",
                *(mean_std(c.mean(m), c.std(m)) for m in metrics),
            ]
            for c in self.configurations()
        ]
        return headers, rows

    def __rich__(self) -> RenderableType:
        # the terminal is narrow: the quality and cost metrics; JSON, CSV, Markdown have all
        metrics = [m for m in self.metric_names() if m in TERMINAL][:6]
        counts = ", ".join(f"{n} {s}" for s, n in self.counts().items() if n)
        headers, rows = self.configuration_rows(metrics)
        parts: list[RenderableType] = [
            table(
                f"configurations (mean ± std over seeds) in {self.source}",
                headers,
                rows,
                right=set(metrics) | {"seeds"},
            )
        ]
        failures = [r for r in self.records if r.status is Status.failed]
        if failures:
            parts.append(
                table(
                    "failed trials",
                    ["key", "trial", "error"],
                    [[r.key[:8], _trial_label(r), r.error or ""] for r in failures],
                    overflow="fold",
                )
            )
        parts.append(Text(f"{len(self.records)} trials: {counts or 'none'}"))
        return Group(*parts)

    def to_csv(self) -> str:
        """One line per trial: key, config key, status, seed, factors, every metric, error
        (full precision, lists and objects as JSON)."""
        factors, metrics = self.factor_names(), self.metric_names()
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["key", "config_key", "status", "seed", *factors, *metrics, "error"])
        for r in self.records:
            writer.writerow(
                [
                    r.key,
                    r.config_key,
                    str(r.status),
                    r.seed,
                    *(cell(r.factors.get(f)) for f in factors),
                    *(cell((r.metrics or {}).get(m)) for m in metrics),
                    r.error or "",
                ]
            )
        return buffer.getvalue()


def cell(value: Any) -> str:
    """A CSV cell: full precision, lists and objects as JSON, nothing for None.

    >>> cell(0.123456789), cell([2, 2]), cell(None)
    ('0.123456789', '[2, 2]', '')
    """
    if value is None:
        return ""
    return json.dumps(value) if isinstance(value, list | dict) else str(value)


def mean_std(mean: float | None, std: float | None) -> str:
    """``0.9812 ± 0.0021``; the mean alone when there is no spread to show.

    >>> mean_std(0.98123, 0.00213), mean_std(2_400_000.0, 0.0), mean_std(None, None)
    ('0.9812 ± 0.0021', '2.40M', '-')
    """
    if mean is None:
        return "-"
    if not std:
        return format_value(mean)
    return f"{format_value(mean)} ± {format_value(std)}"


def _short_names(paths: Sequence[str]) -> list[str]:
    """``model.op`` → ``op`` where no other factor ends the same way.

    >>> _short_names(["model.op", "model.lr", "training.lr", "plan"])
    ['op', 'model.lr', 'training.lr', 'plan']
    """
    lasts = [p.rsplit(".", 1)[-1] for p in paths]
    return [last if lasts.count(last) == 1 else p for p, last in zip(paths, lasts, strict=True)]


def _trial_label(record: TrialRecord) -> str:
    names = _short_names(list(record.factors))
    factors = " ".join(
        f"{name}={format_value(v)}" for name, v in zip(names, record.factors.values(), strict=True)
    )
    return f"{factors} seed={record.seed}".strip()
