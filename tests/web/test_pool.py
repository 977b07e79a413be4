"""The worker pool on its own: a job past the time limit is stopped and its worker
replaced, a full queue refuses at once, identical requests share one computation."""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import pytest

from stridekit.web.errors import Busy, RemoteError, ShuttingDown, TimeLimit
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


def test_close_with_jobs_in_flight_ends_them_and_stops_each_worker_once() -> None:
    """The shutdown race of issue 20: ``close()`` from the event loop while pool threads
    are still using the workers' pipes (the warm-up, a running job, a queued one)."""

    async def scenario() -> None:
        pool = WorkerPool(Limits(workers=1, queue=4))
        await pool.start()  # the warm-up job imports torch in the worker: seconds
        running = asyncio.ensure_future(
            pool.run("analyze", {"source": {"kind": "name", "name": "resnet18"}})
        )
        queued = asyncio.ensure_future(pool.run("analyze", {"source": SPEC}))
        await asyncio.sleep(0.2)  # the warm-up holds the worker's pipe in a pool thread
        worker = pool._workers[0]
        process = worker.process
        assert process is not None and process.is_alive()
        pool.close()
        assert not process.is_alive() and worker.process is None and worker.connection is None
        results = await asyncio.gather(running, queued, return_exceptions=True)
        assert all(isinstance(r, ShuttingDown) for r in results), results
        with pytest.raises(ShuttingDown, match="shutting down"):
            await pool.run("analyze", {"source": SPEC})
        pool.close()  # a second close finds nothing left to stop

    run(scenario)


def test_close_while_a_worker_is_being_replaced() -> None:
    """A job past the time limit replaces its worker in a pool thread; a close at the
    same moment neither closes a pipe twice nor leaves a fresh process behind."""

    async def scenario() -> None:
        before = set(multiprocessing.active_children())  # the session's server has its own
        pool = WorkerPool(Limits(time_limit_s=0.01, workers=1))
        await pool.start()
        worker = pool._workers[0]
        job = asyncio.ensure_future(pool.run("analyze", {"source": SPEC}))
        await asyncio.sleep(0.05)  # the warm-up has timed out: its thread is replacing
        pool.close()
        await asyncio.gather(job, return_exceptions=True)
        assert worker.process is None and worker.connection is None
        assert set(multiprocessing.active_children()) <= before

    run(scenario)
