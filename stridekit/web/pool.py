"""Worker processes for the heavy requests, with a bounded queue, a time limit and a cache.

Analyses run in separate processes so the event loop keeps answering the layer tab
while a model is traced (tracing holds the GIL), and so a job past the time limit can be
stopped for real: its worker is killed and a fresh one takes its place. Each request
first looks in the cache (the JSON text of recent results, keyed by job and parameters);
identical requests in flight share one computation; beyond ``workers + queue`` requests
in flight a new one is refused with `Busy` (429) instead of waiting without bound.
"""

from __future__ import annotations

import asyncio
import json
import logging
import multiprocessing
import signal
import threading
from collections import OrderedDict
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from multiprocessing import resource_tracker
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from stridekit.web.errors import (
    Busy,
    InternalError,
    RemoteError,
    ShuttingDown,
    TimeLimit,
    WorkerStopped,
)
from stridekit.web.limits import Limits
from stridekit.web.worker import serve

log = logging.getLogger("stridekit.web")
_CONTEXT = multiprocessing.get_context("spawn")  # no fork of a threaded server


class Worker:
    """One worker process and the parent's end of its pipe; replaced when it dies.

    A job runs in a thread of the pool while the event loop may shut the pool down, so
    the process and its pipe change hands only under ``_lock``: `kill` (any thread) ends
    the process, which makes a job blocked on the pipe return at once, and `release`
    closes the pipe once no job uses it. After `kill`, the worker never starts again.
    """

    def __init__(self) -> None:
        self.process: BaseProcess | None = None
        self.connection: Connection | None = None
        self.jobs = 0
        self._lock = threading.Lock()
        self._closed = False
        with self._lock:
            self._start()

    def _start(self) -> None:
        parent, child = _CONTEXT.Pipe(duplex=True)
        process = _CONTEXT.Process(target=serve, args=(child,), daemon=True, name="stridekit-web")
        # Ctrl+C reaches the terminal's whole process group: the worker starts with it
        # blocked (a signal mask survives fork and exec) until its loop ignores it, so a
        # Ctrl+C while it imports stridekit prints no traceback. The resource tracker,
        # started first, would otherwise unblock it while it starts (it does the same).
        resource_tracker.ensure_running()
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            process.start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        child.close()
        self.process, self.connection = process, parent

    def _stop(self) -> None:
        if self.process is not None:
            if self.process.is_alive():
                self.process.kill()
            self.process.join(5)
        if self.connection is not None:
            self.connection.close()
        self.process = self.connection = None

    def _replace(self, process: BaseProcess | None) -> None:
        """Start a fresh process in place of ``process`` (the one a job saw fail), unless
        the worker is closed or another thread replaced it already."""
        with self._lock:
            if not self._closed and self.process is process:
                self._stop()
                self._start()

    def kill(self) -> None:
        """Stop for good: end the process now (a job waiting on it returns at once)."""
        with self._lock:
            self._closed = True
            if self.process is not None and self.process.is_alive():
                self.process.kill()

    def release(self) -> None:
        """Reap the process and close the pipe, once no job is using them (after `kill`
        and after the pool's threads have finished)."""
        with self._lock:
            self._closed = True
            self._stop()

    @property
    def alive(self) -> bool:
        process = self.process
        return process is not None and process.is_alive()

    def call(self, job: str, params: dict[str, Any], blob: bytes, time_limit: float) -> str:
        """Run one job (blocking, in a thread of the pool); raise what it raised."""
        with self._lock:
            if self._closed:
                raise ShuttingDown(f"the explorer is shutting down; {job} was not run")
            if self.process is None or not self.process.is_alive():
                self._stop()
                self._start()
            process, connection = self.process, self.connection
        assert process is not None and connection is not None
        self.jobs += 1
        try:
            connection.send((job, params, blob))
            if not connection.poll(time_limit):
                self._replace(process)
                raise TimeLimit(
                    f"{job} took longer than {time_limit:g} s, the time limit per request "
                    "(stridekit serve --time-limit); try a smaller input"
                )
            reply = connection.recv()
        except (EOFError, OSError):
            if self._closed:
                raise ShuttingDown(f"the explorer is shutting down; {job} was stopped") from None
            self._replace(process)
            raise WorkerStopped(
                f"the worker running {job} stopped (exit code {process.exitcode}); the "
                "request may need more memory than this machine has"
            ) from None
        if reply[0] == "ok":
            return str(reply[1])
        if reply[0] == "error":
            raise RemoteError(reply[1], reply[2])
        log.error("%s failed in a worker:\n%s", job, reply[3])
        raise InternalError(reply[1], reply[2])


class WorkerPool:
    """``limits.workers`` worker processes behind a bounded queue and a result cache."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.cache: OrderedDict[str, str] = OrderedDict()
        self.hits = 0
        self._workers: list[Worker] = []
        self._idle: asyncio.Queue[Worker] | None = None
        self._running: dict[str, asyncio.Task[str]] = {}
        self._threads = ThreadPoolExecutor(limits.workers, thread_name_prefix="stridekit-pool")
        self._warming: asyncio.Future[str] | None = None
        self._closed = False

    async def start(self) -> None:
        """Start the workers (they import stridekit's heavy parts on their first job)."""
        self._idle = asyncio.Queue()
        for _ in range(self.limits.workers):
            worker = Worker()
            self._workers.append(worker)
            self._idle.put_nowait(worker)
        self._warming = asyncio.ensure_future(self.run("warm", {}))
        self._warming.add_done_callback(lambda task: task.cancelled() or task.exception())

    def close(self) -> None:
        """Shut down, whatever is in flight: jobs not yet started are cancelled, running
        ones end at once (their processes are killed, so they raise `ShuttingDown`), and
        each worker's pipe is closed once, after the last thread using it has returned."""
        self._closed = True
        for worker in self._workers:
            worker.kill()
        self._threads.shutdown(wait=True, cancel_futures=True)
        for worker in self._workers:
            worker.release()

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def status(self) -> dict[str, Any]:
        return {
            "workers": len(self._workers),
            "alive": sum(w.alive for w in self._workers),
            "in_flight": self.in_flight,
            "queue": self.limits.queue,
            "cached": len(self.cache),
            "cache_hits": self.hits,
        }

    def run(self, job: str, params: dict[str, Any], blob: bytes = b"") -> Awaitable[str]:
        """The JSON text of ``job`` on ``params``: cached, shared with an identical request
        in flight, or computed by the next free worker. ``blob`` (an upload's bytes) goes
        with the job but not into the key: ``params`` must name it (by its hash)."""
        key = json.dumps([job, params], sort_keys=True)
        return self._run(key, job, params, blob)

    async def _run(self, key: str, job: str, params: dict[str, Any], blob: bytes) -> str:
        if self._closed:
            raise ShuttingDown(f"the explorer is shutting down; {job} was not run")
        if key in self.cache:
            self.cache.move_to_end(key)
            self.hits += 1
            return self.cache[key]
        task = self._running.get(key)
        if task is None:
            if len(self._running) >= self.limits.workers + self.limits.queue:
                raise Busy(
                    f"all {self.limits.workers} workers are busy and {self.limits.queue} "
                    "requests wait already; try again in a moment"
                )
            task = asyncio.ensure_future(self._compute(key, job, params, blob))
            self._running[key] = task
            task.add_done_callback(lambda _: self._running.pop(key, None))
        # shielded: a client that goes away does not cancel the work others wait for
        return await asyncio.shield(task)

    async def _compute(self, key: str, job: str, params: dict[str, Any], blob: bytes) -> str:
        assert self._idle is not None, "start() the pool first"
        worker = await self._idle.get()
        try:
            if self._closed:
                raise ShuttingDown(f"the explorer is shutting down; {job} was not run")
            loop = asyncio.get_running_loop()
            text = await loop.run_in_executor(
                self._threads, worker.call, job, params, blob, self.limits.time_limit_s
            )
        finally:
            self._idle.put_nowait(worker)
        self.cache[key] = text
        while len(self.cache) > self.limits.cache_entries:
            self.cache.popitem(last=False)
        return text
