"""Valid input sizes from the algebra vs trying every size: time ratio, measured in one run.

The closed form walks one period of residues per layer; brute force (the tests' reference,
`tests/geometry/test_solve.py`) evaluates every size in the range through every layer.
Both answers are compared before timing.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from stridekit.geometry import Window, valid_input_sizes
from tests.geometry.test_solve import brute_force_sizes

CHAIN = [Window(7, 2, padding=(3, 3)), Window(3, 2, padding=(1, 1))] + [
    Window(3, 2, padding=(1, 1))
] * 4  # a ResNet-like chain with output stride 64


def brute_force(top: int) -> list[int]:
    return brute_force_sizes(CHAIN, "exact", top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--top", type=int, default=20000, help="largest size to check")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--format", choices=["table", "json"], default="table")
    args = parser.parse_args()
    assert valid_input_sizes(CHAIN).between(1, args.top) == brute_force(args.top)
    algebra, brute = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        start = time.perf_counter()
        valid_input_sizes(CHAIN).between(1, args.top)
        algebra.append(time.perf_counter() - start)
        start = time.perf_counter()
        brute_force(args.top)
        brute.append(time.perf_counter() - start)
    result = {
        "range": [1, args.top],
        "closed_form": valid_input_sizes(CHAIN).closed_form(),
        "algebra_s": statistics.median(algebra),
        "brute_force_s": statistics.median(brute),
        "speedup": statistics.median(brute) / statistics.median(algebra),
    }
    if args.format == "json":
        print(json.dumps(result, indent=2))
    else:
        print(
            f"valid sizes 1..{args.top} ({result['closed_form']}): algebra "
            f"{result['algebra_s'] * 1e3:.2f} ms, brute force "
            f"{result['brute_force_s'] * 1e3:.1f} ms, speedup {result['speedup']:.0f}x"
        )


if __name__ == "__main__":
    main()
