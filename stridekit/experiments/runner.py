"""Runners: one interface that takes trials and yields their outcomes, whatever runs them.

`Runner.run` pulls `TrialTask`s from an iterator only when it has room for one more (so an
adaptive search can be told each result before it is asked for the next trial), reports
`TrialStarted` and `TrialUpdate` events as they happen, and yields a `TrialOutcome` per
trial as each finishes. A trial that fails (`stridekit.errors.TrialFailed`, or any other
exception in the trial function) is an outcome with an ``error``, never an exception: the
sweep goes on. The driver, not the runner, writes the store.

- `LocalRunner`: one trial after another in this process.
- `ProcessRunner`: ``workers`` processes (spawned, so no forked torch state), each with its
  share of the CPU threads; progress events come back over a queue.
- `stridekit.experiments.ray_runner.RayRunner`: Ray tasks on a cluster (the ``ray`` extra),
  a trial whose worker dies started again (`TrialRetried`).

`stridekit.experiments.backend.make_runner` chooses one of them for a sweep.

>>> def square(config, seed, *, device=None, progress=None, should_stop=None):
...     return TrialResult({"value": config["x"] ** 2 + seed}, {}, {}, {})
>>> tasks = [TrialTask("a", {"x": 3}, seed=0), TrialTask("b", {"x": 4}, seed=1)]
>>> [(o.key, o.result.metrics) for o in LocalRunner(square).run(iter(tasks))]
[('a', {'value': 9}), ('b', {'value': 17})]
"""

from __future__ import annotations

import concurrent.futures as futures
import contextlib
import multiprocessing
import os
import queue as queues
import sys
import time
import traceback
from abc import ABC, abstractmethod
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from stridekit.errors import StrideError, UsageError


@dataclass(frozen=True)
class TrialResult:
    """What a trial function returns (the shape of `stridekit.experiments.trial.TrialResult`):
    metrics, the model's analysis, timings and environment, all JSON-able."""

    metrics: dict[str, Any]
    analysis: dict[str, Any]
    timings: dict[str, Any]
    environment: dict[str, Any]


class TrialFunction(Protocol):
    """``run_trial(config, seed, *, device, progress, should_stop) -> result`` where the
    result has ``metrics``, ``analysis``, ``timings`` and ``environment``."""

    def __call__(
        self,
        config: Any,
        seed: int,
        *,
        device: str | None = ...,
        progress: Callable[[Any], None] | None = ...,
        should_stop: Callable[[int, dict[str, float]], bool] | None = ...,
    ) -> Any: ...


StopRule = Callable[[int, dict[str, float]], bool]


@dataclass(frozen=True)
class TrialTask:
    """One trial to run: its store key, its configuration, its seed, and an optional rule
    that stops it early after an epoch (successive halving); picklable for workers."""

    key: str
    config: Any
    seed: int
    should_stop: StopRule | None = None
    label: str = ""


@dataclass(frozen=True)
class TrialOutcome:
    """A finished trial: its ``result`` or its ``error`` (one line), the per-epoch metrics
    its stop rule saw (``history``) and its wall time."""

    key: str
    result: Any | None
    error: str | None
    history: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class TrialStarted:
    key: str


@dataclass(frozen=True)
class TrialUpdate:
    """Progress of a running trial: the trial function's progress object as it sent it."""

    key: str
    progress: Any


@dataclass(frozen=True)
class TrialRetried:
    """A trial whose worker died (killed, out of memory, its node lost) is started again:
    ``attempt`` of at most ``attempts``, and why the last one ended."""

    key: str
    attempt: int
    attempts: int
    reason: str


RunnerEvent = TrialStarted | TrialUpdate | TrialRetried
EventHandler = Callable[[RunnerEvent], None]


def _ignore(event: RunnerEvent) -> None:
    """The default event handler."""


def execute(
    task: TrialTask,
    trial_function: TrialFunction,
    report: EventHandler = _ignore,
    device: str | None = None,
) -> TrialOutcome:
    """Run one trial, turning any failure into an outcome with a one-line error.

    >>> def broken(config, seed, **options):
    ...     raise RuntimeError("loss is nan at epoch 2")
    >>> execute(TrialTask("k", {}, 0), broken).error
    'RuntimeError: loss is nan at epoch 2'
    """
    history: list[dict[str, Any]] = []
    rule = task.should_stop

    def should_stop(epoch: int, metrics: dict[str, float]) -> bool:
        history.append({"epoch": epoch, **metrics})
        return bool(rule is not None and rule(epoch, metrics))

    start = time.perf_counter()
    try:
        result = trial_function(
            task.config,
            task.seed,
            device=device,
            progress=lambda update: report(TrialUpdate(task.key, update)),
            # a rule costs an evaluation per epoch: ask only when there is one
            should_stop=should_stop if rule is not None else None,
        )
    except StrideError as error:  # TrialFailed and friends: the reason is the message
        return TrialOutcome(
            task.key, None, _one_line(str(error)), history, time.perf_counter() - start
        )
    except Exception as error:  # a bug or a crash in the trial: keep going, keep the place
        where = traceback.extract_tb(error.__traceback__)[-1]
        text = f"{type(error).__name__}: {error}"
        if not isinstance(error, RuntimeError | ArithmeticError | MemoryError):
            text += f" ({os.path.basename(where.filename)}:{where.lineno})"
        return TrialOutcome(task.key, None, _one_line(text), history, time.perf_counter() - start)
    return TrialOutcome(task.key, result, None, history, time.perf_counter() - start)


def _one_line(text: str) -> str:
    return " ".join(text.split())


class Runner(ABC):
    """Takes trials, yields outcomes; see the module docstring."""

    @abstractmethod
    def run(
        self, tasks: Iterator[TrialTask], on_event: EventHandler = _ignore
    ) -> Generator[TrialOutcome, None, None]:
        """Run the tasks (pulled lazily), yield each outcome as it finishes. The driver
        closes the generator when it stops early (Ctrl-C): the runner ends its trials
        there (the Ray runner cancels the tasks still running)."""

    @property
    @abstractmethod
    def slots(self) -> int:
        """How many trials run at once."""


class LocalRunner(Runner):
    """Runs the trials one after another in this process."""

    def __init__(self, trial_function: TrialFunction, device: str | None = None) -> None:
        self.trial_function = trial_function
        self.device = device

    @property
    def slots(self) -> int:
        return 1

    def run(
        self, tasks: Iterator[TrialTask], on_event: EventHandler = _ignore
    ) -> Generator[TrialOutcome, None, None]:
        for task in tasks:
            on_event(TrialStarted(task.key))
            yield execute(task, self.trial_function, on_event, self.device)


# -- worker processes ---------------------------------------------------------------------
_events: Any = None  # the queue a worker process sends its events on


def _start_worker(events: Any, threads: int) -> None:
    global _events
    _events = events
    # torch reads these when it is first imported (by the first trial), so setting them
    # here costs nothing in a worker that never trains
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def _send(event: RunnerEvent) -> None:
    with contextlib.suppress(Exception):  # a full or closed queue loses only an update
        _events.put_nowait(event)


def _execute_in_worker(
    task: TrialTask, trial_function: TrialFunction, device: str | None
) -> TrialOutcome:
    _send(TrialStarted(task.key))
    return execute(task, trial_function, _send, device)


def threads_per_worker(workers: int, cores: int | None = None) -> int:
    """The CPU threads each of ``workers`` processes gets: the cores split evenly, >= 1.

    >>> threads_per_worker(2, cores=16), threads_per_worker(3, cores=2)
    (8, 1)
    """
    available = cores if cores is not None else (os.cpu_count() or 1)
    return max(1, available // workers)


class ProcessRunner(Runner):
    """Runs up to ``workers`` trials at once in spawned worker processes.

    The trial function must be importable by name (a module-level function), so the
    workers can unpickle it. A worker that dies (killed, out of memory) fails the trials
    it held; the pool is started again for the rest.
    """

    def __init__(
        self, trial_function: TrialFunction, workers: int, device: str | None = None
    ) -> None:
        if workers < 1:
            raise UsageError(f"--workers {workers}: give 1 or more worker processes")
        self.trial_function = trial_function
        self.workers = workers
        self.device = device

    @property
    def slots(self) -> int:
        return self.workers

    def run(
        self, tasks: Iterator[TrialTask], on_event: EventHandler = _ignore
    ) -> Generator[TrialOutcome, None, None]:
        context = multiprocessing.get_context("spawn")
        events = context.Queue()
        threads = threads_per_worker(self.workers)

        def new_pool() -> futures.ProcessPoolExecutor:
            return futures.ProcessPoolExecutor(
                self.workers, context, initializer=_start_worker, initargs=(events, threads)
            )

        pool = new_pool()
        running: dict[futures.Future[TrialOutcome], TrialTask] = {}
        exhausted = False
        finished = False
        try:
            while True:
                while not exhausted and len(running) < self.workers:
                    task = next(tasks, None)
                    if task is None:
                        exhausted = True
                        break
                    future = pool.submit(_execute_in_worker, task, self.trial_function, self.device)
                    running[future] = task
                if not running:
                    finished = True
                    return
                done, _ = futures.wait(running, timeout=0.1, return_when=futures.FIRST_COMPLETED)
                _drain(events, on_event)
                broken = False
                for future in done:
                    task = running.pop(future)
                    try:
                        yield future.result()
                    except futures.process.BrokenProcessPool:
                        broken = True
                        yield TrialOutcome(task.key, None, "the worker process died")
                if broken:
                    for task in running.values():
                        yield TrialOutcome(task.key, None, "the worker process died")
                    running.clear()
                    pool.shutdown(wait=False, cancel_futures=True)
                    pool = new_pool()
        finally:
            if not finished:  # Ctrl-C, SIGTERM, a store that failed: stop the trials now
                _kill_workers(pool)
            pool.shutdown(wait=True, cancel_futures=True)
            _drain(events, on_event)
            events.close()


def _kill_workers(pool: futures.ProcessPoolExecutor) -> None:
    """End a pool's worker processes at once: its ``shutdown`` would wait for the trials
    they run (``ProcessPoolExecutor.kill_workers`` arrives only in Python 3.14)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        with contextlib.suppress(OSError):
            process.kill()


def _drain(events: Any, on_event: EventHandler) -> None:
    while True:
        try:
            on_event(events.get_nowait())
        except queues.Empty:
            return
