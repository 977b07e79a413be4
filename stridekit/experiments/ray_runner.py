"""The Ray backend: trials as Ray tasks on a cluster, behind the same `Runner` interface.

``stridekit sweep SPEC --backend ray --address HOST:PORT`` runs each trial as a Ray task
asking for ``cpus_per_trial`` CPUs and ``gpus_per_trial`` GPUs; the driver stays where it
was started, pulls trials from the search only when a slot is free (so an adaptive search
is told each result before it is asked again), and is still the only writer of the store.

- **Progress.** A trial's task is a streaming generator: it yields `TrialStarted` when a
  worker picks it up, `TrialUpdate` from the training loop (at most every
  `UPDATE_INTERVAL_S`), and its `TrialOutcome` last; the driver's view shows them as it
  shows the local runner's.
- **Faults.** A trial that raises (a NaN loss, a bug) is an outcome with an error, as
  everywhere. A trial whose worker *dies* (killed, out of memory, its node lost) is
  started again, up to `RayOptions.max_retries` times (each start is a `TrialRetried`
  event, so the store counts the attempt); then it fails with the reason.
- **Stopping.** When the run ends early (Ctrl-C in the driver, an error), the tasks still
  running are cancelled (their worker processes killed, so no half-trained model keeps a
  GPU) and Ray is shut down if this runner connected to it.
- **Data.** A dataset that lives in memory (generated, or bundled with a package) is
  loaded once by the driver and put in Ray's object store as numpy arrays, which every
  worker on a node maps from shared memory without a copy (`SharedDataset`); the trial's
  `load_dataset` then returns it. A dataset read from files is read by each worker from
  its ``root``, which must be a path every node sees.

Ray is an optional extra (``pip install 'stridekit[ray]'``): this module imports it only
when a runner runs.

>>> runner = RayRunner(print, RayOptions(address="auto", cpus_per_trial=2, max_concurrent=4))
>>> runner.device, runner.threads, runner.slots
('cpu', 2, 4)
"""

from __future__ import annotations

import contextlib
import logging
import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from stridekit.errors import HeadLost, StrideError, UsageError
from stridekit.experiments.ray_address import LOCAL_TIMEOUT_S, answers, resolve_address
from stridekit.experiments.runner import (
    EventHandler,
    Runner,
    RunnerEvent,
    TrialFunction,
    TrialOutcome,
    TrialRetried,
    TrialStarted,
    TrialTask,
    _ignore,
    _one_line,
    execute,
)
from stridekit.experiments.shared_dataset import SharedDataset, shared_dataset_key

# torch and the datasets are imported where they are used: a worker whose trial never
# touches them (a stand-in in the tests) starts without paying for torch's import

UPDATE_INTERVAL_S = 0.2  # a worker sends a trial's progress at most this often
POLL_S = 0.1  # how long the driver waits for any task before it looks again


@dataclass(frozen=True)
class RayOptions:
    """Where and how trials run on Ray.

    ``address``: ``None`` (Ray's default: ``RAY_ADDRESS`` if set, else a Ray started in
    this process), ``"auto"`` (the cluster this machine belongs to) or ``"HOST:PORT"``
    (its head node). ``cpus_per_trial`` and ``gpus_per_trial`` are the resources each
    trial's task asks for (fractions allowed: 0.5 GPUs puts two trials on a GPU).
    ``max_concurrent``: trials at once (default: as many as the cluster's resources fit
    when the sweep starts). ``max_retries``: how many times a trial whose worker died is
    started again before it fails.

    >>> RayOptions(cpus_per_trial=0)
    Traceback (most recent call last):
    ...
    stridekit.errors.UsageError: --cpus-per-trial 0: give a positive number of CPUs
    """

    address: str | None = None
    cpus_per_trial: float = 1.0
    gpus_per_trial: float = 0.0
    max_concurrent: int | None = None
    max_retries: int = 2

    def __post_init__(self) -> None:
        if not self.cpus_per_trial > 0:
            raise UsageError(
                f"--cpus-per-trial {self.cpus_per_trial:g}: give a positive number of CPUs"
            )
        if not self.gpus_per_trial >= 0:
            raise UsageError(f"--gpus-per-trial {self.gpus_per_trial:g}: give 0 or more GPUs")
        if self.max_concurrent is not None and self.max_concurrent < 1:
            raise UsageError(f"--max-concurrent {self.max_concurrent}: give 1 or more trials")
        if self.max_retries < 0:
            raise UsageError(f"--max-retries {self.max_retries}: give 0 or more retries")


def trials_that_fit(resources: dict[str, float], cpus: float, gpus: float) -> int:
    """How many trials asking ``cpus`` and ``gpus`` each the ``resources`` hold at once
    (exact: 0.3 GPUs fit 3 times in 0.9, which floats would make 2).

    >>> trials_that_fit({"CPU": 16.0, "GPU": 4.0}, cpus=2, gpus=1)
    4
    >>> trials_that_fit({"CPU": 2.0, "GPU": 0.9}, cpus=0.5, gpus=0.3)
    3
    >>> trials_that_fit({"CPU": 8.0}, cpus=1, gpus=1)
    0
    """
    fits = int(_exact(resources.get("CPU", 0)) // _exact(cpus))
    if gpus > 0:
        fits = min(fits, int(_exact(resources.get("GPU", 0)) // _exact(gpus)))
    return fits


def _exact(value: float) -> Fraction:
    return Fraction(repr(float(value)))


# -- in the worker ------------------------------------------------------------------------
_DONE = object()


def run_in_worker(
    task: TrialTask,
    trial_function: TrialFunction,
    device: str | None,
    threads: int,
    dataset: SharedDataset | None,
) -> Iterator[RunnerEvent | TrialOutcome]:
    """A trial's Ray task: its events, then its outcome.

    The trial runs in a thread so that this generator can send its progress while it
    trains; a cancelled task is killed with its process, never left training.

    >>> from stridekit.experiments.runner import TrialResult
    >>> def square(config, seed, **options):
    ...     return TrialResult({"value": config["x"] ** 2}, {}, {}, {})
    >>> items = list(run_in_worker(TrialTask("k", {"x": 3}, 0), square, "cpu", 1, None))
    >>> [type(item).__name__ for item in items], items[-1].result.metrics
    (['TrialStarted', 'TrialOutcome'], {'value': 9})
    """
    _use_threads(threads)
    if dataset is not None:
        from stridekit.experiments.datasets import provide_dataset

        provide_dataset(task.config.dataset, task.config.input_size, dataset.to_dataset())
    yield TrialStarted(task.key)
    events: queue.SimpleQueue[Any] = queue.SimpleQueue()
    outcome: list[TrialOutcome] = []

    def work() -> None:
        try:
            outcome.append(execute(task, trial_function, events.put, device))
        finally:
            events.put(_DONE)

    thread = threading.Thread(target=work, name=f"trial-{task.key[:12]}", daemon=True)
    thread.start()
    latest: RunnerEvent | None = None
    sent = 0.0
    while True:
        try:
            item = events.get(timeout=UPDATE_INTERVAL_S)
        except queue.Empty:
            item = None
        if item is _DONE:
            break
        if item is not None:
            latest = item
        if latest is not None and time.monotonic() - sent >= UPDATE_INTERVAL_S:
            yield latest
            latest, sent = None, time.monotonic()
    thread.join()
    if not outcome:  # execute turns every Exception into an outcome: this is a BaseException
        raise RuntimeError(f"trial {task.key[:12]} ended without an outcome")
    yield outcome[0]


def _use_threads(threads: int) -> None:
    """CPU threads for this worker's trials: torch's own if it is loaded, else the
    variables torch reads when it is (Ray sets them too, from the task's CPUs)."""
    if "torch" in sys.modules:
        torch = sys.modules["torch"]
        if torch.get_num_threads() != threads:
            torch.set_num_threads(threads)
        return
    for variable in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(threads)


# -- in the driver ------------------------------------------------------------------------
def _import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UsageError(
            "--backend ray needs Ray: pip install 'stridekit[ray]' (on the driver and on "
            "every node of the cluster)"
        ) from None
    return ray


@dataclass(frozen=True)
class _Attempt:
    task: TrialTask
    number: int


class RayRunner(Runner):
    """Runs trials as Ray tasks; see the module docstring.

    The trial function must be importable on the workers (a module-level function of an
    installed package, such as `stridekit.experiments.trial.run_trial`) or picklable by
    value. ``device`` defaults to ``cuda`` when trials ask for GPUs, ``cpu`` otherwise.
    """

    def __init__(
        self,
        trial_function: TrialFunction,
        options: RayOptions | None = None,
        device: str | None = None,
    ) -> None:
        self.trial_function = trial_function
        self.options = options if options is not None else RayOptions()
        gpus = self.options.gpus_per_trial
        if device is None:
            device = "cuda" if gpus > 0 else "cpu"
        elif device.startswith("cuda") and gpus == 0:
            raise UsageError(
                f"--device {device} with --gpus-per-trial 0: Ray gives a trial no GPU unless "
                "it asks; give --gpus-per-trial 1 (or a fraction)"
            )
        self.device = device
        self.threads = max(1, int(self.options.cpus_per_trial))
        self.fitted: int | None = None  # trials the cluster fits, known once connected
        self.shared: dict[tuple[str, int | None], Any] = {}  # dataset key → object ref

    @property
    def slots(self) -> int:
        """Trials at once: ``max_concurrent``, else what the cluster fitted when it last
        ran (0 before it has connected)."""
        if self.options.max_concurrent is not None:
            return self.options.max_concurrent
        return self.fitted or 0

    def run(
        self, tasks: Iterator[TrialTask], on_event: EventHandler = _ignore
    ) -> Generator[TrialOutcome, None, None]:
        ray = _import_ray()
        connected_here = self._connect(ray)
        running: dict[Any, _Attempt] = {}  # the task's generator → what it runs
        try:
            slots = self._fit(ray)
            remote = ray.remote(run_in_worker).options(
                num_cpus=self.options.cpus_per_trial,
                num_gpus=self.options.gpus_per_trial,
                max_retries=0,  # a dead worker is retried here, where the store hears of it
                num_returns="streaming",
            )
            function = ray.put(self.trial_function)

            def submit(attempt: _Attempt) -> None:
                dataset = self._dataset(ray, attempt.task.config)
                generator = remote.remote(
                    attempt.task, function, self.device, self.threads, dataset
                )
                running[generator] = attempt

            exhausted = False
            while True:
                while not exhausted and len(running) < slots:
                    task = next(tasks, None)
                    if task is None:
                        exhausted = True
                        break
                    submit(_Attempt(task, 1))
                if not running:
                    return
                ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
                for generator in ready:
                    attempt = running[generator]
                    item, died = _next_item(ray, generator, attempt.task.key)
                    if isinstance(item, TrialOutcome):
                        del running[generator]
                        yield item
                    elif item is not None:
                        on_event(item)
                    elif (gone := _head_gone(ray)) is not None:
                        raise gone
                    elif attempt.number <= self.options.max_retries:
                        del running[generator]
                        retry = _Attempt(attempt.task, attempt.number + 1)
                        attempts = self.options.max_retries + 1
                        on_event(TrialRetried(attempt.task.key, retry.number, attempts, died))
                        submit(retry)
                    else:
                        del running[generator]
                        times = "once" if attempt.number == 1 else f"in all {attempt.number} tries"
                        yield TrialOutcome(
                            attempt.task.key, None, f"its Ray worker died {times}: {died}"
                        )
        finally:
            for generator in running:
                with contextlib.suppress(Exception):
                    ray.cancel(generator, force=True)
            self.shared.clear()
            if connected_here:
                ray.shutdown()

    def _connect(self, ray: Any) -> bool:
        """Connect to the cluster unless this process already is; True if it connected."""
        if ray.is_initialized():
            return False
        address, notice = resolve_address(self.options.address)
        if notice:
            print(f"stridekit: {notice}", file=sys.stderr, flush=True)
        try:
            with _keeping_sigterm():
                ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
        except (ConnectionError, ValueError) as error:
            where = f"--address {address}"
            raise UsageError(
                f"{where}: no Ray cluster to connect to ({_one_line(str(error))}); start one "
                "with `ray start --head` and give its HOST:PORT, or `auto` on one of its nodes"
            ) from None
        return True

    def _fit(self, ray: Any) -> int:
        cpus, gpus = self.options.cpus_per_trial, self.options.gpus_per_trial
        resources = ray.cluster_resources()
        self.fitted = trials_that_fit(resources, cpus, gpus)
        if self.options.max_concurrent is not None:
            return self.options.max_concurrent
        if self.fitted < 1:
            raise UsageError(
                f"the Ray cluster has {resources.get('CPU', 0):g} CPUs and "
                f"{resources.get('GPU', 0):g} GPUs now, less than one trial's "
                f"--cpus-per-trial {cpus:g} --gpus-per-trial {gpus:g}; ask for less, add "
                "nodes, or give --max-concurrent to wait for an autoscaler"
            )
        return self.fitted

    def _dataset(self, ray: Any, config: Any) -> Any:
        """The object ref of the config's in-memory dataset, put in the store once."""
        key = shared_dataset_key(config)
        if key is None:
            return None
        if key not in self.shared:
            from stridekit.experiments.datasets import load_dataset

            try:
                data = load_dataset(config.dataset, config.input_size)
            except StrideError:  # the trial loads it again and fails with the reason
                return None
            self.shared[key] = ray.put(SharedDataset.of(data))
        return self.shared[key]


def _head_gone(ray: Any) -> StrideError | None:
    """When a task's worker died: the error to stop with if the cluster's head is gone
    too (Ray would retry, then end the process a minute later), else None."""
    address = ray.get_runtime_context().gcs_address
    reason = answers(address, LOCAL_TIMEOUT_S)
    if reason is None:
        return None
    return HeadLost(
        f"the Ray head at {address} stopped answering ({reason}); the trials it ran go back "
        "to pending: start a head (`ray start --head`) and run the same command again"
    )


def _next_item(ray: Any, generator: Any, key: str) -> tuple[Any, str]:
    """The next thing a trial's task sent: (an event or the outcome, ""), or (None, why its
    worker died); an error of the task itself becomes a failed outcome."""
    try:
        reference = next(generator)
        return ray.get(reference), ""
    except StopIteration:
        return TrialOutcome(key, None, "the trial's Ray task ended without a result"), ""
    except ray.exceptions.RayTaskError as error:  # raised in the task, not a dead worker
        cause = getattr(error, "cause", None) or error
        return TrialOutcome(key, None, _one_line(f"{type(cause).__name__}: {cause}")), ""
    except ray.exceptions.RayError as error:  # the worker, its node or its object is lost
        return None, _reason(error)


def _reason(error: Exception) -> str:
    """One line: the error's kind and its first sentence (Ray's messages run long)."""
    text = _one_line(str(error))
    first = text.split(". ")[0].rstrip(".")
    return f"{type(error).__name__}: {first}"


@contextlib.contextmanager
def _keeping_sigterm() -> Iterator[None]:
    """``ray.init`` makes SIGTERM end the driver (exit 1, no word, trials left running);
    the sweep's own handler (a SIGTERM is a Ctrl-C: `stridekit.experiments.signals`)
    is put back after it."""
    main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if main else None
    try:
        yield
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
