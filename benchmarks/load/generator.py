"""A lean HTTP/1.1 load generator, run in its own process by ``benchmarks/web_load.py``.

It holds ``clients`` keep-alive connections to one loopback server and sends prepared
request bytes (no client library builds or parses anything per request beyond the status
line and ``Content-Length``), so it costs a small fraction of what the server under test
does and cannot be the bottleneck it measures. It is bounded: ``total`` requests at most,
``seconds`` at most, and it reports its own CPU time beside the latencies, so a run where
the generator itself was busy shows it.

Reads one JSON object on stdin::

    {"port": 8000, "clients": 32, "total": 3000, "seconds": 60,
     "requests": [["POST", "/api/shape", "application/json", "<body text>"], ...]}

and prints one JSON object: the latencies' p50 / p99 (ms), requests per second, the
status codes, the first response body of each request (to compare servers' answers) and
the generator's CPU seconds.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from collections import Counter
from typing import Any


def encode(port: int, method: str, path: str, content_type: str | None, body: str) -> bytes:
    """One request's bytes, as a client library would send them."""
    data = body.encode()
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: */*"]
    if content_type is not None:
        lines += [f"Content-Type: {content_type}", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> tuple[int, bytes, bool]:
    """Send ``request``; the answer's status, body and whether the server keeps the
    connection open."""
    writer.write(request)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("the server closed the connection")
    status = int(status_line.split()[1])
    length, keep_alive = 0, True
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"connection" and value.strip().lower() == b"close":
            keep_alive = False
    return status, await reader.readexactly(length), keep_alive


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def run(config: dict[str, Any]) -> dict[str, Any]:
    port = config["port"]
    requests = [encode(port, *request) for request in config["requests"]]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    bodies: dict[int, str] = {}
    remaining = iter(range(config["total"]))
    deadline = time.monotonic() + config["seconds"]

    async def one_client() -> None:
        connection = None
        for index in remaining:
            if time.monotonic() > deadline:
                break
            which = index % len(requests)
            start = time.perf_counter()
            if connection is None:
                connection = await asyncio.open_connection("127.0.0.1", port)
            status, body, keep_alive = await exchange(*connection, requests[which])
            latencies.append(time.perf_counter() - start)
            statuses[status] += 1
            bodies.setdefault(which, body.decode(errors="replace"))
            if not keep_alive:
                connection[1].close()
                connection = None
        if connection is not None:
            connection[1].close()

    cpu = time.process_time()
    start = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(config["clients"])))
    wall = time.perf_counter() - start
    cpu = time.process_time() - cpu
    return {
        "requests": len(latencies),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "per_s": len(latencies) / wall,
        "statuses": dict(statuses),
        "bodies": [bodies.get(i) for i in range(len(requests))],
        "wall_s": wall,
        "generator_cpu_s": cpu,
    }


if __name__ == "__main__":
    print(json.dumps(asyncio.run(run(json.load(sys.stdin)))))
