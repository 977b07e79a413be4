"""The sweep driver: spec → search → store → runner, resumable at any point.

`run_sweep` is what ``stridekit sweep SPEC`` does. It validates the spec and checks every
planned configuration before any training (a bad op or a stride plan that collapses the
input stops the sweep at once, naming the field); records the plan in the store (saying
which trials are new and which stored ones the spec no longer plans); then runs what is
not done: pending trials, trials left ``running`` by a crash, and failed ones with
``retry_failed``. The driver is the store's only writer: a trial is marked running when
it is handed to the runner and done or failed when its outcome comes back, each in its
own transaction.

>>> import pathlib, tempfile
>>> from stridekit.experiments.runner import TrialResult
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> _ = (folder / "tiny.yaml").write_text('''
... dataset: synthetic-detail
... vary: {op: [conv, max_pool]}
... seeds: [0, 1]
... ''')
>>> def fake(config, seed, **options):  # stands in for the real training
...     return TrialResult({"accuracy": 0.5 + seed / 10}, {}, {}, {})
>>> summary = run_sweep(folder / "tiny.yaml", trial_function=fake, show_progress=False)
>>> summary.counts, summary.ran, summary.store == str(folder / "tiny.db")
({'pending': 0, 'running': 0, 'done': 4, 'failed': 0}, 4, True)
>>> run_sweep(folder / "tiny.yaml", trial_function=fake, show_progress=False).ran
0
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.text import Text

from stridekit.errors import StoreError, StrideError, SweepSpecError
from stridekit.experiments.backend import make_runner
from stridekit.experiments.halving import HalvingRule, rung_values, rungs
from stridekit.experiments.progress import SweepProgress
from stridekit.experiments.ray_runner import RayOptions
from stridekit.experiments.results import Results, format_value, mean_std
from stridekit.experiments.runner import (
    RunnerEvent,
    TrialFunction,
    TrialOutcome,
    TrialRetried,
    TrialTask,
)
from stridekit.experiments.search import Search, choice_config, choice_factors, make_search
from stridekit.experiments.signals import as_received, sigterm_interrupts
from stridekit.experiments.spec import SHORTHANDS, SweepSpec, TrialConfig
from stridekit.experiments.store import PlannedTrial, Status, Store, TrialRecord, config_hash
from stridekit.render import Result, table


def default_store(spec_path: str | Path) -> Path:
    """The store beside the spec: ``sweeps/mnist.yaml`` → ``sweeps/mnist.db``.

    >>> str(default_store("examples/sweeps/mnist-strides.yaml"))
    'examples/sweeps/mnist-strides.db'
    """
    return Path(spec_path).with_suffix(".db")


@dataclass
class SweepSummary(Result):
    """What a sweep run did: the store, how many trials it ran, what the spec changed,
    the failures, and the best configuration so far by the first objective."""

    store: str
    name: str
    counts: dict[str, int]
    ran: int
    new: int
    orphaned: int
    seconds: float
    failures: list[dict[str, str]] = field(default_factory=list)
    best: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "seconds": round(self.seconds, 3)}

    def __rich__(self) -> RenderableType:
        counts = ", ".join(f"{n} {s}" for s, n in self.counts.items() if n) or "no trials"
        lines = [
            f"sweep {self.name}: ran {self.ran} trials in {self.seconds:.1f} s; store {self.store}"
            f" holds {counts}",
        ]
        if self.new:
            lines.append(f"{self.new} new trials planned")
        if self.orphaned:
            lines.append(
                f"{self.orphaned} stored trials are no longer in the spec (kept, not run; "
                "`stridekit results --all` lists them)"
            )
        if self.best is not None:
            metric = self.best["metric"]
            lines.append(
                f"best {metric}: {mean_std(self.best['mean'], self.best['std'])} with "
                f"{self.best['label'] or 'the spec as written (nothing varied)'}"
            )
        parts: list[RenderableType] = [Text("\n".join(lines))]
        if self.failures:
            parts.append(
                table(
                    "failed trials",
                    ["trial", "error"],
                    [[f["trial"], f["error"]] for f in self.failures],
                    overflow="fold",
                )
            )
        return Group(*parts)


# The trial and its checks build models, so they import torch: the driver imports them
# when a sweep runs, not when the CLI starts (neither imports this module: no cycle).
def _default_trial_function() -> TrialFunction:
    from stridekit.experiments.trial import run_trial

    return run_trial


def _trial_check() -> Callable[[TrialConfig, SweepSpec], object]:
    from stridekit.experiments.checks import check_config

    return check_config


class _Driver:
    """The state of one sweep run: store writes, search tells, progress."""

    def __init__(
        self,
        spec: SweepSpec,
        store: Store,
        search: Search,
        *,
        retry_failed: bool,
    ) -> None:
        self.spec, self.store, self.search = spec, store, search
        self.retry_failed = retry_failed
        self.configs: dict[str, TrialConfig] = {}  # config key → config
        self.choices: dict[str, dict[str, Any]] = {}  # config key → choice
        self.labels: dict[str, str] = {}  # trial key → label
        self.running: set[str] = set()  # started in the store, no outcome recorded yet
        self.view: SweepProgress | None = None
        self.check = _trial_check()

    # -- planning --------------------------------------------------------------------
    def planned(self, choice: dict[str, Any]) -> list[PlannedTrial]:
        """The trials of a choice (one per seed), its config checked before any training."""
        config = choice_config(self.spec, choice)
        data = config.model_dump(mode="json")
        key = config_hash(data)
        if key not in self.configs:
            self.check(config, self.spec)
            self.configs[key], self.choices[key] = config, dict(choice)
        factors = choice_factors(choice)
        label = " ".join(f"{_short(k)}={format_value(v)}" for k, v in factors.items())
        trials = []
        for seed in self.spec.seeds:
            trial_key = config.key(seed)
            self.labels[trial_key] = f"{label} seed={seed}".strip()
            trials.append(PlannedTrial(trial_key, key, data, factors, seed))
        return trials

    def runnable(self, record: TrialRecord) -> bool:
        if record.status is Status.failed:
            return self.retry_failed
        return record.status in (Status.pending, Status.running)

    # -- running ---------------------------------------------------------------------
    def task(self, record: TrialRecord) -> TrialTask:
        """Mark the trial running (committed) and hand it out."""
        self.store.start(record.key)
        self.running.add(record.key)
        return TrialTask(
            record.key,
            self.configs[record.config_key],
            record.seed,
            should_stop=self.stop_rule(self.configs[record.config_key]),
            label=self.labels.get(record.key, ""),
        )

    def stop_rule(self, config: TrialConfig) -> HalvingRule | None:
        halving = self.spec.search.halving
        if halving is None:
            return None
        at = rungs(halving.min_epochs, halving.reduction, config.training.epochs)
        if not at:
            return None
        direction = self.spec.search.objectives.get(halving.metric, "max")
        done = self.store.trials([Status.done], include_orphaned=False)
        return HalvingRule(
            metric=halving.metric,
            maximize=direction == "max",
            eta=halving.reduction,
            peers=rung_values((r.history for r in done), halving.metric, at),
        )

    def handle(self, event: RunnerEvent) -> None:
        """A runner event: a retried trial is one more attempt in the store; the view
        shows every event."""
        if isinstance(event, TrialRetried):
            self.store.start(event.key)
        if self.view is not None:
            self.view.handle(event)

    def release(self) -> int:
        """The trials started but not finished go back to pending (a cancelled run)."""
        released = self.store.release(self.running)
        self.running.clear()
        return released

    def record(self, outcome: TrialOutcome) -> None:
        """Store an outcome (one transaction) and tell the search when a config is whole."""
        if outcome.result is not None:
            result = outcome.result
            self.store.finish(
                outcome.key,
                metrics=dict(result.metrics),
                analysis=dict(result.analysis),
                timings={**result.timings, "wall": outcome.seconds},
                environment=dict(result.environment),
                history=outcome.history,
            )
        else:
            self.store.fail(
                outcome.key,
                outcome.error or "failed",
                timings={"wall": outcome.seconds},
                history=outcome.history,
            )
        self.running.discard(outcome.key)
        if self.view is not None:
            self.view.finished(outcome)
        if self.search.adaptive:
            (record,) = self.store.trials(keys=[outcome.key])
            self.tell_if_complete(record.config_key)

    def tell_if_complete(self, config_key: str) -> bool:
        """Tell the search the mean of each objective once every seed has finished."""
        records = self.store.trials(keys=[self.configs[config_key].key(s) for s in self.spec.seeds])
        if len(records) < len(self.spec.seeds) or any(
            r.status in (Status.pending, Status.running) for r in records
        ):
            return False
        values: list[float] | None = []
        for metric in self.search.objectives():
            found = [(r.metrics or {}).get(metric) for r in records if r.status is Status.done]
            numbers = [float(v) for v in found if isinstance(v, int | float)]
            stopped = any((r.metrics or {}).get("stopped_at") is not None for r in records)
            if len(numbers) < len(records) or stopped or values is None:
                values = None
                break
            values.append(sum(numbers) / len(numbers))
        self.search.tell(self.choices[config_key], values)
        return True

    def tasks_fixed(self, records: list[TrialRecord]) -> Iterator[TrialTask]:
        for record in records:
            yield self.task(record)

    def tasks_adaptive(self, resumed: list[TrialRecord]) -> Iterator[TrialTask]:
        """First the stored trials left unfinished, then new choices from the sampler."""
        for record in resumed:
            yield self.task(record)
        for choice in self.search.choices():
            try:
                planned = self.planned(choice)
            except SweepSpecError as error:  # this corner of the space cannot train
                self.search.tell(choice, None)
                if self.view is not None:
                    self.view.console.print(f"skipped {choice}: {error}", markup=False)
                continue
            self.store.plan(planned, complete=False)
            records = self.store.trials(keys=[p.key for p in planned])
            for record in records:
                if self.view is not None and record.status is not Status.done:
                    self.view.add(record.key, self.labels[record.key])
                if record.status is not Status.done:
                    yield self.task(record)
            if all(r.status is Status.done for r in records):
                self.tell_if_complete(records[0].config_key)


def run_sweep(
    spec_path: str | Path,
    *,
    store_path: str | Path | None = None,
    workers: int = 1,
    retry_failed: bool = False,
    device: str | None = None,
    backend: str = "local",
    ray: RayOptions | None = None,
    trial_function: TrialFunction | None = None,
    console: Console | None = None,
    show_progress: bool | None = None,
) -> SweepSummary:
    """Run (or resume) the sweep of a spec file; see the module docstring.

    ``backend`` ``"local"`` runs trials in this process (``workers`` 1) or in worker
    processes; ``"ray"`` runs them as Ray tasks as ``ray`` says (`RayOptions`). Ctrl-C
    (KeyboardInterrupt) cancels the running trials, puts them back to pending, and is
    raised again; so does SIGTERM, raised as `Terminated` (a KeyboardInterrupt).
    """
    start = time.perf_counter()
    spec = SweepSpec.load(spec_path)
    spec_text = Path(spec_path).read_text()
    name = spec.name or Path(spec_path).stem
    search = make_search(spec)
    runner = make_runner(
        trial_function or _default_trial_function(), workers, device, backend=backend, ray=ray
    )
    console = console or Console(file=sys.stderr, highlight=False)
    with sigterm_interrupts(), Store.open(store_path or default_store(spec_path)) as store:
        store.claim()  # the one writer
        driver = _Driver(spec, store, search, retry_failed=retry_failed)
        if search.adaptive:
            new, orphaned, resumed = _resume_adaptive(driver)
        else:
            planned = [trial for choice in search.choices() for trial in driver.planned(choice)]
            changes = store.plan(planned, complete=True)
            new, orphaned = len(changes.new), len(changes.orphaned)
            keys = {p.key for p in planned}
            resumed = [r for r in store.trials() if r.key in keys and driver.runnable(r)]
        store.record_spec(name, spec_text)
        if orphaned:
            console.print(
                f"{orphaned} stored trials are not in the spec any more: kept, not run",
                markup=False,
            )
        tasks = driver.tasks_adaptive(resumed) if search.adaptive else driver.tasks_fixed(resumed)
        ran = 0
        view = SweepProgress(len(resumed), driver.labels, console, enabled=show_progress)
        driver.view = view
        with view:
            outcomes = runner.run(tasks, driver.handle)
            try:
                with contextlib.closing(outcomes):  # on Ctrl-C: the runner cancels its trials
                    for outcome in outcomes:
                        driver.record(outcome)
                        ran += 1
            except KeyboardInterrupt as stop:
                released = driver.release()
                console.print(
                    f"interrupted: {released} running trials cancelled and left pending; "
                    "run the same command again to resume",
                    markup=False,
                )
                arrived = as_received(stop)
                if arrived is stop:
                    raise
                raise arrived from None
            except StrideError:  # a store or a cluster failed: the runner has cancelled its
                with contextlib.suppress(StoreError):  # trials; say so in the store if it can
                    driver.release()
                raise
        counts = store.counts()
        failures = [
            {"trial": driver.labels.get(r.key, r.key[:12]), "error": r.error or ""}
            for r in store.trials([Status.failed], include_orphaned=False)
        ]
    return SweepSummary(
        str(store.path),
        name,
        counts,
        ran,
        new,
        orphaned,
        time.perf_counter() - start,
        failures,
        _best(store.path, spec),
    )


def _resume_adaptive(driver: _Driver) -> tuple[int, int, list[TrialRecord]]:
    """Re-tell the sampler every finished configuration of the spec's space, register the
    unfinished ones as in flight; return (new, orphaned, the trials to run first)."""
    spec, store = driver.spec, driver.store
    stored = store.trials()
    belonging: list[PlannedTrial] = []
    for record in stored:
        choice = _stored_choice(driver.search, record)
        if choice is None or record.seed not in spec.seeds:
            continue
        try:
            planned = driver.planned(choice)
        except SweepSpecError:
            continue
        belonging += [p for p in planned if p.key == record.key]
    changes = store.plan(belonging, complete=True)
    keys = {p.key for p in belonging}
    resumed = [r for r in store.trials() if r.key in keys and driver.runnable(r)]
    unfinished = {r.config_key for r in resumed}
    for config_key in dict.fromkeys(p.config_key for p in belonging):
        if config_key in unfinished:
            driver.search.in_flight(driver.choices[config_key])
        else:
            driver.tell_if_complete(config_key)
    return 0, len(changes.orphaned), resumed


def _stored_choice(search: Search, record: TrialRecord) -> dict[str, Any] | None:
    """The choice a stored trial was made from, if every value is still in the space."""
    choice: dict[str, Any] = {}
    if set(record.factors) != set(search.space):
        return None
    for name, values in search.space.items():
        stored = record.factors[name]
        match = [
            v
            for v in values
            if v == stored or (isinstance(v, dict) and v.get("name") == (stored or {}).get("name"))
        ]
        if not match:
            return None
        choice[name] = match[0]
    return choice


def _best(path: Path, spec: SweepSpec) -> dict[str, Any] | None:
    """The configuration with the best mean of the first objective."""
    if not spec.search.objectives:
        return None
    metric, direction = next(iter(spec.search.objectives.items()))
    configurations = [c for c in Results.load(path).configurations() if c.mean(metric) is not None]
    if not configurations:
        return None
    sign = 1 if direction == "max" else -1
    best = max(configurations, key=lambda c: sign * (c.mean(metric) or 0.0))
    return {
        "metric": metric,
        "mean": best.mean(metric),
        "std": best.std(metric),
        "label": " ".join(f"{_short(k)}={format_value(v)}" for k, v in best.factors.items()),
        "config_key": best.config_key,
    }


def _short(path: str) -> str:
    """``model.op`` → ``op``: a factor's name as the spec may write it."""
    for short, full in SHORTHANDS.items():
        if full == path:
            return short
    return path
