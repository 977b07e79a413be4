"""The stride planner: a 20-layer template's time, and the ratio to exhaustive search.

Both searches run in this one process on the same 10-layer template (exhaustive search
tries all 4^10 stride placements); their optima are compared before the times are
printed. Twice: ranked by MACs alone, and with the task presets' bottleneck preference
(fewest layers over a 2x volume drop, the earliest as late as possible, then MACs), the
same objective on both sides. Targets (issue 4): a 20-layer template plans in under a
second (timed with and without the classification preset).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stridekit.design.plan import Constraints, Plan, plan
from stridekit.design.presets import PREFERRED_VOLUME_DROP, family, task_constraints
from tests.design.exhaustive import exhaustive


def timed(function, repeats: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ranked(p: Plan) -> tuple[int, tuple[int, ...], int]:
    """The plan's rank in the exhaustive reference's terms."""
    return len(p.bottlenecks), tuple(-i for i in p.bottlenecks), p.macs


def against_exhaustive(constraints: Constraints) -> tuple[float, float]:
    """(planner, exhaustive) seconds on the 10-layer template, after checking the optima."""
    ten = family("plain10")
    dp_best = ranked(plan(ten, 128, constraints)[0])
    start = time.perf_counter()
    brute = exhaustive(ten, 128, constraints)
    brute_time = time.perf_counter() - start
    assert brute is not None and brute.key == dp_best, (brute, dp_best)
    return timed(lambda: plan(ten, 128, constraints), 5), brute_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args()
    twenty = family("plain20")
    dp_ten, brute_time = against_exhaustive(Constraints(output_stride=16))
    # stride 64 from a template that widens five times (its stem too): one layer over 2x
    prefer = Constraints(output_stride=64, preferred_volume_drop=PREFERRED_VOLUME_DROP)
    dp_prefer, brute_prefer = against_exhaustive(prefer)
    dp_twenty = timed(lambda: plan(twenty, 224, Constraints(output_stride=32, min_rf=224)), 5)
    preset = task_constraints("classification", 224)
    dp_twenty_preset = timed(lambda: plan(twenty, 224, preset), 5)
    result = {
        "plan_20_layers_s": dp_twenty,
        "plan_20_layers_classification_preset_s": dp_twenty_preset,
        "plan_10_layers_s": dp_ten,
        "exhaustive_10_layers_s": brute_time,
        "speedup_vs_exhaustive": brute_time / dp_ten,
        "plan_10_layers_preference_s": dp_prefer,
        "exhaustive_10_layers_preference_s": brute_prefer,
        "speedup_vs_exhaustive_preference": brute_prefer / dp_prefer,
        "target_20_layers_under_1s": max(dp_twenty, dp_twenty_preset) < 1.0,
    }
    if args.format == "json":
        print(json.dumps(result, indent=2))
        return
    print(
        f"plan, 20 layers at 224 (stride 32, rf >= 224): {dp_twenty * 1e3:.1f} ms; with the "
        f"classification preset (and its bottleneck preference): {dp_twenty_preset * 1e3:.1f} ms"
    )
    print(
        f"10 layers at 128, stride 16: plan {dp_ten * 1e3:.1f} ms, exhaustive "
        f"{brute_time:.2f} s (4^10 placements): {brute_time / dp_ten:.0f}x faster, same optimum"
    )
    print(
        f"10 layers at 128, stride 64, preferring drops within 2x: plan {dp_prefer * 1e3:.1f} "
        f"ms, exhaustive {brute_prefer:.2f} s: {brute_prefer / dp_prefer:.0f}x faster, same "
        "optimum"
    )


if __name__ == "__main__":
    main()
