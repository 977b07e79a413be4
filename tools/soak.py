"""Run the suite's concurrent tests many times in a row, each run a fresh pytest process.

The tests that use processes, threads, sockets, clusters or timing (the explorer's
worker pool, its server and the browser, the Ray runner and its cluster, sweeps killed
with SIGKILL, the runners, the store) are run ``--runs`` times with ``-n 2``, the way
``make test`` runs them, so a race that shows once in thirty runs shows here instead of
in CI. The tests marked ``soak`` (too slow for ``make test``) among them run in every
run too (the fault matrix's Ray head killed mid-sweep, its signal cases); the soak-marked
tests elsewhere (the timm walk) run once after. A failing run's output is kept under
``--logs``; the last line is the tally.

    python tools/soak.py --runs 30          # what `make soak` runs
    python tools/soak.py --runs 3 tests/web/test_pool.py
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

CONCURRENT = [
    "tests/faults",
    "tests/web",
    "tests/experiments/test_ray_runner.py",
    "tests/experiments/test_runner.py",
    "tests/experiments/test_sweep.py",
    "tests/experiments/test_sweep_cli.py",
    "tests/experiments/test_store.py",
    "tests/cli/test_cli.py",
]


def pytest_command(paths: list[str], *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        "-n",
        "2",
        "--dist",
        "loadgroup",
        "-p",
        "no:cacheprovider",
        *extra,
        *paths,
    ]


def interruptible() -> None:
    """In the child before it runs: SIGINT as a terminal delivers it. A shell starts a
    background job with SIGINT ignored, and Python then keeps ignoring it, so the tests
    that press Ctrl-C in a child would wait in vain."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of the concurrent tests")
    parser.add_argument("--logs", type=Path, default=Path(".soak"), help="failing runs' logs")
    parser.add_argument("--no-marked", action="store_true", help="skip the soak-marked tests")
    parser.add_argument("paths", nargs="*", default=CONCURRENT, help="tests to repeat")
    args = parser.parse_args()
    args.logs.mkdir(parents=True, exist_ok=True)
    env = os.environ | {"STRIDEKIT_REQUIRE_BROWSER": "1"}
    passed = failed = 0
    for run in range(1, args.runs + 1):
        start = time.monotonic()
        done = subprocess.run(
            pytest_command(args.paths, "--soak"),
            env=env,
            capture_output=True,
            text=True,
            preexec_fn=interruptible,
        )
        seconds = time.monotonic() - start
        summary = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
        if done.returncode == 0:
            passed += 1
        else:
            failed += 1
            log = args.logs / f"run-{run}.log"
            log.write_text(done.stdout + done.stderr)
            summary += f"  (log: {log})"
        print(
            f"run {run}/{args.runs}: {'ok' if done.returncode == 0 else 'FAILED'} "
            f"in {seconds:.0f} s: {summary}",
            flush=True,
        )
    if not args.no_marked:
        repeated = [arg for path in args.paths for arg in ("--ignore", path)]
        marked = subprocess.run(
            pytest_command(["tests"], "--soak", "-m", "soak", *repeated),
            env=env,
            preexec_fn=interruptible,
        )
        print(f"soak-marked tests: {'ok' if marked.returncode in (0, 5) else 'FAILED'}")
        if marked.returncode not in (0, 5):
            failed += 1
    print(f"soak: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
