"""Faults around ``stridekit serve``, injected for real on a child process: the port
taken, SIGINT and SIGTERM, a worker killed in the middle of an analysis."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.children import alive
from tests.faults.serving import serve_command, served

pytest.importorskip("fastapi", reason="the web extra is not installed")
pytestmark = pytest.mark.xdist_group("serve-faults")
# uvicorn shuts down in order, then the signal ends the process as it would have: Ctrl+C
# is the shell's 130 ("stridekit: aborted"), SIGTERM re-raised ends it by that signal
EXIT = {signal.SIGINT: 130, signal.SIGTERM: -signal.SIGTERM}


def test_a_port_in_use_is_one_line_and_exit_2_before_anything_listens() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        start = time.monotonic()
        done = subprocess.run(
            serve_command("--port", str(port)), capture_output=True, text=True, timeout=60
        )
    assert done.returncode == 2
    assert done.stdout == ""  # it never said it listens
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert f"cannot listen on 127.0.0.1:{port} (address already in use)" in lines[0]
    assert "--port" in lines[0]
    assert time.monotonic() - start < 30


def test_an_unknown_host_is_one_line() -> None:
    done = subprocess.run(
        serve_command("--host", "no-such-host.invalid", "--port", "0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.startswith("stridekit: error: cannot listen on no-such-host.invalid")


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_stops_the_server_and_its_workers_quietly(signal_number: int) -> None:
    with served("--workers", "2") as server:
        workers = _workers(server.process.pid)
        assert len(workers) == 2
        seconds = server.stop(signal_number)
        _, stderr = server.process.communicate(timeout=10)
    assert server.process.returncode == EXIT[signal_number], stderr
    assert "Traceback" not in stderr and "Errno" not in stderr, stderr
    assert seconds < 15
    assert not [pid for pid in workers if alive(pid)]


def test_a_worker_killed_mid_analysis_fails_that_request_only() -> None:
    spec = '{"input": [1, 3, 64, 64], "layers": [{"type": "conv", "channels": 4, "kernel": 3}]}'
    with (
        served("--workers", "1") as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        _settle(client)  # the warm-up job is done
        (worker,) = _workers(server.process.pid)
        os.kill(worker, signal.SIGSTOP)  # the job will reach it and wait there, unfinished
        answer: list[httpx.Response] = []
        request = threading.Thread(
            target=lambda: answer.append(
                client.post("/api/analyze", json={"model": {"spec": spec}})
            )
        )
        request.start()
        _settle(client, in_flight=1)
        os.kill(worker, signal.SIGKILL)
        request.join(60)
        assert answer and answer[0].status_code == 503, answer
        body = answer[0].json()
        assert body["type"] == "WorkerStopped" and "running analyze stopped" in body["error"]
        again = client.post("/api/analyze", json={"model": {"spec": spec}})
        assert again.status_code == 200, again.text
        health = client.get("/api/health").json()
        assert health["alive"] == 1 and _workers(server.process.pid) != [worker]
        server.stop()


def _settle(client: httpx.Client, in_flight: int = 0, within_s: float = 60.0) -> None:
    """Wait until the server has ``in_flight`` jobs."""
    deadline = time.monotonic() + within_s
    while client.get("/api/health").json()["in_flight"] != in_flight:
        assert time.monotonic() < deadline, f"never {in_flight} jobs in flight"
        time.sleep(0.05)


def _workers(pid: int) -> list[int]:
    """The explorer's worker processes: children of ``pid`` started by multiprocessing's
    spawn (not its resource tracker)."""
    with open(f"/proc/{pid}/task/{pid}/children") as listing:
        children = [int(child) for child in listing.read().split()]
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


def raw_request(url: str, head: str, body: bytes) -> bytes:
    """Send ``head`` and ``body`` on a plain socket, close our side for writing, and read
    what the server answers (bounded)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head.encode() + body)
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def test_clients_that_go_away_and_uploads_cut_short_leave_the_server_up() -> None:
    spec = '{"input": [1, 3, 32, 32], "layers": [{"type": "conv", "channels": 4, "kernel": 3}]}'
    body = ('{"model": {"spec": ' + json.dumps(spec) + "}}").encode()
    with (
        served("--workers", "1") as server,
        httpx.Client(base_url=server.url, timeout=60) as client,
    ):
        _settle(client)
        # a client that sends its request and goes away before the answer
        host, port = server.url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=30) as gone:
            gone.sendall(
                b"POST /api/analyze HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                b"application/json\r\nContent-Length: %d\r\n\r\n" % len(body) + body
            )
        # an upload that promises 100 kB and sends 10 bytes before the client goes
        cut = raw_request(
            server.url,
            "POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data;"
            " boundary=x\r\nContent-Length: 100000\r\n\r\n",
            b"--x\r\nConte",
        )
        assert cut == b"" or cut.startswith(b"HTTP/1.1 4"), cut[:200]
        # the server is up, its worker too, and the analysis the first client left is
        # finished (shared work is not cancelled: the cache holds it beside the warm-up's)
        # and answered from the cache
        deadline = time.monotonic() + 60
        while client.get("/api/health").json()["cached"] < 2:
            assert time.monotonic() < deadline, "the analysis of the client that left is lost"
            time.sleep(0.05)
        answer = client.post("/api/analyze", json={"model": {"spec": spec}})
        assert answer.status_code == 200
        health = client.get("/api/health").json()
        assert health["alive"] == 1 and health["cache_hits"] >= 1
        server.stop()
    assert server.process.returncode == EXIT[signal.SIGINT]
