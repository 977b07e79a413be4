"""A 2-d conv animation of a 32x32 input (k3 s1 p1: 1,024 frames, one per output
position) rendered as a GIF, an animated SVG and an HTML player, against the way one
would otherwise draw it: a static frame with matplotlib (imshow of the padded input and of
the output, the window's cells highlighted, saved as PNG) for every output position.

Each format is timed from scratch (the frames, the layout, the rendering), median of
interleaved repeats. Printed: the seconds per format (target: under 5 s each, issue 10),
and two ratios against one matplotlib frame of the same picture: how many matplotlib
frames the whole animation costs, and the animation over the 1,024 matplotlib frames a
frame-by-frame approach (``FuncAnimation``) would draw.

    python benchmarks/viz_animation.py [--repeats 3] [--format json]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import statistics
import time
from collections.abc import Callable

import numpy as np

from stridekit.viz import animate_conv
from stridekit.viz.canvas import new_figure, style

SIZE, KERNEL, PADDING = 32, 3, 1
TARGET = 5.0  # seconds


def seconds(function: Callable[[], object]) -> float:
    gc.collect()
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def animation(fmt: str) -> Callable[[], bytes]:
    return lambda: animate_conv((SIZE, SIZE), KERNEL, padding=PADDING).render(fmt)


def matplotlib_frame() -> bytes:
    """One frame drawn the usual way: two imshows (input with its padding, output), the
    taps of output (15, 15) and the output cell highlighted, a title, saved as PNG."""
    padded = SIZE + 2 * PADDING
    grid = np.ones((padded, padded))
    grid[[0, -1], :] = grid[:, [0, -1]] = 0  # padding
    grid[15:18, 15:18] = 2  # the taps of output (15, 15)
    output = np.zeros((SIZE, SIZE))
    output[15, 15] = 1
    with style():
        figure = new_figure((5.8, 4.2))
        left, right = figure.subplots(1, 2)
        left.imshow(grid, cmap="Pastel1")
        right.imshow(output, cmap="Pastel2")
        figure.suptitle("conv k=3 s=1 p=(1,1): 32x32 -> 32x32; output (15, 15)")
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
    return buffer.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--format", choices=("human", "json"), default="human")
    args = parser.parse_args()
    frames = len(animate_conv((SIZE, SIZE), KERNEL, padding=PADDING).frames)
    tasks = {fmt: animation(fmt) for fmt in ("gif", "svg", "html")}
    tasks["matplotlib frame"] = matplotlib_frame
    for task in tasks.values():  # warm up: imports, fonts, caches
        task()
    times: dict[str, list[float]] = {name: [] for name in tasks}
    for _ in range(args.repeats):
        for name, task in tasks.items():
            times[name].append(seconds(task))
    median = {name: statistics.median(values) for name, values in times.items()}
    frame = median["matplotlib frame"]
    results = {
        fmt: {
            "seconds": median[fmt],
            "under_target": median[fmt] < TARGET,
            "matplotlib_frames": median[fmt] / frame,
            "vs_frame_by_frame": median[fmt] / (frames * frame),
        }
        for fmt in ("gif", "svg", "html")
    }
    if args.format == "json":
        print(
            json.dumps({"frames": frames, "matplotlib_frame": frame, "formats": results}, indent=2)
        )
        return
    print(
        f"{SIZE}x{SIZE} input, k{KERNEL} p{PADDING}: {frames} frames; median of "
        f"{args.repeats} interleaved repeats; target < {TARGET:.0f} s per format"
    )
    print(f"  one matplotlib frame (PNG)   {frame * 1e3:8.1f} ms")
    for fmt, result in results.items():
        verdict = "ok" if result["under_target"] else "OVER TARGET"
        print(
            f"  {fmt:4s} {result['seconds']:6.2f} s  {verdict:11s} = "
            f"{result['matplotlib_frames']:6.2f} matplotlib frames, "
            f"{result['vs_frame_by_frame']:.2e}x the time to draw all {frames} with matplotlib"
        )


if __name__ == "__main__":
    main()
