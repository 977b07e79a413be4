"""The sweep runner's bookkeeping per trial: 100 trivial trials through the whole driver.

Everything a real sweep does around training, measured in one run: the spec expanded by
the grid, every configuration checked (the model built on the meta device, analysed and
seen by the doctor), the store (a committed transaction for each plan, start and finish),
the rich progress bars (rendered to a throw-away terminal), the results read back. The
trial function itself returns a canned result at once, so what is left is overhead.
Target (issue 9): at most 50 ms a trial.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rich.console import Console

from stridekit.experiments.runner import TrialResult
from stridekit.experiments.sweep import run_sweep

TRIALS = 100
TARGET_MS = 50.0
WIDTHS = ", ".join(str(w) for w in range(4, 4 + TRIALS // 2))  # x 2 ops = 100 configs
SPEC = f"""
name: overhead
dataset: {{name: synthetic-detail, options: {{size: 32}}}}
model: {{family: plain-cnn, strides: [2, 2, 2]}}
training: {{epochs: 1}}
vary:
  width: [{WIDTHS}]
  op: [conv, max_pool]
seeds: [0]
"""


def trivial(config: Any, seed: int, **options: Any) -> TrialResult:
    """No training: a canned result (what is timed is everything around a trial)."""
    progress = options.get("progress")
    if progress is not None:
        progress(None)
    return TrialResult({"accuracy": 0.5, "flops": 1.0}, {}, {}, {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    spec = folder / "overhead.yaml"
    spec.write_text(SPEC)
    terminal = Console(file=io.StringIO(), force_terminal=True, width=120)
    run_sweep(spec, store_path=folder / "warm.db", trial_function=trivial, console=terminal)
    start = time.perf_counter()  # second run on a fresh store: imports and caches are warm
    summary = run_sweep(
        spec, store_path=folder / "runs.db", trial_function=trivial, console=terminal
    )
    seconds = time.perf_counter() - start
    assert summary.counts["done"] == TRIALS, summary.counts
    per_trial_ms = seconds / TRIALS * 1e3
    result = {
        "trials": TRIALS,
        "total_s": seconds,
        "per_trial_ms": per_trial_ms,
        "target_ms": TARGET_MS,
        "ratio_to_target": per_trial_ms / TARGET_MS,
        "within_target": per_trial_ms <= TARGET_MS,
    }
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return
    print(
        f"runner bookkeeping: {TRIALS} trivial trials in {seconds:.2f} s = "
        f"{per_trial_ms:.1f} ms a trial (target <= {TARGET_MS:.0f} ms: "
        f"{per_trial_ms / TARGET_MS:.2f} of it)"
    )


if __name__ == "__main__":
    main()
