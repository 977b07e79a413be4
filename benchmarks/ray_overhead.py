"""The Ray backend's overhead per trial against the local runner: 20 short trials.

The same sweep (20 short real trainings: a tiny CNN, one epoch on 256 generated 16-pixel
images) runs three times in one process, each into a fresh store: with the local runner,
then as Ray tasks one at a time (``max_concurrent 1``: what Ray adds to each trial, from
the driver handing it out to the result committed), then with the cluster's 2 CPUs full.
Every trial gets one CPU thread, as a Ray task with ``cpus_per_trial 1`` does.

The Ray cluster is started once, in this process, on 127.0.0.1 with 2 CPUs, and a warm-up
sweep runs first, so what is timed is the steady state of a long sweep: worker processes
already started (torch imported); each sweep puts its dataset in the object store once.
A real cluster adds its network, and each new worker its start (~2-5 s, once). The three
sweeps run in 3 interleaved rounds and the fastest of each counts (load only slows).
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Ray would otherwise put its node on the machine's network address: stay on loopback;
# and a cluster nothing else can reach needs no token (Ray would write one to ~/.ray)
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch
from rich.console import Console

from stridekit.experiments.sweep import run_sweep

TRIALS = 20
CPUS = 2
ROUNDS = 3
WIDTHS = ", ".join(str(w) for w in range(4, 4 + TRIALS // 2))  # x 2 seeds = 20 trials
SPEC = f"""
name: ray-overhead
dataset: {{name: synthetic-detail, options: {{size: 16, n_train: 256, n_test: 64}}}}
model: {{strides: [2, 2], depth: 1}}
training: {{epochs: 1, batch_size: 64}}
metrics: [accuracy]
vary:
  width: [{WIDTHS}]
seeds: [0, 1]
"""


def timed(spec: Path, store: Path, **options: Any) -> float:
    terminal = Console(file=io.StringIO(), force_terminal=True, width=120)
    start = time.perf_counter()
    summary = run_sweep(spec, store_path=store, console=terminal, **options)
    seconds = time.perf_counter() - start
    assert summary.counts["done"] == TRIALS, summary.to_dict()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args()
    try:
        import ray
    except ImportError:
        print("ray overhead: skipped, Ray is not installed (pip install 'stridekit[ray]')")
        return
    from stridekit.experiments.ray_runner import RayOptions

    torch.set_num_threads(1)  # the local runner's trials get what a Ray task gets
    folder = Path(tempfile.mkdtemp())
    spec = folder / "overhead.yaml"
    spec.write_text(SPEC)
    root = str(Path(__file__).resolve().parent.parent)
    ray.init(
        address="local",  # a Ray of its own, whatever `ray start` left in /tmp/ray
        num_cpus=CPUS,
        include_dashboard=False,
        logging_level="WARNING",
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": root}},
    )
    one = RayOptions(max_concurrent=1)
    full = RayOptions(max_concurrent=CPUS)
    times: dict[str, list[float]] = {"local": [], "serial": [], "parallel": []}
    try:
        timed(spec, folder / "warm-local.db")
        timed(spec, folder / "warm-ray.db", backend="ray", ray=full)
        # interleaved rounds, the fastest of each kept: a shared machine's load only slows
        for round in range(ROUNDS):
            times["local"].append(timed(spec, folder / f"local-{round}.db"))
            times["serial"].append(timed(spec, folder / f"ray1-{round}.db", backend="ray", ray=one))
            times["parallel"].append(
                timed(spec, folder / f"ray2-{round}.db", backend="ray", ray=full)
            )
    finally:
        ray.shutdown()
    local, serial, parallel = (min(times[kind]) for kind in ("local", "serial", "parallel"))
    overhead_ms = (serial - local) / TRIALS * 1e3
    result = {
        "trials": TRIALS,
        "rounds": ROUNDS,
        "local_s": local,
        "ray_one_at_a_time_s": serial,
        "ray_two_at_a_time_s": parallel,
        "local_per_trial_ms": local / TRIALS * 1e3,
        "ray_overhead_per_trial_ms": overhead_ms,
        "ratio_ray_to_local": serial / local,
        "ratio_ray_2_cpus_to_local": parallel / local,
    }
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return
    print(
        f"ray overhead: {TRIALS} short trials (~{local / TRIALS * 1e3:.0f} ms each locally): "
        f"local {local:.2f} s, Ray one at a time {serial:.2f} s = {serial / local:.2f}x the "
        f"local runner ({overhead_ms:+.0f} ms a trial); Ray on {CPUS} CPUs {parallel:.2f} s = "
        f"{parallel / local:.2f}x"
    )


if __name__ == "__main__":
    main()
