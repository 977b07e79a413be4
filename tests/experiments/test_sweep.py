"""The sweep driver with stand-in training: resume, retry, spec changes, searches,
successive halving. (Real training end to end and the SIGKILL test: test_sweep_cli.py.)"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from stridekit.errors import SweepSpecError
from stridekit.experiments.results import Results
from stridekit.experiments.store import Status, Store
from stridekit.experiments.sweep import run_sweep
from tests.experiments import fakes

BASE = """
dataset: {name: synthetic-detail, options: {size: 16}}
model: {strides: [2, 2], width: 8}
training: {epochs: 1}
"""


def write(folder: Path, body: str, name: str = "spec.yaml") -> Path:
    path = folder / name
    path.write_text(BASE + textwrap.dedent(body))
    return path


@pytest.fixture(autouse=True)
def no_failures() -> Iterator[None]:
    fakes.FAILING.clear()
    yield
    fakes.FAILING.clear()


def sweep(spec: Path, **options: object) -> object:
    return run_sweep(spec, trial_function=fakes.scored, show_progress=False, **options)  # type: ignore[arg-type]


def test_resume_runs_only_what_is_not_done(tmp_path: Path) -> None:
    spec = write(tmp_path, "vary: {op: [conv, max_pool, spd]}\nseeds: [0, 1]\n")
    fakes.FAILING.add("spd")
    first = sweep(spec)
    assert (first.ran, first.counts) == (6, {"pending": 0, "running": 0, "done": 4, "failed": 2})
    assert [f["trial"] for f in first.failures] == ["op=spd seed=0", "op=spd seed=1"]
    with Store.open(tmp_path / "spec.db") as store:
        before = {r.key: r for r in store.trials([Status.done])}
    fakes.FAILING.clear()
    assert sweep(spec).ran == 0  # failed trials stay failed without --retry-failed
    again = sweep(spec, retry_failed=True)
    assert (again.ran, again.counts["done"]) == (2, 6)
    with Store.open(tmp_path / "spec.db") as store:
        after = {r.key: r for r in store.trials()}
    assert all(after[k].finished_at == r.finished_at for k, r in before.items())
    assert {r.attempts for r in after.values()} == {1, 2}


def test_changed_spec_reports_new_and_orphaned(tmp_path: Path) -> None:
    sweep(write(tmp_path, "vary: {op: [conv, max_pool]}\n"))
    changed = sweep(write(tmp_path, "vary: {op: [max_pool, avg_pool]}\n"))
    assert (changed.ran, changed.new, changed.orphaned) == (1, 1, 1)
    ops = [r.factors["model.op"] for r in Results.load(tmp_path / "spec.db").records]
    everything = Results.load(tmp_path / "spec.db", include_orphaned=True).records
    assert ops == ["max_pool", "avg_pool"]
    assert [r.factors["model.op"] for r in everything] == ["conv", "max_pool", "avg_pool"]


def test_bad_config_fails_before_any_training(tmp_path: Path) -> None:
    spec = write(tmp_path, "vary: {strides: [[2, 2], [2, 2, 2, 2, 2]]}\n")
    with pytest.raises(SweepSpecError, match=r"line \d+: model.strides") as error:
        sweep(spec)
    assert error.value.field == "model.strides"
    with Store.open(tmp_path / "spec.db") as store:
        assert store.trials() == []  # nothing planned, nothing run


def test_random_search_draws_distinct_configs(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "vary: {op: [conv, max_pool, avg_pool], width: [4, 8]}\n"
        "search: {kind: random, n_trials: 4, seed: 3}\n",
    )
    summary = sweep(spec)
    configs = {r.config_key for r in Results.load(tmp_path / "spec.db").records}
    assert (summary.ran, len(configs)) == (4, 4)


def test_optuna_resumes_from_the_store(tmp_path: Path) -> None:
    pytest.importorskip("optuna")
    body = (
        "vary: {op: [conv, max_pool], width: [4, 8, 16]}\nseeds: [0, 1]\n"
        "search: {kind: optuna, n_trials: %d, objectives: {accuracy: max, flops: min}}\n"
    )
    first = sweep(write(tmp_path, body % 3))
    assert first.ran == 6  # 3 configurations × 2 seeds
    more = sweep(write(tmp_path, body % 5))  # the sampler is told the 3 stored ones first
    records = Results.load(tmp_path / "spec.db").records
    assert more.ran == 4 and len({r.config_key for r in records}) == 5
    assert len({r.key for r in records}) == len(records) == 10


def test_successive_halving_stops_the_worse_trials(tmp_path: Path) -> None:
    spec = write(
        tmp_path,
        "training: {epochs: 4}\nvary: {width: [64, 32, 16, 8]}\n"
        "search: {halving: {min_epochs: 1, reduction: 2}}\n",
    )
    sweep(spec)
    stopped = {
        r.factors["model.width"]: (r.metrics or {}).get("stopped_at")
        for r in Results.load(tmp_path / "spec.db").records
    }
    # rungs at epochs 1 and 2; the first two have fewer than 2 peers there and go on;
    # width 16 trails both at epoch 1 (keep the best ceil(2/2) = 1): stopped, and so is 8
    assert stopped == {64: None, 32: None, 16: 1.0, 8: 1.0}
