"""Runners: the local and the process runner give the same outcomes, failures are
outcomes, tasks are pulled lazily, and progress events arrive from workers."""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

import pytest

from stridekit.experiments.runner import (
    LocalRunner,
    ProcessRunner,
    Runner,
    RunnerEvent,
    TrialStarted,
    TrialTask,
    TrialUpdate,
    execute,
    threads_per_worker,
)
from tests.experiments.fakes import instant, value_of

RUNNERS = {"local": lambda: LocalRunner(instant), "processes": lambda: ProcessRunner(instant, 2)}


def never(epoch: int, metrics: dict[str, float]) -> bool:
    """A stop rule that lets every trial run (module level: workers unpickle it)."""
    return False


def tasks(configs: list[dict[str, Any]]) -> list[TrialTask]:
    return [
        TrialTask(f"t{i}", config, seed=i, should_stop=never) for i, config in enumerate(configs)
    ]


@pytest.mark.parametrize("kind", sorted(RUNNERS))
def test_outcomes_and_events(kind: str) -> None:
    runner: Runner = RUNNERS[kind]()
    configs = [{"x": 1}, {"x": 2, "fail": True}, {"x": 3, "crash": True}, {"x": 4}]
    events: list[RunnerEvent] = []
    outcomes = {o.key: o for o in runner.run(iter(tasks(configs)), events.append)}
    assert sorted(outcomes) == ["t0", "t1", "t2", "t3"]
    assert outcomes["t0"].result.metrics == {"accuracy": value_of({"x": 1}, 0)}
    assert outcomes["t3"].result.metrics == {"accuracy": value_of({"x": 4}, 3)}
    assert outcomes["t1"].error == "loss is nan at epoch 1 (x=2)"  # the sweep goes on
    assert outcomes["t2"].error == "ZeroDivisionError: division by zero"
    assert [o.history for o in (outcomes["t0"], outcomes["t3"])] == [
        [{"epoch": 1, "accuracy": value_of({"x": 1}, 0) / 2}, {"epoch": 2, "accuracy": 0.54}],
        [{"epoch": 1, "accuracy": value_of({"x": 4}, 3) / 2}, {"epoch": 2, "accuracy": 0.663}],
    ]
    started = {e.key for e in events if isinstance(e, TrialStarted)}
    updated = {e.key for e in events if isinstance(e, TrialUpdate)}
    assert started == {"t0", "t1", "t2", "t3"}
    assert updated == {"t0", "t3"}  # the failing fakes fail before their first epoch


def test_tasks_are_pulled_only_when_there_is_room() -> None:
    """An adaptive search is told each result before it is asked for the next trial."""
    log: list[str] = []

    def source() -> Iterator[TrialTask]:
        for task in tasks([{"x": 1}, {"x": 2}, {"x": 3}]):
            log.append(f"ask {task.key}")
            yield task

    for outcome in LocalRunner(instant).run(source()):
        log.append(f"tell {outcome.key}")
    assert log == ["ask t0", "tell t0", "ask t1", "tell t1", "ask t2", "tell t2"]


def test_no_rule_no_history() -> None:
    """Without a rule the trial is not asked after each epoch (that costs an evaluation)."""
    outcome = execute(TrialTask("k", {"x": 5}, 0), instant)
    assert (outcome.history, "stopped_at" in outcome.result.metrics) == ([], False)


def test_stop_rule_sees_each_epoch() -> None:
    def stop_after_first(epoch: int, metrics: dict[str, float]) -> bool:
        return epoch == 1

    outcome = execute(TrialTask("k", {"x": 5}, 0, should_stop=stop_after_first), instant)
    assert outcome.result.metrics["stopped_at"] == 1
    assert [h["epoch"] for h in outcome.history] == [1]


@pytest.mark.parametrize(("workers", "cores", "threads"), [(1, 2, 2), (2, 2, 1), (3, 16, 5)])
def test_threads_split_the_cores(workers: int, cores: int, threads: int) -> None:
    assert threads_per_worker(workers, cores) == threads


def test_a_real_task_crosses_to_a_worker() -> None:
    """What the process runner sends (a pydantic config, a stop rule) pickles exactly."""
    from stridekit.experiments.halving import HalvingRule
    from stridekit.experiments.spec import TrialConfig

    config = TrialConfig(dataset="synthetic-detail", model={"op": "blur_pool"})
    task = TrialTask("k", config, 3, should_stop=HalvingRule("accuracy", True, 2, {1: (0.5,)}))
    assert pickle.loads(pickle.dumps(task)) == task
