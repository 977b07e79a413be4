"""A real ``stridekit serve`` in a child process: started on a free loopback port, asked
for its health, sent signals. Every wait is bounded."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx

from tests.children import interruptible

START_S = 60.0  # a cold start imports fastapi and spawns a worker: seconds, not minutes


@dataclass
class Served:
    process: subprocess.Popen[str]
    url: str

    def stop(self, signal_number: int = signal.SIGINT, within_s: float = 30.0) -> float:
        """Send ``signal_number``; the seconds until the process ended."""
        start = time.monotonic()
        self.process.send_signal(signal_number)
        self.process.wait(within_s)
        return time.monotonic() - start


def serve_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "stridekit", "serve", *args]


@contextmanager
def served(*args: str) -> Iterator[Served]:
    """``stridekit serve --port 0 ARGS`` answering /api/health; killed if a test leaves it
    running."""
    process = subprocess.Popen(
        serve_command("--port", "0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a signal to the test's group never reaches it
        preexec_fn=interruptible,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # printed once the socket listens
        found = re.search(r"http://127\.0\.0\.1:(\d+)", line)
        assert found, (
            f"serve printed {line!r}; stderr: {process.stderr.read() if process.stderr else ''}"
        )
        url = f"http://127.0.0.1:{found.group(1)}"
        deadline = time.monotonic() + START_S
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "serve did not answer /api/health in time"
            time.sleep(0.1)
        yield Served(process, url)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
