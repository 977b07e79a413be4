"""The worker pool on its own: a job past the time limit is stopped and its worker
replaced, a full queue refuses at once, identical requests share one computation."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from stridekit.web.errors import Busy, RemoteError, TimeLimit
from stridekit.web.limits import Limits
from stridekit.web.pool import WorkerPool


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """``asyncio.run`` in a thread of its own: Playwright's sync API keeps an event loop
    running in the test thread while the session's browser is open."""
    failure: list[BaseException] = []

    def target() -> None:
        try:
            asyncio.run(scenario())
        except BaseException as error:
            failure.append(error)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if failure:
        raise failure[0]


SPEC = {"kind": "spec", "data": {"input": [1, 1, 8, 8], "layers": [{"type": "relu"}]}}


def test_a_job_past_the_time_limit_is_stopped_and_its_worker_replaced() -> None:
    async def scenario() -> None:
        pool = WorkerPool(Limits(time_limit_s=0.05, workers=1))
        await pool.start()
        try:
            worker = pool._workers[0]
            # the first analysis of a fresh worker imports torch: far longer than 0.05 s
            with pytest.raises(TimeLimit, match=r"longer than 0\.05 s"):
                await pool.run("analyze", {"source": {"kind": "name", "name": "resnet18"}})
            first = worker.process
            with pytest.raises((TimeLimit, Busy)):
                await pool.run("analyze", {"source": {"kind": "name", "name": "resnet34"}})
            assert worker.alive and worker.process is not first
        finally:
            pool.close()

    run(scenario)


def test_a_full_queue_refuses_and_identical_requests_share_one_job() -> None:
    async def scenario() -> None:
        pool = WorkerPool(Limits(workers=1, queue=2))
        await pool.start()  # the warm-up job takes one place
        try:
            same = [pool.run("analyze", {"source": SPEC}) for _ in range(5)]
            other = pool.run("analyze", {"source": SPEC, "input_shape": [1, 1, 9, 9]})
            refused = pool.run("analyze", {"source": SPEC, "input_shape": [1, 1, 10, 10]})
            results = await asyncio.gather(*same, other, refused, return_exceptions=True)
            assert isinstance(results[-1], Busy)
            assert len({r for r in results[:5] if isinstance(r, str)}) == 1
            jobs = pool._workers[0].jobs
            assert jobs == 3  # warm-up, the shared one, the other: five callers, one job
            again = await pool.run("analyze", {"source": SPEC})
            assert again == results[0] and pool._workers[0].jobs == jobs  # from the cache
        finally:
            pool.close()

    run(scenario)


def test_a_stride_error_in_a_worker_keeps_its_type_and_message() -> None:
    async def scenario() -> None:
        pool = WorkerPool(Limits(workers=1))
        await pool.start()
        try:
            bad = {
                "kind": "spec",
                "data": {
                    "input": [1, 1, 4, 4],
                    "layers": [{"type": "conv", "channels": 1, "kernel": 7}],
                },
            }
            with pytest.raises(RemoteError) as raised:
                await pool.run("analyze", {"source": bad})
            assert raised.value.kind in ("ModelError", "OutputSizeError")
            assert "7" in str(raised.value)
        finally:
            pool.close()

    run(scenario)
