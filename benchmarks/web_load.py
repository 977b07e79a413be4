"""The explorer under load, on loopback only, bounded in requests and time.

Starts ``stridekit serve`` (its own process: uvicorn, one worker process) on a free
127.0.0.1 port and measures:

- ``POST /api/shape`` from 32 concurrent clients: p50 / p99 latency and throughput
  (``--shape-requests`` in all, at most ``--seconds``);
- ``POST /api/analyze`` of torchvision:resnet50: the first call (the worker traces it),
  then 32 concurrent clients on the cached result: p50 / p99;
- a burst of malformed requests (wrong types, huge sizes, paths outside the registry,
  broken specs, junk uploads) from 32 clients: every answer a 4xx, none a 5xx, and the
  server healthy afterwards (``/api/health`` ok, a valid request answered correctly).

    python benchmarks/web_load.py [--shape-requests 3000] [--seconds 60] [--format json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from typing import Any

import httpx

CLIENTS = 32
SHAPE = {"size": "224x320", "kernel": "3", "stride": "2", "padding": "1"}
RESNET = {"model": {"name": "torchvision:resnet50"}}
MALFORMED: list[tuple[str, str, Any]] = [
    ("POST", "/api/shape", {"size": 224}),
    ("POST", "/api/shape", {"size": "99999999999999999999", "kernel": "3"}),
    ("POST", "/api/shape", {"size": "5", "kernel": "7"}),
    ("POST", "/api/shape", b"{not json"),
    ("POST", "/api/solve", {"size": -1, "output": 2}),
    ("POST", "/api/analyze", {"model": {"name": "os:system"}}),
    ("POST", "/api/analyze", {"model": {"name": "../../etc/passwd"}}),
    ("POST", "/api/analyze", {"model": {"spec": "layers: [unclosed"}}),
    ("POST", "/api/analyze", {"model": {"spec": "a: &a [*a]"}}),
    ("POST", "/api/analyze", {"model": {"name": "resnet18"}, "input": "1x3x99999x2"}),
    ("POST", "/api/plan", {"template": "plain999", "task": "classification"}),
    ("POST", "/api/upload", b"--x\r\nnot multipart"),
    ("GET", "/api/results?store=../../etc/passwd", None),
    ("GET", "/api/nothing", None),
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(latencies: list[float], wall: float) -> dict[str, float]:
    return {
        "requests": len(latencies),
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * percentile(latencies, 0.99),
        "per_s": len(latencies) / wall,
    }


async def hammer(
    client: httpx.AsyncClient, total: int, deadline: float, call: Any
) -> tuple[list[float], Counter[int], float]:
    """``total`` calls from `CLIENTS` concurrent clients, stopping at ``deadline``."""
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    remaining = iter(range(total))

    async def one_client() -> None:
        for index in remaining:
            if time.monotonic() > deadline:
                return
            start = time.perf_counter()
            response = await call(client, index)
            latencies.append(time.perf_counter() - start)
            statuses[response.status_code] += 1

    start = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(CLIENTS)))
    return latencies, statuses, time.perf_counter() - start


async def measure(base: str, shape_requests: int, seconds: float) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=CLIENTS)
    async with httpx.AsyncClient(base_url=base, timeout=120, limits=limits) as client:
        results: dict[str, Any] = {}
        deadline = time.monotonic() + seconds

        async def shape(c: httpx.AsyncClient, _: int) -> httpx.Response:
            return await c.post("/api/shape", json=SHAPE)

        latencies, statuses, wall = await hammer(client, shape_requests, deadline, shape)
        results["shape"] = summary(latencies, wall) | {"statuses": dict(statuses)}

        start = time.perf_counter()
        first = await client.post("/api/analyze", json=RESNET)
        results["analyze_first_s"] = time.perf_counter() - start
        assert first.status_code == 200, first.text

        async def analyze(c: httpx.AsyncClient, _: int) -> httpx.Response:
            return await c.post("/api/analyze", json=RESNET)

        deadline = time.monotonic() + seconds
        latencies, statuses, wall = await hammer(client, 10 * CLIENTS, deadline, analyze)
        results["analyze_cached"] = summary(latencies, wall) | {"statuses": dict(statuses)}

        async def malformed(c: httpx.AsyncClient, index: int) -> httpx.Response:
            method, path, body = MALFORMED[index % len(MALFORMED)]
            if isinstance(body, bytes):
                kind = "multipart/form-data; boundary=x" if "upload" in path else "application/json"
                return await c.request(method, path, content=body, headers={"Content-Type": kind})
            return await c.request(method, path, json=body)

        deadline = time.monotonic() + seconds
        latencies, statuses, wall = await hammer(client, 40 * len(MALFORMED), deadline, malformed)
        results["malformed"] = summary(latencies, wall) | {"statuses": dict(statuses)}
        health = (await client.get("/api/health")).json()
        after = await client.post("/api/shape", json=SHAPE)
        results["healthy_after"] = (
            health["status"] == "ok"
            and health["alive"] == health["workers"]
            and after.status_code == 200
            and after.json()["output_size"] == [112, 160]  # floor((n + 2 - 3)/2) + 1
        )
        return results


def serve() -> tuple[subprocess.Popen[bytes], str]:
    """``stridekit serve`` in its own process (the clients here would share its GIL)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [sys.executable, "-m", "stridekit", "serve", "--port", str(port), "--queue", "64"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                return server, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit("the explorer did not start in 60 s")
        time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape-requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=60.0, help="Bound per phase.")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    args = parser.parse_args()
    server, base = serve()
    try:
        results = asyncio.run(measure(base, args.shape_requests, args.seconds))
    finally:
        server.terminate()
        server.wait(15)
    if args.format == "json":
        print(json.dumps(results, indent=2))
    else:
        for name in ("shape", "analyze_cached", "malformed"):
            r = results[name]
            print(
                f"{name:15s} {r['requests']:5d} requests, {CLIENTS} clients: "
                f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, {r['per_s']:.0f}/s, "
                f"statuses {r['statuses']}"
            )
        print(f"analyze resnet50, first call: {results['analyze_first_s']:.2f} s")
        print(f"healthy after the malformed burst: {results['healthy_after']}")
    server_errors = sum(
        n
        for name in ("shape", "analyze_cached", "malformed")
        for code, n in results[name]["statuses"].items()
        if int(code) >= 500
    )
    if server_errors or not results["healthy_after"]:
        raise SystemExit(f"{server_errors} server errors; healthy: {results['healthy_after']}")


if __name__ == "__main__":
    main()
