"""Shared test fixtures: golden files with an update flag (``pytest --update-golden``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# CI draws the same examples every run (a red build should mean a change broke something);
# local runs keep exploring new examples.
settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

GOLDEN = Path(__file__).parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden", action="store_true", help="Rewrite golden files from current output."
    )
    parser.addoption(
        "--soak", action="store_true", help="Also run the tests marked soak (make soak)."
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``soak`` (too long for ``make test``) run only with ``--soak``."""
    if config.getoption("--soak"):
        return
    kept = [item for item in items if item.get_closest_marker("soak") is None]
    if len(kept) < len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in kept])
        items[:] = kept


class Golden:
    def __init__(self, update: bool) -> None:
        self.update = update

    def check(self, name: str, text: str) -> None:
        path = GOLDEN / name
        if self.update or not path.exists():
            if not self.update:
                raise AssertionError(f"golden file {path} is missing; run pytest --update-golden")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        assert text == path.read_text(), f"output differs from {path}"


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Golden:
    return Golden(bool(request.config.getoption("--update-golden")))


@pytest.fixture(scope="session")
def ray_address(tmp_path_factory: pytest.TempPathFactory, worker_id: str) -> Any:
    """The address of a real local Ray cluster (2 CPUs on 127.0.0.1), one per test session
    and shared by pytest-xdist's workers; stopped at the end. Skips, saying why, only where
    Ray is not installed."""
    from tests.experiments import ray_cluster

    ray_cluster.keep_on_loopback()  # before Ray is imported, where it can be
    missing = ray_cluster.ray_available()
    if missing is not None:
        pytest.skip(missing)
    # xdist's workers share the run's temporary folder; a lone pytest keeps to its own
    base = tmp_path_factory.getbasetemp()
    folder = base.parent if worker_id != "master" else base
    with ray_cluster.shared_cluster(folder) as cluster:
        yield cluster.address
