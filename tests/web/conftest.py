"""One explorer server for the whole session (uvicorn on a free loopback port, in a
thread), tight bounds so the bad-input tests stay small, and a sweep store to browse.

Every test here runs on one xdist worker (``xdist_group("web")``), so a session starts
one server and one worker process, however many tests use them.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

pytest.importorskip("fastapi", reason="the web extra is not installed")
import uvicorn

from stridekit.experiments.store import PlannedTrial, Store
from stridekit.web import Limits, create_app

LIMITS = Limits(
    max_upload_bytes=256 * 1024,
    max_spec_bytes=8 * 1024,
    max_model_size=1024,
    time_limit_s=60.0,
    workers=1,
    queue=16,
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.xdist_group("web"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_store(path: Path) -> Path:
    """A finished two-configuration, two-seed sweep."""
    with Store.open(path) as store:
        trials = [
            PlannedTrial(f"{op}{seed}", op, {"model": {"op": op}}, {"model.op": op}, seed)
            for op in ("conv", "blurpool")
            for seed in (0, 1)
        ]
        store.plan(trials)
        for trial in trials:
            accuracy = 0.9 + 0.01 * trial.seed + (0.02 if trial.config_key == "blurpool" else 0)
            store.start(trial.key)
            store.finish(
                trial.key,
                metrics={"accuracy": accuracy, "flops": 2e6, "output_stride": 4},
            )
    return path


@pytest.fixture(scope="session")
def stores_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("stores")
    make_store(folder / "runs.db")
    return folder


@pytest.fixture(scope="session")
def server(stores_folder: Path) -> Iterator[str]:
    """The base URL of the session's explorer."""
    port = _free_port()
    app = create_app(LIMITS, stores_folder)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    runner = uvicorn.Server(config)
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not runner.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the explorer did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    runner.should_exit = True
    thread.join(15)


@pytest.fixture(scope="session")
def client(server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server, timeout=120) as session:
        yield session


# --- the browser ------------------------------------------------------------------------

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(os.environ.get("STRIDEKIT_SCREENSHOTS", ".pytest_cache/web-screenshots"))


def chromium_path() -> str | None:
    """Debian's chromium (``apt-get install chromium``; `make test` installs it)."""
    found = os.environ.get("STRIDEKIT_CHROMIUM") or shutil.which("chromium")
    return found or shutil.which("chromium-browser")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    path = chromium_path()
    if path is None:
        message = "chromium is not installed (apt-get install chromium)"
        if os.environ.get("STRIDEKIT_REQUIRE_BROWSER"):  # `make test`: a skip would hide it
            pytest.fail(f"{message}; make test needs it for the browser tests")
        pytest.skip(f"{message}; browser tests skipped")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=path, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Any, server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh page on the explorer; a screenshot is saved when the test fails."""
    context = browser.new_context(base_url=server, viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.set_default_timeout(60_000)
    yield opened
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shot = SCREENSHOTS / f"{request.node.name}.png".replace("/", "_")
        opened.screenshot(path=str(shot), full_page=True)
        print(f"screenshot: {shot}")
    context.close()
    assert not errors, f"errors on the page: {errors}"
