"""The explorer under load against its floor, on loopback only, bounded in requests and time.

Starts ``stridekit serve`` (its own process: uvicorn, one process, one analysis worker)
and the floor (``benchmarks/load/floor.py``: a bare FastAPI app served the same way that
answers each path with the very bytes stridekit answered), each on a free 127.0.0.1
port. One load generator (``benchmarks/load/generator.py``, its own process, prepared
request bytes over keep-alive connections, bounded by ``--requests`` and ``--seconds``)
sends the same requests from 32 concurrent clients to each server in turn, and the
benchmark prints stridekit's throughput and p50 / p99 latency as ratios of the floor's:

- ``/api/shape``, ``/api/solve``, ``/api/window``: target throughput >= 0.7x the floor's
  and p99 <= 1.5x;
- ``/api/analyze`` of torchvision:resnet50, cached (after a first call that traces it):
  target throughput >= 0.5x.

Then a burst of malformed requests (wrong types, huge sizes, paths outside the registry,
broken specs, junk uploads): every answer a 4xx, none a 5xx, and the server healthy
afterwards (``/api/health`` ok, a valid request answered correctly). The server's CPU
time per request and the generator's share of a core are printed beside the latencies:
a generator near 100% of a core would be measuring itself. Each server runs ``--rounds``
times, alternated with the other, and keeps its best round; the ratio of the CPU times
per request (floor / stridekit: the throughput ratio of a saturated core) is printed too,
since on a machine shared with other jobs it varies far less than the wall-clock figures
(the load average is printed with them).

    python benchmarks/web_load.py [--requests 3000] [--seconds 30] [--rounds 3] [--check]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx

CLIENTS = 32
HERE = Path(__file__).parent
GENERATOR = HERE / "load" / "generator.py"
FLOOR = HERE / "load" / "floor.py"
JSON = "application/json"
# name, path, request body
ENDPOINTS: list[tuple[str, str, dict[str, Any]]] = [
    ("shape", "/api/shape", {"size": "224x320", "kernel": "3", "stride": "2", "padding": "1"}),
    ("solve", "/api/solve", {"size": 224, "output": 112}),
    ("window", "/api/window", {"size": "28x28", "kernel": "3", "stride": "2", "padding": "1"}),
    ("analyze_cached", "/api/analyze", {"model": {"name": "torchvision:resnet50"}}),
]
# the least throughput and the most p99 latency, as ratios of the floor's (None: none)
TARGETS: dict[str, tuple[float, float | None]] = {
    "shape": (0.7, 1.5),
    "solve": (0.7, 1.5),
    "window": (0.7, 1.5),
    "analyze_cached": (0.5, None),
}
MALFORMED: list[tuple[str, str, Any]] = [
    ("POST", "/api/shape", {"size": True}),
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(command: list[str], port: int) -> subprocess.Popen[bytes]:
    """A server in its own process (the generator would share its GIL otherwise), once
    its ``/api/health`` answers."""
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                return server
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline or server.poll() is not None:
            server.kill()
            raise SystemExit(f"{command[1:3]} did not start in 60 s")
        time.sleep(0.1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load(
    server: subprocess.Popen[bytes],
    port: int,
    requests: list[tuple[str, str, str | None, str]],
    total: int,
    seconds: float,
) -> dict[str, Any]:
    """One run of the generator against ``server``, with the server's CPU per request."""
    config = {"port": port, "clients": CLIENTS, "total": total, "seconds": seconds}
    before = cpu_seconds(server.pid)
    done = subprocess.run(
        [sys.executable, str(GENERATOR)],
        input=json.dumps(config | {"requests": requests}),
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    used = cpu_seconds(server.pid) - before
    result["server_cpu_ms"] = 1000 * used / max(1, result["requests"])
    result["generator_core"] = result["generator_cpu_s"] / result["wall_s"]
    return result


def request(method: str, path: str, body: Any) -> tuple[str, str, str | None, str]:
    if body is None:
        return (method, path, None, "")
    if isinstance(body, bytes):
        kind = "multipart/form-data; boundary=x" if "upload" in path else JSON
        return (method, path, kind, body.decode())
    return (method, path, JSON, json.dumps(body))


def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The best of a server's rounds (most requests per second, least latency and CPU):
    on a shared machine, the round least disturbed by others."""
    return {
        "requests": sum(run["requests"] for run in runs),
        "rounds": len(runs),
        "per_s": max(run["per_s"] for run in runs),
        "statuses": dict(sum((Counter(run["statuses"]) for run in runs), Counter())),
    } | {
        key: min(run[key] for run in runs)
        for key in ("p50_ms", "p99_ms", "server_cpu_ms", "generator_core")
    }


def measure(total: int, seconds: float, rounds: int) -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    port, floor_port = free_port(), free_port()
    command = [sys.executable, "-m", "stridekit", "serve", "--port", str(port), "--queue", "64"]
    stridekit = start(command, port)
    floor = None
    results: dict[str, Any] = {}
    try:
        base = f"http://127.0.0.1:{port}"
        bodies: dict[str, str] = {}
        for name, path, body in ENDPOINTS:
            begin = time.perf_counter()
            answer = httpx.post(base + path, json=body, timeout=120)
            if name == "analyze_cached":
                results["analyze_first_s"] = time.perf_counter() - begin
            assert answer.status_code == 200, answer.text
            bodies[path] = answer.text
        with tempfile.TemporaryDirectory() as folder:
            saved = Path(folder) / "bodies.json"
            saved.write_text(json.dumps(bodies), encoding="utf-8")
            floor_command = [sys.executable, str(FLOOR), "--port", str(floor_port)]
            floor = start([*floor_command, "--bodies", str(saved)], floor_port)
        servers = {"floor": (floor, floor_port), "stridekit": (stridekit, port)}
        for name, path, body in ENDPOINTS:
            requests = [request("POST", path, body)]
            runs: dict[str, list[dict[str, Any]]] = {"floor": [], "stridekit": []}
            for server, server_port in servers.values():
                load(server, server_port, requests, 2 * CLIENTS, seconds)  # warm up
            for _ in range(rounds):  # alternated, so a busy moment of the machine hits both
                for server_name, (server, server_port) in servers.items():
                    run = load(server, server_port, requests, total // rounds, seconds / rounds)
                    if run["bodies"] != [bodies[path]]:
                        raise SystemExit(f"{server_name} {path}: the answer differs from ours")
                    runs[server_name].append(run)
            results[name] = {server_name: best(r) for server_name, r in runs.items()}
        malformed = [request(*item) for item in MALFORMED]
        results["malformed"] = load(stridekit, port, malformed, 40 * len(MALFORMED), seconds)
        health = httpx.get(f"{base}/api/health").json()
        after = httpx.post(f"{base}/api/shape", json=ENDPOINTS[0][2])
        results["healthy_after"] = (
            health["status"] == "ok"
            and health["alive"] == health["workers"]
            and after.status_code == 200
            and after.json()["output_size"] == [112, 160]  # floor((n + 2 - 3)/2) + 1
        )
    finally:
        for server in (stridekit, floor):
            if server is not None:
                server.terminate()
                server.wait(15)
    results["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    for name, (throughput, p99) in TARGETS.items():
        ours, base_run = results[name]["stridekit"], results[name]["floor"]
        ratios = {
            "throughput": ours["per_s"] / base_run["per_s"],
            "cpu": base_run["server_cpu_ms"] / ours["server_cpu_ms"],
            "p50": ours["p50_ms"] / base_run["p50_ms"],
            "p99": ours["p99_ms"] / base_run["p99_ms"],
        }
        met = ratios["throughput"] >= throughput and (p99 is None or ratios["p99"] <= p99)
        results[name]["ratios"] = ratios
        results[name]["meets_target"] = met
    return results


def row(name: str, run: dict[str, Any]) -> str:
    return (
        f"  {name:10s} {run['requests']:6d} {run['p50_ms']:8.1f} {run['p99_ms']:8.1f} "
        f"{run['per_s']:8.0f} {run['server_cpu_ms']:9.2f} {100 * run['generator_core']:9.0f}%"
    )


def print_table(results: dict[str, Any]) -> None:
    rounds = results["shape"]["floor"]["rounds"]
    print(
        f"{CLIENTS} clients; best of {rounds} alternated rounds; p50 / p99 in ms; server CPU "
        "in ms per request; the generator's share of one core"
    )
    print(f"  {'server':10s} {'reqs':>6s} {'p50':>8s} {'p99':>8s} {'req/s':>8s} "
          f"{'srv CPU':>9s} {'generator':>10s}")  # fmt: skip
    for name, (throughput, p99) in TARGETS.items():
        print(name)
        for server in ("floor", "stridekit"):
            print(row(server, results[name][server]))
        r = results[name]["ratios"]
        target = f"target >= {throughput}x" + (f", p99 <= {p99}x" if p99 else "")
        verdict = "met" if results[name]["meets_target"] else "MISSED"
        print(
            f"  ratio      throughput {r['throughput']:.2f}x, p50 {r['p50']:.2f}x, "
            f"p99 {r['p99']:.2f}x ({target}: {verdict}); CPU {r['cpu']:.2f}x"
        )
    print("malformed")
    print(row("stridekit", results["malformed"]) + f"  statuses {results['malformed']['statuses']}")
    print(f"analyze resnet50, first call: {results['analyze_first_s']:.2f} s")
    print(f"healthy after the malformed burst: {results['healthy_after']}")
    print(f"load average of the machine, before and after: {results['load_average']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="Per endpoint and server.")
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="Bound per endpoint and server."
    )
    parser.add_argument("--rounds", type=int, default=3, help="Alternated runs per server.")
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--check", action="store_true", help="Exit 1 when a target is missed.")
    args = parser.parse_args()
    results = measure(args.requests, args.seconds, args.rounds)
    if args.format == "json":
        print(json.dumps(results, indent=2))
    else:
        print_table(results)
    runs = [results[name][server] for name in TARGETS for server in ("floor", "stridekit")]
    server_errors = sum(
        n
        for run in [*runs, results["malformed"]]
        for code, n in run["statuses"].items()
        if int(code) >= 500
    )
    if server_errors or not results["healthy_after"]:
        raise SystemExit(f"{server_errors} server errors; healthy: {results['healthy_after']}")
    if args.check and not all(results[name]["meets_target"] for name in TARGETS):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
