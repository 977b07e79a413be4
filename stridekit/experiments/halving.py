"""Successive halving: stop a hopeless trial after an epoch, judged against finished ones.

At each *rung* (an epoch count: ``min_epochs``, ``min_epochs·eta``, ``min_epochs·eta²``, …,
below the full training) a trial goes on only if its metric is among the best ``1/eta`` of
the values that finished trials had at that rung (asynchronous successive halving, Li et
al. 2020, "A System for Massively Parallel Hyperparameter Tuning"). The peers are the
*finished* trials read from the store when the trial is dispatched, so the decision is the
same in a worker process, after a resume, and on every rerun; a rung with fewer than
``eta`` peers never stops anyone.

>>> rule = HalvingRule(metric="accuracy", maximize=True, eta=2,
...                    peers={1: (0.5, 0.6, 0.9, 0.95)})
>>> rule(1, {"accuracy": 0.7}), rule(1, {"accuracy": 0.92}), rule(2, {"accuracy": 0.1})
(True, False, False)
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any


def rungs(min_epochs: int, eta: int, epochs: int) -> tuple[int, ...]:
    """The epoch counts at which trials are judged: ``min_epochs·eta^k`` below ``epochs``.

    >>> rungs(1, 3, 10), rungs(2, 2, 16), rungs(5, 2, 5)
    ((1, 3, 9), (2, 4, 8), ())
    """
    found: list[int] = []
    rung = min_epochs
    while rung < epochs:
        found.append(rung)
        rung *= eta
    return tuple(found)


@dataclass(frozen=True)
class HalvingRule:
    """The stop rule handed to a trial (``should_stop(epoch, metrics)``); picklable.

    ``peers`` maps a rung to the metric values finished trials had there.
    """

    metric: str
    maximize: bool
    eta: int
    peers: Mapping[int, Sequence[float]] = field(default_factory=dict)

    def __call__(self, epoch: int, metrics: Mapping[str, float]) -> bool:
        values = self.peers.get(epoch, ())
        value = metrics.get(self.metric)
        if len(values) < self.eta or value is None or math.isnan(value):
            return False
        ranked = sorted(values, reverse=self.maximize)
        # keep the best ceil(n/eta): the last kept value is the bar to reach (ties go on)
        bar = ranked[math.ceil(len(ranked) / self.eta) - 1]
        return value < bar if self.maximize else value > bar


def rung_values(
    histories: Iterable[Sequence[Mapping[str, Any]] | None], metric: str, at: Iterable[int]
) -> dict[int, tuple[float, ...]]:
    """The values of ``metric`` that trials reported at each rung epoch in ``at``.

    >>> rung_values([[{"epoch": 1, "acc": 0.5}, {"epoch": 2, "acc": 0.7}],
    ...              [{"epoch": 1, "acc": 0.4}], None], "acc", at=(1, 2))
    {1: (0.5, 0.4), 2: (0.7,)}
    """
    wanted = set(at)
    found: dict[int, list[float]] = defaultdict(list)
    for history in histories:
        for entry in history or ():
            value = entry.get(metric)
            if entry.get("epoch") in wanted and isinstance(value, int | float):
                found[int(entry["epoch"])].append(float(value))
    return {epoch: tuple(values) for epoch, values in sorted(found.items())}
