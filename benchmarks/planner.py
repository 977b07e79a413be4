"""The stride planner: a 20-layer template's time, and the ratio to exhaustive search.

Both searches run in this one process on the same 10-layer template (exhaustive search
tries all 4^10 stride placements); their optima are compared before the times are
printed. Targets (issue 4): a 20-layer template plans in under a second.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stridekit.design.plan import Constraints, plan
from stridekit.design.presets import family
from tests.design.exhaustive import exhaustive


def timed(function, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args()
    constraints = Constraints(output_stride=16)
    ten, twenty = family("plain10"), family("plain20")
    dp_best = plan(ten, 128, constraints)[0].macs
    start = time.perf_counter()
    brute = exhaustive(ten, 128, constraints)
    brute_time = time.perf_counter() - start
    assert brute is not None and brute[0] == dp_best, (brute, dp_best)
    dp_ten = timed(lambda: plan(ten, 128, constraints), 5)
    dp_twenty = timed(lambda: plan(twenty, 224, Constraints(output_stride=32, min_rf=224)), 5)
    result = {
        "plan_20_layers_s": dp_twenty,
        "plan_10_layers_s": dp_ten,
        "exhaustive_10_layers_s": brute_time,
        "speedup_vs_exhaustive": brute_time / dp_ten,
        "target_20_layers_under_1s": dp_twenty < 1.0,
    }
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return
    print(f"plan, 20 layers at 224 (stride 32, rf >= 224): {dp_twenty * 1e3:.1f} ms")
    print(
        f"10 layers at 128, stride 16: plan {dp_ten * 1e3:.1f} ms, exhaustive "
        f"{brute_time:.2f} s (4^10 placements): {brute_time / dp_ten:.0f}x faster, same optimum"
    )


if __name__ == "__main__":
    main()
